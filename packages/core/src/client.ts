import { randomUUID } from 'node:crypto';
import { createRefreshingCache, lruMap, type GetOptions } from './cache.js';
import { systemClock, type Clock } from './clock.js';
import { fetchIssuerMetadata, type IssuerMetadata } from './discovery.js';
import type { Environment } from './env.js';
import { CLIENT_OPTION_DEFAULTS, resolveClientOptions } from './options.js';
import { ConfigError, SkyportenError } from './errors.js';
import { buildGrantTemplate, grantClaims, signGrant, type GrantTemplate } from './grant.js';
import { createHttpClient } from './http.js';
import { validateEndpoint, validateIssuer, type SkyportenEnvironment } from './issuers.js';
import { prepareSigner, prepareSignerSync, type GrantSigner, type KeyInput } from './keys.js';
import { withRetry, type RetryEvent, type RetryOptions } from './retry.js';
import { checkFunction, checkNumber, display, type NumberRule } from './validation.js';
import { logEvent as log, type Logger } from './logger.js';
import { loadTelemetry, telemetry, type Attributes } from './telemetry.js';
import type { SkyportenToken } from './token.js';
import { processTokenResponse, tokenRequest } from './token-request.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Options of {@link createMaskinportenClient}; one left out comes from its environment variable unless `env: false`. @public */
export interface MaskinportenClientOptions {
  /** Refresh the token in the background this long before it expires (at most a quarter of its lifetime). @default 30 */
  refreshAheadSeconds?: number | undefined;
  /** @deprecated Use `refreshAheadSeconds` (same meaning); this name stops working in the next minor version. */
  refreshWindowSeconds?: number | undefined;
  /** Never hand out a token this close to its expiry (at most a tenth of its lifetime). @default 10 */
  safetyMarginSeconds?: number | undefined;
  /** `'test'` or `'prod'`: the Skyporten issuer of that environment. @default `SKYPORTEN_ENV` */
  environment?: SkyportenEnvironment | undefined;
  /** An issuer URL, exactly as the server spells it (instead of `environment`). @default `SKYPORTEN_ISSUER` */
  issuer?: string | undefined;
  /** The token endpoint; skips discovery. @default `SKYPORTEN_TOKEN_ENDPOINT`, else from the issuer's metadata */
  tokenEndpoint?: string | undefined;
  /** The Maskinporten client (integration) id. @default `MASKINPORTEN_CLIENT_ID` */
  clientId?: string | undefined;
  /** Scopes, as an array or space-separated. @default `MASKINPORTEN_SCOPE` */
  scope?: string | readonly string[] | undefined;
  /** The audience the cloud expects (required by every cloud adapter). @default `SKYPORTEN_RESOURCE` */
  resource?: string | readonly string[] | undefined;
  /** Organisation number of the consumer a supplier acts for. @default `MASKINPORTEN_CONSUMER_ORG` */
  consumerOrg?: string | undefined;
  /** The signing key. @default `MASKINPORTEN_PRIVATE_KEY[_FILE]`, `MASKINPORTEN_KID`, `MASKINPORTEN_CERTIFICATE_FILE` */
  key?: KeyInput | undefined;
  /** Per-request timeout in milliseconds. @default 10000 */
  timeout?: number | undefined;
  /** Retry settings, a retry count, or `false` for no retries. @default { limit: 3, baseDelayMs: 200, maxDelayMs: 5000 } */
  retry?: RetryOptions | number | false | undefined;
  /** Seconds between a grant's `iat` and `exp` (at most 120). @default 60 */
  grantLifetimeSeconds?: number | undefined;
  /** Https origins besides the issuer's a discovered `token_endpoint` may be on (the grant goes nowhere else). @default [] */
  trustedTokenEndpointOrigins?: readonly string[] | undefined;
  /** A fetch implementation (e.g. for msw or a custom agent). @default globalThis.fetch, through HTTPS_PROXY when set */
  fetch?: typeof globalThis.fetch | undefined;
  /** Current time in ms. @default Date.now */
  clock?: Clock | undefined;
  /** Source of each grant's `jti`. @default crypto.randomUUID */
  generateId?: (() => string) | undefined;
  /** Receives debug/info/warn events; never a secret. */
  logger?: Logger | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Environment | false | undefined;
  /** Most views ({@link MaskinportenClient.with}) kept, least recently used dropped first. @default 10000 */
  maxCachedKeys?: number | undefined;
}

