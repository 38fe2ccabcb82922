import type { JWTPayload } from 'jose';
import { ObjectStore, createSubjectTokenVerifier, digest, googleError, googleFailure, isoSeconds, mintSecret, recordStatus, UNAUTHENTICATED } from './cloud.js';
import type { MockIssuerReference, SubjectTokenProblem } from './cloud.js';
import { bearerToken, createMockService, json, liveCounters, mockLifecycle } from './mock-service.js';
import type { MockAnswer, MockFailure, MockLifecycle, MockRequest } from './mock-service.js';

const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const MAX_TOKEN_SECONDS = 3600;
const DELEGATE = /^projects\/-\/serviceAccounts\/([^/]+@[^/]+)$/;
const INVALID_AUDIENCE = 'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.';
const IMPERSONATION_PATH = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;

/** A service of the mock whose next answers can be replaced with `failNext`. */
export type MockGcpService = 'sts' | 'iamcredentials' | 'storage' | 'tokeninfo';

/**
 * One IAM binding: who (`principalSet`, a member as in `gcloud ... --member`, or `serviceAccount:<email>` for a
 * `delegates` hop) may impersonate a service account, or read a bucket directly. See the package README.
 */
export type MockGcpBinding =
  | {
      /** Grants `roles/iam.workloadIdentityUser` on this service account: the member may impersonate it. */
      serviceAccountEmail: string;
      /** The member granted, a `principalSet://` or `principal://` identifier. */
      principalSet: string;
    }
  | {
      /** Grants `roles/storage.objectViewer` on this bucket to the federated member directly (no impersonation). */
      bucket: string;
      /** The member granted, a `principalSet://` or `principal://` identifier. */
      principalSet: string;
    };

/** The attributes a workload identity provider maps from a Skyporten token, keyed as in GCP (`google.subject`, `attribute.x`). */
export type MockGcpAttributes = Record<string, string>;

/** Options of {@link createMockGcp}. */
export interface MockGcpOptions {
  /** The Skyporten issuer the provider trusts: a `MockSkyporten`, or its `issuer` string and `jwksUri`. */
  issuer: MockIssuerReference;
  /** The project number of the pool. @default "123456789012" */
  projectNumber?: string | undefined;
  /** The workload identity pool id. @default "skyporten" */
  poolId?: string | undefined;
  /** The OIDC provider id in the pool. @default "maskinporten" */
  providerId?: string | undefined;
  /** The provider's allowed audiences: the `resource` consumers ask Maskinporten for. */
  allowedAudiences: string[];
  /** The provider's attribute condition (a CEL expression on GCP): a function of the mapped attributes and the claims. @default accept every token */
  attributeCondition?: ((attributes: MockGcpAttributes, claims: JWTPayload) => boolean) | undefined;
  /** IAM bindings: who may impersonate which service account, and who may read which bucket directly. @default [] */
  bindings?: MockGcpBinding[] | undefined;
  /** Objects served by the Storage JSON API, by bucket then object name. @default {} */
  buckets?: Record<string, Record<string, string | Uint8Array>> | undefined;
  /** Lifetime of service account tokens from `generateAccessToken`, capped by the `lifetime` asked for. @default 3600 */
  accessTokenLifetimeSeconds?: number | undefined;
  /** Current time in milliseconds, for the `exp` checks and token lifetimes. @default Date.now */
  clock?: (() => number) | undefined;
}

/** Call counters of a {@link MockGcp}. Live: read them after the calls. */
export interface MockGcpCounters {
  /** POSTs to the STS token endpoint (including failed ones). */
  readonly stsCalls: number;
  /** POSTs to IAM Credentials `generateAccessToken` (including failed ones). */
  readonly generateAccessTokenCalls: number;
  /** Requests to the Storage JSON API. */
  readonly storageCalls: number;
  /** Requests to `/tokeninfo` (including failed ones). */
  readonly tokenInfoCalls: number;
}

/** One request the mock answered. Tokens are never recorded. */
export interface MockGcpRequest {
  /** Which service answered. */
  service: MockGcpService;
  /** The HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** The HTTP status of the answer. */
  status: number;
  /** For STS, the parsed form fields except `subject_token`; for IAM Credentials, the email and JSON body. */
  details?: Record<string, unknown>;
}

/** A fault for `failNext`, e.g. `gcp.failNext({ service: 'iamcredentials', status: 503 })`: Google's error JSON, `status` `code` (default `UNAVAILABLE` for 5xx, else `FAILED_PRECONDITION`). */
export type MockGcpFailure = MockFailure<MockGcpService>;

