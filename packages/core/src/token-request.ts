import type { Clock } from './clock.js';
import { TokenRequestError } from './errors.js';
import { isTransientStatus, type HttpAnswer, type HttpClient } from './http.js';
import { logEvent as log, type Logger } from './logger.js';
import { parseRetryAfter } from './retry.js';
import { decodeJwtPayload, SkyportenToken } from './token.js';

/** The grant type of RFC 7523. @public */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Longest `expires_in` we believe: anything above is a broken server, not a long-lived token. */
const maxExpiresInSeconds = 24 * 60 * 60;

/** The first field of a token response that is missing or of the wrong type, or undefined. */
function invalidTokenField(json: Record<string, unknown>): string | undefined {
  if (typeof json.access_token !== 'string' || json.access_token === '') return 'access_token (expected a non-empty string)';
  if (typeof json.token_type !== 'string') return 'token_type (expected a string)';
  if (typeof json.expires_in !== 'number' || !Number.isFinite(json.expires_in)) return `expires_in (expected a number of seconds, got ${typeof json.expires_in})`;
  if (json.scope !== undefined && typeof json.scope !== 'string') return 'scope (expected a string)';
  return undefined;
}

/** An OAuth error body (RFC 6749 §5.2), or undefined when the body is not one. */
function oauthError(json: unknown): { error: string; error_description?: string | undefined } | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { error, error_description: description } = json as Record<string, unknown>;
  if (typeof error !== 'string') return undefined;
  return { error, error_description: typeof description === 'string' ? description : undefined };
}

/** What each Maskinporten error code means and what to do (from Digdir's public documentation). @public */
export const MASKINPORTEN_ERROR_HINTS: Readonly<Record<string, string>> = Object.freeze({
  'MP-012': 'The grant\'s jti was used before: every grant needs a fresh jti (the SDK makes one; do not replay grants).',
  'MP-100': 'The client was not found or failed to authenticate: check clientId (the integration id) and that the key (kid) is registered on it.',
  'MP-110': 'Wrong aud: it must equal the issuer exactly. Skyporten has no trailing slash ("https://test.sky.maskinporten.no"); plain Maskinporten has one.',
  'MP-120': 'The certificate or signature was not accepted: check the key belongs to the registered kid or business certificate.',
  'MP-121': 'The key or certificate has expired: register a new key on the client.',
  'MP-122': 'The business certificate belongs to another organisation than the client.',
  'MP-123': 'Bad x5c: it must be an array of base64 DER certificates, leaf first.',
  'MP-124': 'The signature was not accepted: check the key belongs to the registered kid or business certificate.',
  'MP-130': 'The grant is expired or from the future: check this machine\'s clock (NTP); iat must be within 10 s of the server\'s time.',
  'MP-200': 'A scope is not valid for this client: check the scopes registered on it.',
  'MP-201': 'A scope is not valid for this client: check the scopes registered on it.',
  'MP-250': 'The organisation has not been granted access to the scope: ask the data provider to grant it to your organisation number.',
  'MP-251': 'No delegation in Altinn lets this supplier act for consumerOrg: the consumer must delegate the scope to you.',
});

