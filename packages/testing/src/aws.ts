import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { ObjectStore, createSubjectTokenVerifier, digest, isoSeconds, mintSecret, recordStatus } from './cloud.js';
import type { MockIssuerReference, SubjectTokenProblem } from './cloud.js';
import { createMockService, mockLifecycle } from './mock-service.js';
import type { MockAnswer, MockFailure, MockLifecycle, MockRequest } from './mock-service.js';

/** A role web identities may assume, with the one trust-policy condition Skyporten uses: `StringEquals { "<issuer host>:sub": ... }`. */
export interface MockAwsRole {
  /** `arn:aws:iam::<12-digit account>:role/<name>`, or MinIO's `arn:minio:iam:::role/<id>` and Ceph's `arn:aws:iam:::role/<name>` (no account). */
  roleArn: string;
  /** The role's trust policy: which Skyporten token subjects (web identity) or roles (role chaining) may assume it. */
  trustPolicy: {
    /** The `sub` values allowed to call `AssumeRoleWithWebIdentity`, e.g. `0192:991825827;entur:skyporten.demo` (exact match). @default undefined: no web identity may */
    sub?: string | readonly string[] | undefined;
    /** Role ARNs whose sessions (issued by this mock) may call `AssumeRole` for this role: role chaining. @default undefined: not chainable */
    roles?: readonly string[] | undefined;
    /** The `sts:ExternalId` condition: `AssumeRole` must send this `ExternalId`. @default undefined: none asked for */
    externalId?: string | undefined;
  };
  /** The role's maximum session duration; a larger `DurationSeconds` is a `ValidationError`, as on AWS. @default 43200 */
  maxSessionDurationSeconds?: number | undefined;
}

/** Options of {@link createMockAws}. */
export interface MockAwsOptions {
  /** The OIDC issuer AWS trusts (an IAM OIDC identity provider): a `MockSkyporten`, or its `issuer` and `jwksUri`. */
  issuer: MockIssuerReference;
  /** The roles in the account. */
  roles: readonly MockAwsRole[];
  /** The OIDC provider's client id list: the accepted token audiences (your `resource`). */
  clientIds: readonly string[];
  /** S3 objects served to credentials this mock issued, by bucket then key. @default {} */
  buckets?: Record<string, Record<string, string | Uint8Array>> | undefined;
  /** Issued credentials expire after this many seconds instead of `DurationSeconds`, to test refresh. @default undefined: `DurationSeconds` (3600 when not sent) */
  credentialLifetimeSeconds?: number | undefined;
  /** The mock's clock in ms since the epoch: token `exp`, credential expiry and SigV4 dates use it. @default Date.now */
  clock?: (() => number) | undefined;
  /** Kinesis streams served to credentials this mock issued, by name, each with one shard `shardId-000000000000`. @default [] */
  streams?: readonly string[] | undefined;
  /** The account id in stream ARNs. @default "123456789012" */
  accountId?: string | undefined;
  /** Check the full SigV4 signature of S3, Kinesis and `AssumeRole` requests with the secret of the session it names. @default true */
  verifySignatures?: boolean | undefined;
}

/** One request the mock received. Never holds a token or a secret. */
export interface RecordedAwsRequest {
  /** Which service answered. */
  service: MockAwsService;
  /** The operation, e.g. `AssumeRoleWithWebIdentity`, `AssumeRole`, `GetObject`, `ListObjectsV2`, `PutRecords`, or what was asked. */
  action: string;
  /** The HTTP method. */
  method: string;
  /** The URL path, without the query. */
  path: string;
  /** The HTTP status of the answer. */
  status: number;
  /** The AWS error code of the answer, or `null` on success. */
  errorCode: string | null;
  /** STS: the `RoleArn` asked for. */
  roleArn?: string;
  /** STS: the `RoleSessionName` sent. */
  roleSessionName?: string;
  /** Kinesis: the stream named (by `StreamName` or `StreamARN`). */
  streamName?: string;
  /** STS: the `sub` of the presented token, when it could be decoded. */
  subject?: string;
  /** S3, Kinesis and `AssumeRole`: the access key id the request was signed with. */
  accessKeyId?: string;
}

/** The services of {@link createMockAws}. */
export type MockAwsService = 'sts' | 's3' | 'kinesis';

