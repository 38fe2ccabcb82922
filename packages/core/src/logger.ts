/**
 * A console- or pino-style logger. Every method is optional; the SDK never passes a secret to it.
 *
 * @example
 * ```ts
 * createMaskinportenClient({ ..., logger: console });
 * createMaskinportenClient({ ..., logger: pino() });
 * ```
 * @public
 */
export interface Logger {
  /** Each step: discovery, token requests, cache refreshes, cloud calls. */
  debug?(message: string, details?: Record<string, unknown>): void;
  /** A token or cloud credentials obtained. */
  info?(message: string, details?: Record<string, unknown>): void;
  /** Something recovered from: a retry, a failed background refresh, a suspicious clock. */
  warn?(message: string, details?: Record<string, unknown>): void;
  /** Reserved for failures; the SDK throws its errors rather than logging them, so it does not call this today. */
  error?(message: string, details?: Record<string, unknown>): void;
}

/** The levels a {@link Logger} may have. @public */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Calls `logger[level]` when it exists, prefixing `[skyporten]`; a throwing logger is ignored. pino wants
 * `(object, message)`, console wants `(message, object)`: the message goes first, which both print
 * readably. For adapters; never pass a secret in `details`.
 *
 * @example
 * ```ts
 * logEvent(options.logger, 'info', 'AWS credentials obtained', { roleArn });
 * ```
 * @public
 */
export function logEvent(logger: Logger | undefined, level: LogLevel, message: string, details?: Record<string, unknown>): void {
  const method = logger?.[level];
  if (typeof method !== 'function') return;
  try {
    if (details === undefined) method.call(logger, `[skyporten] ${message}`);
    else method.call(logger, `[skyporten] ${message}`, details);
  } catch {
    // A failing logger must never break token acquisition.
  }
}

/** @internal */
export const log = logEvent;
