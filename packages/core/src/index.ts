export {
  createMaskinportenClient,
  discoverIssuer,
  isMaskinportenClient,
  resolveMaskinportenClient,
  type InheritedClientOptions,
  type MaskinportenClient,
  type MaskinportenClientOptions,
  type MaskinportenClientOrOptions,
  type TokenKey,
} from './client.js';
export { createRefreshingCache, waitWithSignal, type Expiring, type GetOptions } from './cache.js';
export type { RefreshingCache, RefreshingCacheOptions, RefreshPolicy } from './cache.js';
export { systemClock, type Clock } from './clock.js';
export type { IssuerMetadata } from './discovery.js';
export { CLIENT_OPTION_VARIABLES, ENVIRONMENT_VARIABLES, maskinportenOptionsFromEnv, type Environment, type EnvironmentOptions, type KeyParts } from './env.js';
export { CloudExchangeError, ConfigError, DiscoveryError, KeyError, NetworkError, SkyportenError, TimeoutError, TokenRequestError } from './errors.js';
export type { CloudName, SkyportenErrorCode, SkyportenErrorOptions } from './errors.js';
export { createJwtGrant, MAX_GRANT_LIFETIME_SECONDS, type JwtGrantClaims, type JwtGrantOptions } from './grant.js';
export type { RetryOptions } from './retry.js';
export { isLoopbackHost, SKYPORTEN_ISSUERS, SKYPORTEN_PROD_ISSUER, SKYPORTEN_TEST_ISSUER, type SkyportenEnvironment } from './issuers.js';
export { MASKINPORTEN_PROD_ISSUER, MASKINPORTEN_TEST_ISSUER } from './issuers.js';
export { SIGNING_ALGORITHMS, type KeyInput, type Pkcs12KeyInput, type PrivateKeyInput, type RemoteSignerInput, type SigningAlgorithm } from './keys.js';
export { logEvent, type Logger, type LogLevel } from './logger.js';
export { CLIENT_OPTION_DEFAULTS, resolveClientOptions, type ClientOptionsInput, type ClientOptionsResolution, type OptionLayers } from './options.js';
export type { OptionOrigin, OptionSource, ResolvedClientOptions, ResolvedOptionName } from './options.js';
export { redact } from './redact.js';
export { decodeSkyportenToken, requireAudience, SkyportenToken, verifySkyportenToken } from './token.js';
export type { DecodedSkyportenToken, SkyportenTokenClaims, SkyportenTokenOrganisation, VerifySkyportenTokenOptions } from './token.js';
export { traceCloudExchange } from './telemetry.js';
export { JWT_BEARER_GRANT_TYPE, MASKINPORTEN_ERROR_HINTS } from './token-request.js';
export { isValidOrganisationNumber, isValidScope } from './validation.js';