/** A fault for `failNext`, e.g. `aws.failNext({ service: 's3', status: 503 })`; `code` defaults to one that fits the status and service. */
export type MockAwsFailure = MockFailure<MockAwsService>;

/** Local AWS STS, S3 and Kinesis endpoints on `http://127.0.0.1:<random port>`. */
export interface MockAws extends MockLifecycle<RecordedAwsRequest, MockAwsFailure> {
  /** The one server's URL; STS and S3 share it. */
  endpoint: string;
  /** Where STS clients should send requests (`endpoint`). */
  stsEndpoint: string;
  /** Where S3 clients should send path-style requests (`endpoint`; use `forcePathStyle: true`). */
  s3Endpoint: string;
  /** Where Kinesis clients should send requests: cleartext HTTP/2 (the Kinesis client's default), its own port. */
  kinesisEndpoint: string;
  /** What wires an AWS SDK v3 client to this mock in one spread, e.g. `new S3Client({ ...aws.clientConfig('s3'), credentials })`. */
  clientConfig(service?: MockAwsService): {
    /** The mock's URL for that service. */
    endpoint: string;
    /** The region the mock answers for. */
    region: string;
    /** Path-style bucket addressing (S3 only). */
    forcePathStyle?: boolean;
  };
  /** How many `AssumeRoleWithWebIdentity` requests arrived (answered or failed). */
  readonly stsCalls: number;
  /** How many S3 requests arrived. */
  readonly s3Calls: number;
  /** Records put on a stream so far (all shards, in order), data as bytes. */
  streamRecords(streamName: string): {
    /** The record's partition key. */
    partitionKey: string;
    /** The record's bytes. */
    data: Uint8Array;
    /** The sequence number the mock gave it. */
    sequenceNumber: string;
  }[];
  /** Clears recorded requests and queued failures; issued sessions stay valid. */
  reset(): void;
}

type StreamRecord = ReturnType<MockAws['streamRecords']>[number] & { arrivedAtSeconds: number };

type Session = Record<'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'roleArn', string> & { expiresAt: number };

/** XML content: text, nested elements, or an element repeated once per array item. */
type XmlFields = { [name: string]: string | number | boolean | XmlFields | XmlFields[] };

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROLE_ARN = /^arn:[a-z][\w-]*:iam::(\d{12}|):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const SHARD_ID = 'shardId-000000000000';
const ANY_PATH = /^\/.*$/;
const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
const INVALID_SECURITY_TOKEN = 'The security token included in the request is invalid.';

