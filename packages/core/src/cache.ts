import type { Clock } from './clock.js';
import { SkyportenError } from './errors.js';
import { log, type Logger } from './logger.js';

/** Anything with an expiry: a token, a set of cloud credentials. @public */
export interface Expiring {
  /** When the value stops being valid. */
  expiresAt: Date;
  /** When it was obtained. @default when the cache stored it */
  issuedAt?: Date | undefined;
}

/**
 * When a cached value is refreshed and when it stops being handed out. Both scale down for short-lived
 * values, so a 4-s token is reused for most of its life just like a 120-s one.
 *
 * @public
 */
export interface RefreshPolicy {
  /**
   * Start refreshing in the background this long before expiry (callers keep getting the current value
   * without waiting). Capped at a quarter of the value's lifetime.
   * @default 30
   */
  refreshWindowSeconds?: number | undefined;
  /**
   * Never hand out a value this close to its expiry: wait for a fresh one instead. Capped at a tenth of the
   * value's lifetime.
   * @default 10
   */
  safetyMarginSeconds?: number | undefined;
}

/** The defaults of {@link RefreshPolicy}: refresh 30 s ahead, never within 10 s of expiry (both scaled down for short lifetimes). @public */
export const DEFAULT_REFRESH_POLICY = Object.freeze({
  /** Refresh in the background this long before expiry. */
  refreshWindowSeconds: 30,
  /** Never hand out a value this close to expiry. */
  safetyMarginSeconds: 10,
});

/** @public */
export interface RefreshingCacheOptions extends RefreshPolicy {
  /** Current time in milliseconds, e.g. `systemClock`. */
  clock: Clock;
  /** Receives debug/warn events about refreshes and failures; never the value itself. */
  logger?: Logger | undefined;
  /** Used in log lines, e.g. "Skyporten token" or "AWS credentials". */
  name: string;
  /** Called when a background refresh starts (for metrics). A plain cache hit calls nothing: it must cost nothing. */
  onEvent?: ((event: 'refresh') => void) | undefined;
  /**
   * When a fetch a caller waits for (e.g. `forceRefresh`) fails with a retryable error while the current value
   * is still usable (before its safety margin), hand out the current value instead, with one warning per
   * failure; forced gets in the following cool-down (min(5 s, 5 % of its lifetime)) get it too without asking
   * again. Non-retryable errors are always thrown. @default false
   */
  keepOnRetryableFailure?: boolean | undefined;
}

/** What a cache's loader is told about the call that started the fetch. @public */
export interface LoadContext {
  /** The `get` options of the call that started this fetch (it is shared: do not abort it on that caller's signal alone). */
  options: GetOptions;
  /** The value being replaced, if any (e.g. to keep its `issuedAt` when the source answers the same value). */
  current: unknown;
}

/** Options of a cache's or client's `get`/`getToken`. @public */
export interface GetOptions {
  /** Fetch a new value even when the cached one is still good. Concurrent callers still share one fetch. @default false */
  forceRefresh?: boolean | undefined;
  /** Stops this caller's wait; a fetch shared with other callers goes on for them. */
  signal?: AbortSignal | undefined;
}

/**
 * A single-flight, refresh-ahead cache of one expiring value.
 *
 * @public
 */
export interface RefreshingCache<T extends Expiring> {
  /** The cached value if usable, else the result of one shared fetch. */
  get(options?: GetOptions): Promise<T>;
  /** The cached value, if any, without fetching (it may be near or past expiry). */
  peek(): T | undefined;
  /** The cached value if it may still be handed out (before its safety margin), without fetching. */
  peekUsable(): T | undefined;
  /** Drops the cached value; a fetch in flight still answers its waiters but is not stored. */
  invalidate(): void;
}

interface Timing {
  usableUntil: number;
  refreshFrom: number;
  retryCooldown: number;
}

