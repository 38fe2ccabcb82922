import { redact, SkyportenError } from '@skyporten/core';

/** The exit codes of `skyporten`. `exec` passes its command's own code through instead. */
export const EXIT_CODES = Object.freeze({
  /** Done. */
  ok: 0,
  /** A runtime failure: the token endpoint, the network or a cloud refused or failed. */
  failure: 1,
  /** Wrong usage or configuration: an unknown command or flag, a missing or malformed setting, an unreadable key. */
  usage: 2,
  /** `doctor` found at least one problem. */
  problems: 3,
} as const);

const usageCodes = new Set(['CONFIG_INVALID', 'KEY_INVALID', 'CERTIFICATE_INVALID', 'TOKEN_INVALID']);

/** The exit code for an error: 2 for configuration and key errors, 1 for everything else. */
export function exitCodeOf(error: unknown): number {
  return SkyportenError.isInstance(error) && usageCodes.has(error.code) ? EXIT_CODES.usage : EXIT_CODES.failure;
}

/** One line with the message, one with the hint; the stack only with `--debug`. Never a secret: messages are redacted. */
export function formatError(error: unknown, debug: boolean): string {
  const lines: string[] = [];
  if (SkyportenError.isInstance(error)) {
    lines.push(`skyporten: ${error.message} [${error.code}]`);
    if (error.hint !== undefined) lines.push(`  hint: ${error.hint}`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`skyporten: ${redact(message.split('\n')[0] ?? '')}`);
  }
  if (debug && error instanceof Error && error.stack !== undefined) {
    lines.push(redact(error.stack.split('\n').slice(1).join('\n')));
    if (error.cause instanceof Error) lines.push(`  [cause] ${error.cause.name}: ${redact(error.cause.message)}`);
  }
  return `${lines.join('\n')}\n`;
}
