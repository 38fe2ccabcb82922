import { X509Certificate, generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, compactVerify, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import { generateIssuerSigningKey, toPublicJwk, toPublicKeyObject } from './keys.js';
import type { KeyInput } from './keys.js';
import { MockRejection, assertNumberOption, createMockService, json, serveOnLoopback, toFailure } from './mock-service.js';
import type { MockAnswer, MockFailure, MockHandler, MockRequest, MockRoute, MockService } from './mock-service.js';
import { normaliseOrganisationNumber, toConsumerId } from './organisation-number.js';
import { organisationNumberOf, readFirstCertificate } from './tls-certificate.js';

const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GRANT_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
const DEFAULT_DELEGATION_SOURCE = 'https://tt02.altinn.no/';
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const UNANSWERED = { status: null, error: null, errorDescription: null, mpCode: null, fault: null, accessToken: null };

/** Options of `createMockSkyporten` (a loopback server) and `createMockSkyportenHandlers` (msw handlers). */
export interface MockSkyportenOptions {
  /** Lifetime of issued access tokens: `expires_in` and `exp - iat`. @default 120 */
  tokenLifetimeSeconds?: number | undefined;
  /** Seconds added to `clock` to get the server clock (validation, token times, `Date` header). @default 0 */
  clockOffsetSeconds?: number | undefined;
  /** Milliseconds added before every response (token, metadata and JWKS). @default 0 */
  latencyMs?: number | undefined;
  /** The real clock, in milliseconds since the epoch; inject one to use fake time. @default Date.now */
  clock?: (() => number) | undefined;
  /** Largest accepted `exp - iat` of a grant, in seconds. @default 120 */
  maxGrantLifetimeSeconds?: number | undefined;
  /** How far a grant's `iat` may be from the server clock, in seconds. @default 10 */
  allowedClockSkewSeconds?: number | undefined;
  /** The issuer of `createMockSkyportenHandlers`; the server is always `http://127.0.0.1:PORT`. @default "https://test.sky.maskinporten.no" */
  issuer?: string | undefined;
  /** Whether the issuer ends with `/`, like plain Maskinporten's (`https://test.maskinporten.no/`). @default false */
  trailingSlash?: boolean | undefined;
}

/** Each numeric option's default and smallest allowed value. */
const NUMBER_OPTIONS = {
  tokenLifetimeSeconds: [120, 1],
  clockOffsetSeconds: [0, Number.NEGATIVE_INFINITY],
  latencyMs: [0, 0],
  maxGrantLifetimeSeconds: [120, 1],
  allowedClockSkewSeconds: [10, 0],
} as const;
type NumberOption = keyof typeof NUMBER_OPTIONS;
type Settings = Record<NumberOption, number> & { issuer: string; clock: () => number };

function setNumber(settings: Settings, name: NumberOption, value: number): void {
  assertNumberOption(name, value, NUMBER_OPTIONS[name][1]);
  settings[name] = value;
}

function resolveSettings(options: MockSkyportenOptions, issuer: string): Settings {
  const settings = { issuer, clock: options.clock ?? Date.now } as Settings;
  for (const [name, [fallback]] of Object.entries(NUMBER_OPTIONS)) {
    setNumber(settings, name as NumberOption, options[name as NumberOption] ?? fallback);
  }
  if (typeof settings.clock !== 'function') throw new TypeError('Option clock must be a function returning milliseconds since the epoch.');
  return settings;
}

/** The issuer string with or without its trailing slash, as `trailingSlash` asks. @internal */
export function applyTrailingSlash(issuer: string, trailingSlash: boolean | undefined): string {
  const bare = issuer.replace(/\/+$/, '');
  return trailingSlash === true ? `${bare}/` : bare;
}

/**
 * A consumer's delegation (in Altinn) of scopes to the client's organisation; a grant with `consumer_org` needs
 * one that covers all its scopes.
 */
export interface Delegation {
  /** The consumer's organisation number (the grant's `consumer_org`); `0192:` prefix allowed. */
  consumerOrg: string;
  /** Scopes the consumer delegated to the supplier. */
  scopes: string[];
  /** The `delegation_source` claim of tokens issued under this delegation. @default "https://tt02.altinn.no/" */
  delegationSource?: string | undefined;
}

/** Options for `registerClient`; every one optional. */
export interface RegisterClientOptions {
  /** Scopes registered on the client; a grant may ask for any subset. @default ["entur:skyporten.demo"] */
  scopes?: string[] | undefined;
  /** The organisation number: 9 digits with a valid modulus-11 check digit, or `0192:`-prefixed. @default "991825827" */
  orgNo?: string | undefined;
  /** The client id (integration id), the `iss` of its grants. @default a random UUID */
  clientId?: string | undefined;
  /** The key id that grants name in their `kid` header. @default a random UUID */
  kid?: string | undefined;
  /** The client's RSA public key (PEM, JWK, `CryptoKey`, `KeyObject`; of a private key only the public half is kept). @default a generated RSA 2048 pair */
  publicKey?: KeyInput | undefined;
  /** A PEM certificate ("virksomhetssertifikat") for `x5c` grants; registered under `kid` too without `publicKey`. @default undefined: no `x5c` */
  certificate?: string | undefined;
  /** When set, every `resource` of a grant must be in this list (else `invalid_target`). @default undefined: any absolute URI */
  allowedResources?: string[] | undefined;
  /** Consumers who delegated scopes to this client's organisation, for grants with `consumer_org`. @default [] */
  delegations?: Delegation[] | undefined;
}

/** What `registerClient` returns: everything a test needs to sign grants for the client. */
export interface RegisteredClient {
  /** The client id (integration id): the `iss` of grants and `client_id` of tokens. */
  clientId: string;
  /** The key id to put in the grant header. */
  kid: string;
  /** PKCS#8 PEM of the private key when the mock generated the pair; `""` when you passed `publicKey` or `certificate`. */
  privateKey: string;
  /** The registered public key as a JWK, with `kid`. */
  publicJwk: JWK;
  /** The bare 9-digit organisation number. */
  orgNo: string;
  /** `0192:<orgNo>`. */
  consumerId: string;
  /** The scopes registered on the client. */
  scopes: string[];
}

/** A failure queued by the issuer's `failNext`: OAuth JSON `{ error: code, error_description: message }` unless `body` is given. */
export type InjectedFailure = MockFailure<'token'>;

/** One request to the token endpoint, as the mock saw and answered it. */
export interface RecordedTokenRequest {
  /** When it arrived, by the server's clock (offset included). */
  receivedAt: Date;
  /** The HTTP method. */
  method: string;
  /** The `Content-Type` request header, or `null`. */
  contentType: string | null;
  /** The raw request body. */
  body: string;
  /** The form parameters (empty unless the body was form-encoded). */
  parameters: Record<string, string>;
  /** The grant's decoded JWS header, or `null` when there was no decodable assertion. */
  grantHeader: ProtectedHeaderParameters | null;
  /** The grant's decoded (unverified) claims, or `null` when there was no decodable assertion. */
  grantClaims: JWTPayload | null;
  /** The response status; `null` while pending or when the request was hung. */
  status: number | null;
  /** The OAuth `error` of the response, or `null` on success, hang or a fault without one. */
  error: string | null;
  /** The `error_description` of the response, or `null`. */
  errorDescription: string | null;
  /** The Maskinporten error number (`MP-110`, …) of the response, or `null`. */
  mpCode: string | null;
  /** `'failure'` when answered by `failNext`, `'hang'` when hung by `hang`, else `null`. */
  fault: 'failure' | 'hang' | null;
  /** The issued access token on success, else `null`. */
  accessToken: string | null;
}

/** What a test can do with a mock issuer, whether a loopback server or msw handlers. */
export interface MockIssuerControls {
  /** The issuer string, exactly as in grants' `aud` and tokens' `iss`. */
  issuer: string;
  /** `issuer + "/token"` (without doubling a trailing slash). */
  tokenEndpoint: string;
  /** `issuer + "/jwk"`. */
  jwksUri: string;
  /** `issuer + "/.well-known/openid-configuration"`. */
  metadataUrl: string;
  /** Registers a client (integration); generates an RSA 2048 pair unless `publicKey` or `certificate` is given. */
  registerClient(options?: RegisterClientOptions): Promise<RegisteredClient>;
  /** Every request to the token endpoint, in order, with the decoded grant and the answer. Cleared by `reset()`. */
  readonly requests: RecordedTokenRequest[];
  /** @deprecated Use `failNext({ count, ...failure })`; this form goes in the next minor. */
  failNext(count: number, failure: InjectedFailure): void;
  /** The next `failure.count` (default 1) POSTs to the token endpoint answer `failure` unprocessed (`jti` not consumed). */
  failNext(failure: InjectedFailure): void;
  /** The next `count` (default 1) POSTs to the token endpoint are never answered, until `close()`. */
  hang(count?: number): void;
  /** Sets the latency added to every response, in milliseconds. */
  setLatency(ms: number): void;
  /** Sets the server clock's offset from the real clock, in seconds (positive: the server is ahead). */
  setClockOffset(seconds: number): void;
  /** Sets `expires_in` and `exp - iat` of tokens issued from now on, in seconds. */
  setTokenLifetime(seconds: number): void;
  /** Signs any claims with the issuer's key; `claims` override the defaults of `iss`, `iat`, `exp`, `jti`, `token_type`, `client_amr`. */
  signAccessToken(claims: Record<string, unknown>, options?: { expiresInSeconds?: number }): Promise<string>;
  /** Verifies a token's signature, `iss`, `exp` (by the server's clock) and optionally `aud`; returns its claims. */
  verifyAccessToken(token: string, options?: { audience?: string | string[] }): Promise<JWTPayload>;
  /** The issuer's JWKS, as served at `jwksUri`. */
  jwks(): {
    /** The public signing keys, as JWKs. */
    keys: JWK[];
  };
  /** Clears recorded requests, queued faults and used `jti`s. Registered clients and settings stay. */
  reset(): void;
}

interface ClientRecord {
  clientId: string;
  orgNo: string;
  scopes: Set<string>;
  keys: Map<string, KeyObject>;
  certificatePublicKey: KeyObject | null;
  allowedResources: Set<string> | null;
  delegations: { consumerOrg: string; scopes: Set<string>; delegationSource: string }[];
}

type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'invalid_scope' | 'invalid_target' | 'unsupported_grant_type';
type MpCode = 'MP-012' | 'MP-100' | 'MP-110' | 'MP-120' | 'MP-121' | 'MP-122' | 'MP-123' | 'MP-124' | 'MP-130' | 'MP-200' | 'MP-201' | 'MP-251';

/** JSON as Maskinporten sends it: `application/json` without a charset. */
function oauthJson(status: number, value: unknown, headers: Record<string, string> = {}): MockAnswer {
  return json(status, value, { 'content-type': 'application/json', ...headers });
}

/** Rejects the token request with OAuth error JSON: `error_description` is `<text> (MP-xxx) [trace: <hex>]`, as the real one. */
function reject(error: OAuthErrorCode, text: string, mpCode: MpCode | null = null, status = 400, headers: Record<string, string> = {}): never {
  const description = `${text}${mpCode === null ? '' : ` (${mpCode})`} [trace: ${randomBytes(16).toString('hex')}]`;
  throw new MockRejection(oauthJson(status, { error, error_description: description }, { ...NO_STORE, ...headers }));
}

function authenticationFailed(text: string, code: MpCode): never {
  return reject('invalid_grant', `Invalid assertion. Client authentication failed. ${text}`, code);
}

function methodNotAllowed(request: MockRequest): MockAnswer {
  return oauthJson(405, { error: 'invalid_request', error_description: `Method ${request.method} not allowed` }, { allow: 'GET, HEAD' });
}

function isAbsoluteUri(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value) && !value.includes('#') && URL.canParse(value);
}