/** What changes the token: {@link MaskinportenClient.with} keeps one cached token per key; a field left out keeps the client's. @public */
export interface TokenKey {
  /** Scopes, as an array or space-separated. */
  scope?: string | readonly string[] | undefined;
  /** The audience the cloud expects. */
  resource?: string | readonly string[] | undefined;
  /** Organisation number of the consumer a supplier acts for. */
  consumerOrg?: string | undefined;
}

/** A Maskinporten / Skyporten client: one cached token, refreshed ahead of expiry. @public */
export interface MaskinportenClient {
  /** The current token, fetching or refreshing as needed. Concurrent callers share one request. */
  getToken(options?: GetOptions): Promise<SkyportenToken>;
  /** Shorthand for `(await getToken(options)).accessToken`. */
  getAccessToken(options?: GetOptions): Promise<string>;
  /** Drops the cached token, e.g. after a cloud rejected it. */
  invalidate(): void;
  /** The cached token, if any, without fetching. */
  peekToken(): SkyportenToken | undefined;
  /** The token endpoint, from options or the issuer's metadata. */
  getTokenEndpoint(options?: { signal?: AbortSignal }): Promise<string>;
  /** A view for another scope, resource or consumer organisation with its own token cache (the same key, the same view). */
  with(key: TokenKey): MaskinportenClient;
  /** The Skyporten issuer the tokens come from. */
  readonly issuer: string;
  /** The Maskinporten client (integration) id. */
  readonly clientId: string;
  /** The scopes asked for, space-separated. */
  readonly scope: string;
  /** The audience(s) asked for: what the cloud checks as `aud`. */
  readonly resource: string | string[] | undefined;
  /** The consumer's organisation number, when a supplier acts for it. */
  readonly consumerOrg: string | undefined;
}

const retryCount: NumberRule = { min: 0, max: 10, integer: true };
/** The range of every numeric option; `retry.x` is a field of a `retry` object. */
const numberRules: Readonly<Record<string, NumberRule>> = {
  timeout: { min: 1, max: 300_000, integer: true },
  refreshAheadSeconds: { min: 0, max: 3600 },
  refreshWindowSeconds: { min: 0, max: 3600 },
  safetyMarginSeconds: { min: 0, max: 3600 },
  grantLifetimeSeconds: { min: 1, max: 120, integer: true },
  maxCachedKeys: { min: 1, max: 1_000_000, integer: true },
  'retry.limit': retryCount,
  'retry.baseDelayMs': { min: 0, max: 60_000 },
  'retry.maxDelayMs': { min: 0, max: 300_000 },
  'retry.maxRetryAfterMs': { min: 0, max: 300_000 },
  'retry.deadlineMs': { min: 1, max: 3_600_000 },
};

