import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { listenOnLoopback, readBody } from './loopback.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

/**
 * A role that web identities may assume, with the one trust-policy condition Skyporten uses:
 * `StringEquals { "<issuer host>:sub": ... }`.
 */
export interface MockAwsRole {
  /** `arn:aws:iam::<12-digit account>:role/<name>`. */
  roleArn: string;
  /** The role's trust policy: which Skyporten token subjects may assume it. */
  trustPolicy: {
    /** The allowed `sub` values, e.g. `0192:991825827;entur:skyporten.demo` (StringEquals: exact match). */
    sub: string | readonly string[];
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
   * Check the full SigV4 signature of S3 requests (canonical request, string to sign, HMAC chain) with the
   * secret of the session it names.
   * @default true
   */
  verifySignatures?: boolean;
}

/** One request the mock received. Never holds a token or a secret. */
export interface RecordedAwsRequest {
  /** Which service answered. */
  service: 'sts' | 's3';
  /** `AssumeRoleWithWebIdentity`, `GetObject`, `HeadObject`, `ListObjectsV2`, or what was asked. */
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
  /** STS: the `sub` of the presented token, when it could be decoded. */
  subject?: string;
  /** S3: the access key id the request was signed with. */
  accessKeyId?: string;
}

/** A fault injected with `failNext`. */
export interface MockAwsFailure {
  /** HTTP status, e.g. 500, 503 or 400 (with `code: 'Throttling'`). */
  status: number;
  /** AWS error code. @default `Throttling` for 400/429, `ServiceUnavailable` for 503, else `InternalFailure` */
  code?: string;
  /** Error message. @default a generic one for the code */
  message?: string;
  /** Which service fails. @default 'sts' */
  service?: 'sts' | 's3';
}

/** Local AWS STS and S3 endpoints on `http://127.0.0.1:<random port>`. */
export interface MockAws {
  /** The one server's URL; STS and S3 share it. */
  endpoint: string;
  /** Where STS clients should send requests (`endpoint`). */
  stsEndpoint: string;
  /** Where S3 clients should send path-style requests (`endpoint`; use `forcePathStyle: true`). */
  s3Endpoint: string;
  /** Every request, in order. Cleared by `reset()`. */
  readonly requests: readonly RecordedAwsRequest[];
  /** How many `AssumeRoleWithWebIdentity` requests arrived (answered or failed). */
  readonly stsCalls: number;
  /** How many S3 requests arrived. */
  readonly s3Calls: number;
  /** The next `count` requests to `failure.service` (default STS) answer the failure. */
  failNext(count: number, failure: MockAwsFailure): void;
  /** Clears recorded requests and queued failures; issued sessions stay valid. */
  reset(): void;
  /** Stops the server. */
  close(): Promise<void>;
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

  function takeFault(service: 'sts' | 's3'): MockAwsFailure | undefined {
    const fault = faults.find((candidate) => (candidate.failure.service ?? 'sts') === service && candidate.remaining > 0);
    if (!fault) return undefined;
    fault.remaining--;
    return fault.failure;
  }

  async function assumeRoleWithWebIdentity(parameters: URLSearchParams, record: RecordedAwsRequest): Promise<Answer> {
    const roleArn = parameters.get('RoleArn') ?? '';
    const sessionName = parameters.get('RoleSessionName') ?? '';
    const token = parameters.get('WebIdentityToken') ?? '';
    const durationText = parameters.get('DurationSeconds');
    record.roleArn = roleArn;

    const invalid: string[] = [];
    if (roleArn.length < 20 || roleArn.length > 2048) invalid.push(`Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`);
    if (!SESSION_NAME.test(sessionName)) invalid.push(`Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    const duration = durationText === null ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      invalid.push(`Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    }
    if (token.length < 4) invalid.push("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4");
    if (invalid.length > 0) return stsError(400, 'ValidationError', `${invalid.length} validation error${invalid.length > 1 ? 's' : ''} detected: ${invalid.join('; ')}`);

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
    const allowed = role === undefined ? [] : typeof role.trustPolicy.sub === 'string' ? [role.trustPolicy.sub] : role.trustPolicy.sub;
    if (role === undefined || typeof claims.sub !== 'string' || !allowed.includes(claims.sub)) {
      return stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    }
    if (duration > (role.maxSessionDurationSeconds ?? 43200)) {
      return stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const lifetime = options.credentialLifetimeSeconds ?? duration;
    const session: Session = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`,
      expiresAt: Math.floor(clock() / 1000) * 1000 + lifetime * 1000,
      roleArn,
    };
    sessions.set(session.accessKeyId, session);
    const [, account, roleName] = ROLE_ARN.exec(roleArn) ?? [];
    const body =
      `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NAMESPACE}">\n` +
      `  <AssumeRoleWithWebIdentityResult>\n` +
      `    <Audience>${xml(audiences[0] ?? '')}</Audience>\n` +
      `    <AssumedRoleUser>\n` +
      `      <Arn>arn:aws:sts::${account}:assumed-role/${xml(roleName ?? '')}/${xml(sessionName)}</Arn>\n` +
      `      <AssumedRoleId>AROA${createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}:${xml(sessionName)}</AssumedRoleId>\n` +
      `    </AssumedRoleUser>\n` +
      `    <Provider>${xml(issuerHost(issuer))}</Provider>\n` +
      `    <Credentials>\n` +
      `      <AccessKeyId>${session.accessKeyId}</AccessKeyId>\n` +
      `      <SecretAccessKey>${xml(session.secretAccessKey)}</SecretAccessKey>\n` +
      `      <SessionToken>${xml(session.sessionToken)}</SessionToken>\n` +
      `      <Expiration>${new Date(session.expiresAt).toISOString().replace('.000Z', 'Z')}</Expiration>\n` +
      `    </Credentials>\n` +
      `    <SubjectFromWebIdentityToken>${xml(claims.sub)}</SubjectFromWebIdentityToken>\n` +
      `  </AssumeRoleWithWebIdentityResult>\n` +
      `  <ResponseMetadata>\n    <RequestId>${randomUUID()}</RequestId>\n  </ResponseMetadata>\n` +
      `</AssumeRoleWithWebIdentityResponse>\n`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body, errorCode: null };
  }