function decodeGrant(assertion: string | null): Pick<RecordedTokenRequest, 'grantHeader' | 'grantClaims'> {
  try {
    if (assertion !== null) return { grantHeader: decodeProtectedHeader(assertion), grantClaims: decodeJwt(assertion) };
  } catch {
    // not a JWT: recorded as null
  }
  return { grantHeader: null, grantClaims: null };
}

/** The OAuth error of an answer's JSON body, for the request log. */
function errorOf(body: MockAnswer['body']): Pick<RecordedTokenRequest, 'error' | 'errorDescription' | 'mpCode'> | undefined {
  try {
    const { error, error_description: description } = JSON.parse(String(body ?? '')) as { error?: unknown; error_description?: unknown };
    const text = typeof description === 'string' ? description : null;
    return { error: typeof error === 'string' ? error : null, errorDescription: text, mpCode: text?.match(/\b(MP-\d{3})\b/)?.[1] ?? null };
  } catch {
    return undefined;
  }
}

/** The leaf certificate's public key of an `x5c` grant, checked against the client. */
function certificateKey(x5c: unknown, client: ClientRecord, nowMs: number): KeyObject {
  const extractFailed = (text: string): never => authenticationFailed(`Failed to extract certificate from JWT: ${text}`, 'MP-123');
  if (!Array.isArray(x5c)) return extractFailed('x5c must be an array of base64 DER strings, not a single value');
  if (x5c.length === 0 || !x5c.every((entry) => typeof entry === 'string' && entry.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(entry))) {
    return extractFailed('x5c entries must be base64 DER without PEM armour or line breaks');
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(Buffer.from(x5c[0] as string, 'base64'));
  } catch {
    return extractFailed('the first x5c entry is not an X.509 certificate');
  }
  if (nowMs > Date.parse(leaf.validTo)) return authenticationFailed(`Expired key: the certificate expired ${leaf.validTo}`, 'MP-121');
  if (nowMs < Date.parse(leaf.validFrom)) {
    return authenticationFailed(`The JWT is signed with an invalid certificate: not valid before ${leaf.validFrom}`, 'MP-120');
  }
  const certificateOrg = organisationNumberOf(leaf);
  if (certificateOrg !== client.orgNo) {
    return authenticationFailed(`The certificate's organisation number ${certificateOrg ?? '(none)'} does not match the client's ${client.orgNo}`, 'MP-122');
  }
  if (client.certificatePublicKey === null || !leaf.publicKey.equals(client.certificatePublicKey)) {
    return authenticationFailed('The JWT is signed with an invalid certificate: not the certificate registered on the client', 'MP-120');
  }
  return leaf.publicKey;
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function registerClient(clients: Map<string, ClientRecord>, options: RegisterClientOptions = {}): Promise<RegisteredClient> {
  const scopes = options.scopes ?? ['entur:skyporten.demo'];
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope))) {
    throw new TypeError('registerClient: scopes must be an array of scope strings without spaces, e.g. ["entur:skyporten.demo"].');
  }
  const orgNo = normaliseOrganisationNumber(options.orgNo ?? '991825827');
  if (orgNo === null) {
    throw new TypeError(`registerClient: orgNo "${options.orgNo}" is not a valid Norwegian organisation number (9 digits, modulus 11), e.g. "991825827".`);
  }
  const clientId = options.clientId ?? randomUUID();
  if (clients.has(clientId)) throw new TypeError(`registerClient: a client with id ${clientId} is already registered.`);
  const kid = options.kid ?? randomUUID();
  let certificatePublicKey: KeyObject | null = null;
  if (options.certificate !== undefined) {
    try {
      certificatePublicKey = readFirstCertificate(options.certificate).publicKey;
    } catch (cause) {
      throw new TypeError('registerClient: certificate must be PEM text with a "-----BEGIN CERTIFICATE-----" block.', { cause });
    }
  }
  let publicKey = options.publicKey === undefined ? certificatePublicKey : toPublicKeyObject(options.publicKey);
  let privateKey = '';
  if (publicKey === null) {
    const pair = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    publicKey = pair.publicKey;
    privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  if (publicKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`registerClient: publicKey must be an RSA key (grants use RS256/RS384/RS512), got ${publicKey.asymmetricKeyType}.`);
  }
  const allowedResources = options.allowedResources;
  if (allowedResources !== undefined && !allowedResources.every(isAbsoluteUri)) {
    throw new TypeError('registerClient: allowedResources must be absolute URIs, e.g. "https://skyporten.example.org".');
  }
  const delegations = (options.delegations ?? []).map((delegation) => {
    const consumerOrg = normaliseOrganisationNumber(delegation.consumerOrg);
    if (consumerOrg === null) {
      throw new TypeError(`registerClient: delegations[].consumerOrg "${delegation.consumerOrg}" is not a valid organisation number.`);
    }
    return { consumerOrg, scopes: new Set(delegation.scopes), delegationSource: delegation.delegationSource ?? DEFAULT_DELEGATION_SOURCE };
  });
  clients.set(clientId, {
    clientId,
    orgNo,
    scopes: new Set(scopes),
    keys: new Map([[kid, publicKey]]),
    certificatePublicKey,
    allowedResources: allowedResources === undefined ? null : new Set(allowedResources),
    delegations,
  });
  return { clientId, kid, privateKey, publicJwk: toPublicJwk(publicKey, kid), orgNo, consumerId: toConsumerId(orgNo), scopes: [...scopes] };
}

