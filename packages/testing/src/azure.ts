import { randomUUID } from 'node:crypto';
import { SignJWT, compactVerify, createRemoteJWKSet } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { audiencesOf, decodeClaims, recordStatus } from './cloud.js';
import type { MockIssuerReference } from './cloud.js';
import { generateIssuerSigningKey } from './keys.js';
import { MockRejection, createMockService, json, liveCounters, mockLifecycle } from './mock-service.js';
import type { MockAnswer, MockFailure, MockLifecycle } from './mock-service.js';
import { createLocalTlsCertificate } from './tls-certificate.js';
import type { LocalTlsCertificate } from './tls-certificate.js';

type EntraService = 'token' | 'metadata' | 'keys' | 'instance-discovery';

/** A federated identity credential on an application or user-assigned managed identity. */
export interface MockFederatedCredential {
  /** A name, for your own reading. @default "skyporten" */
  name?: string | undefined;
  /** Matched exactly against the assertion's `iss` (a trailing slash counts). */
  issuer: string;
  /** Matched exactly (case-sensitive) against the assertion's `sub`. */
  subject: string;
  /** The assertion's `aud` must contain one of these. */
  audiences: string[];
}

/** An app registration or user-assigned managed identity known to the mock tenant. */
export interface MockEntraApplication {
  /** The client (application) id callers put in `client_id`. */
  clientId: string;
  /** The principal (object) id: not a client id; presenting it gets AADSTS700016. @default a random GUID */
  principalId?: string | undefined;
  /** Its federated identity credentials: which tokens it accepts as client assertions. */
  federatedCredentials: MockFederatedCredential[];
}

/** Options of {@link createMockEntraId}. */
export interface MockEntraIdOptions {
  /** The Skyporten issuer whose tokens are accepted as assertions (signatures checked with its JWKS): a `MockSkyporten`, or `{ issuer, jwksUri }`. */
  issuer: MockIssuerReference;
  /** The tenant (directory) id. @default a random GUID */
  tenantId?: string | undefined;
  /** The app registrations and managed identities in the tenant. */
  applications: MockEntraApplication[];
  /** Lifetime of the access tokens issued, in seconds. @default 3600 */
  accessTokenLifetimeSeconds?: number | undefined;
  /** TLS certificate and key (PEM) to serve with. @default a fresh self-signed one for 127.0.0.1 and localhost */
  tls?: LocalTlsCertificate | undefined;
  /** Tolerated clock difference when checking the assertion's `exp` and `nbf`, in seconds. @default 0 */
  clockSkewSeconds?: number | undefined;
  /** The current time in milliseconds. @default Date.now */
  clock?: (() => number) | undefined;
}

/** A fault of the token endpoint: `code` is the OAuth `error` (default `temporarily_unavailable` for 5xx, else `invalid_request`), `message` the `error_description`, AADSTS code first. */
export interface MockEntraFailure extends MockFailure<'token'> {
  /** @deprecated Use `code`. */
  error?: string;
  /** @deprecated Use `message`. */
  errorDescription?: string;
}

/** One request to the token endpoint, as the mock saw it. The assertion itself is not kept. */
export interface MockEntraTokenRequest {
  /** The tenant in the request path. */
  tenantId: string;
  /** The `client_id` form field. */
  clientId: string | undefined;
  /** The `scope` form field. */
  scope: string | undefined;
  /** The assertion's claims, decoded without verification; undefined when it was not a JWT. */
  assertionClaims: JWTPayload | undefined;
  /** The HTTP status of the answer. */
  status: number;
  /** The AADSTS number of a rejection, e.g. 70021. */
  errorCode: number | undefined;
}

