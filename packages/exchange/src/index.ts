import { isLoopbackHost } from '@skyporten/core';
import {
  ConfigError,
  createHttpClient,
  createRefreshingCache,
  resolveMaskinportenClient,
  SkyportenError,
  systemClock,
  type Clock,
  type GetOptions,
  type HttpAnswer,
  type MaskinportenClientOrOptions,
} from '@skyporten/core/adapter';

/** The RFC 8693 grant type. @public */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The subject token type of a Skyporten token (a JWT). @public */
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/**
 * The target refused or failed the exchange, or answered something that is not a token response
 * (HTML, a redirect, no `expires_in`). `hint` says what to check.
 *
 * @example
 * ```ts
 * try { await exchange.getToken(); } catch (error) {
 *   if (TokenExchangeError.isInstance(error)) console.error(error.oauthError, error.hint);
 * }
 * ```
 * @public
 */
export class TokenExchangeError extends SkyportenError {
  /** The error's class name, `'TokenExchangeError'`. */
  override name = 'TokenExchangeError';
  /** HTTP status of the target's answer, when there was one. */
  readonly status: number | undefined;
  /** The target's OAuth `error`, e.g. `invalid_grant`. */
  readonly oauthError: string | undefined;
  constructor(
    code: 'CLOUD_EXCHANGE_FAILED' | 'TOKEN_RESPONSE_INVALID',
    message: string,
    details: { status?: number | undefined; oauthError?: string | undefined; hint?: string | undefined; isRetryable?: boolean } = {},
  ) {
    super(code, message, { hint: details.hint, isRetryable: details.isRetryable });
    this.status = details.status;
    this.oauthError = details.oauthError;
  }
}

/** Hints for the RFC 6749 / RFC 8693 error codes a target answers with. @public */
export const TOKEN_EXCHANGE_ERROR_HINTS: Readonly<Record<string, string>> = {
  invalid_grant:
    "The target does not trust this Skyporten token: its federation policy must name the token's issuer, its audience (your `resource`) and its subject (`0192:<orgno>;<scope>`). Compare them with the data provider.",
  invalid_target: 'The target refused the requested audience or resource: check `audience` / `resource` with the data provider.',
  invalid_scope: 'The target refused the requested scope (Databricks wants `all-apis`): check `scope`.',
  invalid_request: 'The target found the request malformed: check the token endpoint URL and the parameters.',
  invalid_client: 'The target does not know the `clientId` (for Databricks: the service principal application id).',
  unauthorized_client: 'The client may not use token exchange at this target: ask the data provider to allow it.',
};

/** An access token issued by the target; `toJSON` never shows the token. @public */
export interface ExchangedToken {
  /** The target's access token. Keep it secret. */
  accessToken: string;
  /** Usually `Bearer`. */
  tokenType: string;
  /** When it stops being valid (from `expires_in`). */
  expiresAt: Date;
  /** When it was obtained. */
  issuedAt: Date;
}

/** Options of {@link createTokenExchange}. @public */
export interface TokenExchangeOptions {
  /** The target's token endpoint; https, or http on a loopback host (local mocks only). */
  tokenEndpoint: string;
  /** Where the Skyporten token comes from: a MaskinportenClient or its options. */
  maskinporten?: MaskinportenClientOrOptions;
  /** `audience` parameter(s). @default none */
  audience?: string | string[];
  /** `scope` parameter, space-separated. @default none */
  scope?: string;
  /** `resource` parameter(s). @default none */
  resource?: string | string[];
  /** `client_id` (Databricks service-principal federation). @default none */
  clientId?: string;
  /** A custom fetch. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Milliseconds per request. @default 10000 */
  timeout?: number;
  /** Current time in ms. @default Date.now */
  clock?: Clock;
}

/** What {@link createTokenExchange} returns. @public */
export interface TokenExchange {
  /** The cached target token, refreshed ahead of expiry; failures are never cached. */
  getToken(options?: GetOptions): Promise<ExchangedToken>;
  /** `Bearer <token>` for an `Authorization` header. */
  getAuthorizationHeader(options?: GetOptions): Promise<string>;
  /** `fetch` with the Authorization header added; redirects are not followed. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** Drops the cached token. */
  invalidate(): void;
}

/** Checks a target URL: https, or http on a loopback host only. @internal */
export function checkEndpoint(field: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, `${field} must be an absolute URL (got "${value}").`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new ConfigError(field, `${field} must use https (got "${url.origin}"); plain http is accepted only for loopback hosts (local mocks).`);
}

