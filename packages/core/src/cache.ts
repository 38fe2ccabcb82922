import type { Clock } from './clock.js';
import { SkyportenError } from './errors.js';
import { logEvent as log, type Logger } from './logger.js';
import { isRetryable } from './retry.js';

/** Anything with an expiry: a token, a set of cloud credentials. @public */
export interface Expiring {
  /** When the value stops being valid. */
  expiresAt: Date;
  /** When it was obtained. @default when the cache stored it */
  issuedAt?: Date | undefined;
}

/** When a cached value is refreshed and when it stops being handed out; both scale down for short-lived values. @public */
export interface RefreshPolicy {
  /** Refresh in the background this long before expiry (at most a quarter of the value's lifetime). @default 30 */
  refreshWindowSeconds?: number | undefined;
  /** Never hand out a value this close to its expiry (at most a tenth of its lifetime). @default 10 */
  safetyMarginSeconds?: number | undefined;
}

/** The defaults of {@link RefreshPolicy}: refresh 30 s ahead, never within 10 s of expiry (both scaled down for short lifetimes). @public */
export const DEFAULT_REFRESH_POLICY = Object.freeze({
  /** Refresh in the background this long before expiry. */ refreshWindowSeconds: 30,
  /** Never hand out a value this close to expiry. */ safetyMarginSeconds: 10,
});

/** Options of {@link createRefreshingCache}. @public */
export interface RefreshingCacheOptions extends RefreshPolicy {
  /** Current time in milliseconds, e.g. `systemClock`. */
  clock: Clock;
  /** Receives debug/warn events about refreshes and failures; never the value itself. */
  logger?: Logger | undefined;
  /** Used in log lines, e.g. "Skyporten token" or "AWS credentials". */
  name: string;
  /** Called when a background refresh starts (for metrics). A plain cache hit calls nothing: it must cost nothing. */
  onEvent?: ((event: 'refresh') => void) | undefined;
  /** On a retryable failure of a fetch a caller waits for, hand out the still-usable current value (core README). @default false */
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

/** A single-flight, refresh-ahead cache of one expiring value. @public */
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

type Policy = { [K in keyof RefreshPolicy]-?: NonNullable<RefreshPolicy[K]> };

interface Timing {
  usableUntil: number;
  refreshFrom: number;
  retryCooldown: number;
}

/** @internal */
export function timingOf(value: Expiring, storedAt: number, policy: Policy): Timing {
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
 * Caches one expiring value fetched by `load`: one shared fetch, background refresh ahead of expiry, never
 * handed out within the safety margin, failures never cached (core README).
 * @public
 */
export function createRefreshingCache<T extends Expiring>(
  load: (context: LoadContext) => Promise<T>,
  options: RefreshingCacheOptions,
): RefreshingCache<T> {
  const policy: Policy = {
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
    const settle = () => {
      if (pending === attempt) pending = undefined;
    };
    const attempt: Promise<T> = load({ options: getOptions, current: current?.value }).then((value) => {
      if (started === generation) current = { value, timing: timingOf(value, clock(), policy), resolved: Promise.resolve(value) };
      settle();
      return value;
    }, (error: unknown) => {
      settle();
      throw error;
    });
    pending = attempt;
    return attempt;
  }

  function refreshInBackground(value: T, timing: Timing): void {
    log(logger, 'debug', `refreshing ${name} in the background`, { expiresAt: value.expiresAt.toISOString() });
    onEvent?.('refresh');
    fetchShared({}).catch((error: unknown) => {
      nextBackgroundAttempt = clock() + timing.retryCooldown;
      const code = SkyportenError.isInstance(error) ? error.code : undefined;
      const details = { code, error: error instanceof Error ? error.message : String(error) };
      log(logger, 'warn', `background refresh of ${name} failed; the current one stays in use until its safety margin`, details);
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
    if (kept === undefined || !isRetryable(error)) throw error;
    const nextAttemptInMs = current!.timing.retryCooldown;
    nextForcedAttempt = clock() + nextAttemptInMs;
    if (warnedFor !== error) {
      warnedFor = error;
      const { code, status, cloudCode } = error as SkyportenError & { status?: number; cloudCode?: string };
      const details = { code, status, cloudCode, expiresAt: kept.expiresAt.toISOString(), nextAttemptInMs };
      log(logger, 'warn', `refreshing ${name} failed; the current one stays in use until its safety margin`, details);
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

/** One {@link RefreshingCache} per key (a scopes/tenant pair, a role, a consumer organisation), made on first use. @public */
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

/** A keyed family of refresh-ahead caches, each with the same policy: single flight per key, LRU-bounded. @public */
export function createKeyedCache<K, T extends Expiring>(
  load: (key: K, context: LoadContext) => Promise<T>,
  options: KeyedCacheOptions<K>,
): KeyedCache<K, T> {
  const keyOf = options.keyOf ?? ((key: K) => JSON.stringify(key));
  const maxKeys = options.maxKeys ?? 10_000;
  const caches = lruMap<RefreshingCache<T>>(maxKeys);
  const cacheFor = (key: K) => caches.use(keyOf(key), () => createRefreshingCache((context) => load(key, context), options));
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

/** Waits for a promise shared with other callers, or rejects with `ABORTED` when this caller's signal fires. @public */
export function waitWithSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortError(signal: AbortSignal): SkyportenError {
  return new SkyportenError('ABORTED', 'Stopped waiting: the caller\'s signal was aborted.', { cause: signal.reason });
}

/** A Map of at most `max` entries; `use` makes a missing one and drops the least recently used (a Map keeps insertion order). @internal */
export function lruMap<V>(max: number): Map<string, V> & { use(id: string, make: () => V): V } {
  const map = new Map<string, V>();
  return Object.assign(map, {
    use(id: string, make: () => V): V {
      let value = map.get(id);
      if (value !== undefined) {
        map.delete(id);
      } else {
        value = make();
        if (map.size >= max) map.delete(map.keys().next().value!);
      }
      map.set(id, value);
      return value;
    },
  });
}
