// Secret hygiene across the suite: every test records what the SDK emitted (log lines, errors in all their
// renderings, String/JSON/inspect of clients and tokens) and the secrets it handled (private keys, grants,
// access tokens). The setup file checks, after each test file, that no secret appears in any emission.
import { inspect } from 'node:util';
import type { Logger } from '@skyporten/core';

const emitted: string[] = [];
const secrets = new Set<string>();

/** Remembers a secret: a PEM private key (each base64 line counts), a JWT (grant or access token), a passphrase. */
export function rememberSecret(secret: string): void {
  if (secret.includes('-----BEGIN')) {
    for (const line of secret.split('\n')) {
      const body = line.trim();
      if (body.length >= 40 && !body.startsWith('-----')) secrets.add(body);
    }
    return;
  }
  const parts = secret.split('.');
  if (parts.length === 3) {
    // A JWT: its payload and signature are secret; headers repeat across tokens and are not.
    secrets.add(secret);
    if (parts[1]!.length >= 20) secrets.add(parts[1]!);
    if (parts[2]!.length >= 20) secrets.add(parts[2]!);
    return;
  }
  if (secret.length >= 8) secrets.add(secret);
}

/** Records every rendering a user could print or log of a value the SDK handed back. */
export function recordEmission(value: unknown): void {
  if (typeof value === 'string') {
    emitted.push(value);
    return;
  }
  emitted.push(String(value));
  emitted.push(inspect(value, { depth: 6, showHidden: false }));
  try {
    emitted.push(JSON.stringify(value) ?? '');
  } catch (error) {
    emitted.push(`JSON.stringify threw ${String(error)}`);
  }
  if (value instanceof Error) {
    emitted.push(value.message, value.stack ?? '');
    const { hint, cause } = value as Error & { hint?: unknown };
    if (typeof hint === 'string') emitted.push(hint);
    if (cause !== undefined) recordEmission(cause);
  }
}

/** A logger that records every call, details included. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string, details?: Record<string, unknown>) => {
    const line = `${level} ${message} ${details === undefined ? '' : `${JSON.stringify(details)} ${inspect(details, { depth: 6 })}`}`;
    lines.push(line);
    emitted.push(line);
  };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

/** A fetch that remembers the grants it sends and the access tokens it receives, then passes the answer on. */
export function secretSniffingFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const body = init?.body;
    if (body instanceof URLSearchParams) {
      const assertion = body.get('assertion');
      if (assertion) rememberSecret(assertion);
    }
    const response = await inner(input, init);
    const text = await response.clone().text().catch(() => '');
    const token = /"access_token"\s*:\s*"([^"]+)"/.exec(text)?.[1];
    if (token) rememberSecret(token);
    return response;
  };
}

/** The secrets found in the emissions recorded so far (empty when clean), then forgets both. */
export function takeLeaks(): Array<{ secret: string; emission: string }> {
  const leaks: Array<{ secret: string; emission: string }> = [];
  for (const secret of secrets) {
    const emission = emitted.find((text) => text.includes(secret));
    if (emission !== undefined) leaks.push({ secret: `${secret.slice(0, 12)}…`, emission: emission.slice(0, 300) });
  }
  emitted.length = 0;
  secrets.clear();
  return leaks;
}

/** How much was checked, for the hygiene test's own assertion that the net is not empty. */
export function counts(): { emissions: number; secrets: number } {
  return { emissions: emitted.length, secrets: secrets.size };
}
