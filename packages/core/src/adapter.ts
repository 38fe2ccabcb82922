/**
 * `@skyporten/core/adapter`: what a cloud adapter needs (ours, and third parties writing their own): the cache
 * primitive, the retry policy, the one outbound request path, client resolution and the cloud-exchange helpers.
 * An application needs none of it; it imports `@skyporten/core`.
 *
 * @packageDocumentation
 */
export { createKeyedCache, createRefreshingCache, DEFAULT_REFRESH_POLICY, waitWithSignal, type Expiring, type GetOptions } from './cache.js';
export type { KeyedCache, KeyedCacheOptions, LoadContext, RefreshingCache, RefreshingCacheOptions, RefreshPolicy } from './cache.js';
export { resolveMaskinportenClient, isMaskinportenClient, type InheritedClientOptions, type MaskinportenClientOrOptions } from './client.js';
export { systemClock, type Clock } from './clock.js';
export { CloudExchangeError, ConfigError, NetworkError, SkyportenError, TimeoutError, type CloudName } from './errors.js';
export { createHttpClient, isTransientStatus, MAX_BODY_BYTES, stripQuery } from './http.js';
export type { HttpAnswer, HttpClient, HttpRequestInit, HttpSettings } from './http.js';
export { logEvent, type Logger } from './logger.js';
export { redact } from './redact.js';
export { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, parseRetryAfter, resolveRetryPolicy, withRetry } from './retry.js';
export type { AttemptContext, RetryEvent, RetryOptions, RetryPolicy, WithRetryOptions } from './retry.js';
export { decodeSkyportenToken, requireAudience, type DecodedSkyportenToken } from './token.js';
export { traceCloudExchange } from './telemetry.js';
export { checkNumber, type NumberRule } from './validation.js';
export { checkEndpoint, isSecureEndpoint } from './issuers.js';
export { environmentOf, presentedTokens, withFreshTokenOnExpiry, type AdapterOptions, type PresentedToken } from './adapter-kit.js';
