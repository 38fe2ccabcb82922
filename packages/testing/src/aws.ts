import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { Server } from 'node:http';
import { readBody } from './loopback.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { listenOnLoopback, toFailure } from './mock-service.js';
import type { MockFailure } from './mock-service.js';

/**
 * A role that web identities may assume, with the one trust-policy condition Skyporten uses:
 * `StringEquals { "<issuer host>:sub": ... }`.
 */
export interface MockAwsRole {
  /** `arn:aws:iam::<12-digit account>:role/<name>`. */
  roleArn: string;
  /** The role's trust policy: which Skyporten token subjects (web identity) or roles (role chaining) may assume it. */
  trustPolicy: {
    /**
     * The `sub` values allowed to call `AssumeRoleWithWebIdentity`, e.g. `0192:991825827;entur:skyporten.demo`
     * (StringEquals: exact match).
     * @default undefined: no web identity may assume the role
     */
    sub?: string | readonly string[];
    /**
     * Role ARNs whose sessions (credentials this mock issued) may call `AssumeRole` for this role: role chaining.
     * @default undefined: the role cannot be chained to
     */
    roles?: readonly string[];
  };
  /**
   * The role's maximum session duration; a larger `DurationSeconds` is a `ValidationError`, as on AWS.
   * @default 43200
   */
  maxSessionDurationSeconds?: number;
}

/** Options of {@link createMockAws}. */
export interface MockAwsOptions {
  /**
   * The OIDC issuer AWS trusts (an IAM OIDC identity provider): a `MockSkyporten`, or its `issuer` and `jwksUri`.
   * Tokens are verified against that JWKS, fetched over HTTP like AWS does.
   */
  issuer: {
    /** The issuer URL, compared with the token's `iss`. */
    issuer: string;
    /** Where its public keys are fetched. */
    jwksUri: string;
  };
  /** The roles in the account. */
  roles: readonly MockAwsRole[];
  /** The OIDC provider's client id list: the accepted token audiences (your `resource`). */
  clientIds: readonly string[];
  /**
   * S3 objects served to credentials this mock issued, by bucket then key.
   * @default {}
   */
  buckets?: Record<string, Record<string, string | Uint8Array>>;
  /**
   * When set, issued credentials expire after this many seconds instead of `DurationSeconds`, to test refresh.
   * @default undefined: `DurationSeconds` (3600 when not sent)
   */
  credentialLifetimeSeconds?: number;
  /**
   * The mock's clock, in milliseconds since the epoch: token `exp`, credential expiry and SigV4 dates use it.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Kinesis data streams served to credentials this mock issued (JSON 1.1 protocol), each with one shard
   * `shardId-000000000000`, by stream name.
   * @default []
   */
  streams?: readonly string[];
  /**
   * The account id in stream ARNs.
   * @default "123456789012"
   */
  accountId?: string;
  /**
   * Check the full SigV4 signature of S3, Kinesis and `AssumeRole` requests (canonical request, string to sign, HMAC chain) with the
   * secret of the session it names.
   * @default true
   */
  verifySignatures?: boolean;
}

