import { randomBytes } from 'node:crypto';
import { MockRejection, json } from './mock-service.js';
import type { MockAnswer } from './mock-service.js';

/** OAuth 2.0 error codes the mock answers with (RFC 6749 §5.2, RFC 8707 `invalid_target`). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  | 'server_error'
  | 'temporarily_unavailable';

/** Maskinporten's own error numbers, put in `error_description` as `(MP-xxx)`. */
export type MaskinportenErrorNumber =
  | 'MP-012'
  | 'MP-100'
  | 'MP-110'
  | 'MP-120'
  | 'MP-121'
  | 'MP-122'
  | 'MP-123'
  | 'MP-124'
  | 'MP-130'
  | 'MP-200'
  | 'MP-201'
  | 'MP-251';

/** JSON as Maskinporten sends it: `application/json` without a charset. */
export function oauthJson(status: number, value: unknown, headers: Record<string, string> = {}): MockAnswer {
  return json(status, value, { 'content-type': 'application/json', ...headers });
}

/**
 * A rejected token request, to throw from the engine: OAuth error JSON whose `error_description` reads as the
 * real service writes it: text, `(MP-xxx)`, `[trace: <hex>]`.
 */
export function tokenRequestRejection(
  error: OAuthErrorCode,
  text: string,
  mpCode: MaskinportenErrorNumber | null = null,
  status = 400,
  headers: Record<string, string> = {},
): MockRejection {
  const description = `${text}${mpCode === null ? '' : ` (${mpCode})`} [trace: ${createTraceId()}]`;
  return new MockRejection(oauthJson(status, { error, error_description: description }, { 'cache-control': 'no-store', pragma: 'no-cache', ...headers }));
}

/** A random 128-bit hex id, like the trace ids in Maskinporten's error descriptions. */
export function createTraceId(): string {
  return randomBytes(16).toString('hex');
}