/** @internal */
export function timingOf(value: Expiring, storedAt: number, policy: { [K in keyof RefreshPolicy]-?: NonNullable<RefreshPolicy[K]> }): Timing {
  const expiresAt = value.expiresAt.getTime();
  const lifetime = Math.max(0, expiresAt - (value.issuedAt?.getTime() ?? storedAt));
  const margin = Math.min(policy.safetyMarginSeconds * 1000, lifetime * 0.1);
  const window = Math.max(margin, Math.min(policy.refreshWindowSeconds * 1000, lifetime * 0.25));
  return {
    usableUntil: expiresAt - margin,
    refreshFrom: expiresAt - window,
    retryCooldown: Math.min(5000, Math.max(50, lifetime * 0.05)),
  };
}

/**
 * Caches one expiring value, fetched by `load`:
 * - concurrent callers share one pending fetch (also when it fails; failures are never cached);
 * - inside the refresh window, callers get the current value at once while one background fetch runs;
 *   a failed background fetch is logged and retried after a short cool-down;
 * - within the safety margin of expiry the value is no longer handed out: callers wait for a fresh one,
 *   and get the error if that fails.
 *
 * Core uses it for tokens; the adapters use it for cloud credentials.
 *
 * @example
 * ```ts
 * const cache = createRefreshingCache(() => fetchCredentials(), { clock: Date.now, name: 'credentials' });
 * const credentials = await cache.get();
 * ```
 * @public
 */