/** Starts local AWS STS (Query protocol), S3 (path-style) and Kinesis (JSON 1.1) endpoints that apply AWS's rules to Skyporten tokens. */
export async function createMockAws(options: MockAwsOptions): Promise<MockAws> {
  const { clock = Date.now, verifySignatures = true, accountId = '123456789012' } = options;
  const verifyToken = createSubjectTokenVerifier(options.issuer, options.clientIds, clock);
  const invalidRole = options.roles.find((role) => !ROLE_ARN.test(role.roleArn));
  if (invalidRole) throw new TypeError(`createMockAws: "${invalidRole.roleArn}" is not an IAM role ARN.`);
  const roles = new Map(options.roles.map((role) => [role.roleArn, role]));
  const store = new ObjectStore(options.buckets);
  const sessions = new Map<string, Session>();
  const streams = new Map<string, StreamRecord[]>((options.streams ?? []).map((name) => [name, []]));
  let sequence = 0n;

  function issueSession(roleArn: string, sessionName: string, lifetime: number): XmlFields {
    const session: Session = {
      accessKeyId: mintSecret('ASIA', 8, 'hex').toUpperCase(),
      secretAccessKey: mintSecret('', 30, 'base64'),
      sessionToken: mintSecret('FwoGZXIvYXdzE', 48, 'base64'),
      expiresAt: Math.floor(clock() / 1000) * 1000 + lifetime * 1000,
      roleArn,
    };
    sessions.set(session.accessKeyId, session);
    const [, account, roleName = ''] = ROLE_ARN.exec(roleArn) ?? [];
    return {
      AssumedRoleUser: { Arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`, AssumedRoleId: `AROA${digest('sha256', roleArn).slice(0, 17).toUpperCase()}:${sessionName}` },
      Credentials: { AccessKeyId: session.accessKeyId, SecretAccessKey: session.secretAccessKey, SessionToken: session.sessionToken, Expiration: isoSeconds(session.expiresAt) },
    };
  }

  /** The parameter checks of both STS actions, as one `ValidationError` listing every failure (or `undefined`). */
  function validate(parameters: URLSearchParams, { action, roleArn = '', roleSessionName = '' }: RecordedAwsRequest): MockAnswer | undefined {
    const durationText = parameters.get('DurationSeconds');
    const duration = Number(durationText ?? 3600);
    const checks: [failed: boolean, message: string][] = [
      [roleArn.length < 20 || roleArn.length > 2048, `Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`],
      [!SESSION_NAME.test(roleSessionName), `Value '${roleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`],
      [!Number.isInteger(duration) || duration < 900 || duration > 43200, `Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`],
      [action !== 'AssumeRole' && (parameters.get('WebIdentityToken') ?? '').length < 4, "Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"],
    ];
    const invalid = checks.filter(([failed]) => failed).map(([, message]) => message);
    return invalid.length === 0 ? undefined : stsError(400, 'ValidationError', `${invalid.length} validation error${invalid.length > 1 ? 's' : ''} detected: ${invalid.join('; ')}`);
  }

  /** `AssumeRoleWithWebIdentity` and `AssumeRole` (role chaining: signed with credentials this mock issued, for a role that trusts their role). */
  async function sts(request: MockRequest, record: RecordedAwsRequest): Promise<MockAnswer> {
    const { action } = record;
    const parameters = stsParameters(request);
    if (action !== 'AssumeRoleWithWebIdentity' && action !== 'AssumeRole') return stsError(400, 'InvalidAction', `Could not find operation ${action} for version ${parameters.get('Version') ?? ''}`);
    if (parameters.get('Version') !== '2011-06-15') return stsError(400, 'InvalidParameterValue', 'Version must be 2011-06-15');
    const roleArn = (record.roleArn = parameters.get('RoleArn') ?? '');
    const sessionName = (record.roleSessionName = parameters.get('RoleSessionName') ?? '');
    const duration = Number(parameters.get('DurationSeconds') ?? 3600);
    const role = roles.get(roleArn);
    const lifetime = options.credentialLifetimeSeconds ?? duration;
    if (action === 'AssumeRole') {
      const { caller, denied } = authenticate(request, record, 'sts');
      if (denied) return denied;
      const invalid = validate(parameters, record);
      if (invalid) return invalid;
      const externalIdMatches = role?.trustPolicy.externalId === undefined || parameters.get('ExternalId') === role.trustPolicy.externalId;
      if (role === undefined || !(role.trustPolicy.roles ?? []).includes(caller.roleArn) || !externalIdMatches) {
        const [, account, callerRole] = ROLE_ARN.exec(caller.roleArn) ?? [];
        return stsError(403, 'AccessDenied', `User: arn:aws:sts::${account}:assumed-role/${callerRole}/session is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      }
      // AWS caps a chained session at one hour.
      if (duration > Math.min(3600, role.maxSessionDurationSeconds ?? 43200)) return stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
      return stsResponse('AssumeRole', issueSession(roleArn, sessionName, lifetime));
    }
    const invalid = validate(parameters, record);
    if (invalid) return invalid;
    const { problem, claims, audiences } = await verifyToken(parameters.get('WebIdentityToken') ?? '');
    if (typeof claims.sub === 'string') record.subject = claims.sub;
    if (problem !== undefined) {
      const messages: Record<SubjectTokenProblem, string> = {
        malformed: 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
        issuer: `No OpenIDConnect provider found in your account for ${String(claims.iss)}`,
        expired: `Token expired: current date/time ${Math.floor(clock() / 1000)} must be before the expiration date/time${String(claims.exp)}`,
        signature: 'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.',
        audience: 'Incorrect token audience',
      };
      return stsError(400, problem === 'expired' ? 'ExpiredTokenException' : 'InvalidIdentityToken', messages[problem]);
    }
    const allowed = role === undefined ? [] : typeof role.trustPolicy.sub === 'string' ? [role.trustPolicy.sub] : (role.trustPolicy.sub ?? []);
    if (role === undefined || typeof claims.sub !== 'string' || !allowed.includes(claims.sub)) return stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    if (duration > (role.maxSessionDurationSeconds ?? 43200)) return stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    // The IAM OIDC provider "URL": host and path, no scheme, as in trust-policy condition keys.
    const provider = options.issuer.issuer.replace(/^https?:\/\//, '').replace(/\/$/, '');
    const session = issueSession(roleArn, sessionName, lifetime);
    return stsResponse('AssumeRoleWithWebIdentity', { Audience: audiences[0] ?? '', Provider: provider, ...session, SubjectFromWebIdentityToken: claims.sub });
  }

  /** Checks that a request is SigV4-signed with a live session this mock issued, answering in `service`'s error format. */
  function authenticate(request: MockRequest, record: RecordedAwsRequest, service: MockAwsService): { caller: Session; denied?: never } | { caller?: never; denied: MockAnswer } {
    const s3 = service === 's3';
    const sts = service === 'sts';
    const deny = (status: number, code: string, message: string) => ({ denied: ERRORS[service](status, code, message) });
    const authorization = request.headers.get('authorization');
    const credential = /Credential=([^/,\s]+)\/([^,\s]+)/.exec(authorization ?? '');
    if (!authorization || !credential) return s3 ? deny(403, 'AccessDenied', 'Access Denied') : deny(400, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    record.accessKeyId = credential[1] ?? '';
    const session = sessions.get(record.accessKeyId);
    if (!session && s3) return deny(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (!session) return sts ? deny(403, 'InvalidClientTokenId', INVALID_SECURITY_TOKEN) : deny(400, 'UnrecognizedClientException', INVALID_SECURITY_TOKEN);
    if (!sameText(request.headers.get('x-amz-security-token') ?? '', session.sessionToken)) {
      return s3 ? deny(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.') : deny(400, 'UnrecognizedClientException', INVALID_SECURITY_TOKEN);
    }
    if (clock() >= session.expiresAt) return deny(400, s3 ? 'ExpiredToken' : 'ExpiredTokenException', 'The provided token has expired.');
    if (verifySignatures && !signatureMatches(request, authorization, session.secretAccessKey, s3)) return deny(403, s3 || sts ? 'SignatureDoesNotMatch' : 'InvalidSignatureException', SIGNATURE_MISMATCH);
    return { caller: session };
  }

  function kinesis(request: MockRequest, record: RecordedAwsRequest): MockAnswer {
    const action = record.action;
    const { denied } = authenticate(request, record, 'kinesis');
    if (denied) return denied;
    if (typeof request.json !== 'object' || request.json === null) return kinesisError(400, 'SerializationException', 'Start of structure or map found where not expected.');
    const input = request.json as Record<string, unknown>;
    const iterator = action === 'GetRecords' ? decodeIterator(input['ShardIterator']) : undefined;
    const arn = typeof input['StreamARN'] === 'string' ? input['StreamARN'] : undefined;
    const name = iterator?.stream ?? (typeof input['StreamName'] === 'string' ? input['StreamName'] : arn?.replace(/^arn:aws[\w-]*:kinesis:[^:]*:\d{12}:stream\//, ''));
    if (name !== undefined) record.streamName = name;
    if (action === 'GetRecords' && iterator === undefined) return kinesisError(400, 'InvalidArgumentException', 'Invalid ShardIterator.');
    const stream = name === undefined ? undefined : streams.get(name);
    if (name === undefined || stream === undefined) return kinesisError(400, 'ResourceNotFoundException', `Stream ${name ?? '(none)'} under account ${accountId} not found.`);
    switch (action) {
      case 'PutRecord':
      case 'PutRecords': {
        const entries = (action === 'PutRecord' ? [input] : Array.isArray(input['Records']) ? input['Records'] : []) as ({ Data?: unknown; PartitionKey?: unknown } | null)[];
        if (entries.length === 0) return kinesisError(400, 'ValidationException', 'Records must hold 1 to 500 entries.');
        if (!entries.every((entry) => typeof entry?.Data === 'string' && typeof entry.PartitionKey === 'string' && entry.PartitionKey !== '')) {
          return kinesisError(400, 'ValidationException', 'Data (base64) and PartitionKey are required.');
        }
        const added = entries.map((entry) => {
          const data = new Uint8Array(Buffer.from(String(entry?.Data), 'base64'));
          return { partitionKey: String(entry?.PartitionKey), data, sequenceNumber: sequenceNumber((sequence += 1n)), arrivedAtSeconds: clock() / 1000 };
        });
        stream.push(...added);
        const records = added.map((item) => ({ ShardId: SHARD_ID, SequenceNumber: item.sequenceNumber }));
        return kinesisJson(action === 'PutRecord' ? { ...records[0], EncryptionType: 'NONE' } : { FailedRecordCount: 0, Records: records, EncryptionType: 'NONE' });
      }
      case 'GetShardIterator': {
        if (input['ShardId'] !== SHARD_ID) return kinesisError(400, 'ResourceNotFoundException', `Shard ${String(input['ShardId'])} in stream ${name} under account ${accountId} does not exist`);
        const type = input['ShardIteratorType'];
        const at = typeof input['StartingSequenceNumber'] === 'string' ? input['StartingSequenceNumber'] : '';
        const index =
          type === 'TRIM_HORIZON' ? 0
          : type === 'LATEST' ? stream.length
          : type === 'AT_SEQUENCE_NUMBER' ? stream.findIndex((item) => BigInt(item.sequenceNumber) >= BigInt(at || '0'))
          : type === 'AFTER_SEQUENCE_NUMBER' ? stream.findIndex((item) => BigInt(item.sequenceNumber) > BigInt(at || '0'))
          : -2;
        if (index === -2) return kinesisError(400, 'InvalidArgumentException', 'ShardIteratorType must be TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER (the mock has no AT_TIMESTAMP).');
        return kinesisJson({ ShardIterator: encodeIterator(name, index === -1 ? stream.length : index) });
      }
      case 'GetRecords': {
        const position = iterator?.position ?? 0;
        const page = stream.slice(position, position + (typeof input['Limit'] === 'number' ? input['Limit'] : 10_000));
        return kinesisJson({
          Records: page.map((item) => ({ SequenceNumber: item.sequenceNumber, ApproximateArrivalTimestamp: item.arrivedAtSeconds, Data: Buffer.from(item.data).toString('base64'), PartitionKey: item.partitionKey })),
          NextShardIterator: encodeIterator(name, position + page.length),
          MillisBehindLatest: 0,
        });
      }
      case 'ListShards':
        return kinesisJson({ Shards: [{ ShardId: SHARD_ID, HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(2n ** 128n - 1n) }, SequenceNumberRange: { StartingSequenceNumber: sequenceNumber(0n) } }] });
      case 'DescribeStreamSummary':
        return kinesisJson({
          StreamDescriptionSummary: {
            StreamName: name, StreamARN: `arn:aws:kinesis:us-east-1:${accountId}:stream/${name}`, StreamStatus: 'ACTIVE', StreamModeDetails: { StreamMode: 'PROVISIONED' },
            RetentionPeriodHours: 24, StreamCreationTimestamp: 0, EnhancedMonitoring: [{ ShardLevelMetrics: [] }], EncryptionType: 'NONE', OpenShardCount: 1, ConsumerCount: 0,
          },
        });
      default:
        return kinesisError(400, 'UnknownOperationException', `The mock Kinesis does not serve ${action}.`);
    }
  }

  function s3(request: MockRequest, record: RecordedAwsRequest): MockAnswer {
    if (record.action.includes(' ')) return s3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
    const { denied } = authenticate(request, record, 's3');
    if (denied) return denied;
    const [bucketName = '', ...keyParts] = request.url.pathname.slice(1).split('/').map(decodeURIComponent);
    const bucket = store.get(bucketName);
    if (!bucket) return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (record.action === 'ListObjectsV2') return listObjects(bucketName, bucket, request.url.searchParams);
    const object = bucket.get(keyParts.join('/'));
    if (!object) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return { status: 200, headers: { 'content-type': 'application/octet-stream', etag: `"${digest('md5', object)}"`, 'last-modified': new Date(clock()).toUTCString() }, body: object };
  }

  function listObjects(name: string, bucket: Map<string, Uint8Array>, query: URLSearchParams): MockAnswer {
    const prefix = query.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
    const token = query.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString() : (query.get('start-after') ?? '');
    const keys = [...bucket.keys()].filter((key) => key.startsWith(prefix) && key > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page.map((key) => {
      const object = bucket.get(key) ?? new Uint8Array();
      return { Key: key, LastModified: new Date(clock()).toISOString(), ETag: `"${digest('md5', object)}"`, Size: object.byteLength, StorageClass: 'STANDARD' };
    });
    const next = truncated ? { NextContinuationToken: Buffer.from(page.at(-1) ?? '').toString('base64url') } : {};
    const fields = { Name: name, Prefix: prefix, KeyCount: page.length, MaxKeys: maxKeys, IsTruncated: truncated, ...next, Contents: contents };
    return xmlAnswer(200, 's3', 'ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', fields);
  }

  const service = createMockService<MockAwsService, RecordedAwsRequest>({
    name: 'Mock AWS',
    defaultService: 'sts',
    routes: [
      { service: 'kinesis', method: 'POST', path: ANY_PATH, when: (request) => kinesisAction(request) !== undefined, handle: (request, record) => kinesis(request, record as RecordedAwsRequest) },
      // STS: the Query protocol, on whatever path and host the SDK's (regional) endpoint gives.
      { service: 'sts', path: ANY_PATH, when: (request) => stsParameters(request).has('Action'), handle: (request, record) => sts(request, record as RecordedAwsRequest) },
      { service: 's3', path: ANY_PATH, handle: (request, record) => s3(request, record as RecordedAwsRequest) },
    ],
    notFound: () => s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist'),
    record: (request, name) => ({ service: name, action: actionOf(request, name), method: request.method, path: request.url.pathname, status: 0, errorCode: null }),
    finish: recordStatus,
    renderFailure: ({ status, code, message }, name) =>
      ERRORS[name](status, code ?? (status === 400 || status === 429 ? THROTTLING[name] : status === 503 ? 'ServiceUnavailable' : 'InternalFailure'), message ?? (status === 400 || status === 429 ? 'Rate exceeded' : 'Service unavailable')),
    headers: () => ({ 'x-amzn-requestid': randomUUID() }),
  });
  // The Kinesis client's default handler speaks HTTP/2 (cleartext here), so Kinesis has a port of its own.
  const [listening, kinesisListening] = await Promise.all([service.listen(), service.listen({ http2: true })]);
  const endpoint = listening.url;
  const kinesisEndpoint = kinesisListening.url;

  return {
    endpoint,
    stsEndpoint: endpoint,
    s3Endpoint: endpoint,
    kinesisEndpoint,
    clientConfig: (name = 'sts') => ({ endpoint: name === 'kinesis' ? kinesisEndpoint : endpoint, region: 'us-east-1', ...(name === 's3' ? { forcePathStyle: true } : {}) }),
    streamRecords: (name) => (streams.get(name) ?? []).map(({ partitionKey, data, sequenceNumber }) => ({ partitionKey, data, sequenceNumber })),
    get stsCalls() {
      return service.log.filter((request) => request.service === 'sts' && request.action === 'AssumeRoleWithWebIdentity').length;
    },
    get s3Calls() {
      return service.calls('s3');
    },
    ...mockLifecycle(service, { ...listening, close: async () => void (await Promise.all([listening.close(), kinesisListening.close()])) }),
  };
}

const THROTTLING: Record<MockAwsService, string> = { sts: 'Throttling', s3: 'SlowDown', kinesis: 'ProvisionedThroughputExceededException' };

const kinesisAction = (request: MockRequest): string | undefined => /^Kinesis_20131202\.(.*)$/s.exec(request.headers.get('x-amz-target') ?? '')?.[1];

const stsParameters = (request: MockRequest): URLSearchParams => request.form.has('Action') ? request.form : request.url.searchParams;

function actionOf(request: MockRequest, service: MockAwsService): string {
  if (service === 'kinesis') return kinesisAction(request) ?? '';
  if (service === 'sts') return stsParameters(request).get('Action') ?? '';
  const { method, url } = request;
  const key = url.pathname.slice(1).split('/').slice(1).join('/');
  if (method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') return 'ListObjectsV2';
  if ((method === 'GET' || method === 'HEAD') && key !== '') return method === 'GET' ? 'GetObject' : 'HeadObject';
  return `${method} ${url.pathname}`;
}

/** Kinesis sequence numbers are decimal strings of up to 128 digits; these sort like their numbers. */
const sequenceNumber = (index: bigint): string => (10n ** 55n + index).toString();

const encodeIterator = (stream: string, position: number): string => Buffer.from(`${position}:${stream}`).toString('base64url');

function decodeIterator(value: unknown): { stream: string; position: number } | undefined {
  const [, position, stream] = /^(\d+):(.+)$/s.exec(Buffer.from(String(value), 'base64url').toString()) ?? [];
  return stream === undefined ? undefined : { stream, position: Number(position) };
}

const kinesisJson = (value: unknown): MockAnswer => ({ status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(value) });

const kinesisError = (status: number, code: string, message: string): MockAnswer =>
  ({ status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code }, body: JSON.stringify({ __type: code, message }), log: { errorCode: code } });

function xmlOf(fields: XmlFields, indent: string): string {
  const element = (name: string, value: string | number | boolean | XmlFields): string =>
    typeof value === 'object'
      ? `${indent}<${name}>\n${xmlOf(value, `${indent}  `)}${indent}</${name}>\n`
      : `${indent}<${name}>${String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</${name}>\n`;
  return Object.entries(fields).flatMap(([name, value]) => (Array.isArray(value) ? value.map((item) => element(name, item)) : [element(name, value)])).join('');
}

function xmlAnswer(status: number, service: 'sts' | 's3', root: string, fields: XmlFields, errorCode?: string): MockAnswer {
  const declaration = service === 's3' ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '';
  const body = `${declaration}<${root}>\n${xmlOf(fields, '  ')}</${root.split(' ')[0]}>\n`;
  return { status, headers: { 'content-type': service === 's3' ? 'application/xml' : 'text/xml' }, body, ...(errorCode === undefined ? {} : { log: { errorCode } }) };
}

const stsResponse = (action: string, result: XmlFields): MockAnswer => xmlAnswer(200, 'sts', `${action}Response xmlns="${STS_NAMESPACE}"`, { [`${action}Result`]: result, ResponseMetadata: { RequestId: randomUUID() } });

function stsError(status: number, code: string, message: string): MockAnswer {
  const fields = { Error: { Type: status >= 500 ? 'Receiver' : 'Sender', Code: code, Message: message }, RequestId: randomUUID() };
  return xmlAnswer(status, 'sts', `ErrorResponse xmlns="${STS_NAMESPACE}"`, fields, code);
}

const s3Error = (status: number, code: string, message: string): MockAnswer =>
  xmlAnswer(status, 's3', 'Error', { Code: code, Message: message, RequestId: mintSecret('', 8, 'hex').toUpperCase(), HostId: mintSecret('', 24, 'base64') }, code);

const ERRORS: Record<MockAwsService, (status: number, code: string, message: string) => MockAnswer> = { sts: stsError, s3: s3Error, kinesis: kinesisError };

/** Compares in constant time (digests, so the lengths match too). */
const sameText = (left: string, right: string): boolean => timingSafeEqual(createHash('sha256').update(left).digest(), createHash('sha256').update(right).digest());

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const escapeUri = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);

/** Recomputes a SigV4 signature (S3 signs the path as sent; other services encode it once more) and compares it. */
function signatureMatches(request: MockRequest, authorization: string, secretAccessKey: string, s3: boolean): boolean {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return false;
  const [, , date = '', region = '', service = '', signedHeaderList = '', signature = ''] = match;
  // Over HTTP/2 the SDK signs the `:authority` pseudo-header, which the mock hands on as `host`.
  const header = (name: string): string => request.headers.get(name === ':authority' ? 'host' : name) ?? '';
  const sentPath = request.url.pathname;
  const path = s3 ? sentPath : sentPath.split('/').map((segment) => escapeUri(segment)).join('/');
  // The default sort compares the pairs as "name,value": by name, then value, as ',' sorts before all escapeUri emits.
  const canonicalQuery = [...new URLSearchParams(request.url.search)].map(([name, value]) => [escapeUri(name), escapeUri(value)]).sort().map(([name, value]) => `${name}=${value}`).join('&');
  const canonicalHeaders = signedHeaderList.split(';').map((name) => `${name}:${header(name).trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = header('x-amz-content-sha256') || digest('sha256', request.body);
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', header('x-amz-date'), `${date}/${region}/${service}/aws4_request`, digest('sha256', canonicalRequest)].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return sameText(createHmac('sha256', key).update(stringToSign).digest('hex'), signature);
}