type IssuerService = 'token' | 'metadata' | 'jwks';
type IssuerEngine = { controls: MockIssuerControls; service: MockService<IssuerService, RecordedTokenRequest> };

/**
 * The mock issuer on the mock-service primitive, for the loopback server and the msw handlers alike: routes,
 * request log, faults and latency are the primitive's; this adds the token endpoint's rules (see the README).
 *
 * @internal
 */
export function createIssuerEngine(options: MockSkyportenOptions, issuer: string): IssuerEngine {
  const settings = resolveSettings(options, issuer);
  const signingKey = generateIssuerSigningKey();
  const clients = new Map<string, ClientRecord>();
  const usedGrants = new Set<string>();
  const base = issuer.replace(/\/+$/, '');
  const urls = { tokenEndpoint: `${base}/token`, jwksUri: `${base}/jwk`, metadataUrl: `${base}/.well-known/openid-configuration` };
  const now = (): number => settings.clock() + settings.clockOffsetSeconds * 1000;
  const jwks = (): { keys: JWK[] } => ({ keys: [{ ...signingKey.publicJwk }] });
  const metadata = (): Record<string, unknown> => ({
    issuer,
    token_endpoint: urls.tokenEndpoint,
    jwks_uri: urls.jwksUri,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    grant_types_supported: [JWT_BEARER_GRANT_TYPE],
    token_endpoint_auth_signing_alg_values_supported: [...GRANT_ALGORITHMS],
  });

  async function signAccessToken(claims: Record<string, unknown>, signOptions?: { expiresInSeconds?: number }): Promise<string> {
    const iat = Math.floor(now() / 1000);
    const payload: JWTPayload = {
      iss: issuer,
      client_amr: 'private_key_jwt',
      token_type: 'Bearer',
      iat,
      exp: iat + (signOptions?.expiresInSeconds ?? settings.tokenLifetimeSeconds),
      jti: randomBytes(32).toString('base64url'),
      ...claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: signingKey.kid }).sign(signingKey.privateKey);
  }

  /** Checks a grant in the order the README's table gives; returns the claims of the token to issue. */
  async function validateGrant(assertion: string, { grantHeader: header, grantClaims: claims }: RecordedTokenRequest): Promise<Record<string, unknown>> {
    if (header === null || claims === null || assertion.split('.').length !== 3) {
      reject('invalid_request', 'Invalid assertion. Invalid parameter value: not a signed JWT (compact JWS)');
    }
    if (typeof header.alg !== 'string' || !GRANT_ALGORITHMS.includes(header.alg)) {
      authenticationFailed(`Unsupported signing algorithm ${String(header.alg)}, use one of ${GRANT_ALGORITHMS.join(', ')}`, 'MP-120');
    }
    const client = typeof claims.iss === 'string' ? clients.get(claims.iss) : undefined;
    if (client === undefined) return authenticationFailed(`Client not found: no client with id ${JSON.stringify(claims.iss)} (the grant's iss)`, 'MP-100');

    const nowMs = now();
    const nowSeconds = Math.floor(nowMs / 1000);
    let key: KeyObject;
    if (header.x5c !== undefined) key = certificateKey(header.x5c as unknown, client, nowMs);
    else if (typeof header.kid !== 'string') authenticationFailed('The grant header has neither kid nor x5c', 'MP-100');
    else key = client.keys.get(header.kid) ?? authenticationFailed(`No key with kid ${header.kid} is registered on client ${client.clientId}`, 'MP-100');
    try {
      await compactVerify(assertion, key, { algorithms: GRANT_ALGORITHMS });
    } catch {
      authenticationFailed('Invalid signature: the grant was not signed by the registered key', 'MP-124');
    }
    if (typeof claims.aud !== 'string' || claims.aud !== issuer) {
      authenticationFailed(`Invalid JWT claim aud: expected ${JSON.stringify(issuer)}, got ${JSON.stringify(claims.aud)}`, 'MP-110');
    }

    const skew = settings.allowedClockSkewSeconds;
    const { iat, exp, nbf, jti } = claims;
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return reject('invalid_grant', 'Missing or invalid JWT claim iat', 'MP-130');
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return reject('invalid_grant', 'Missing or invalid JWT claim exp', 'MP-130');
    if (Math.abs(iat - nowSeconds) > skew) {
      reject('invalid_grant', `Invalid JWT claim iat: ${iat} is ${iat - nowSeconds} s from the server clock (${nowSeconds}); at most ${skew} s allowed`, 'MP-130');
    }
    if (exp <= nowSeconds) reject('invalid_grant', `JWT is expired: exp ${exp} is before the server clock (${nowSeconds})`, 'MP-130');
    if (exp <= iat) reject('invalid_grant', `Invalid JWT claim exp: ${exp} is not after iat ${iat}`, 'MP-130');
    if (exp - iat > settings.maxGrantLifetimeSeconds) {
      reject('invalid_grant', `Invalid JWT lifetime: exp - iat is ${exp - iat} s, at most ${settings.maxGrantLifetimeSeconds} s allowed`, 'MP-130');
    }
    if (typeof nbf === 'number' && nbf > nowSeconds + skew) reject('invalid_grant', `JWT is not yet valid: nbf ${nbf}`, 'MP-130');

    if (typeof jti !== 'string' || jti === '') return reject('invalid_grant', 'Missing JWT claim jti: every grant needs a unique jti');
    const grantKey = `${client.clientId}\u0000${jti}`;
    if (usedGrants.has(grantKey)) reject('invalid_grant', `Grant is used before: jti ${jti}`, 'MP-012');
    usedGrants.add(grantKey);

    const scopeClaim = claims['scope'];
    if (typeof scopeClaim !== 'string' || scopeClaim.trim() === '') return reject('invalid_scope', 'Missing JWT claim scope', 'MP-200');
    const scopes = scopeClaim.split(' ').filter((scope) => scope !== '');
    const unregistered = scopes.filter((scope) => !client.scopes.has(scope));
    if (unregistered.length > 0) reject('invalid_scope', `Token request contains invalid scopes for client: ${unregistered.join(' ')}`, 'MP-201');

    let consumerOrg = client.orgNo;
    let delegated = {};
    const consumerOrgClaim = claims['consumer_org'];
    if (consumerOrgClaim !== undefined) {
      const normalised = typeof consumerOrgClaim === 'string' ? normaliseOrganisationNumber(consumerOrgClaim) : null;
      if (normalised === null) {
        return reject('invalid_request', `Invalid assertion. Invalid parameter value: consumer_org ${JSON.stringify(consumerOrgClaim)} is not an organisation number`);
      }
      if (normalised !== client.orgNo) {
        const found = client.delegations.find((candidate) => candidate.consumerOrg === normalised && scopes.every((scope) => candidate.scopes.has(scope)));
        if (found === undefined) {
          const supplier = toConsumerId(client.orgNo);
          reject('invalid_scope', `Consumer ${toConsumerId(normalised)} has not delegated scope ${scopes.join(' ')} to supplier ${supplier} in Altinn`, 'MP-251');
        }
        consumerOrg = normalised;
        delegated = { supplier: { authority: 'iso6523-actorid-upis', ID: toConsumerId(client.orgNo) }, delegation_source: found.delegationSource };
      }
    }

    const resourceClaim = claims['resource'];
    let audience = {};
    if (resourceClaim !== undefined) {
      const list = typeof resourceClaim === 'string' ? [resourceClaim] : resourceClaim;
      if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && isAbsoluteUri(item))) {
        reject('invalid_target', `Invalid JWT claim resource: ${JSON.stringify(resourceClaim)}; use an absolute URI or an array of them`);
      }
      const allowed = client.allowedResources;
      const refused = allowed === null ? [] : list.filter((resource: string) => !allowed.has(resource));
      if (refused.length > 0) reject('invalid_target', `Resource not allowed for client: ${refused.join(' ')}`);
      audience = { aud: list.length === 1 ? list[0] : list };
    }

    const consumerId = toConsumerId(consumerOrg);
    const scope = scopes.join(' ');
    return {
      ...audience,
      sub: `${consumerId};${scope}`,
      scope,
      client_amr: header.x5c === undefined ? 'private_key_jwt' : 'virksomhetssertifikat',
      client_id: client.clientId,
      consumer: { authority: 'iso6523-actorid-upis', ID: consumerId },
      ...delegated,
    };
  }

  async function token(request: MockRequest, entry: RecordedTokenRequest | undefined): Promise<MockAnswer> {
    const record = entry as RecordedTokenRequest;
    if (request.method !== 'POST') {
      reject('invalid_request', `HTTP method ${request.method} is not supported by the token endpoint, use POST`, null, 405, { allow: 'POST' });
    }
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(record.contentType ?? '')) {
      reject('invalid_request', `Content-Type must be application/x-www-form-urlencoded, got ${record.contentType ?? 'none'}`);
    }
    const grantType = request.form.get('grant_type');
    if (grantType === null || grantType === '') reject('invalid_request', 'Missing parameter grant_type');
    if (grantType !== JWT_BEARER_GRANT_TYPE) reject('unsupported_grant_type', `Unsupported grant_type ${grantType}, use ${JWT_BEARER_GRANT_TYPE}`);
    const assertion = request.form.get('assertion');
    if (assertion === null || assertion === '') return reject('invalid_request', 'Missing parameter assertion');
    const claims = await validateGrant(assertion, record);
    record.accessToken = await signAccessToken(claims);
    const issued = { access_token: record.accessToken, token_type: 'Bearer', expires_in: settings.tokenLifetimeSeconds, scope: claims['scope'] };
    return oauthJson(200, issued, NO_STORE);
  }

  const document = (name: 'metadata' | 'jwks', url: string, value: () => unknown): MockRoute<IssuerService, RecordedTokenRequest>[] => {
    const path = new URL(url).pathname;
    return [
      { service: name, method: ['GET', 'HEAD'], path, faults: false, handle: () => oauthJson(200, value(), { 'cache-control': 'public, max-age=60' }) },
      { service: name, path, faults: false, handle: methodNotAllowed },
    ];
  };
  const tokenPath = new URL(urls.tokenEndpoint).pathname;
  const service = createMockService<IssuerService, RecordedTokenRequest>({
    name: 'Mock issuer',
    defaultService: 'token',
    routes: [
      { service: 'token', method: 'POST', path: tokenPath, handle: token },
      { service: 'token', path: tokenPath, faults: false, handle: token },
      ...document('metadata', urls.metadataUrl, metadata),
      ...document('jwks', urls.jwksUri, jwks),
    ],
    notFound: (request) => oauthJson(404, { error: 'not_found', error_description: `No such endpoint: ${request.url.pathname}` }),
    record: (request, name) =>
      name !== 'token'
        ? undefined
        : {
            receivedAt: new Date(now()),
            method: request.method,
            contentType: request.headers.get('content-type'),
            body: request.body,
            parameters: Object.fromEntries(request.form),
            ...decodeGrant(request.form.get('assertion')),
            ...UNANSWERED,
          },
    finish(entry, answer, fault) {
      entry.status = answer?.status ?? null;
      entry.fault = fault;
      if (answer !== null && answer.status >= 400) Object.assign(entry, errorOf(answer.body));
    },
    renderFailure: ({ status, code, message }) =>
      oauthJson(status, {
        error: code ?? (status >= 500 ? 'server_error' : status === 429 ? 'temporarily_unavailable' : 'invalid_request'),
        error_description: message ?? `Injected failure: HTTP ${status} [trace: ${randomBytes(16).toString('hex')}]`,
      }),
    headers: () => ({ date: new Date(now()).toUTCString() }),
    latencyMs: () => settings.latencyMs,
  });

  const controls: MockIssuerControls = {
    issuer,
    ...urls,
    requests: service.log,
    registerClient: (registerOptions) => registerClient(clients, registerOptions),
    failNext: (...args: [InjectedFailure] | [number, InjectedFailure]) => service.failNext(toFailure(args)),
    hang: (count = 1) => service.hang(count, 'token'),
    setLatency: (ms) => setNumber(settings, 'latencyMs', ms),
    setClockOffset: (seconds) => setNumber(settings, 'clockOffsetSeconds', seconds),
    setTokenLifetime: (seconds) => setNumber(settings, 'tokenLifetimeSeconds', seconds),
    signAccessToken,
    async verifyAccessToken(token, verifyOptions) {
      const audience = verifyOptions?.audience === undefined ? {} : { audience: verifyOptions.audience };
      const { payload } = await jwtVerify(token, signingKey.publicKey, { issuer, algorithms: ['RS256'], currentDate: new Date(now()), ...audience });
      return payload;
    },
    jwks,
    reset() {
      service.reset();
      usedGrants.clear();
    },
  };
  return { controls, service };
}

/** A mock Skyporten issuer listening on `http://127.0.0.1:<random port>`. */
export interface MockSkyporten extends MockIssuerControls {
  /** The issuer as a `URL`. */
  url: URL;
  /** Stops the server: hung and delayed requests are dropped, open connections closed. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using issuer = await createMockSkyporten()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a mock Skyporten issuer on the loopback interface: the real token endpoint's rules (see the README),
 * the metadata document and the JWKS.
 *
 * @example
 * ```ts
 * await using issuer = await createMockSkyporten();
 * const client = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
 * ```
 */
export async function createMockSkyporten(options: MockSkyportenOptions = {}): Promise<MockSkyporten> {
  resolveSettings(options, 'http://127.0.0.1'); // validate before opening a port, so bad options do not leak a server
  let handle: MockHandler | undefined;
  const listening = await serveOnLoopback('Mock issuer', (request) => (handle as MockHandler)(request));
  const { controls, service } = createIssuerEngine(options, applyTrailingSlash(listening.url, options.trailingSlash));
  handle = service.handle;
  const close = (): Promise<void> => (service.close(), listening.close());
  return { ...controls, url: new URL(controls.issuer), close, [Symbol.asyncDispose]: close };
}