export function createRefreshingCache<T extends Expiring>(
  load: (context: LoadContext) => Promise<T>,
  options: RefreshingCacheOptions,
): RefreshingCache<T> {
  const policy: { [K in keyof RefreshPolicy]-?: NonNullable<RefreshPolicy[K]> } = {
    refreshWindowSeconds: options.refreshWindowSeconds ?? DEFAULT_REFRESH_POLICY.refreshWindowSeconds,
    safetyMarginSeconds: options.safetyMarginSeconds ?? DEFAULT_REFRESH_POLICY.safetyMarginSeconds,
  };
  const { clock, logger, name, onEvent } = options;
  // `resolved` is made once per value: a cache hit hands out the same settled promise, allocating nothing.
  let current: { value: T; timing: Timing; resolved: Promise<T> } | undefined;
  let pending: Promise<T> | undefined;
  let generation = 0;
  let nextBackgroundAttempt = 0;

  function fetchShared(getOptions: GetOptions): Promise<T> {
    if (pending) return pending;
    const started = generation;
    const attempt: Promise<T> = load({ options: getOptions, current: current?.value }).then(
      (value) => {
        if (started === generation) current = { value, timing: timingOf(value, clock(), policy), resolved: Promise.resolve(value) };
        if (pending === attempt) pending = undefined;
        return value;
      },
      (error: unknown) => {
        if (pending === attempt) pending = undefined;
        throw error;
      },
    );
    pending = attempt;
    return attempt;
  }

  function refreshInBackground(value: T, timing: Timing): void {
    log(logger, 'debug', `refreshing ${name} in the background`, { expiresAt: value.expiresAt.toISOString() });
    onEvent?.('refresh');
    fetchShared({}).catch((error: unknown) => {
      nextBackgroundAttempt = clock() + timing.retryCooldown;
      log(logger, 'warn', `background refresh of ${name} failed; the current one stays in use until its safety margin`, {
        code: SkyportenError.isInstance(error) ? error.code : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  /** Everything but a plain hit: refresh window, safety margin, forceRefresh, a signal. */
  function getSlow(getOptions: GetOptions): Promise<T> {
    const { signal } = getOptions;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (!getOptions.forceRefresh && current) {
      const now = clock();
      const { value, timing, resolved } = current;
      if (now < timing.usableUntil) {
        if (now >= timing.refreshFrom && !pending && now >= nextBackgroundAttempt) refreshInBackground(value, timing);
        return resolved;
      }
    }
    if (!options.keepOnRetryableFailure) return waitWithSignal(fetchShared(getOptions), signal);
    // Just after a kept-value fallback, a forced get waits out the cool-down instead of asking again.
    if (current !== undefined && clock() < nextForcedAttempt && usable() !== undefined) return current.resolved;
    return waitWithSignal(fetchShared(getOptions), signal).catch(keepCurrent);
  }

  let warnedFor: unknown;
  let nextForcedAttempt = 0;
  /** After a retryable failure, the current value while still usable (then a cool-down); else the failure. */
  function keepCurrent(error: unknown): T {
    const kept = usable();
    if (kept === undefined || !SkyportenError.isInstance(error) || !error.isRetryable || error.code === 'ABORTED') throw error;
    const cooldown = current!.timing.retryCooldown;
    nextForcedAttempt = clock() + cooldown;
    if (warnedFor !== error) {
      warnedFor = error;
      log(logger, 'warn', `refreshing ${name} failed; the current one stays in use until its safety margin`, {
        code: error.code,
        status: (error as { status?: number }).status,
        cloudCode: (error as { cloudCode?: string }).cloudCode,
        expiresAt: kept.expiresAt.toISOString(),
        nextAttemptInMs: cooldown,
      });
    }
    return kept;
  }

  function usable(): T | undefined {
    return current !== undefined && clock() < current.timing.usableUntil ? current.value : undefined;
  }

  return {
    get(getOptions) {
      // The hit path: no logging, no metrics, no await; one clock read and one comparison.
      if (current !== undefined && getOptions === undefined && clock() < current.timing.refreshFrom) return current.resolved;
      return getSlow(getOptions ?? {});
    },
    peek: () => current?.value,
    peekUsable: usable,
    invalidate() {
      generation++;
      current = undefined;
      nextBackgroundAttempt = 0;
      nextForcedAttempt = 0;
    },
  };
}

/** Options of {@link createKeyedCache}. @public */
export interface KeyedCacheOptions<K> extends RefreshingCacheOptions {
  /** The string a key is stored under. @default JSON.stringify */
  keyOf?: ((key: K) => string) | undefined;
  /** Most keys kept, least recently used dropped first. @default 10000 */
  maxKeys?: number | undefined;
}

/**
 * One {@link RefreshingCache} per key (a scopes/tenant pair, a role, a consumer organisation), made on first use.
 *
 * @public
 */
export interface KeyedCache<K, T extends Expiring> {
  /** The value for `key`: cached if usable, else one shared fetch for that key. */
  get(key: K, options?: GetOptions): Promise<T>;
  /** The cache of one key (made if missing). */
  cacheFor(key: K): RefreshingCache<T>;
  /** Drops one key's value, or every key's. */
  invalidate(key?: K): void;
  /** Keys held now. */
  readonly size: number;
}

/**
 * A keyed family of refresh-ahead caches, each with the same policy: single flight per key, LRU-bounded.
 *
 * @example
 * ```ts
 * const tokens = createKeyedCache((scopes: string[]) => fetchToken(scopes), { clock: Date.now, name: 'Entra ID token' });
 * const token = await tokens.get(['https://storage.azure.com/.default']);
 * ```
 * @public
 */
export function createKeyedCache<K, T extends Expiring>(
  load: (key: K, context: LoadContext) => Promise<T>,
  options: KeyedCacheOptions<K>,
): KeyedCache<K, T> {
  const keyOf = options.keyOf ?? ((key: K) => JSON.stringify(key));
  const maxKeys = options.maxKeys ?? 10_000;
  const caches = new Map<string, RefreshingCache<T>>();
  function cacheFor(key: K): RefreshingCache<T> {
    const id = keyOf(key);
    let cache = caches.get(id);
    if (cache !== undefined) {
      caches.delete(id);
    } else {
      cache = createRefreshingCache((context) => load(key, context), options);
      if (caches.size >= maxKeys) caches.delete(caches.keys().next().value!);
    }
    caches.set(id, cache);
    return cache;
  }
  return {
    get: (key, getOptions) => cacheFor(key).get(getOptions),
    cacheFor,
    invalidate(key) {
      if (key === undefined) {
        for (const cache of caches.values()) cache.invalidate();
      } else {
        caches.get(keyOf(key))?.invalidate();
      }
    },
    get size() {
      return caches.size;
    },
  };
}

/**
 * Waits for a promise shared with other callers, or rejects with an `ABORTED` SkyportenError when this
 * caller's signal fires; the shared work goes on for the others.
 *
 * @example
 * ```ts
 * return waitWithSignal(sharedRequest, options.abortSignal);
 * ```
 * @public
 */
export function waitWithSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortError(signal: AbortSignal): SkyportenError {
  return new SkyportenError('ABORTED', 'Stopped waiting: the caller\'s signal was aborted.', { cause: signal.reason });
}