/** A running mock of GCP STS, IAM Credentials and the Storage JSON API. */
export interface MockGcp extends Omit<MockLifecycle<MockGcpRequest, MockGcpFailure>, 'failNext'> {
  /** `http://127.0.0.1:<port>`: all three services share it. */
  endpoint: string;
  /** `${endpoint}/v1/token`: pass as `tokenUrl`. */
  stsTokenUrl: string;
  /** `${endpoint}/v1`: the IAM Credentials base; see {@link MockGcp.serviceAccountImpersonationUrl}. */
  iamCredentialsUrl: string;
  /** `${endpoint}`: pass as Storage `apiEndpoint` (with `useAuthWithCustomEndpoint: true`). */
  storageEndpoint: string;
  /** `${endpoint}/tokeninfo`, standing in for `https://oauth2.googleapis.com/tokeninfo` for the tokens this mock issued. */
  tokenInfoUrl: string;
  /** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q`. */
  audience: string;
  /** The project number in `audience`. */
  projectNumber: string;
  /** The workload identity pool id in `audience`. */
  poolId: string;
  /** The provider id in `audience`. */
  providerId: string;
  /** `principalSet://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P`: prefix of members. */
  poolPrincipalPrefix: string;
  /** The impersonation URL for an email on this mock. */
  serviceAccountImpersonationUrl(email: string): string;
  /** What points `@skyporten/gcp`'s `skyportenCredentials` (or an external_account config) at this mock in one spread. */
  credentialOptions(serviceAccountEmail?: string): {
    /** The workload identity provider the mock accepts. */
    audience: string;
    /** The mock's STS token URL. */
    tokenUrl: string;
    /** The mock's generateAccessToken URL for that service account, when one is given. */
    serviceAccountImpersonationUrl?: string;
  };
  /** What points a `@google-cloud/storage` `Storage` client at this mock in one spread. */
  storageOptions(): {
    /** The mock's Cloud Storage URL. */
    apiEndpoint: string;
    /** Makes @google-cloud/storage send credentials to a custom endpoint. */
    useAuthWithCustomEndpoint: true;
  };
  /** Live call counters. */
  counters: MockGcpCounters;
  /** @deprecated Use `failNext({ service, count, ...failure })`; this form goes in the next minor. */
  failNext(service: MockGcpService, count: number, failure: MockGcpFailure): void;
  /** The next `failure.count` (default 1) requests to `failure.service` (default `sts`) answer `failure`. */
  failNext(failure: MockGcpFailure): void;
  /** Shifts the mock's clock by `seconds` (positive: ahead), e.g. to make tokens look expired. */
  setClockOffset(seconds: number): void;
  /** Adds or replaces an object. */
  putObject(bucket: string, name: string, content: string | Uint8Array): void;
  /** Clears counters, requests, queued faults and issued tokens. */
  reset(): void;
}

/** A token this mock issued: federated (from STS, with the `members` it carries) or for `serviceAccountEmail`. */
interface IssuedToken {
  members: Set<string>;
  principal?: string;
  serviceAccountEmail?: string;
  scopes: string[];
  expiresAtMs: number;
}