/** Sends the grant to the token endpoint once (the client retries with a fresh grant); resolves the raw answer. @internal */
export function tokenRequest(http: HttpClient, tokenEndpoint: string, grant: string, attempt?: { attempt: number; remainingMs: number }): Promise<HttpAnswer> {
  const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grant });
  return http(tokenEndpoint, {
    method: 'post',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    timeoutMs: attempt?.remainingMs,
    attempt: attempt?.attempt,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const oauthErrorHints: Readonly<Record<string, string>> = {
  invalid_scope: 'A scope is not registered on the client, or not granted to your organisation.',
  invalid_client: 'Check clientId and that the key (kid or business certificate) is registered on the client.',
  unauthorized_client: 'Check clientId and that the key (kid or business certificate) is registered on the client.',
  invalid_grant: 'The grant was not accepted: check clientId, kid / certificate, scope, and this machine\'s clock.',
};

/** Reads MP-xxx and a trace id out of an `error_description`. @internal */
export function parseErrorDescription(description: string | undefined): { mpCode?: string; traceId?: string } {
  if (!description) return {};
  const mpCode = /\bMP-\d{3}\b/.exec(description)?.[0];
  const traceId = /trace(?:[ _-]?id)?["']?\s*[:=]?\s*["']?([A-Za-z0-9-]{8,})/i.exec(description)?.[1];
  return { ...(mpCode ? { mpCode } : {}), ...(traceId ? { traceId } : {}) };
}

const unavailableHint = 'The token service is unavailable; the SDK retried. Try again later.';

function errorFromAnswer(answer: HttpAnswer, now: number): TokenRequestError {
  const parsed = oauthError(parseJson(answer.body));
  const transient = isTransientStatus(answer.status);
  const retryAfterMs = transient ? parseRetryAfter(answer.headers.get('retry-after'), now) : undefined;
  if (parsed === undefined) {
    return new TokenRequestError(
      transient ? 'TOKEN_REQUEST_FAILED' : 'TOKEN_REQUEST_REJECTED',
      `The token endpoint answered HTTP ${answer.status} without an OAuth error body.`,
      {
        status: answer.status,
        isRetryable: transient,
        retryAfterMs,
        hint: transient ? unavailableHint : 'Check tokenEndpoint / issuer.',
      },
    );
  }
  const { error, error_description: errorDescription } = parsed;
  const { mpCode, traceId } = parseErrorDescription(errorDescription);
  const oauthHint = Object.hasOwn(oauthErrorHints, error) ? oauthErrorHints[error] : undefined;
  const hint = (mpCode && MASKINPORTEN_ERROR_HINTS[mpCode]) ?? oauthHint ?? (transient ? unavailableHint : undefined);
  return new TokenRequestError(
    transient ? 'TOKEN_REQUEST_FAILED' : 'TOKEN_REQUEST_REJECTED',
    `${transient ? 'The token endpoint failed' : 'The token endpoint refused the grant'}: ${error}${errorDescription ? ` (${errorDescription})` : ''}.`,
    { status: answer.status, error, errorDescription, mpCode, traceId, isRetryable: transient, retryAfterMs, hint },
  );
}

/**
 * A token endpoint answer as a {@link SkyportenToken}, or a {@link TokenRequestError} (OAuth error with MP code,
 * trace id and hint; `TOKEN_RESPONSE_INVALID` for a bad 200). Expiry: `expires_in` from sending, capped by `exp`. @internal
 */
export function processTokenResponse(
  answer: HttpAnswer,
  context: { clock: Clock; sentAt: number; requestedScope: string; logger?: Logger | undefined },
): SkyportenToken {
  if (answer.status !== 200) throw errorFromAnswer(answer, context.clock());
  const invalid = (message: string) =>
    new TokenRequestError('TOKEN_RESPONSE_INVALID', `The token endpoint answered 200 but ${message}`, {
      status: answer.status,
      hint: 'Check that tokenEndpoint points to Maskinporten / Skyporten and not to a proxy or login page.',
    });
  const contentType = answer.headers.get('content-type') ?? '';
  if (!/\bjson\b/i.test(contentType)) throw invalid(`with Content-Type "${contentType || 'none'}" instead of JSON.`);
  const json = parseJson(answer.body);
  if (json === undefined) throw invalid('with a body that is not valid JSON.');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('with JSON that is not an object.');
  const field = invalidTokenField(json as Record<string, unknown>);
  if (field !== undefined) throw invalid(`without a valid ${field}.`);
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = json as {
    access_token: string;
    token_type: string;
    expires_in: number;
    scope?: string;
  };
  // RFC 6750's b64token: anything else (HTML, whitespace, a JSON blob) cannot be a bearer token.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(accessToken)) throw invalid('with an access_token that is not a bearer token (RFC 6750 b64token syntax).');
  if (tokenType.toLowerCase() !== 'bearer') throw invalid(`with token_type "${tokenType}" instead of "Bearer".`);
  if (expiresIn <= 0 || expiresIn > maxExpiresInSeconds) throw invalid(`with an impossible expires_in (${expiresIn}).`);

  let expiresAt = context.sentAt + expiresIn * 1000;
  const exp = readExp(accessToken);
  if (exp !== undefined) {
    const fromClaim = exp * 1000;
    if (fromClaim <= context.clock()) {
      log(context.logger, 'warn', 'the access token\'s exp is already past on this machine\'s clock; using expires_in (check the clock)', { expiresIn });
    } else if (fromClaim < expiresAt) {
      expiresAt = fromClaim;
    }
  }
  return new SkyportenToken({
    accessToken,
    tokenType: 'Bearer',
    scope: scope ?? context.requestedScope,
    expiresAt: new Date(expiresAt),
    issuedAt: new Date(context.sentAt),
  });
}

function readExp(token: string): number | undefined {
  try {
    const { exp } = decodeJwtPayload(token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}
