import { checkNumber, ConfigError, logEvent, resolveMaskinportenClient, type Clock, type Logger, type MaskinportenClientOrOptions } from '@skyporten/core/adapter';
import { SkyportenIdentityPoolClient } from './client.js';
import { resolveDelegates, resolveFederation, TOKEN_LIFETIME_RULE, type GcpFederationOptions } from './options.js';

/** Options of {@link skyportenCredentials}; the README explains each. @public */
export interface SkyportenCredentialsOptions extends GcpFederationOptions {
  /** The Maskinporten client, or options for one; its `resource` must be an audience the pool provider allows. @default createMaskinportenClient() from the environment */
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /** OAuth scopes of the Google access token. @default ["https://www.googleapis.com/auth/cloud-platform"] */
  scopes?: string[] | undefined;
  /** Lifetime of impersonated tokens, in seconds (600 to 43200; above 3600 needs an organisation policy); ignored without `serviceAccountEmail`. @default 3600 */
  tokenLifetimeSeconds?: number | undefined;
  /** A delegation chain to `serviceAccountEmail`, first hop first: emails or `projects/-/serviceAccounts/<EMAIL>`. @default [] (impersonate directly) */
  delegates?: readonly string[] | undefined;
  /** Through a refresh failing with a retryable error, keep handing out the current token until this many seconds before expiry. @default 60 */
  safetyMarginSeconds?: number | undefined;
  /** Receives debug/warn events; never a token. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the subject token's remaining lifetime and the safety margin. @default Date.now */
  clock?: Clock | undefined;
}

/**
 * Google Cloud credentials from Skyporten: an `AuthClient` for any `@google-cloud/*` client, e.g.
 * `new Storage({ authClient: skyportenCredentials({ audience, serviceAccountEmail }) })` (see the README).
 * @throws ConfigError when an option is missing or malformed (checked here, before any request).
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenIdentityPoolClient {
  const federation = resolveFederation(options);
  const { scopes } = options;
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope)))) {
    throw new ConfigError('scopes', 'scopes must be a non-empty array of OAuth scope URLs, e.g. ["https://www.googleapis.com/auth/devstorage.read_only"].');
  }
  checkNumber(options.safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  checkNumber(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds', TOKEN_LIFETIME_RULE);
  const delegates = resolveDelegates(options.delegates, federation); // before the key is read, like the other options
  const maskinporten = resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger });
  if (federation.serviceAccountEmail === undefined) {
    logEvent(options.logger, 'warn', 'No serviceAccountEmail: the federated token from GCP STS is used directly and expires with the Skyporten token (about 120 s)');
  }
  return new SkyportenIdentityPoolClient(maskinporten, federation, { ...options, delegates });
}
