import {
  checkNumber,
  ConfigError,
  logEvent,
  resolveMaskinportenClient,
  type Clock,
  type Logger,
  type MaskinportenClientOrOptions,
} from '@skyporten/core/adapter';
import { SkyportenIdentityPoolClient } from './client.js';
import { resolveDelegates } from './impersonation.js';
import { checkTokenLifetime, resolveFederation, type GcpFederationOptions } from './options.js';

/**
 * Options of {@link skyportenCredentials}.
 *
 * @public
 */
export interface SkyportenCredentialsOptions extends GcpFederationOptions {
  /**
   * The Maskinporten client, or options to create one (its `resource` must be an audience the pool provider
   * allows). Left out, it is configured from the environment (`MASKINPORTEN_CLIENT_ID`, ...).
   * @default createMaskinportenClient() from the environment
   */
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /** OAuth scopes of the Google access token. @default ["https://www.googleapis.com/auth/cloud-platform"] */
  scopes?: string[] | undefined;
  /**
   * Lifetime asked for impersonated service account tokens, in seconds (at most 3600 unless the organisation
   * policy allows more). Ignored without `serviceAccountEmail`.
   * @default 3600
   */
  tokenLifetimeSeconds?: number | undefined;
  /**
   * A delegation chain to `serviceAccountEmail`, as IAM Credentials `generateAccessToken` takes it: the
   * federated principal must be allowed to impersonate the first, each the next, and the last
   * `serviceAccountEmail`. Each is an email or `projects/-/serviceAccounts/<EMAIL>`. Requires `serviceAccountEmail`.
   * Not expressible in `gcpCredentialConfig()`'s `external_account` JSON (it has no field for it).
   * @default [] (the federated principal impersonates `serviceAccountEmail` directly)
   */
  delegates?: readonly string[] | undefined;
  /**
   * When a refresh fails with a retryable error (GCP STS, IAM Credentials or Maskinporten unavailable), keep
   * handing out the current Google access token, with a warning, until this many seconds before it expires;
   * closer to expiry the error is thrown. Capped at a tenth of the token's lifetime (12 s for a 120-s
   * federated token), by core's cache. google-auth-library refreshes 5 minutes before expiry (15 s without
   * impersonation), so this bridges an outage in that window. Non-retryable errors are thrown at once.
   * @default 60
   */
  safetyMarginSeconds?: number | undefined;
  /** Receives debug/warn events; never a token. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the subject token's remaining lifetime and the safety margin. @default Date.now */
  clock?: Clock | undefined;
}

/**
 * Google Cloud credentials from Skyporten: an external-account `AuthClient` (google-auth-library's
 * `IdentityPoolClient`) for any `@google-cloud/*` client. Each refresh takes the cached Skyporten token from
 * Maskinporten, exchanges it at GCP STS for a federated token, and (with `serviceAccountEmail`) impersonates
 * the data provider's service account. google-auth-library caches the resulting access token until shortly
 * before it expires; concurrent requests share one refresh. When that refresh fails with a retryable error
 * (an outage of STS, IAM Credentials or Maskinporten) while the cached access token is still valid, callers
 * keep getting the cached one (a warning is logged) until `safetyMarginSeconds` before it expires.
 *
 * Without `serviceAccountEmail` the federated token is used directly: it expires with the Skyporten token
 * (about 120 seconds), so long downloads can outlive it, and the resource must grant the federated principal.
 *
 * @example
 * ```ts
 * import { Storage } from '@google-cloud/storage';
 * import { skyportenCredentials } from '@skyporten/gcp';
 *
 * const storage = new Storage({
 *   authClient: skyportenCredentials({
 *     maskinporten: { environment: 'test', clientId, scope: 'entur:skyporten.demo', resource: 'https://skyporten.entur.org', key },
 *     audience: '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten',
 *     serviceAccountEmail: 'reader@data-provider.iam.gserviceaccount.com',
 *   }),
 * });
 * const [content] = await storage.bucket('skyporten-public-demo').file('hello.txt').download();
 * ```
 * @throws ConfigError when an option is missing or malformed (checked here, before any request).
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenIdentityPoolClient {
  const federation = resolveFederation(options);
  if (options.scopes !== undefined && (!Array.isArray(options.scopes) || options.scopes.length === 0 || !options.scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope)))) {
    throw new ConfigError('scopes', 'scopes must be a non-empty array of OAuth scope URLs, e.g. ["https://www.googleapis.com/auth/devstorage.read_only"].');
  }
  checkNumber(options.safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  checkTokenLifetime(options.tokenLifetimeSeconds);
  const delegates = resolveDelegates(options.delegates, federation); // before the key is read, like the other options
  const maskinporten = resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger });
  if (federation.serviceAccountEmail === undefined) {
    logEvent(
      options.logger,
      'warn',
      'No serviceAccountEmail: the federated token from GCP STS is used directly and expires with the Skyporten token (about 120 s)',
    );
  }
  return new SkyportenIdentityPoolClient(maskinporten, federation, { ...options, delegates });
}