function checkOptions(options: MaskinportenClientOptions): void {
  const retry: unknown = options.retry;
  const retryFields = typeof retry === 'object' && retry !== null ? retry : {};
  for (const [path, rule] of Object.entries(numberRules)) {
    const [first, field] = path.split('.') as [string, string | undefined];
    checkNumber(field === undefined ? (options as Record<string, unknown>)[first] : (retryFields as Record<string, unknown>)[field], path, rule);
  }
  if (typeof retry === 'number') checkNumber(retry, 'retry', retryCount);
  else if (retry !== undefined && retry !== false && (typeof retry !== 'object' || retry === null)) {
    throw new ConfigError('retry', `retry is invalid: expected settings, a retry count or false, got ${display(retry)}.`);
  }
  for (const name of ['fetch', 'clock', 'generateId'] as const) checkFunction(options[name], name);
  const trusted: unknown = options.trustedTokenEndpointOrigins;
  if (trusted !== undefined && !Array.isArray(trusted)) {
    throw new ConfigError('trustedTokenEndpointOrigins', 'trustedTokenEndpointOrigins is invalid: expected an array of https origins.');
  }
  for (const origin of (trusted ?? []) as unknown[]) {
    const url = URL.canParse(String(origin)) ? new URL(String(origin)) : undefined;
    if (url === undefined || url.protocol !== 'https:' || url.origin !== origin) {
      throw new ConfigError('trustedTokenEndpointOrigins', `trustedTokenEndpointOrigins: "${display(origin)}" is not an https origin like "https://login.example.no" (no path, no trailing slash).`);
    }
  }
}

function noIssuer(): never {
  const fix = 'set environment: "test" or "prod" (or SKYPORTEN_ENV), or issuer (SKYPORTEN_ISSUER)';
  throw new ConfigError('environment', `No issuer: ${fix}. There is no default, so a test key never reaches production by accident.`);
}

/** The `onRetry` hook that logs each retry of `what` (without the error itself, which may quote a server). */
function logRetries(logger: Logger | undefined, what: string): (event: RetryEvent) => void {
  return ({ attempt, delayMs, error }) => log(logger, 'warn', `retrying ${what}`, { attempt, reason: reasonOf(error), delayMs: Math.round(delayMs) });
}

function reasonOf(error: unknown): string {
  if (!SkyportenError.isInstance(error)) return 'error';
  const status = (error as { status?: number }).status;
  return status === undefined ? error.code : `HTTP ${status}`;
}

/**
 * Creates a client that gets access tokens with signed JWT grants and caches them (one token shared by
 * concurrent callers, refreshed ahead, retried with a fresh grant; see the README). Bad options throw here.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createMaskinportenClient } from '@skyporten/core';
 *
 * const client = createMaskinportenClient({
 *   environment: 'test',
 *   clientId: 'my-integration-id',
 *   scope: 'entur:skyporten.demo',
 *   resource: 'https://skyporten.entur.org',
 *   key: { privateKey: readFileSync('maskinporten.pem', 'utf8'), kid: 'my-kid' },
 * });
 * const { accessToken, expiresAt } = await client.getToken();
 * ```
 * @public
 */
