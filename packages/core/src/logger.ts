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
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

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
export function logEvent(logger: Logger | undefined, level: Level, message: string, details?: Record<string, unknown>): void {
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