/** Turns the target's answer into a token or a typed error. @internal */
export function parseExchangeResponse(status: number, contentType: string, body: string, location: string | null, now: number): ExchangedToken {
  if (status >= 300 && status < 400) {
    throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `The token endpoint answered ${status} (a redirect${location ? ` to ${safeOrigin(location)}` : ''}); redirects are not followed for requests that carry a token.`, {
      status,
      hint: 'Use the final token endpoint URL (for Databricks: https://<workspace>/oidc/v1/token).',
    });
  }
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    throw new TokenExchangeError(status === 200 ? 'TOKEN_RESPONSE_INVALID' : 'CLOUD_EXCHANGE_FAILED', `The token endpoint answered ${status} with ${contentType || 'no content type'}, not JSON.`, {
      status,
      isRetryable: status === 429 || status >= 500,
      hint: /html/i.test(contentType) ? 'An HTML page means the URL is not a token endpoint (or a login/proxy page): check the URL.' : 'Check the token endpoint URL.',
    });
  }
  if (status !== 200) {
    const oauthError = typeof json.error === 'string' ? json.error : undefined;
    const description = typeof json.error_description === 'string' ? `: ${json.error_description}` : '';
    throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `The token exchange was refused (${status} ${oauthError ?? 'no error code'}${description}).`, {
      status,
      oauthError,
      isRetryable: status === 429 || status >= 500,
      hint: oauthError === undefined ? undefined : TOKEN_EXCHANGE_ERROR_HINTS[oauthError],
    });
  }
  if (typeof json.access_token !== 'string' || json.access_token === '') {
    throw new TokenExchangeError('TOKEN_RESPONSE_INVALID', 'The token endpoint answered 200 without access_token.', { status, hint: 'Check that the URL is the target token endpoint.' });
  }
  const expiresIn = json.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new TokenExchangeError('TOKEN_RESPONSE_INVALID', 'The token endpoint answered a token without a positive expires_in; it is not cached or used.', {
      status,
      hint: 'The target must say how long its token lives (RFC 6749 expires_in); ask the provider, or use the Skyporten token directly if the target accepts it.',
    });
  }
  const accessToken = json.access_token;
  const token: ExchangedToken = {
    accessToken,
    tokenType: typeof json.token_type === 'string' ? json.token_type : 'Bearer',
    expiresAt: new Date(now + expiresIn * 1000),
    issuedAt: new Date(now),
  };
  Object.defineProperty(token, 'toJSON', { value: () => ({ accessToken: '[redacted]', tokenType: token.tokenType, expiresAt: token.expiresAt.toISOString() }) });
  return token;
}

function safeOrigin(location: string): string {
  try {
    return new URL(location).origin;
  } catch {
    return 'a relative URL';
  }
}

/** A redirect or an oversized answer from core's request path becomes this package's typed error; the rest passes. */
function asExchangeError(error: unknown): unknown {
  if (!SkyportenError.isInstance(error) || error.code !== 'TOKEN_RESPONSE_INVALID') return error;
  const status = (error as { status?: number }).status ?? 0;
  const redirect = status >= 300 && status < 400;
  return new TokenExchangeError(redirect ? 'CLOUD_EXCHANGE_FAILED' : 'TOKEN_RESPONSE_INVALID', `${error.message}`, {
    status,
    hint: redirect ? 'Use the final token endpoint URL (for Databricks: https://<workspace>/oidc/v1/token).' : 'Check the token endpoint URL.',
  });
}

/**
 * Exchanges the Skyporten token for a target's access token with RFC 8693, cached and refreshed.
 *
 * @example
 * ```ts
 * const exchange = createTokenExchange({ ...databricks({ workspace: 'https://adb-1.azuredatabricks.net' }), maskinporten });
 * const response = await exchange.fetch('https://adb-1.azuredatabricks.net/api/2.0/sql/statements', { method: 'POST' });
 * ```
 * @public
 */
export function createTokenExchange(options: TokenExchangeOptions): TokenExchange {
  const endpoint = checkEndpoint('tokenEndpoint', options.tokenEndpoint);
  const maskinporten = resolveMaskinportenClient(options.maskinporten);
  const clock = options.clock ?? systemClock;
  const send = options.fetch ?? globalThis.fetch;
  // Core's one request path: no redirects, bodies capped at 1 MiB, one deadline over headers and body.
  const http = createHttpClient({ fetch: options.fetch, timeoutMs: options.timeout ?? 10_000 });

  async function load(): Promise<ExchangedToken> {
    const subjectToken = await maskinporten.getAccessToken();
    const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE });
    for (const value of [options.audience ?? []].flat()) form.append('audience', value);
    for (const value of [options.resource ?? []].flat()) form.append('resource', value);
    if (options.scope) form.set('scope', options.scope);
    if (options.clientId) form.set('client_id', options.clientId);
    let answer: HttpAnswer;
    try {
      answer = await http(endpoint.toString(), { method: 'post', body: form });
    } catch (error) {
      throw asExchangeError(error);
    }
    return parseExchangeResponse(answer.status, answer.headers.get('content-type') ?? '', answer.body, answer.headers.get('location'), clock());
  }

  const cache = createRefreshingCache(load, { clock, name: `token from ${endpoint.origin}` });
  return {
    getToken: (getOptions) => cache.get(getOptions),
    async getAuthorizationHeader(getOptions) {
      const token = await cache.get(getOptions);
      return `Bearer ${token.accessToken}`;
    },
    async fetch(input, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${(await cache.get()).accessToken}`);
      return send(input, { ...init, headers, redirect: 'manual' });
    },
    invalidate: () => cache.invalidate(),
  };
}

/**
 * Databricks workspace federation: POST https://<workspace>/oidc/v1/token with scope all-apis.
 *
 * @example
 * ```ts
 * createTokenExchange({ ...databricks({ workspace: 'https://adb-1.azuredatabricks.net' }), maskinporten });
 * ```
 * @public
 */
export function databricks(options: { workspace: string; clientId?: string }): Pick<TokenExchangeOptions, 'tokenEndpoint' | 'scope' | 'clientId'> {
  const workspace = checkEndpoint('workspace', options.workspace);
  return { tokenEndpoint: new URL('/oidc/v1/token', workspace).toString(), scope: 'all-apis', ...(options.clientId ? { clientId: options.clientId } : {}) };
}