export function createMaskinportenClient(options: MaskinportenClientOptions = {}): MaskinportenClient {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', 'createMaskinportenClient takes an options object.');
  }
  checkOptions(options);
  const { values } = resolveClientOptions(options);
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const generateId = options.generateId ?? randomUUID;
  const issuer = values.issuer ?? noIssuer();
  const { clientId, scope } = values;
  if (clientId === undefined) {
    throw new ConfigError('clientId', 'clientId is required (or MASKINPORTEN_CLIENT_ID): the Maskinporten client (integration) id.');
  }
  if (scope === undefined) {
    throw new ConfigError('scope', 'scope is required (or MASKINPORTEN_SCOPE): the scope(s) registered on the client, e.g. "entur:skyporten.demo".');
  }
  const { resource, consumerOrg, grantLifetimeSeconds: lifetimeSeconds } = values;
  const baseTemplate = buildGrantTemplate({ issuer, clientId, scope, resource, consumerOrg, lifetimeSeconds });
  const key = values.key;
  if (typeof key !== 'object' || key === null) {
    const shapes = '{ privateKey, kid }, { privateKey, certificateChain }, { pkcs12 } or { sign }';
    throw new ConfigError('key', `key is required: ${shapes} (or MASKINPORTEN_PRIVATE_KEY[_FILE] with MASKINPORTEN_KID).`);
  }
  // Local keys are read now, so a bad key fails here rather than on the first request.
  const signer: Promise<GrantSigner> | GrantSigner = 'pkcs12' in key ? prepareSigner(key, clock) : prepareSignerSync(key, clock);
  if (signer instanceof Promise) signer.catch(() => undefined);

  const explicitEndpoint = values.tokenEndpoint;
  if (explicitEndpoint !== undefined) validateEndpoint(explicitEndpoint, 'tokenEndpoint');
  const { retry, timeout: timeoutMs } = values;
  const http = createHttpClient({ fetch: options.fetch, timeoutMs });
  const trustedOrigins = options.trustedTokenEndpointOrigins ?? [];

  let metadata: Promise<IssuerMetadata> | undefined;
  async function getTokenEndpoint(endpointOptions: { signal?: AbortSignal } = {}): Promise<string> {
    if (explicitEndpoint !== undefined) return explicitEndpoint;
    metadata ??= fetchIssuerMetadata(http, issuer, {
      signal: endpointOptions.signal,
      trustedOrigins,
      retry: { policy: retry, clock, onRetry: logRetries(logger, 'metadata request') },
    }).catch((error: unknown) => {
      metadata = undefined;
      throw error;
    });
    const document = await metadata;
    validateEndpoint(document.token_endpoint, 'token_endpoint (from the issuer metadata)');
    return document.token_endpoint;
  }

  async function requestToken(template: GrantTemplate, metricAttributes: Attributes): Promise<SkyportenToken> {
    const hooks = await loadTelemetry();
    const attributes = { 'skyporten.issuer': issuer, 'skyporten.scope': template.scope };
    try {
      const token = await hooks.span('skyporten.token_request', attributes, () => requestTokenWithRetries(template, metricAttributes));
      hooks.secondsToExpiry((token.expiresAt.getTime() - clock()) / 1000, attributes);
      return token;
    } catch (error) {
      hooks.count('failures', attributes);
      const ours = SkyportenError.isInstance(error);
      const { mpCode, status } = error as { mpCode?: string; status?: number };
      log(logger, 'error', 'token request failed', { code: ours ? error.code : 'UNKNOWN', mpCode, status, isRetryable: ours ? error.isRetryable : undefined });
      throw error;
    }
  }

  async function requestTokenWithRetries(template: GrantTemplate, metricAttributes: Attributes): Promise<SkyportenToken> {
    const endpoint = await getTokenEndpoint();
    const ready = await signer;
    const token = await withRetry(
      async ({ attempt, remainingMs }) => {
        // A fresh grant per attempt: a retried grant would carry a used jti (MP-012) and an aging iat.
        const grant = await signGrant(ready, grantClaims(template, clock, generateId));
        const sentAt = clock();
        log(logger, 'debug', 'requesting token', { endpoint, scope: template.scope, consumerOrg: template.consumerOrg, attempt });
        telemetry().count('token_requests', metricAttributes);
        const answer = await tokenRequest(http, endpoint, grant, { attempt, remainingMs });
        return processTokenResponse(answer, { clock, sentAt, requestedScope: template.scope, logger });
      },
      { policy: retry, clock, onRetry: logRetries(logger, 'token request') },
    );
    const { scope, expiresAt, lifetimeSeconds } = token;
    log(logger, 'info', 'token received', { scope, expiresAt: expiresAt.toISOString(), lifetimeSeconds: Math.round(lifetimeSeconds) });
    return token;
  }

  const { refreshAheadSeconds: refreshWindowSeconds, safetyMarginSeconds } = values;
  const cacheOptions = { clock, logger, name: 'Skyporten token', refreshWindowSeconds, safetyMarginSeconds };
  const views = lruMap<MaskinportenClient>(values.maxCachedKeys);

  /** One client per (scope, resource, consumerOrg): its own cache, sharing signer, HTTP and metadata. */
  function makeView(template: GrantTemplate): MaskinportenClient {
    // Built once: the cache-hit path runs per call and must not allocate.
    const metricAttributes = { 'skyporten.issuer': issuer };
    const onEvent = () => telemetry().count('refreshes', metricAttributes);
    const cache = createRefreshingCache(() => requestToken(template, metricAttributes), { ...cacheOptions, onEvent });
    const view: MaskinportenClient = {
      // The cache's own function: a hit is one clock read and a settled promise, nothing in between.
      getToken: cache.get,
      getAccessToken: async (getOptions) => (await cache.get(getOptions)).accessToken,
      invalidate: () => cache.invalidate(),
      peekToken: () => cache.peek(),
      getTokenEndpoint,
      with: (key) => viewFor(template, key),
      issuer,
      clientId: template.clientId,
      scope: template.scope,
      resource: template.resource,
      consumerOrg: template.consumerOrg,
    };
    Object.defineProperty(view, inspectCustom, {
      value: () =>
        `MaskinportenClient { issuer: ${issuer}, clientId: ${template.clientId}, scope: ${template.scope}${template.consumerOrg ? `, consumerOrg: ${template.consumerOrg}` : ''} }`,
    });
    return view;
  }

  function viewFor(base: GrantTemplate, key: TokenKey): MaskinportenClient {
    if (typeof key !== 'object' || key === null) throw new ConfigError('with', 'with() takes { scope?, resource?, consumerOrg? }.');
    const { scope, resource, consumerOrg } = key;
    const template = buildGrantTemplate({ ...base, scope: scope ?? base.scope, resource: resource ?? base.resource, consumerOrg: consumerOrg ?? base.consumerOrg });
    const id = JSON.stringify([template.scope, template.resource ?? null, template.consumerOrg ?? null]);
    return views.use(id, () => makeView(template));
  }

  return viewFor(baseTemplate, {});
}