  function authenticateS3(request: IncomingMessage, record: RecordedAwsRequest): Answer | undefined {
    const authorization = header(request, 'authorization');
    const credential = /Credential=([^/,\s]+)\/([^,\s]+)/.exec(authorization ?? '');
    if (!authorization || !credential) return s3Error(403, 'AccessDenied', 'Access Denied');
    const accessKeyId = credential[1] ?? '';
    record.accessKeyId = accessKeyId;
    const session = sessions.get(accessKeyId);
    if (!session) return s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (!sameText(header(request, 'x-amz-security-token') ?? '', session.sessionToken)) {
      return s3Error(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
    }
    if (clock() >= session.expiresAt) return s3Error(400, 'ExpiredToken', 'The provided token has expired.');
    if (verifySignatures && !signatureMatches(request, authorization, session.secretAccessKey)) {
      return s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }
    return undefined;
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
    const form = method === 'POST' && url.pathname === '/' ? new URLSearchParams(body) : undefined;
    const action = form?.get('Action') ?? url.searchParams.get('Action');
    if (action !== null) {
      const record: RecordedAwsRequest = { service: 'sts', action, method, path: url.pathname, status: 0, errorCode: null };
      requests.push(record);
      const answer = await sts(action, form ?? url.searchParams, record);
      return finish(record, answer);
    }
    const record: RecordedAwsRequest = { service: 's3', action: '', method, path: url.pathname, status: 0, errorCode: null };
    requests.push(record);
    const fault = takeFault('s3');
    return finish(record, fault ? s3Error(fault.status, faultCode(fault), fault.message ?? 'Please reduce your request rate.') : s3(request, url, record));
  }

  async function sts(action: string, parameters: URLSearchParams, record: RecordedAwsRequest): Promise<Answer> {
    const fault = takeFault('sts');
    if (fault) return stsError(fault.status, faultCode(fault), fault.message ?? (fault.status === 400 || fault.status === 429 ? 'Rate exceeded' : 'Service unavailable'));
    if (action !== 'AssumeRoleWithWebIdentity') return stsError(400, 'InvalidAction', `Could not find operation ${action} for version ${parameters.get('Version') ?? ''}`);
    if (parameters.get('Version') !== '2011-06-15') return stsError(400, 'InvalidParameterValue', 'Version must be 2011-06-15');
    return assumeRoleWithWebIdentity(parameters, record);
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    readBody(request)
      .then((body) => handle(request, body))
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
  });
  const listening = await listenOnLoopback(server);
  const endpoint = `http://127.0.0.1:${listening.port}`;

  return {
    endpoint,
    stsEndpoint: endpoint,
    s3Endpoint: endpoint,
    requests,
    get stsCalls() {
      return requests.filter((request) => request.service === 'sts' && request.action === 'AssumeRoleWithWebIdentity').length;
    },
    get s3Calls() {
      return requests.filter((request) => request.service === 's3').length;
    },
    failNext(count, failure) {
      faults.push({ remaining: count, failure });
    },
    reset() {
      requests.length = 0;
      faults.length = 0;
    },
    close() {
      return listening.close();
    },
  };
}

function finish(record: RecordedAwsRequest, answer: Answer): Answer {
  record.status = answer.status;
  record.errorCode = answer.errorCode;
  return answer;
}

function faultCode(failure: MockAwsFailure): string {
  if (failure.code) return failure.code;
  if (failure.status === 400 || failure.status === 429) return failure.service === 's3' ? 'SlowDown' : 'Throttling';
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
  const value = request.headers[name];
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

/** Recomputes an S3 SigV4 signature (path not double-encoded, as S3 signs) and compares it. */
function signatureMatches(request: IncomingMessage, authorization: string, secretAccessKey: string): boolean {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return false;
  const [, , date = '', region = '', service = '', signedHeaderList = '', signature = ''] = match;
  const amzDate = header(request, 'x-amz-date') ?? '';
  const rawUrl = request.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
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
  const payloadHash = header(request, 'x-amz-content-sha256') ?? createHash('sha256').update('').digest('hex');
  const canonicalRequest = [request.method ?? 'GET', path, canonicalQuery, canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return sameText(expected, signature);
}
