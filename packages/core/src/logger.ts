/** A console-, winston-, pino- or bunyan-style logger; every method is optional and never gets a secret. @public */
export interface Logger {
  /** Each step: discovery, token requests, cache refreshes, cloud calls. */
  debug?(message: string, details?: Record<string, unknown>): void;
  /** A token or cloud credentials obtained. */
  info?(message: string, details?: Record<string, unknown>): void;
  /** Something recovered from: a retry, a failed background refresh, a suspicious clock. */
  warn?(message: string, details?: Record<string, unknown>): void;
  /** A token request that failed for good (after retries), with the error code; the error is also thrown. */
  error?(message: string, details?: Record<string, unknown>): void;
}

/** The levels a {@link Logger} may have. @public */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Calls `logger[level]` if it exists, prefixing `[skyporten]`, details first for pino and bunyan; a throwing logger is ignored. @public */
export function logEvent(logger: Logger | undefined, level: LogLevel, message: string, details?: Record<string, unknown>): void {
  const method = logger?.[level];
  if (typeof method !== 'function') return;
  try {
    if (details === undefined) method.call(logger, `[skyporten] ${message}`);
    else if (isObjectFirst(logger)) (method as unknown as (details: unknown, message: string) => void).call(logger, details, `[skyporten] ${message}`);
    else method.call(logger, `[skyporten] ${message}`, details);
  } catch {
    // A failing logger must never break token acquisition.
  }
}

const objectFirst = new WeakMap<object, boolean>();

/** pino exposes `levels.values`, bunyan a `levels()` function; console and winston neither. */
function isObjectFirst(logger: Logger | undefined): boolean {
  if (typeof logger !== 'object' || logger === null) return false;
  let known = objectFirst.get(logger);
  if (known === undefined) {
    const levels = (logger as { levels?: unknown }).levels;
    known = typeof levels === 'function' || (typeof levels === 'object' && levels !== null && 'values' in levels);
    objectFirst.set(logger, known);
  }
  return known;
}