/**
 * True for an object made by {@link createMaskinportenClient} (or anything with a `getToken`).
 * @public
 */
export function isMaskinportenClient(value: unknown): value is MaskinportenClient {
  return typeof value === 'object' && value !== null && typeof (value as MaskinportenClient).getToken === 'function';
}

/** What adapters accept as `maskinporten`: a client (shared token cache), a new one's options, or nothing (the environment). @public */
export type MaskinportenClientOrOptions = MaskinportenClient | MaskinportenClientOptions;

/** An adapter's own `env`, `clock` and `logger`, passed down to the client it creates (`maskinporten`'s own win). @public */
export interface InheritedClientOptions {
  /** The adapter's `env` option, passed down unchanged (`false` reads nothing). */
  env?: Environment | false | undefined;
  /** The adapter's clock. */
  clock?: Clock | undefined;
  /** The adapter's logger. */
  logger?: Logger | undefined;
}

/**
 * The client given as it is, or a new one from the options (or the environment) with the adapter's `env`,
 * `clock` and `logger` where the options leave them out.
 * @public
 */
export function resolveMaskinportenClient(value?: MaskinportenClientOrOptions, inherited: InheritedClientOptions = {}): MaskinportenClient {
  if (isMaskinportenClient(value)) return value;
  const defined = (['env', 'clock', 'logger'] as const).filter((name) => inherited[name] !== undefined);
  return createMaskinportenClient({ ...Object.fromEntries(defined.map((name) => [name, inherited[name]])), ...value });
}

/** Fetches and validates an issuer's `/.well-known/openid-configuration` (its `issuer` must equal the given one exactly). @public */
export function discoverIssuer(
  issuer: string,
  options: { fetch?: typeof globalThis.fetch; timeout?: number; signal?: AbortSignal; logger?: Logger } = {},
): Promise<IssuerMetadata> {
  const http = createHttpClient({ fetch: options.fetch, timeoutMs: options.timeout ?? CLIENT_OPTION_DEFAULTS.timeout });
  return fetchIssuerMetadata(http, validateIssuer(issuer), {
    signal: options.signal,
    retry: { onRetry: logRetries(options.logger, 'metadata request') },
  });
}