/** Starts local GCP STS, IAM Credentials, Storage and tokeninfo endpoints that apply GCP's rules to Skyporten tokens. */
export async function createMockGcp(options: MockGcpOptions): Promise<MockGcp> {
  const { projectNumber = '123456789012', poolId = 'skyporten', providerId = 'maskinporten', bindings = [], clock: systemClock = Date.now } = options;
  if (!/^\d+$/.test(projectNumber)) throw new TypeError('createMockGcp: projectNumber must be digits, e.g. "123456789012".');
  if (!Array.isArray(options.allowedAudiences) || options.allowedAudiences.length === 0) {
    throw new TypeError('createMockGcp: allowedAudiences must list at least one audience, e.g. ["https://skyporten.example.org"].');
  }
  const poolName = `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
  const audience = `//iam.googleapis.com/${poolName}/providers/${providerId}`;
  const poolPrincipalPrefix = `principalSet://iam.googleapis.com/${poolName}`;
  const store = new ObjectStore(options.buckets);
  let clockOffsetMs = 0;
  const now = (): number => systemClock() + clockOffsetMs;
  const verifyToken = createSubjectTokenVerifier(options.issuer, options.allowedAudiences, now);
  const tokens = new Map<string, IssuedToken>();

  function issueToken(record: IssuedToken, prefix: string): string {
    const token = mintSecret(`${prefix}.`, 32);
    tokens.set(token, record);
    return token;
  }

  function liveToken(token: string | null | undefined): IssuedToken | undefined {
    const record = token === null || token === undefined ? undefined : tokens.get(token);
    return record !== undefined && record.expiresAtMs > now() ? record : undefined;
  }

  async function exchangeToken(request: MockRequest): Promise<MockAnswer> {
    const fields = stsFields(request);
    const { subject_token: subjectToken, ...details } = fields as Record<string, unknown>;
    const fail = (error: string, description: string): MockAnswer => ({ ...oauthError(400, error, description), log: { details } });
    const expected = { grant_type: [TOKEN_EXCHANGE_GRANT_TYPE], requested_token_type: [ACCESS_TOKEN_TYPE], subject_token_type: SUBJECT_TOKEN_TYPES };
    for (const [field, allowed] of Object.entries(expected)) {
      if (!allowed.includes(fields[field] ?? '')) return fail('invalid_request', `Invalid value for "${field}". Expected "${allowed[0]}".`);
    }
    if (fields.audience !== audience) return fail('invalid_target', INVALID_AUDIENCE);
    const { problem, claims, audiences } = await verifyToken(typeof subjectToken === 'string' ? subjectToken : '');
    if (problem !== undefined) {
      const messages: Record<SubjectTokenProblem, string> = {
        malformed: 'Unable to parse the ID Token.',
        issuer: `The issuer in ID Token ${String(claims.iss)} does not match the expected ones: ${options.issuer.issuer}.`,
        expired: `ID Token expired at ${String(claims.exp)}; the current time is ${Math.floor(now() / 1000)}.`,
        signature: 'Invalid ID Token: the signature could not be verified with the provider\'s JWKS.',
        audience: `The audience in ID Token [${audiences.join(', ')}] does not match the expected audience.`,
      };
      return fail('invalid_grant', messages[problem]);
    }
    const attributes = mapAttributes(claims);
    const subject = attributes['google.subject'];
    if (!subject) return fail('invalid_grant', 'The mapped attribute google.subject must not be empty: the ID Token has no consumer.ID claim.');
    if (Buffer.byteLength(subject) > 127) return fail('invalid_grant', 'The mapped attribute google.subject exceeds the 127 byte limit.');
    if (options.attributeCondition !== undefined && !options.attributeCondition(attributes, claims)) return fail('unauthorized_client', 'The given credential is rejected by the attribute condition.');
    const principal = `principal://iam.googleapis.com/${poolName}/subject/${subject}`;
    const attributeMembers = Object.entries(attributes).filter(([key]) => key.startsWith('attribute.')).map(([key, value]) => `${poolPrincipalPrefix}/${key}/${value}`);
    const members = new Set([principal, `${poolPrincipalPrefix}/*`, ...attributeMembers]);
    const expiresIn = Math.max(1, Math.min(MAX_TOKEN_SECONDS, Math.floor(((claims.exp ?? 0) * 1000 - now()) / 1000)));
    const accessToken = issueToken({ members, principal, scopes: (fields.scope ?? '').split(/\s+/).filter(Boolean), expiresAtMs: now() + expiresIn * 1000 }, 'mock-federated');
    const body = { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: expiresIn };
    return { ...json(200, body), log: { details: { ...details, principal } } };
  }

  function generateAccessToken(request: MockRequest): MockAnswer {
    const email = request.params[0] ?? '';
    if (typeof request.json !== 'object' || request.json === null) return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    const parsed = request.json as { scope?: unknown; lifetime?: unknown; delegates?: unknown };
    const details = { serviceAccountEmail: email, scope: parsed.scope, lifetime: parsed.lifetime, delegates: parsed.delegates };
    const fail = (code: number, status: string, message: string): MockAnswer => ({ ...googleError(code, status, message), log: { details } });
    const caller = liveToken(bearerToken(request));
    if (caller === undefined) return fail(401, 'UNAUTHENTICATED', UNAUTHENTICATED);
    const delegates = parsed.delegates ?? [];
    if (!Array.isArray(delegates) || !delegates.every((item) => typeof item === 'string' && DELEGATE.test(item))) {
      return fail(400, 'INVALID_ARGUMENT', "Invalid value at 'delegates': use [\"projects/-/serviceAccounts/EMAIL\", ...].");
    }
    // The chain: the caller must be granted on the first delegate, each delegate on the next, the last on `email`.
    let members = caller.serviceAccountEmail === undefined ? caller.members : new Set([`serviceAccount:${caller.serviceAccountEmail}`]);
    for (const hop of [...(delegates as string[]).map((item) => item.replace(DELEGATE, '$1')), email]) {
      const granted = bindings.some((binding) => 'serviceAccountEmail' in binding && binding.serviceAccountEmail === hop && members.has(binding.principalSet));
      if (!granted) return fail(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
      members = new Set([`serviceAccount:${hop}`]);
    }
    if (!Array.isArray(parsed.scope) || parsed.scope.length === 0) return fail(400, 'INVALID_ARGUMENT', 'Scope required.');
    let lifetimeSeconds = options.accessTokenLifetimeSeconds ?? 3600;
    if (parsed.lifetime !== undefined) {
      const asked = Number(/^(\d+(?:\.\d+)?)s$/.exec(String(parsed.lifetime))?.[1] ?? Number.NaN);
      if (Number.isNaN(asked)) return fail(400, 'INVALID_ARGUMENT', 'Invalid value at \'lifetime\'.');
      if (asked > MAX_TOKEN_SECONDS) return fail(400, 'INVALID_ARGUMENT', 'The lifetime requested is more than the maximum of 3600s.');
      lifetimeSeconds = Math.min(lifetimeSeconds, asked);
    }
    const expiresAtMs = now() + lifetimeSeconds * 1000;
    const accessToken = issueToken({ members: new Set(), serviceAccountEmail: email, scopes: parsed.scope.map(String), expiresAtMs }, 'mock-sa');
    // Whole seconds, as the real service answers ("2026-01-01T12:00:00Z"): gcloud's parser refuses fractions.
    return { ...json(200, { accessToken, expireTime: isoSeconds(expiresAtMs) }), log: { details } };
  }

  function tokenInfo(request: MockRequest): MockAnswer {
    const record = liveToken(request.url.searchParams.get('access_token') ?? request.form.get('access_token') ?? bearerToken(request));
    const expiresIn = record === undefined ? 0 : Math.floor((record.expiresAtMs - now()) / 1000);
    if (record === undefined || expiresIn <= 0) return oauthError(400, 'invalid_token', 'Invalid Value');
    const common = { scope: record.scopes.join(' '), exp: String(Math.floor(record.expiresAtMs / 1000)), expires_in: String(expiresIn) };
    const email = record.serviceAccountEmail;
    if (email === undefined) return json(200, { sub: record.principal, ...common });
    // A stable 21-digit stand-in for the service account's unique id.
    const id = `1${BigInt(`0x${digest('sha256', email).slice(0, 16)}`).toString().padStart(20, '0').slice(0, 20)}`;
    return json(200, { azp: id, aud: id, sub: id, email, email_verified: 'true', ...common, access_type: 'online' });
  }

  function storage(request: MockRequest): MockAnswer {
    const { url, params: [bucket = '', objectName = ''] } = request;
    const caller = liveToken(bearerToken(request));
    if (caller === undefined) return googleError(401, undefined, 'Invalid Credentials', 'authError');
    const mayRead = caller.serviceAccountEmail !== undefined || bindings.some((binding) => 'bucket' in binding && binding.bucket === bucket && caller.members.has(binding.principalSet));
    const who = caller.serviceAccountEmail ?? 'The federated principal';
    const denied = (permission: string, what: string): MockAnswer =>
      googleError(403, undefined, `${who} does not have ${permission} access to the Google Cloud Storage ${what}. Permission '${permission}' denied on resource (or it may not exist).`, 'forbidden');
    const objects = store.get(bucket);
    if (objectName === '') {
      if (!mayRead) return denied('storage.objects.list', 'bucket');
      if (objects === undefined) return googleError(404, undefined, 'The specified bucket does not exist.', 'notFound');
      const prefix = url.searchParams.get('prefix') ?? '';
      const items = [...objects].filter(([name]) => name.startsWith(prefix)).map(([name, content]) => objectResource(bucket, name, content));
      return json(200, { kind: 'storage#objects', items });
    }
    if (!mayRead) return denied('storage.objects.get', 'object');
    const content = objects?.get(objectName);
    if (content === undefined) return googleError(404, undefined, `No such object: ${bucket}/${objectName}`, 'notFound');
    if (url.searchParams.get('alt') !== 'media') return json(200, objectResource(bucket, objectName, content));
    const hash = `crc32c=${crc32cBase64(content)},md5=${digest('md5', content, 'base64')}`;
    return { status: 200, headers: { 'content-type': 'application/octet-stream', 'x-goog-hash': hash, 'x-goog-stored-content-length': String(content.byteLength) }, body: content };
  }

  const service = createMockService<MockGcpService, MockGcpRequest>({
    name: 'Mock GCP',
    defaultService: 'sts',
    routes: [
      { service: 'sts', method: 'POST', path: '/v1/token', handle: exchangeToken },
      { service: 'sts', path: '/v1/token', handle: () => oauthError(405, 'invalid_request', 'Use POST.') },
      { service: 'iamcredentials', method: 'POST', path: IMPERSONATION_PATH, handle: generateAccessToken },
      { service: 'iamcredentials', path: IMPERSONATION_PATH, handle: () => googleError(405, 'INVALID_ARGUMENT', 'Use POST.') },
      { service: 'tokeninfo', method: ['GET', 'POST'], path: '/tokeninfo', handle: tokenInfo },
      { service: 'storage', method: 'GET', path: /^(?:\/download)?\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/, handle: storage },
      { service: 'storage', path: /^\/.*$/, handle: ({ method, url }) => googleError(404, 'NOT_FOUND', `The mock serves GET of objects only, not ${method} ${url.pathname}.`) },
    ],
    notFound: () => googleError(404, 'NOT_FOUND', 'Not found.'),
    record: (request, name) => ({ service: name, method: request.method, path: loggedPath(request.url), status: 0 }),
    finish: recordStatus,
    renderFailure: (failure) => googleFailure(failure),
  });
  const listening = await service.listen();
  const endpoint = listening.url;
  const impersonationUrl = (email: string): string => `${endpoint}/v1/projects/-/serviceAccounts/${email}:generateAccessToken`;

  return {
    endpoint,
    stsTokenUrl: `${endpoint}/v1/token`,
    iamCredentialsUrl: `${endpoint}/v1`,
    storageEndpoint: endpoint,
    tokenInfoUrl: `${endpoint}/tokeninfo`,
    audience,
    projectNumber,
    poolId,
    providerId,
    poolPrincipalPrefix,
    serviceAccountImpersonationUrl: impersonationUrl,
    credentialOptions: (email) => ({ audience, tokenUrl: `${endpoint}/v1/token`, ...(email === undefined ? {} : { serviceAccountImpersonationUrl: impersonationUrl(email) }) }),
    storageOptions: () => ({ apiEndpoint: endpoint, useAuthWithCustomEndpoint: true }),
    counters: liveCounters(service, { stsCalls: 'sts', generateAccessTokenCalls: 'iamcredentials', storageCalls: 'storage', tokenInfoCalls: 'tokeninfo' }),
    setClockOffset: (seconds) => void (clockOffsetMs = seconds * 1000),
    putObject: (bucket, name, content) => store.put(bucket, name, content),
    ...mockLifecycle(service, listening, () => tokens.clear()),
  };
}

/** The attribute mapping Skyporten's documentation gives for GCP providers. */
function mapAttributes({ consumer, scope }: JWTPayload): MockGcpAttributes {
  const id = (consumer as { ID?: unknown } | undefined)?.ID;
  const attributes: MockGcpAttributes = {};
  if (typeof id === 'string') attributes['google.subject'] = id;
  if (typeof scope === 'string') attributes['attribute.maskinportenscope'] = scope;
  if (typeof id === 'string' && typeof scope === 'string') attributes['attribute.clientaccess'] = `client::${id}::${scope}`;
  return attributes;
}

const loggedPath = (url: URL): string => url.pathname + url.search.replace(/([?&]access_token=)[^&]*/g, '$1redacted');

/** STS takes its fields as a form or, like the real service, as JSON (non-string values kept as JSON text). */
function stsFields(request: MockRequest): Record<string, string | undefined> {
  if (!(request.headers.get('content-type') ?? '').includes('application/json')) return Object.fromEntries(new URLSearchParams(request.body));
  const parsed = typeof request.json === 'object' && request.json !== null ? request.json : {};
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
}

const oauthError = (status: number, error: string, description: string): MockAnswer => json(status, { error, error_description: description });

function objectResource(bucket: string, name: string, content: Uint8Array): Record<string, unknown> {
  const hashes = { md5Hash: digest('md5', content, 'base64'), crc32c: crc32cBase64(content) };
  return { kind: 'storage#object', id: `${bucket}/${name}/1`, name, bucket, generation: '1', metageneration: '1', contentType: 'application/octet-stream', size: String(content.byteLength), ...hashes };
}

/** CRC32C (Castagnoli, bit by bit), big-endian, base64: the `crc32c` of GCS object metadata and `x-goog-hash`. */
function crc32cBase64(content: Uint8Array): string {
  let crc = 0xffffffff;
  for (const byte of content) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return Buffer.from(((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0'), 'hex').toString('base64');
}
