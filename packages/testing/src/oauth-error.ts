import { randomBytes } from 'node:crypto';

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

/** A rejected token request; thrown inside the engine and turned into an OAuth error response. */
export class TokenRequestRejection extends Error {
  readonly error: OAuthErrorCode;
  readonly mpCode: MaskinportenErrorNumber | null;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    error: OAuthErrorCode,
    description: string,
    mpCode: MaskinportenErrorNumber | null = null,
    status = 400,
    headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'TokenRequestRejection';
    this.error = error;
    this.mpCode = mpCode;
    this.status = status;
    this.headers = headers;
  }

  /** `error_description` as the real service writes it: text, `(MP-xxx)`, `[trace: <hex>]`. */
  describe(): string {
    const code = this.mpCode === null ? '' : ` (${this.mpCode})`;
    return `${this.message}${code} [trace: ${createTraceId()}]`;
  }
}

/** A random 128-bit hex id, like the trace ids in Maskinporten's error descriptions. */
export function createTraceId(): string {
  return randomBytes(16).toString('hex');
}
