import { setTimeout as wait } from 'node:timers/promises';
import { SkyportenError } from './errors.js';

/**
 * How failed requests are retried: exponential backoff with full jitter, honouring `Retry-After`, within a
 * deadline. Only {@link isRetryable} errors are retried (network, timeout, 408, 429, 5xx). @public
 */
export interface RetryOptions {
  /** Retries after the first attempt. `0` disables retrying. @default 3 */
  limit?: number | undefined;
  /** Delay before the first retry; doubles each time, then full jitter picks a value below it. @default 200 */
  baseDelayMs?: number | undefined;
  /** Upper bound of one backoff delay. @default 5000 */
  maxDelayMs?: number | undefined;
  /** Upper bound of a server's `Retry-After`: a longer one is shortened to this. @default 30000 */
  maxRetryAfterMs?: number | undefined;
  /** No retry starts once this long has passed since the first attempt began, nor a wait that would end after it. @default 60000 */
  deadlineMs?: number | undefined;
}

/** A {@link RetryOptions} with every field filled in. @public */
export type RetryPolicy = { readonly [K in keyof RetryOptions]-?: NonNullable<RetryOptions[K]> };

/** The defaults of {@link RetryOptions}: 3 retries, 200 ms doubling up to 5 s, Retry-After up to 30 s, 60 s overall. @public */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  limit: 3,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  deadlineMs: 60_000,
});

/** Turns the `retry` option (settings, a retry count, or `false` for none) into a full policy. @public */
export function resolveRetryPolicy(retry?: RetryOptions | number | false): RetryPolicy {
  if (retry === false) return { ...DEFAULT_RETRY_POLICY, limit: 0 };
  if (typeof retry === 'number') return { ...DEFAULT_RETRY_POLICY, limit: retry };
  if (retry === undefined) return DEFAULT_RETRY_POLICY;
  const defined = Object.fromEntries(Object.entries(retry).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_RETRY_POLICY, ...defined };
}

/** The one rule for what may be retried: a {@link SkyportenError} (of any copy) with `isRetryable`, not `ABORTED`. @public */
export function isRetryable(error: unknown): boolean {
  return SkyportenError.isInstance(error) && error.isRetryable === true && error.code !== 'ABORTED';
}

/** A `Retry-After` header (seconds or an HTTP date) in ms from `now`; `undefined` when absent or unreadable. @public */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  const trimmed = header?.trim();
  if (!trimmed) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before retry number `retry` (from 1), full jitter: `random() * min(maxDelayMs, baseDelayMs * 2^(retry-1))`. @public */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.max(0, random()) * ceiling;
}

/** What {@link withRetry} tells `onRetry` before it waits. @public */
export interface RetryEvent {
  /** The attempt that comes next, counting from 1. */
  attempt: number;
  /** How long it waits first, in ms. */
  delayMs: number;
  /** The error that caused the retry. */
  error: unknown;
}

/** What {@link withRetry} passes to each attempt. @public */
export interface AttemptContext {
  /** This attempt, counting from 1. */
  attempt: number;
  /** Time left until the policy's deadline, in ms (at least 1). Use it to cap the attempt's own timeout. */
  remainingMs: number;
}

/** Options of {@link withRetry}; every side effect is injectable. @public */
export interface WithRetryOptions {
  /** The policy. @default DEFAULT_RETRY_POLICY */
  policy?: RetryPolicy | undefined;
  /** Waits `ms`; rejects when `signal` aborts. @default a timer that honours the signal */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: (() => number) | undefined;
  /** Current time in ms, for the deadline and HTTP-date Retry-After. @default Date.now */
  clock?: (() => number) | undefined;
  /** Stops retrying (and waiting) when it aborts. */
  signal?: AbortSignal | undefined;
  /** Which errors are retried. @default isRetryable */
  shouldRetry?: ((error: unknown) => boolean) | undefined;
  /** Called before each wait, e.g. to log. Must not throw. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => {
    throw new SkyportenError('ABORTED', 'The operation was aborted by the caller\'s signal while waiting to retry.');
  });
}

/** The `retryAfterMs` a {@link SkyportenError} may carry (from a 429 / 503 `Retry-After`). */
function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Runs `operation` (again for each attempt, so a token request signs a fresh grant) until it succeeds, throws
 * something not retryable, or the limit or deadline is reached; then throws the last error. An error's
 * `retryAfterMs` (capped at `maxRetryAfterMs`) replaces the backoff delay.
 * @public
 */
export async function withRetry<T>(operation: (context: AttemptContext) => Promise<T>, options: WithRetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? Date.now;
  const started = clock();
  for (let attempt = 1; ; attempt++) {
    const remainingMs = Math.max(1, policy.deadlineMs - (clock() - started));
    try {
      return await operation({ attempt, remainingMs });
    } catch (error) {
      if (attempt > policy.limit || !(options.shouldRetry ?? isRetryable)(error) || options.signal?.aborted) throw error;
      const retryAfter = retryAfterOf(error);
      const delayMs =
        retryAfter === undefined ? backoffDelay(policy, attempt, options.random) : Math.min(retryAfter, policy.maxRetryAfterMs);
      if (clock() - started + delayMs >= policy.deadlineMs) throw error;
      options.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await (options.sleep ?? defaultSleep)(delayMs, options.signal);
    }
  }
}