/** A running mock Microsoft Entra ID. */
export interface MockEntraId extends MockLifecycle<MockEntraTokenRequest, MockEntraFailure> {
  /** `https://127.0.0.1:PORT`: pass as `authorityHost` (and `disableInstanceDiscovery: true` to a bare `@azure/identity` credential). */
  authorityHost: string;
  /** The tenant (directory) id: pass as `tenantId`. */
  tenantId: string;
  /** What points `@skyporten/azure`'s `skyportenCredentials` (or an `@azure/identity` credential) at this mock in one spread. */
  credentialOptions(): {
    /** The mock's tenant id. */
    tenantId: string;
    /** The mock's https URL. */
    authorityHost: string;
    /** A mock cannot answer instance discovery. */
    disableInstanceDiscovery: true;
    /** Trust for the mock's loopback certificate. */
    tlsOptions: {
      /** The mock's CA certificate (PEM). */
      ca: string;
    };
  };
  /** The TLS certificate (PEM) the server presents; trust it on the client side. */
  certificate: string;
  /** The TLS certificate and key, to serve other local endpoints (Azurite) under the same trust. */
  tls: LocalTlsCertificate;
  /** Live request counts. */
  readonly counters: {
    /** POSTs to the token endpoint. */
    tokenRequests: number;
    /** Requests for the tenant's OpenID metadata. */
    metadataRequests: number;
    /** Requests for instance discovery. */
    instanceDiscoveryRequests: number;
  };
  /** The JWKS the issued access tokens verify with (served at `/{tenant}/discovery/v2.0/keys`). */
  jwks(): {
    /** The public signing keys, as JWKs. */
    keys: JWK[];
  };
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const METADATA_PATH = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const GUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

/** Starts a mock Microsoft Entra ID (tenant and instance discovery, keys, v2.0 token endpoint) on `https://127.0.0.1:<random port>`. */
export async function createMockEntraId(options: MockEntraIdOptions): Promise<MockEntraId> {
  const { tenantId = randomUUID(), clock = Date.now, accessTokenLifetimeSeconds: lifetimeSeconds = 3600, clockSkewSeconds = 0 } = options;
  if (!GUID.test(tenantId)) throw new TypeError(`createMockEntraId: tenantId "${tenantId}" is not a GUID.`);
  if (!Number.isFinite(lifetimeSeconds) || lifetimeSeconds < 1) throw new TypeError('createMockEntraId: accessTokenLifetimeSeconds must be a number >= 1.');
  const applications = options.applications.map((application) => ({ ...application, principalId: application.principalId ?? randomUUID() }));
  const tls = options.tls ?? createLocalTlsCertificate();
  const signing = generateIssuerSigningKey();
  const issuerKeys = createRemoteJWKSet(new URL(options.issuer.jwksUri));
  let authorityHost = '';

  /** Entra ID's error JSON, to throw from a handler: `AADSTS<code>: <text> Trace ID: … Correlation ID: … Timestamp: …`. */
  function reject(status: number, error: string, aadstsCode: number, description: string): MockRejection {
    const ids = { trace_id: randomUUID(), correlation_id: randomUUID() };
    const timestamp = new Date(clock()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const text = `AADSTS${aadstsCode}: ${description} Trace ID: ${ids.trace_id} Correlation ID: ${ids.correlation_id} Timestamp: ${timestamp}`;
    const body = { error, error_description: text, error_codes: [aadstsCode], timestamp, ...ids, error_uri: `https://login.microsoftonline.com/error?code=${aadstsCode}` };
    return new MockRejection({ ...json(status, body), log: { errorCode: aadstsCode } });
  }

  function metadata(): Record<string, unknown> {
    const base = `${authorityHost}/${tenantId}`;
    return {
      issuer: `${base}/v2.0`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  const tenantNotFound = (tenant: string): MockRejection =>
    reject(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);

  async function issueToken(form: URLSearchParams, tenant: string): Promise<MockAnswer> {
    if (tenant !== tenantId) throw tenantNotFound(tenant);
    const missing = (name: string) => reject(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
    if (form.get('grant_type') !== 'client_credentials') throw reject(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = form.get('client_id');
    if (!clientId) throw missing('client_id');
    const application = applications.find((candidate) => candidate.clientId === clientId);
    if (application === undefined) {
      const byPrincipal = applications.find((candidate) => candidate.principalId === clientId);
      const note = byPrincipal ? ` (Mock Entra ID: '${clientId}' is the principal (object) id of application '${byPrincipal.clientId}', not a client id.)` : '';
      throw reject(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.${note}`);
    }
    const scope = form.get('scope');
    if (!scope) throw missing('scope');
    const resource = scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : undefined;
    if (resource === undefined || scope.includes(' ')) throw reject(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    const assertion = form.get('client_assertion') ?? '';
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE || !assertion) throw reject(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    const claims = decodeClaims(assertion);
    if (claims === undefined) throw reject(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    const audiences = audiencesOf(claims);
    const matches = (credential: MockFederatedCredential): boolean => credential.issuer === claims.iss && credential.subject === claims.sub && credential.audiences.some((audience) => audiences.includes(audience));
    if (!application.federatedCredentials.some(matches)) throw reject(400, 'invalid_request', 70021, `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${audiences.join(',')}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`);
    const now = clock();
    const nowSeconds = now / 1000;
    const expired = typeof claims.exp !== 'number' || nowSeconds > claims.exp + clockSkewSeconds;
    const notYet = typeof claims.nbf === 'number' && nowSeconds + clockSkewSeconds < claims.nbf;
    if (expired || notYet) {
      const from = typeof claims.nbf === 'number' ? claims.nbf : claims.iat;
      throw reject(400, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${new Date(now).toISOString()}, assertion valid from ${typeof from === 'number' ? new Date(from * 1000).toISOString() : 'unknown'}, expiry time of assertion ${typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'unknown'}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`);
    }
    const verified = await compactVerify(assertion, issuerKeys, { algorithms: ['RS256', 'RS384', 'RS512'] }).then(() => true, () => false);
    if (!verified) throw reject(401, 'invalid_client', 50013, 'Assertion failed signature validation.');
    const iat = Math.floor(now / 1000);
    const { clientId: appid, principalId: oid } = application;
    const claimsIssued = { aud: resource, iss: `https://sts.windows.net/${tenantId}/`, appid, appidacr: '2', idtyp: 'app', oid, sub: oid, tid: tenantId, ver: '1.0' };
    const times = { iat, nbf: iat, exp: iat + lifetimeSeconds, jti: randomUUID() };
    const accessToken = await new SignJWT({ ...claimsIssued, ...times }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.kid }).sign(signing.privateKey);
    return json(200, { token_type: 'Bearer', expires_in: lifetimeSeconds, ext_expires_in: lifetimeSeconds, access_token: accessToken });
  }

  const service = createMockService<EntraService, MockEntraTokenRequest>({
    name: 'Mock Entra ID',
    defaultService: 'token',
    routes: [
      {
        service: 'instance-discovery', method: 'GET', path: '/common/discovery/instance', faults: false,
        handle: ({ url: { host } }) => json(200, { tenant_discovery_endpoint: `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`, 'api-version': '1.1', metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }] }),
      },
      { service: 'metadata', method: 'GET', path: METADATA_PATH, faults: false, handle: ({ params: [tenant = ''] }) => (tenant === tenantId ? json(200, metadata()) : tenantNotFound(tenant).answer) },
      { service: 'keys', method: 'GET', path: `/${tenantId}/discovery/v2.0/keys`, faults: false, handle: () => json(200, { keys: [signing.publicJwk] }) },
      { service: 'token', method: 'POST', path: /^\/([^/]+)\/oauth2\/v2\.0\/token$/, handle: ({ body, params: [tenant = ''] }) => issueToken(new URLSearchParams(body), tenant) },
    ],
    notFound: (request) => json(404, { error: 'not_found', error_description: `Mock Entra ID does not serve ${request.method} ${request.url.pathname}.` }),
    record(request, name) {
      if (name !== 'token') return undefined;
      const form = new URLSearchParams(request.body);
      const assertionClaims = decodeClaims(form.get('client_assertion') ?? '');
      return { tenantId: request.params[0] ?? '', clientId: form.get('client_id') ?? undefined, scope: form.get('scope') ?? undefined, assertionClaims, status: 200, errorCode: undefined };
    },
    finish: recordStatus,
    renderFailure(failure: MockEntraFailure) {
      const transient = failure.status >= 500;
      const error = failure.code ?? failure.error ?? (transient ? 'temporarily_unavailable' : 'invalid_request');
      const description = failure.message ?? failure.errorDescription;
      if (description === undefined) return reject(failure.status, error, transient ? 90033 : 90000, transient ? 'A transient error has occurred. Please try again.' : 'Injected failure.').answer;
      const code = /^AADSTS(\d+)/.exec(description)?.[1];
      return { ...json(failure.status, { error, error_description: description, error_codes: code === undefined ? [] : [Number(code)] }), log: { errorCode: code === undefined ? undefined : Number(code) } };
    },
    headers: () => ({ 'cache-control': 'no-store' }),
  });
  const listening = await service.listen({ tls });
  authorityHost = listening.url;

  return {
    authorityHost,
    tenantId,
    certificate: tls.cert,
    tls,
    credentialOptions: () => ({ tenantId, authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca: tls.cert } }),
    counters: liveCounters(service, { tokenRequests: 'token', metadataRequests: 'metadata', instanceDiscoveryRequests: 'instance-discovery' }),
    jwks: () => ({ keys: [signing.publicJwk] }),
    ...mockLifecycle(service, listening),
  };
}
