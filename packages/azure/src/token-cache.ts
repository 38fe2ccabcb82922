import type { AccessToken, GetTokenOptions } from '@azure/identity';
import { createRefreshingCache, isRetryable, logEvent, type Clock, type Expiring, type Logger, type RefreshingCache } from '@skyporten/core/adapter';
import { errorFields } from './errors.js';

/** An Entra ID token for `scopes`: MSAL's cached one, or a new one from Entra ID. */
export type EntraTokenSource = (scopes: string[], options: GetTokenOptions) => Promise<AccessToken>;

/** An Entra ID token as core's cache keeps it; `issuedAt` is when this token was first seen. */
interface CachedToken extends Expiring {
  token: AccessToken;
  issuedAt: Date;
}

/** The cache of one scopes/tenant key, and what its loader needs from the current call. */
interface Entry {
  cache: RefreshingCache<CachedToken>;
  scopes: string[];
  options: GetTokenOptions;
  /** Set while a caller asks for the kept token after this failure: the loader then rethrows it instead of asking. */
  failure?: unknown;
  /** The last failure a kept token was handed out for, so one shared failure logs one warning. */
  warned?: unknown;
}

/**
 * The adapter's layer over MSAL's own cache, one core `RefreshingCache` per scopes/tenant key. Every
 * `getToken` asks `source` (MSAL decides when to go to Entra ID), concurrent callers sharing one call. After a
 * retryable failure the last token stays in use, with a warning, while core's cache would still hand it out:
 * until min(safetyMarginSeconds, 10 % of its lifetime) before it expires. Other failures are thrown at once.
 */
export function createEntraTokenCache(source: EntraTokenSource, settings: { clock: Clock; logger: Logger | undefined; safetyMarginSeconds: number }) {
  const { clock, logger, safetyMarginSeconds } = settings;
  const entries = new Map<string, Entry>();

  async function load(entry: Entry): Promise<CachedToken> {
    if (entry.failure !== undefined) throw entry.failure;
    const token = await source(entry.scopes, entry.options);
    const last = entry.cache.peek();
    return { token, expiresAt: new Date(token.expiresOnTimestamp), issuedAt: last?.token.token === token.token ? last.issuedAt : new Date(clock()) };
  }

  function entryFor(scopes: string[], options: GetTokenOptions): Entry {
    const key = JSON.stringify([scopes, options.tenantId ?? '', options.claims ?? '', options.enableCae === true]);
    let entry = entries.get(key);
    if (entry === undefined) {
      const created: Entry = {
        scopes,
        options,
        // No refresh ahead: MSAL decides when to ask Entra ID. The safety margin is core's rule.
        cache: createRefreshingCache(() => load(created), { clock, logger, name: 'Entra ID token', refreshWindowSeconds: 0, safetyMarginSeconds }),
      };
      entries.set(key, (entry = created));
    }
    return entry;
  }

  /** The last token while core's cache still hands it out; else `error`, rethrown by `load`, so no second request. */
  async function keptThrough(entry: Entry, error: unknown, signal: AbortSignal | undefined): Promise<AccessToken> {
    const last = entry.cache.peek();
    let kept: Promise<CachedToken>;
    entry.failure = error;
    try {
      kept = entry.cache.get(signal === undefined ? {} : { signal });
    } finally {
      entry.failure = undefined;
    }
    const { token } = await kept;
    if (token === last?.token && entry.warned !== error) {
      entry.warned = error;
      const expiresOn = new Date(token.expiresOnTimestamp).toISOString();
      logEvent(logger, 'warn', 'the Entra ID token could not be refreshed; the current one stays in use until its safety margin', { ...errorFields(error), expiresOn });
    }
    return token;
  }

  return {
    async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
      // The caller's abort signal only stops its own wait; the shared call goes on for the others.
      const { abortSignal, ...shared } = options;
      const signal = abortSignal as AbortSignal | undefined;
      const entry = entryFor((Array.isArray(scopes) ? scopes : [scopes]).slice().sort(), shared);
      entry.options = shared;
      try {
        return (await entry.cache.get({ forceRefresh: true, ...(signal === undefined ? {} : { signal }) })).token;
      } catch (error) {
        if (!isRetryable(error)) throw error;
        return keptThrough(entry, error, signal);
      }
    },
  };
}
