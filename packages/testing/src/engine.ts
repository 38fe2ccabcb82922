import { X509Certificate, generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, compactVerify, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import { organisationNumberOf, readFirstCertificate } from './certificate.js';
import { generateIssuerSigningKey, toPublicJwk, toPublicKeyObject } from './keys.js';
import type { IssuerSigningKey, KeyInput } from './keys.js';
import { createTraceId, oauthJson as json, tokenRequestRejection } from './oauth-error.js';
import type { MaskinportenErrorNumber, OAuthErrorCode } from './oauth-error.js';
import { assertNumberOption, createMockService } from './mock-service.js';
import type { MockAnswer, MockFailure, MockHandler, MockRequest, MockRoute, MockService } from './mock-service.js';
import type { ResolvedSettings } from './options.js';
import { normaliseOrganisationNumber, toConsumerId } from './organisation-number.js';

const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GRANT_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
const DEFAULT_SCOPE = 'entur:skyporten.demo';
const DEFAULT_ORGANISATION_NUMBER = '991825827';
const DEFAULT_DELEGATION_SOURCE = 'https://tt02.altinn.no/';

/**
 * A consumer organisation's delegation (in Altinn) of scopes to the client's organisation, the supplier. A grant
 * with `consumer_org` is accepted only when a delegation from that consumer covers all its scopes.
 *
 * @example
 * ```ts
 * await issuer.registerClient({ scopes: ['entur:skyporten.demo'], orgNo: '974760673',
 *   delegations: [{ consumerOrg: '910753614', scopes: ['entur:skyporten.demo'] }] });
 * ```
 */
export interface Delegation {
  /** The consumer's organisation number (the `consumer_org` of the grant); `0192:` prefix allowed. */
  consumerOrg: string;
  /** Scopes the consumer delegated to the supplier. */
  scopes: string[];
  /**
   * The `delegation_source` claim of tokens issued under this delegation.
   * @default "https://tt02.altinn.no/"
   */
  delegationSource?: string | undefined;
}

/**
 * Options for `registerClient`.
 *
 * @example
 * ```ts
 * const client = await issuer.registerClient({
 *   scopes: ['entur:skyporten.demo'],
 *   orgNo: '991825827',
 *   allowedResources: ['https://skyporten.example.org'],
 * });
 * ```
 */
export interface RegisterClientOptions {
  /**
   * Scopes registered on the client; a grant may ask for any subset.
   * @default ["entur:skyporten.demo"]
   */
  scopes?: string[] | undefined;
  /**
   * The client's organisation number: 9 digits with a valid modulus-11 check digit, or `0192:`-prefixed.
   * @default "991825827"
   */
  orgNo?: string | undefined;
  /**
   * The client id (integration id), the `iss` of its grants.
   * @default a random UUID
   */
  clientId?: string | undefined;
  /**
   * The key id that grants name in their `kid` header.
   * @default a random UUID
   */
  kid?: string | undefined;
  /**
   * The client's public key (PEM, JWK, `CryptoKey` or `KeyObject`; RSA). A private key is accepted and only its
   * public half is kept.
   * @default a generated RSA 2048 pair, returned as `privateKey`
   */
  publicKey?: KeyInput | undefined;
  /**
   * A PEM certificate ("virksomhetssertifikat") the client may present in `x5c` instead of naming a `kid`.
   * Its public key is also registered under `kid` when `publicKey` is not given.
   * @default undefined: `x5c` grants are rejected (MP-120)
   */
  certificate?: string | undefined;
  /**
   * When set, every `resource` of a grant must be in this list (else `invalid_target`).
   * @default undefined: any absolute URI
   */
  allowedResources?: string[] | undefined;
  /**
   * Consumers who delegated scopes to this client's organisation, for grants with `consumer_org`.
   * @default []
   */
  delegations?: Delegation[] | undefined;
}

/**
 * What `registerClient` returns: everything a test needs to sign grants for the client.
 *
 * @example
 * ```ts
 * const { clientId, kid, privateKey } = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
 * const grant = await new SignJWT({ scope: 'entur:skyporten.demo', jti: crypto.randomUUID() })
 *   .setProtectedHeader({ alg: 'RS256', kid })
 *   .setIssuer(clientId).setAudience(issuer.issuer).setIssuedAt().setExpirationTime('60s')
 *   .sign(await importPKCS8(privateKey, 'RS256'));
 * ```
 */
export interface RegisteredClient {
  /** The client id (integration id): the `iss` of grants and `client_id` of tokens. */
  clientId: string;
  /** The key id to put in the grant header. */
  kid: string;
  /**
   * PKCS#8 PEM of the client's private key, only when the mock generated the pair; an empty string when you
   * passed `publicKey` or `certificate`.
   */
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

/**
 * A fault queued by the issuer's `failNext`: the package's one failure shape. Without `body` it answers JSON
 * `{ error: code, error_description: message }`, `code` defaulting to `server_error` for 5xx,
 * `temporarily_unavailable` for 429 and `invalid_request` otherwise. `delayMs` comes on top of the latency.
 *
 * @example
 * ```ts
 * issuer.failNext({ status: 503, body: '<html>Service Unavailable</html>', delayMs: 50 });
 * ```
 */
export type InjectedFailure = MockFailure<'token'>;

/**
 * One request to the token endpoint, as the mock saw and answered it.
 *
 * @example
 * ```ts
 * expect(issuer.requests.map((request) => request.status)).toEqual([503, 200]);
 * expect(issuer.requests[1]?.grantClaims?.aud).toBe(issuer.issuer);
 * ```
 */
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

interface ClientRecord {
  clientId: string;
  orgNo: string;
  scopes: Set<string>;
  keys: Map<string, KeyObject>;
  certificatePublicKey: KeyObject | null;
  allowedResources: Set<string> | null;
  delegations: { consumerOrg: string; scopes: Set<string>; delegationSource: string }[];
}

interface ValidGrant {
  client: ClientRecord;
  scope: string;
  consumerOrg: string;
  delegation: { delegationSource: string } | null;
  resources: string[];
  clientAmr: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

function isAbsoluteUri(value: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value) || value.includes('#')) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function isBase64Der(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value);
}

/**
 * The protocol logic of the mock issuer, shared by the loopback server and the msw handlers: it takes a
 * method, URL, headers and body and answers status, headers and body, enforcing PROTOCOL.md.
 */
export class IssuerEngine {
  readonly settings: ResolvedSettings;
  readonly signingKey: IssuerSigningKey;
  readonly requests: RecordedTokenRequest[];
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly metadataUrl: string;
  readonly #clients = new Map<string, ClientRecord>();
  readonly #usedGrants = new Set<string>();
  /** The routes, request log, faults and latency: the package's one mock primitive. */
  readonly service: MockService<'token' | 'metadata' | 'jwks', RecordedTokenRequest>;

  constructor(settings: ResolvedSettings) {
    this.settings = settings;
    this.signingKey = generateIssuerSigningKey();
    const base = settings.issuer.replace(/\/+$/, '');
    this.tokenEndpoint = `${base}/token`;
    this.jwksUri = `${base}/jwk`;
    this.metadataUrl = `${base}/.well-known/openid-configuration`;
    const token = new URL(this.tokenEndpoint).pathname;
    const document = (name: 'metadata' | 'jwks', path: string, value: () => unknown): MockRoute<'metadata' | 'jwks', RecordedTokenRequest>[] => [
      { service: name, method: ['GET', 'HEAD'], path, faults: false, handle: () => json(200, value(), { 'cache-control': 'public, max-age=60' }) },
      { service: name, path, faults: false, handle: (request) => json(405, { error: 'invalid_request', error_description: `Method ${request.method} not allowed` }, { allow: 'GET, HEAD' }) },
    ];
    this.service = createMockService({
      name: 'Mock issuer',
      defaultService: 'token',
      routes: [
        { service: 'token', method: 'POST', path: token, handle: (request, entry) => this.#processTokenRequest(request, entry as RecordedTokenRequest) },
        { service: 'token', path: token, faults: false, handle: (request, entry) => this.#processTokenRequest(request, entry as RecordedTokenRequest) },
        ...document('metadata', new URL(this.metadataUrl).pathname, () => this.metadata()),
        ...document('jwks', new URL(this.jwksUri).pathname, () => this.jwks()),
      ],
      notFound: (request) => json(404, { error: 'not_found', error_description: `No such endpoint: ${request.url.pathname}` }),
      record: (request, name) => (name === 'token' ? this.#record(request) : undefined),
      finish(entry, answer, fault) {
        entry.status = answer?.status ?? null;
        entry.fault = fault;
        if (answer === null || answer.status < 400) return;
        try {
          const { error, error_description: description } = JSON.parse(String(answer?.body ?? '')) as { error?: unknown; error_description?: unknown };
          if (typeof error === 'string') entry.error = error;
          if (typeof description === 'string') {
            entry.errorDescription = description;
            entry.mpCode = description.match(/\b(MP-\d{3})\b/)?.[1] ?? null;
          }
        } catch {
          // an HTML or text body: no OAuth error to record
        }
      },
      renderFailure: ({ status, code, message }) =>
        json(status, {
          error: code ?? (status >= 500 ? 'server_error' : status === 429 ? 'temporarily_unavailable' : 'invalid_request'),
          error_description: message ?? `Injected failure: HTTP ${status} [trace: ${createTraceId()}]`,
        }),
      headers: () => ({ date: new Date(this.now()).toUTCString() }),
      latencyMs: () => this.settings.latencyMs,
    });
    this.requests = this.service.log;
  }

  /** The server's clock in milliseconds: the real clock plus the offset. */
  now(): number {
    return this.settings.clock() + this.settings.clockOffsetSeconds * 1000;
  }

  /** The metadata document, in Skyporten's exact shape. */
  metadata(): Record<string, unknown> {
    return {
      issuer: this.settings.issuer,
      token_endpoint: this.tokenEndpoint,
      jwks_uri: this.jwksUri,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      grant_types_supported: [JWT_BEARER_GRANT_TYPE],
      token_endpoint_auth_signing_alg_values_supported: [...GRANT_ALGORITHMS],
    };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.signingKey.publicJwk }] };
  }

  /** Answers one request; resolves `null` when the connection should be dropped (hang, or closed meanwhile). */
  readonly handle: MockHandler = (request) => this.service.handle(request);

  /** The log entry of a request to the token endpoint, with the grant decoded (unverified). */
  #record(request: MockRequest): RecordedTokenRequest {
    const record: RecordedTokenRequest = {
      receivedAt: new Date(this.now()),
      method: request.method,
      contentType: request.headers.get('content-type'),
      body: request.body,
      parameters: Object.fromEntries(request.form),
      grantHeader: null,
      grantClaims: null,
      status: null,
      error: null,
      errorDescription: null,
      mpCode: null,
      fault: null,
      accessToken: null,
    };
    const assertion = request.form.get('assertion');
    if (assertion !== null) {
      try {
        record.grantHeader = decodeProtectedHeader(assertion);
        record.grantClaims = decodeJwt(assertion);
      } catch {
        record.grantHeader = null;
        record.grantClaims = null;
      }
    }
    return record;
  }

  async #processTokenRequest(request: MockRequest, record: RecordedTokenRequest): Promise<MockAnswer> {
    const form = request.form;
    if (request.method !== 'POST') {
      throw tokenRequestRejection('invalid_request', `HTTP method ${request.method} is not supported by the token endpoint, use POST`, null, 405, { allow: 'POST' });
    }
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(record.contentType ?? '')) {
      throw tokenRequestRejection('invalid_request', `Content-Type must be application/x-www-form-urlencoded, got ${record.contentType ?? 'none'}`);
    }
    const grantType = form.get('grant_type');
    if (grantType === null || grantType === '') throw tokenRequestRejection('invalid_request', 'Missing parameter grant_type');
    if (grantType !== JWT_BEARER_GRANT_TYPE) {
      throw tokenRequestRejection('unsupported_grant_type', `Unsupported grant_type ${grantType}, use ${JWT_BEARER_GRANT_TYPE}`);
    }
    const assertion = form.get('assertion');
    if (assertion === null || assertion === '') throw tokenRequestRejection('invalid_request', 'Missing parameter assertion');
    const grant = await this.#validateGrant(assertion, record);
    const issued = await this.#issue(grant);
    record.accessToken = issued.access_token;
    return json(200, issued, { 'cache-control': 'no-store', pragma: 'no-cache' });
  }

  async #validateGrant(assertion: string, record: RecordedTokenRequest): Promise<ValidGrant> {
    const header = record.grantHeader;
    const claims = record.grantClaims;
    if (header === null || claims === null || assertion.split('.').length !== 3) {
      throw tokenRequestRejection('invalid_request', 'Invalid assertion. Invalid parameter value: not a signed JWT (compact JWS)');
    }
    const reject = (error: OAuthErrorCode, text: string, code: MaskinportenErrorNumber | null): never => {
      throw tokenRequestRejection(error, text, code);
    };
    const authenticationFailed = (text: string, code: MaskinportenErrorNumber): never =>
      reject('invalid_grant', `Invalid assertion. Client authentication failed. ${text}`, code);

    if (typeof header.alg !== 'string' || !GRANT_ALGORITHMS.includes(header.alg)) {
      authenticationFailed(`Unsupported signing algorithm ${String(header.alg)}, use one of ${GRANT_ALGORITHMS.join(', ')}`, 'MP-120');
    }
    const client = typeof claims.iss === 'string' ? this.#clients.get(claims.iss) : undefined;
    if (client === undefined) {
      return authenticationFailed(`Client not found: no client with id ${JSON.stringify(claims.iss)} (the grant's iss)`, 'MP-100');
    }

    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    let key: KeyObject;
    let clientAmr = 'private_key_jwt';
    if (header.x5c !== undefined) {
      key = this.#certificateKey(header.x5c as unknown, client, nowMs, authenticationFailed);
      clientAmr = 'virksomhetssertifikat';
    } else if (typeof header.kid === 'string') {
      const registered = client.keys.get(header.kid);
      if (registered === undefined) return authenticationFailed(`No key with kid ${header.kid} is registered on client ${client.clientId}`, 'MP-100');
      key = registered;
    } else {
      return authenticationFailed('The grant header has neither kid nor x5c', 'MP-100');
    }

    try {
      await compactVerify(assertion, key, { algorithms: GRANT_ALGORITHMS });
    } catch {
      authenticationFailed('Invalid signature: the grant was not signed by the registered key', 'MP-124');
    }

    if (typeof claims.aud !== 'string' || claims.aud !== this.settings.issuer) {
      authenticationFailed(`Invalid JWT claim aud: expected ${JSON.stringify(this.settings.issuer)}, got ${JSON.stringify(claims.aud)}`, 'MP-110');
    }

    const skew = this.settings.allowedClockSkewSeconds;
    const { iat, exp, nbf, jti } = claims;
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return reject('invalid_grant', 'Missing or invalid JWT claim iat', 'MP-130');
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return reject('invalid_grant', 'Missing or invalid JWT claim exp', 'MP-130');
    if (Math.abs(iat - nowSeconds) > skew) {
      reject('invalid_grant', `Invalid JWT claim iat: ${iat} is ${iat - nowSeconds} s from the server clock (${nowSeconds}); at most ${skew} s allowed`, 'MP-130');
    }
    if (exp <= nowSeconds) reject('invalid_grant', `JWT is expired: exp ${exp} is before the server clock (${nowSeconds})`, 'MP-130');
    if (exp <= iat) reject('invalid_grant', `Invalid JWT claim exp: ${exp} is not after iat ${iat}`, 'MP-130');
    if (exp - iat > this.settings.maxGrantLifetimeSeconds) {
      reject('invalid_grant', `Invalid JWT lifetime: exp - iat is ${exp - iat} s, at most ${this.settings.maxGrantLifetimeSeconds} s allowed`, 'MP-130');
    }
    if (typeof nbf === 'number' && nbf > nowSeconds + skew) reject('invalid_grant', `JWT is not yet valid: nbf ${nbf}`, 'MP-130');

    if (typeof jti !== 'string' || jti === '') return reject('invalid_grant', 'Missing JWT claim jti: every grant needs a unique jti', null);
    const grantKey = `${client.clientId}\u0000${jti}`;
    if (this.#usedGrants.has(grantKey)) reject('invalid_grant', `Grant is used before: jti ${jti}`, 'MP-012');
    this.#usedGrants.add(grantKey);

    const scopeClaim = claims['scope'];
    if (typeof scopeClaim !== 'string' || scopeClaim.trim() === '') return reject('invalid_scope', 'Missing JWT claim scope', 'MP-200');
    const scopes = scopeClaim.split(' ').filter((scope) => scope !== '');
    const unregistered = scopes.filter((scope) => !client.scopes.has(scope));
    if (unregistered.length > 0) {
      reject('invalid_scope', `Token request contains invalid scopes for client: ${unregistered.join(' ')}`, 'MP-201');
    }

    let consumerOrg = client.orgNo;
    let delegation: ValidGrant['delegation'] = null;
    const consumerOrgClaim = claims['consumer_org'];
    if (consumerOrgClaim !== undefined) {
      const normalised = typeof consumerOrgClaim === 'string' ? normaliseOrganisationNumber(consumerOrgClaim) : null;
      if (normalised === null) {
        return reject('invalid_request', `Invalid assertion. Invalid parameter value: consumer_org ${JSON.stringify(consumerOrgClaim)} is not an organisation number`, null);
      }
      if (normalised !== client.orgNo) {
        const found = client.delegations.find(
          (candidate) => candidate.consumerOrg === normalised && scopes.every((scope) => candidate.scopes.has(scope)),
        );
        if (found === undefined) {
          reject(
            'invalid_scope',
            `Consumer ${toConsumerId(normalised)} has not delegated scope ${scopes.join(' ')} to supplier ${toConsumerId(client.orgNo)} in Altinn`,
            'MP-251',
          );
        }
        consumerOrg = normalised;
        delegation = { delegationSource: found?.delegationSource ?? DEFAULT_DELEGATION_SOURCE };
      }
    }

    const resourceClaim = claims['resource'];
    let resources: string[] = [];
    if (resourceClaim !== undefined) {
      const list = typeof resourceClaim === 'string' ? [resourceClaim] : resourceClaim;
      if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && isAbsoluteUri(item))) {
        reject('invalid_target', `Invalid JWT claim resource: ${JSON.stringify(resourceClaim)}; use an absolute URI or an array of them`, null);
      }
      resources = list as string[];
      const allowed = client.allowedResources;
      const refused = allowed === null ? [] : resources.filter((resource) => !allowed.has(resource));
      if (refused.length > 0) reject('invalid_target', `Resource not allowed for client: ${refused.join(' ')}`, null);
    }

    return { client, scope: scopes.join(' '), consumerOrg, delegation, resources, clientAmr };
  }

  #certificateKey(
    x5c: unknown,
    client: ClientRecord,
    nowMs: number,
    authenticationFailed: (text: string, code: MaskinportenErrorNumber) => never,
  ): KeyObject {
    if (!Array.isArray(x5c)) {
      return authenticationFailed('Failed to extract certificate from JWT: x5c must be an array of base64 DER strings, not a single value', 'MP-123');
    }
    if (x5c.length === 0 || !x5c.every(isBase64Der)) {
      return authenticationFailed('Failed to extract certificate from JWT: x5c entries must be base64 DER without PEM armour or line breaks', 'MP-123');
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(Buffer.from(x5c[0] as string, 'base64'));
    } catch {
      return authenticationFailed('Failed to extract certificate from JWT: the first x5c entry is not an X.509 certificate', 'MP-123');
    }
    if (nowMs > Date.parse(leaf.validTo)) return authenticationFailed(`Expired key: the certificate expired ${leaf.validTo}`, 'MP-121');
    if (nowMs < Date.parse(leaf.validFrom)) {
      return authenticationFailed(`The JWT is signed with an invalid certificate: not valid before ${leaf.validFrom}`, 'MP-120');
    }
    const certificateOrg = organisationNumberOf(leaf);
    if (certificateOrg !== client.orgNo) {
      return authenticationFailed(
        `The certificate's organisation number ${certificateOrg ?? '(none)'} does not match the client's ${client.orgNo}`,
        'MP-122',
      );
    }
    if (client.certificatePublicKey === null || !leaf.publicKey.equals(client.certificatePublicKey)) {
      return authenticationFailed('The JWT is signed with an invalid certificate: not the certificate registered on the client', 'MP-120');
    }
    return leaf.publicKey;
  }

  async #issue(grant: ValidGrant): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }> {
    const consumerId = toConsumerId(grant.consumerOrg);
    const claims: Record<string, unknown> = {};
    if (grant.resources.length === 1) claims['aud'] = grant.resources[0] as string;
    else if (grant.resources.length > 1) claims['aud'] = grant.resources;
    Object.assign(claims, {
      sub: `${consumerId};${grant.scope}`,
      scope: grant.scope,
      client_amr: grant.clientAmr,
      client_id: grant.client.clientId,
      consumer: { authority: 'iso6523-actorid-upis', ID: consumerId },
    });
    if (grant.delegation !== null) {
      claims['supplier'] = { authority: 'iso6523-actorid-upis', ID: toConsumerId(grant.client.orgNo) };
      claims['delegation_source'] = grant.delegation.delegationSource;
    }
    const accessToken = await this.signAccessToken(claims);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.settings.tokenLifetimeSeconds, scope: grant.scope };
  }

  // ----- controls -----

  async registerClient(options?: RegisterClientOptions): Promise<RegisteredClient> {
    const scopes = options?.scopes ?? [DEFAULT_SCOPE];
    if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope))) {
      throw new TypeError('registerClient: scopes must be an array of scope strings without spaces, e.g. ["entur:skyporten.demo"].');
    }
    const orgNo = normaliseOrganisationNumber(options?.orgNo ?? DEFAULT_ORGANISATION_NUMBER);
    if (orgNo === null) {
      throw new TypeError(
        `registerClient: orgNo "${options?.orgNo}" is not a valid Norwegian organisation number (9 digits, modulus 11), e.g. "991825827".`,
      );
    }
    const clientId = options?.clientId ?? randomUUID();
    if (this.#clients.has(clientId)) throw new TypeError(`registerClient: a client with id ${clientId} is already registered.`);
    const kid = options?.kid ?? randomUUID();

    let certificatePublicKey: KeyObject | null = null;
    if (options?.certificate !== undefined) {
      try {
        certificatePublicKey = readFirstCertificate(options.certificate).publicKey;
      } catch (cause) {
        throw new TypeError('registerClient: certificate must be PEM text with a "-----BEGIN CERTIFICATE-----" block.', { cause });
      }
    }
    let publicKey: KeyObject;
    let privateKey = '';
    if (options?.publicKey !== undefined) {
      publicKey = toPublicKeyObject(options.publicKey);
    } else if (certificatePublicKey !== null) {
      publicKey = certificatePublicKey;
    } else {
      const pair = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
      publicKey = pair.publicKey;
      privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    }
    if (publicKey.asymmetricKeyType !== 'rsa') {
      throw new TypeError(`registerClient: publicKey must be an RSA key (grants use RS256/RS384/RS512), got ${publicKey.asymmetricKeyType}.`);
    }

    const allowedResources = options?.allowedResources;
    if (allowedResources !== undefined && !allowedResources.every(isAbsoluteUri)) {
      throw new TypeError('registerClient: allowedResources must be absolute URIs, e.g. "https://skyporten.example.org".');
    }
    const delegations = (options?.delegations ?? []).map((delegation) => {
      const consumerOrg = normaliseOrganisationNumber(delegation.consumerOrg);
      if (consumerOrg === null) {
        throw new TypeError(`registerClient: delegations[].consumerOrg "${delegation.consumerOrg}" is not a valid organisation number.`);
      }
      return {
        consumerOrg,
        scopes: new Set(delegation.scopes),
        delegationSource: delegation.delegationSource ?? DEFAULT_DELEGATION_SOURCE,
      };
    });

    this.#clients.set(clientId, {
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

  failNext(failure: InjectedFailure): void {
    this.service.failNext(failure);
  }

  hang(count = 1): void {
    this.service.hang(count, 'token');
  }

  setLatency(ms: number): void {
    assertNumberOption('latencyMs', ms, 0);
    this.settings.latencyMs = ms;
  }

  setClockOffset(seconds: number): void {
    assertNumberOption('clockOffsetSeconds', seconds, Number.NEGATIVE_INFINITY);
    this.settings.clockOffsetSeconds = seconds;
  }

  setTokenLifetime(seconds: number): void {
    assertNumberOption('tokenLifetimeSeconds', seconds, 1);
    this.settings.tokenLifetimeSeconds = seconds;
  }

  async signAccessToken(claims: Record<string, unknown>, options?: { expiresInSeconds?: number }): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    const payload: JWTPayload = {
      iss: this.settings.issuer,
      client_amr: 'private_key_jwt',
      token_type: 'Bearer',
      iat,
      exp: iat + (options?.expiresInSeconds ?? this.settings.tokenLifetimeSeconds),
      jti: randomBytes(32).toString('base64url'),
      ...claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: this.signingKey.kid }).sign(this.signingKey.privateKey);
  }

  async verifyAccessToken(token: string, options?: { audience?: string | string[] }): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.signingKey.publicKey, {
      issuer: this.settings.issuer,
      algorithms: ['RS256'],
      currentDate: new Date(this.now()),
      ...(options?.audience === undefined ? {} : { audience: options.audience }),
    });
    return payload;
  }

  reset(): void {
    this.service.reset();
    this.#usedGrants.clear();
  }

  close(): void {
    this.service.close();
  }
}