/** One request the mock received. Never holds a token or a secret. */
export interface RecordedAwsRequest {
  /** Which service answered. */
  service: MockAwsService;
  /**
   * `AssumeRoleWithWebIdentity`, `AssumeRole`, `GetObject`, `HeadObject`, `ListObjectsV2`, `PutRecord`,
   * `PutRecords`, `GetShardIterator`, `GetRecords`, `ListShards`, `DescribeStreamSummary`, or what was asked.
   */
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

/**
 * A fault injected with `failNext`: the package's one failure shape. `code` is the AWS error code (default
 * `Throttling` (STS) / `SlowDown` (S3) / `ProvisionedThroughputExceededException` (Kinesis) for 400/429,
 * `ServiceUnavailable` for 503, else `InternalFailure`); `message` its message.
 *
 * @example
 * ```ts
 * aws.failNext({ status: 400, code: 'Throttling', count: 2 });
 * aws.failNext({ service: 's3', status: 503 });
 * ```
 */
export type MockAwsFailure = MockFailure<MockAwsService>;

/** Local AWS STS and S3 endpoints on `http://127.0.0.1:<random port>`. */
export interface MockAws {
  /** The one server's URL; STS and S3 share it. */
  endpoint: string;
  /** Where STS clients should send requests (`endpoint`). */
  stsEndpoint: string;
  /** Where S3 clients should send path-style requests (`endpoint`; use `forcePathStyle: true`). */
  s3Endpoint: string;
  /** Where Kinesis clients should send requests: cleartext HTTP/2 (the Kinesis client's default), its own port. */
  kinesisEndpoint: string;
  /**
   * The options that wire an AWS SDK v3 client to this mock in one spread: `endpoint`, a `region`, and for S3
   * `forcePathStyle: true`.
   *
   * @example
   * ```ts
   * const s3 = new S3Client({ ...aws.clientConfig('s3'), credentials });
   * const credentials = skyportenCredentials({ roleArn, clientConfig: aws.clientConfig() });
   * ```
   */
  clientConfig(service?: MockAwsService): {
    /** The mock's URL for that service. */
    endpoint: string;
    /** The region the mock answers for. */
    region: string;
    /** Path-style bucket addressing (S3 only). */
    forcePathStyle?: boolean;
  };
  /** Every request, in order. Cleared by `reset()`. */
  readonly requests: readonly RecordedAwsRequest[];
  /** How many `AssumeRoleWithWebIdentity` requests arrived (answered or failed). */
  readonly stsCalls: number;
  /** How many S3 requests arrived. */
  readonly s3Calls: number;
  /** @deprecated Use `failNext({ count, ...failure })`; this form goes in the next minor. */
  failNext(count: number, failure: MockAwsFailure): void;
  /** The next `failure.count` (default 1) requests to `failure.service` (default STS) answer the failure. */
  failNext(failure: MockAwsFailure): void;
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
  /** Stops the server. */
  close(): Promise<void>;
  /** Stops the server, for `await using aws = await createMockAws(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

interface StreamRecord {
  partitionKey: string;
  data: Uint8Array;
  sequenceNumber: string;
  arrivedAtSeconds: number;
}

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: number;
  roleArn: string;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
  errorCode: string | null;
  delayMs?: number;
}

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/**
 * Starts local AWS STS (`AssumeRoleWithWebIdentity`, Query protocol, XML answers) and S3 (`GetObject`,
 * `HeadObject`, `ListObjectsV2`, path-style) endpoints that apply AWS's rules to Skyporten tokens:
 * the signature against the issuer's JWKS, `iss` = a registered OIDC provider, `exp`, `aud` in the client id
 * list, and the role trust policy's `<issuer host>:sub`. S3 serves only to sessions it issued, checking
 * `x-amz-security-token`, expiry and (by default) the full SigV4 signature.
 *
 * @example
 * ```ts
 * const issuer = await createMockSkyporten();
 * const aws = await createMockAws({
 *   issuer,
 *   clientIds: ['https://skyporten.example.org'],
 *   roles: [{ roleArn: 'arn:aws:iam::123456789012:role/skyporten-reader', trustPolicy: { sub: '0192:991825827;entur:skyporten.demo' } }],
 *   buckets: { 'shared-data': { 'hello.txt': 'Hello' } },
 * });
 * // STS: clientConfig { endpoint: aws.stsEndpoint }; S3: { endpoint: aws.s3Endpoint, forcePathStyle: true }
 * ```
 */
export async function createMockAws(options: MockAwsOptions): Promise<MockAws> {
  const clock = options.clock ?? Date.now;
  const issuer = options.issuer.issuer;
  const keySet = createRemoteJWKSet(new URL(options.issuer.jwksUri));
  const roles = new Map<string, MockAwsRole>();
  for (const role of options.roles) {
    if (!ROLE_ARN.test(role.roleArn)) throw new TypeError(`createMockAws: "${role.roleArn}" is not an IAM role ARN.`);
    roles.set(role.roleArn, role);
  }
  const buckets = new Map<string, Map<string, Uint8Array>>();
  for (const [bucket, objects] of Object.entries(options.buckets ?? {})) {
    buckets.set(bucket, new Map(Object.entries(objects).map(([key, value]) => [key, typeof value === 'string' ? Buffer.from(value) : value])));
  }
  const sessions = new Map<string, Session>();
  const requests: RecordedAwsRequest[] = [];
  const faults: { remaining: number; failure: MockAwsFailure }[] = [];
  const verifySignatures = options.verifySignatures ?? true;
  const accountId = options.accountId ?? '123456789012';
  const streams = new Map<string, StreamRecord[]>((options.streams ?? []).map((name) => [name, []]));
  let sequence = 0n;

  function takeFault(service: MockAwsService): MockAwsFailure | undefined {
    const fault = faults.find((candidate) => (candidate.failure.service ?? 'sts') === service && candidate.remaining > 0);
    if (!fault) return undefined;
    fault.remaining--;
    return fault.failure;
  }

  function issueSession(roleArn: string, sessionName: string, lifetime: number): string {
    const session: Session = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`,
      expiresAt: Math.floor(clock() / 1000) * 1000 + lifetime * 1000,
      roleArn,
    };
    sessions.set(session.accessKeyId, session);
    const [, account, roleName] = ROLE_ARN.exec(roleArn) ?? [];
    return (
      `    <AssumedRoleUser>\n` +
      `      <Arn>arn:aws:sts::${account}:assumed-role/${xml(roleName ?? '')}/${xml(sessionName)}</Arn>\n` +
      `      <AssumedRoleId>AROA${createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}:${xml(sessionName)}</AssumedRoleId>\n` +
      `    </AssumedRoleUser>\n` +
      `    <Credentials>\n` +
      `      <AccessKeyId>${session.accessKeyId}</AccessKeyId>\n` +
      `      <SecretAccessKey>${xml(session.secretAccessKey)}</SecretAccessKey>\n` +
      `      <SessionToken>${xml(session.sessionToken)}</SessionToken>\n` +
      `      <Expiration>${new Date(session.expiresAt).toISOString().replace('.000Z', 'Z')}</Expiration>\n` +
      `    </Credentials>\n`
    );
  }

  function validateSessionParameters(roleArn: string, sessionName: string, durationText: string | null): { invalid: string[]; duration: number } {
    const invalid: string[] = [];
    if (roleArn.length < 20 || roleArn.length > 2048) invalid.push(`Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`);
    if (!SESSION_NAME.test(sessionName)) invalid.push(`Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    const duration = durationText === null ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      invalid.push(`Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    }
    return { invalid, duration };
  }

  function validationError(invalid: string[]): Answer {
    return stsError(400, 'ValidationError', `${invalid.length} validation error${invalid.length > 1 ? 's' : ''} detected: ${invalid.join('; ')}`);
  }

  /** `AssumeRole` (role chaining): signed with credentials this mock issued, for a role that trusts their role. */
  function assumeRole(request: IncomingMessage, body: string, parameters: URLSearchParams, record: RecordedAwsRequest): Answer {
    const roleArn = parameters.get('RoleArn') ?? '';
    const sessionName = parameters.get('RoleSessionName') ?? '';
    record.roleArn = roleArn;
    record.roleSessionName = sessionName;
    const { caller, denied } = authenticate(request, body, record, stsError);
    if (denied) return denied;
    const { invalid, duration } = validateSessionParameters(roleArn, sessionName, parameters.get('DurationSeconds'));
    if (invalid.length > 0) return validationError(invalid);
    const role = roles.get(roleArn);
    if (role === undefined || !(role.trustPolicy.roles ?? []).includes(caller.roleArn)) {
      const [, account, callerRole] = ROLE_ARN.exec(caller.roleArn) ?? [];
      return stsError(403, 'AccessDenied', `User: arn:aws:sts::${account}:assumed-role/${callerRole}/session is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    }
    // AWS caps a chained session at one hour.
    if (duration > Math.min(3600, role.maxSessionDurationSeconds ?? 43200)) {
      return stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    }
    const credentials = issueSession(roleArn, sessionName, options.credentialLifetimeSeconds ?? duration);
    const answer =
      `<AssumeRoleResponse xmlns="${STS_NAMESPACE}">\n  <AssumeRoleResult>\n${credentials}  </AssumeRoleResult>\n` +
      `  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body: answer, errorCode: null };
  }

  async function assumeRoleWithWebIdentity(parameters: URLSearchParams, record: RecordedAwsRequest): Promise<Answer> {
    const roleArn = parameters.get('RoleArn') ?? '';
    const sessionName = parameters.get('RoleSessionName') ?? '';
    const token = parameters.get('WebIdentityToken') ?? '';
    const durationText = parameters.get('DurationSeconds');
    record.roleArn = roleArn;
    record.roleSessionName = sessionName;

    const { invalid, duration } = validateSessionParameters(roleArn, sessionName, durationText);
    if (token.length < 4) invalid.push("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4");
    if (invalid.length > 0) return validationError(invalid);

    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return stsError(400, 'InvalidIdentityToken', 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)');
    }
    if (typeof unverified.sub === 'string') record.subject = unverified.sub;
    if (unverified.iss !== issuer) {
      return stsError(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${String(unverified.iss)}`);
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keySet, { issuer, currentDate: new Date(clock()), clockTolerance: 0, algorithms: ['RS256', 'RS384', 'RS512'] }));
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_JWT_EXPIRED') {
        return stsError(400, 'ExpiredTokenException', `Token expired: current date/time ${Math.floor(clock() / 1000)} must be before the expiration date/time${String(unverified.exp)}`);
      }
      return stsError(400, 'InvalidIdentityToken', 'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.');
    }
    const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.some((audience) => options.clientIds.includes(audience))) {
      return stsError(400, 'InvalidIdentityToken', 'Incorrect token audience');
    }
    const role = roles.get(roleArn);
    const allowed = role === undefined ? [] : typeof role.trustPolicy.sub === 'string' ? [role.trustPolicy.sub] : (role.trustPolicy.sub ?? []);
    if (role === undefined || typeof claims.sub !== 'string' || !allowed.includes(claims.sub)) {
      return stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    }
    if (duration > (role.maxSessionDurationSeconds ?? 43200)) {
      return stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const credentials = issueSession(roleArn, sessionName, options.credentialLifetimeSeconds ?? duration);
    const body =
      `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NAMESPACE}">\n` +
      `  <AssumeRoleWithWebIdentityResult>\n` +
      `    <Audience>${xml(audiences[0] ?? '')}</Audience>\n` +
      `    <Provider>${xml(issuerHost(issuer))}</Provider>\n` +
      credentials +
    `    <SubjectFromWebIdentityToken>${xml(claims.sub)}</SubjectFromWebIdentityToken>\n` +
      `  </AssumeRoleWithWebIdentityResult>\n` +
      `  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n` +
      `</AssumeRoleWithWebIdentityResponse>\n`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body, errorCode: null };
  }

  /** Checks that a request is SigV4-signed with a live session this mock issued; `fail` renders the service's errors. */
  function authenticate(
    request: IncomingMessage,
    body: string,
    record: RecordedAwsRequest,
    fail: (status: number, code: string, message: string) => Answer,
  ): { caller: Session; denied?: never } | { caller?: never; denied: Answer } {
    const s3 = fail === s3Error;
    const sts = fail === stsError;
    const authorization = header(request, 'authorization');
    const credential = /Credential=([^/,\s]+)\/([^,\s]+)/.exec(authorization ?? '');
    if (!authorization || !credential) return { denied: fail(s3 ? 403 : 400, s3 ? 'AccessDenied' : 'MissingAuthenticationToken', s3 ? 'Access Denied' : 'Request is missing Authentication Token') };
    const accessKeyId = credential[1] ?? '';
    record.accessKeyId = accessKeyId;
    const session = sessions.get(accessKeyId);
    if (!session) {
      if (s3) return { denied: fail(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.') };
      return { denied: fail(sts ? 403 : 400, sts ? 'InvalidClientTokenId' : 'UnrecognizedClientException', 'The security token included in the request is invalid.') };
    }
    if (!sameText(header(request, 'x-amz-security-token') ?? '', session.sessionToken)) {
      return { denied: s3 ? fail(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.') : fail(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.') };
    }
    if (clock() >= session.expiresAt) return { denied: fail(400, s3 ? 'ExpiredToken' : 'ExpiredTokenException', 'The provided token has expired.') };
    if (verifySignatures && !signatureMatches(request, body, authorization, session.secretAccessKey, s3)) {
      return { denied: fail(403, s3 || sts ? 'SignatureDoesNotMatch' : 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.') };
    }
    return { caller: session };
  }

  function authenticateS3(request: IncomingMessage, record: RecordedAwsRequest): Answer | undefined {
    return authenticate(request, '', record, s3Error).denied;
  }

  function kinesis(request: IncomingMessage, body: string, target: string, record: RecordedAwsRequest): Answer {
    const action = target.slice(KINESIS_TARGET_PREFIX.length);
    record.action = action;
    const { denied } = authenticate(request, body, record, kinesisError);
    if (denied) return denied;
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
    } catch {
      return kinesisError(400, 'SerializationException', 'Start of structure or map found where not expected.');
    }
    const iterator = action === 'GetRecords' ? decodeIterator(input['ShardIterator']) : undefined;
    const arn = typeof input['StreamARN'] === 'string' ? input['StreamARN'] : undefined;
    const name = iterator?.stream ?? (typeof input['StreamName'] === 'string' ? input['StreamName'] : arn?.replace(/^arn:aws[\w-]*:kinesis:[^:]*:\d{12}:stream\//, ''));
    if (name !== undefined) record.streamName = name;
    if (action === 'GetRecords' && iterator === undefined) return kinesisError(400, 'InvalidArgumentException', 'Invalid ShardIterator.');
    const stream = name === undefined ? undefined : streams.get(name);
    if (name === undefined || stream === undefined) {
      return kinesisError(400, 'ResourceNotFoundException', `Stream ${name ?? '(none)'} under account ${accountId} not found.`);
    }
    const shard = { ShardId: SHARD_ID, HashKeyRange: { StartingHashKey: '0', EndingHashKey: MAX_HASH_KEY }, SequenceNumberRange: { StartingSequenceNumber: sequenceNumber(0n) } };
    const put = (entry: unknown): StreamRecord | string => {
      const { Data: data, PartitionKey: partitionKey } = (entry ?? {}) as { Data?: unknown; PartitionKey?: unknown };
      if (typeof data !== 'string' || typeof partitionKey !== 'string' || partitionKey === '') return 'Data (base64) and PartitionKey are required.';
      const record = { partitionKey, data: new Uint8Array(Buffer.from(data, 'base64')), sequenceNumber: sequenceNumber((sequence += 1n)), arrivedAtSeconds: clock() / 1000 };
      stream.push(record);
      return record;
    };
    switch (action) {
      case 'PutRecord': {
        const added = put(input);
        if (typeof added === 'string') return kinesisError(400, 'ValidationException', added);
        return kinesisJson({ ShardId: SHARD_ID, SequenceNumber: added.sequenceNumber, EncryptionType: 'NONE' });
      }
      case 'PutRecords': {
        const entries = Array.isArray(input['Records']) ? input['Records'] : [];
        if (entries.length === 0) return kinesisError(400, 'ValidationException', 'Records must hold 1 to 500 entries.');
        const added = entries.map(put);
        const invalid = added.find((item) => typeof item === 'string');
        if (typeof invalid === 'string') return kinesisError(400, 'ValidationException', invalid);
        return kinesisJson({ FailedRecordCount: 0, Records: (added as StreamRecord[]).map((item) => ({ ShardId: SHARD_ID, SequenceNumber: item.sequenceNumber })), EncryptionType: 'NONE' });
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
        const limit = typeof input['Limit'] === 'number' ? input['Limit'] : 10_000;
        const page = stream.slice(position, position + limit);
        return kinesisJson({
          Records: page.map((item) => ({ SequenceNumber: item.sequenceNumber, ApproximateArrivalTimestamp: item.arrivedAtSeconds, Data: Buffer.from(item.data).toString('base64'), PartitionKey: item.partitionKey })),
          NextShardIterator: encodeIterator(name, position + page.length),
          MillisBehindLatest: 0,
        });
      }
      case 'ListShards':
        return kinesisJson({ Shards: [shard] });
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

  function s3(request: IncomingMessage, url: URL, record: RecordedAwsRequest): Answer {
    const [bucketName = '', ...keyParts] = url.pathname.slice(1).split('/');
    const bucket = buckets.get(decodeURIComponent(bucketName));
    const key = decodeURIComponent(keyParts.join('/'));
    const method = request.method ?? 'GET';
    if (method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      record.action = 'ListObjectsV2';
      const denied = authenticateS3(request, record);
      if (denied) return denied;
      if (!bucket) return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
      return listObjects(decodeURIComponent(bucketName), bucket, url.searchParams);
    }
    if ((method === 'GET' || method === 'HEAD') && key !== '') {
      record.action = method === 'GET' ? 'GetObject' : 'HeadObject';
      const denied = authenticateS3(request, record);
      if (denied) return method === 'HEAD' ? { ...denied, body: '' } : denied;
      if (!bucket) return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', method === 'HEAD');
      const object = bucket.get(key);
      if (!object) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', method === 'HEAD');
      return {
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(object.byteLength),
          etag: `"${createHash('md5').update(object).digest('hex')}"`,
          'last-modified': new Date(clock()).toUTCString(),
        },
        body: method === 'HEAD' ? '' : object,
        errorCode: null,
      };
    }
    record.action = `${method} ${url.pathname}`;
    return s3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
  }

  function listObjects(name: string, bucket: Map<string, Uint8Array>, query: URLSearchParams): Answer {
    const prefix = query.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
    const after = query.get('continuation-token') ? Buffer.from(query.get('continuation-token') ?? '', 'base64url').toString() : (query.get('start-after') ?? '');
    const keys = [...bucket.keys()].filter((key) => key.startsWith(prefix) && key > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map((key) => {
        const object = bucket.get(key) ?? new Uint8Array();
        const etag = createHash('md5').update(object).digest('hex');
        return `  <Contents><Key>${xml(key)}</Key><LastModified>${new Date(clock()).toISOString()}</LastModified><ETag>&quot;${etag}&quot;</ETag><Size>${object.byteLength}</Size><StorageClass>STANDARD</StorageClass></Contents>\n`;
      })
      .join('');
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page.at(-1) ?? '').toString('base64url')}</NextContinuationToken>` : '';
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${S3_NAMESPACE}">\n` +
      `  <Name>${xml(name)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>${next}\n${contents}</ListBucketResult>\n`;
    return { status: 200, headers: { 'content-type': 'application/xml' }, body, errorCode: null };
  }

  async function handle(request: IncomingMessage, body: string): Promise<Answer> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    const target = header(request, 'x-amz-target');
    if (method === 'POST' && target?.startsWith(KINESIS_TARGET_PREFIX)) {
      const record: RecordedAwsRequest = { service: 'kinesis', action: target.slice(KINESIS_TARGET_PREFIX.length), method, path: url.pathname, status: 0, errorCode: null };
      requests.push(record);
      const fault = takeFault('kinesis');
      return finish(record, fault ? faultAnswer(fault, kinesisError) : kinesis(request, body, target, record));
    }
    // STS: the Query protocol, on whatever path and host the SDK's (regional) endpoint gives.
    const isForm = method === 'POST' && (header(request, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded');
    const form = isForm ? new URLSearchParams(body) : undefined;
    const action = form?.get('Action') ?? url.searchParams.get('Action');
    if (action !== null) {
      const record: RecordedAwsRequest = { service: 'sts', action, method, path: url.pathname, status: 0, errorCode: null };
      requests.push(record);
      const answer = await sts(request, body, action, form ?? url.searchParams, record);
      return finish(record, answer);
    }
    const record: RecordedAwsRequest = { service: 's3', action: '', method, path: url.pathname, status: 0, errorCode: null };
    requests.push(record);
    const fault = takeFault('s3');
    return finish(record, fault ? faultAnswer(fault, s3Error) : s3(request, url, record));
  }

  async function sts(request: IncomingMessage, body: string, action: string, parameters: URLSearchParams, record: RecordedAwsRequest): Promise<Answer> {
    const fault = takeFault('sts');
    if (fault) return faultAnswer(fault, stsError);
    if (action !== 'AssumeRoleWithWebIdentity' && action !== 'AssumeRole') {
      return stsError(400, 'InvalidAction', `Could not find operation ${action} for version ${parameters.get('Version') ?? ''}`);
    }
    if (parameters.get('Version') !== '2011-06-15') return stsError(400, 'InvalidParameterValue', 'Version must be 2011-06-15');
    return action === 'AssumeRole' ? assumeRole(request, body, parameters, record) : assumeRoleWithWebIdentity(parameters, record);
  }

  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    readBody(request)
      .then(async (body) => {
        const answer = await handle(request, body);
        if (answer.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        return answer;
      })
      .then(
        (answer) => {
          response.writeHead(answer.status, { 'x-amzn-requestid': randomUUID(), ...answer.headers });
          response.end(request.method === 'HEAD' ? undefined : answer.body);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(`Mock AWS failure: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
  };
  const listening = await listenOnLoopback(createServer(onRequest));
  // The Kinesis client's default handler speaks HTTP/2 (cleartext here), so Kinesis has a port of its own.
  const http2 = createHttp2Server();
  http2.on('request', onRequest as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void);
  const sessions2 = new Set<ServerHttp2Session>();
  http2.on('session', (session: ServerHttp2Session) => {
    sessions2.add(session);
    session.once('close', () => sessions2.delete(session));
  });
  const listening2 = await listenOnLoopback(http2 as unknown as Server);
  const closeAll = async (): Promise<void> => {
    for (const session of sessions2) session.destroy();
    await Promise.all([listening.close(), listening2.close()]);
  };
  const endpoint = `http://127.0.0.1:${listening.port}`;

  return {
    endpoint,
    stsEndpoint: endpoint,
    s3Endpoint: endpoint,
    kinesisEndpoint: `http://127.0.0.1:${listening2.port}`,
    clientConfig: (service = 'sts') => ({ endpoint: service === 'kinesis' ? `http://127.0.0.1:${listening2.port}` : endpoint, region: 'us-east-1', ...(service === 's3' ? { forcePathStyle: true } : {}) }),
    streamRecords: (name) => (streams.get(name) ?? []).map(({ partitionKey, data, sequenceNumber }) => ({ partitionKey, data, sequenceNumber })),
    requests,
    get stsCalls() {
      return requests.filter((request) => request.service === 'sts' && request.action === 'AssumeRoleWithWebIdentity').length;
    },
    get s3Calls() {
      return requests.filter((request) => request.service === 's3').length;
    },
    failNext(...args: [MockAwsFailure] | [number, MockAwsFailure]) {
      const failure = toFailure<MockAwsFailure>(args);
      faults.push({ remaining: failure.count ?? 1, failure });
    },
    reset() {
      requests.length = 0;
      faults.length = 0;
    },
    close: closeAll,
    [Symbol.asyncDispose]: closeAll,
  };
}

const KINESIS_TARGET_PREFIX = 'Kinesis_20131202.';
const SHARD_ID = 'shardId-000000000000';
const MAX_HASH_KEY = '340282366920938463463374607431768211455';

/** Kinesis sequence numbers are decimal strings of up to 128 digits; these sort like their numbers. */
function sequenceNumber(index: bigint): string {
  return (10n ** 55n + index).toString();
}

function encodeIterator(stream: string, position: number): string {
  return Buffer.from(JSON.stringify({ stream, position })).toString('base64url');
}

function decodeIterator(value: unknown): { stream: string; position: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(String(value), 'base64url').toString()) as { stream?: unknown; position?: unknown };
    return typeof parsed.stream === 'string' && typeof parsed.position === 'number' ? { stream: parsed.stream, position: parsed.position } : undefined;
  } catch {
    return undefined;
  }
}

function kinesisJson(value: unknown): Answer {
  return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(value), errorCode: null };
}

function kinesisError(status: number, code: string, message: string): Answer {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code }, body: JSON.stringify({ __type: code, message }), errorCode: code };
}

/** A queued failure in the service's format; `body` replaces the rendered error. */
function faultAnswer(failure: MockAwsFailure, render: (status: number, code: string, message: string) => Answer): Answer {
  const code = faultCode(failure, render);
  const answer = render(failure.status, code, failure.message ?? (failure.status === 400 || failure.status === 429 ? 'Rate exceeded' : 'Service unavailable'));
  if (failure.body !== undefined) answer.body = typeof failure.body === 'string' ? failure.body : JSON.stringify(failure.body);
  if (failure.retryAfterSeconds !== undefined) answer.headers['retry-after'] = String(failure.retryAfterSeconds);
  for (const [name, value] of Object.entries(failure.headers ?? {})) answer.headers[name.toLowerCase()] = value;
  if (failure.delayMs !== undefined) answer.delayMs = failure.delayMs;
  return answer;
}

function finish(record: RecordedAwsRequest, answer: Answer): Answer {
  record.status = answer.status;
  record.errorCode = answer.errorCode;
  return answer;
}

function faultCode(failure: MockAwsFailure, render: unknown): string {
  if (failure.code) return failure.code;
  if (failure.status === 400 || failure.status === 429) {
    return render === s3Error ? 'SlowDown' : render === kinesisError ? 'ProvisionedThroughputExceededException' : 'Throttling';
  }
  return failure.status === 503 ? 'ServiceUnavailable' : 'InternalFailure';
}

function stsError(status: number, code: string, message: string): Answer {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const body =
    `<ErrorResponse xmlns="${STS_NAMESPACE}">\n` +
    `  <Error>\n    <Type>${type}</Type>\n    <Code>${xml(code)}</Code>\n    <Message>${xml(message)}</Message>\n  </Error>\n` +
    `  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`;
  return { status, headers: { 'content-type': 'text/xml' }, body, errorCode: code };
}

function s3Error(status: number, code: string, message: string, headOnly = false): Answer {
  const body = headOnly
    ? ''
    : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message>` +
      `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>\n`;
  return { status, headers: { 'content-type': 'application/xml' }, body, errorCode: code };
}

function xml(value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name] ?? (name === 'host' ? request.headers[':authority'] : undefined);
  return Array.isArray(value) ? value.join(',') : value;
}

function sameText(left: string, right: string): boolean {
  const a = Buffer.from(left);
  const b = Buffer.from(right);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The IAM OIDC provider "URL" for an issuer: host and path, no scheme, as in trust-policy condition keys. */
function issuerHost(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Recomputes a SigV4 signature (S3 signs the path as sent; other services encode it once more) and compares it. */
function signatureMatches(request: IncomingMessage, body: string, authorization: string, secretAccessKey: string, s3: boolean): boolean {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return false;
  const [, , date = '', region = '', service = '', signedHeaderList = '', signature = ''] = match;
  const amzDate = header(request, 'x-amz-date') ?? '';
  const rawUrl = request.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const sentPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  const path = s3 ? sentPath : sentPath.split('/').map((segment) => escapeUri(segment)).join('/');
  const query = queryStart === -1 ? '' : rawUrl.slice(queryStart + 1);
  const canonicalQuery = [...new URLSearchParams(query)]
    .map(([name, value]) => [escapeUri(name), escapeUri(value)] as const)
    .sort(([a, aValue], [b, bValue]) => (a < b ? -1 : a > b ? 1 : aValue < bValue ? -1 : aValue > bValue ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const signedHeaders = signedHeaderList.split(';');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(request, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = header(request, 'x-amz-content-sha256') ?? createHash('sha256').update(body).digest('hex');
  const canonicalRequest = [request.method ?? 'GET', path, canonicalQuery, canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return sameText(expected, signature);
}
