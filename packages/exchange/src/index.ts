import {
  checkEndpoint as coreCheckEndpoint,
  ConfigError,
  createHttpClient,
  createRefreshingCache,
  isTransientStatus,
  redact,
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
  /** When it stops being valid (from `expires_in`, or the protocol's lifetime field). */
  expiresAt: Date;
  /** When it was obtained. */
  issuedAt: Date;
}

/** One request to the target's token endpoint, built from the Skyporten token. @public */
export interface ExchangeRequest {
  /** The body: a form (`URLSearchParams`) or a string (then name its `content-type` in `headers`). */
  body: URLSearchParams | string;
  /** Extra request headers. @default none */
  headers?: Record<string, string>;
}

/** The target's answer, read once through core's request path (body capped at 1 MiB, redirects refused). @public */
export interface ExchangeAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * How a target is asked for its token: the extension point for exchanges that are not RFC 8693 (see
 * {@link vault}). Caching and refreshing, the request path (no redirects, capped bodies, one deadline) and the
 * `fetch` wrapper stay the same whatever the protocol.
 *
 * @example
 * ```ts
 * const protocol: ExchangeProtocol = {
 *   name: 'example login',
 *   buildRequest: (jwt) => ({ body: JSON.stringify({ jwt }), headers: { 'content-type': 'application/json' } }),
 *   parseResponse(answer, now) {
 *     const json = readJsonAnswer(answer);
 *     if (answer.status !== 200) throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `Refused (${answer.status}).`, { status: answer.status });
 *     return createExchangedToken(json.token, 'Bearer', json.ttl, now, 'ttl');
 *   },
 * };
 * ```
 * @public
 */
export interface ExchangeProtocol {
  /** Short name for messages, e.g. `RFC 8693 token exchange` or `Vault JWT login`. */
  name: string;
  /** The request for one Skyporten token. */
  buildRequest(subjectToken: string): ExchangeRequest;
  /** The token in the answer; throws a {@link TokenExchangeError} for a refusal or an answer without a token or lifetime. */
  parseResponse(answer: ExchangeAnswer, now: number): ExchangedToken;
}

/** The RFC 8693 parameters. @public */
export interface Rfc8693Parameters {
  /** `audience` parameter(s). @default none */
  audience?: string | string[] | undefined;
  /** `scope` parameter, space-separated. @default none */
  scope?: string | undefined;
  /** `resource` parameter(s). @default none */
  resource?: string | string[] | undefined;
  /** `client_id` (Databricks service-principal federation). @default none */
  clientId?: string | undefined;
}

/** Options of {@link createTokenExchange}. @public */
export interface TokenExchangeOptions extends Rfc8693Parameters {
  /** The target's token endpoint; https, or http on a loopback host (local mocks only). */
  tokenEndpoint: string;
  /** Where the Skyporten token comes from: a MaskinportenClient or its options. */
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /**
   * How to ask the target when it does not speak RFC 8693 (a preset such as {@link vault} sets it). The RFC 8693
   * parameters (`audience`, `scope`, `resource`, `clientId`) cannot be combined with it.
   * @default RFC 8693 with the parameters above ({@link rfc8693})
   */
  protocol?: ExchangeProtocol | undefined;
  /** A custom fetch. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch | undefined;
  /** Milliseconds per request. @default 10000 */
  timeout?: number | undefined;
  /** Current time in ms. @default Date.now */
  clock?: Clock | undefined;
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

/** Checks a target URL: https, or http on a loopback host only (core's one rule). @internal */
export const checkEndpoint: (field: string, value: string) => URL = coreCheckEndpoint;

const REDIRECT_HINT =
  'Use the final token endpoint URL (for Databricks: https://<workspace>/oidc/v1/token; for Vault: the active node or its load balancer, not a standby).';

function safeOrigin(location: string): string {
  try {
    return new URL(location).origin;
  } catch {
    return 'a relative URL';
  }
}

/**
 * A token as {@link ExchangeProtocol.parseResponse} returns it. A missing or empty `accessToken`, or a
 * `lifetimeSeconds` that is not a positive number, is a `TOKEN_RESPONSE_INVALID` error naming `lifetimeField`:
 * such a token is never cached or used. `toJSON` never shows the token.
 * @public
 */
export function createExchangedToken(accessToken: unknown, tokenType: string, lifetimeSeconds: unknown, now: number, lifetimeField = 'expires_in'): ExchangedToken {
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new TokenExchangeError('TOKEN_RESPONSE_INVALID', 'The token endpoint answered success without a token.', { hint: 'Check that the URL is the target token endpoint.' });
  }
  if (typeof lifetimeSeconds !== 'number' || !Number.isFinite(lifetimeSeconds) || lifetimeSeconds <= 0) {
    throw new TokenExchangeError('TOKEN_RESPONSE_INVALID', `The token endpoint answered a token without a positive ${lifetimeField}; it is not cached or used.`, {
      hint: `The target must say how long its token lives (${lifetimeField}); ask the provider, or use the Skyporten token directly if the target accepts it.`,
    });
  }
  const token: ExchangedToken = { accessToken, tokenType, expiresAt: new Date(now + lifetimeSeconds * 1000), issuedAt: new Date(now) };
  Object.defineProperty(token, 'toJSON', { value: () => ({ accessToken: '[redacted]', tokenType: token.tokenType, expiresAt: token.expiresAt.toISOString() }) });
  return token;
}

/**
 * The answer's JSON object, or a typed error for a redirect (never followed), an HTML page or any other body
 * that is not a JSON object; 429 and 5xx are marked retryable.
 * @public
 */
export function readJsonAnswer(answer: ExchangeAnswer): Record<string, unknown> {
  const { status } = answer;
  if (status >= 300 && status < 400) {
    const location = answer.headers.get('location');
    throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `The token endpoint answered ${status} (a redirect${location ? ` to ${safeOrigin(location)}` : ''}); redirects are not followed for requests that carry a token.`, {
      status,
      hint: REDIRECT_HINT,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  const contentType = answer.headers.get('content-type') ?? '';
  throw new TokenExchangeError(status === 200 ? 'TOKEN_RESPONSE_INVALID' : 'CLOUD_EXCHANGE_FAILED', `The token endpoint answered ${status} with ${contentType || 'no content type'}, not a JSON object.`, {
    status,
    isRetryable: isTransientStatus(status),
    hint: /html/i.test(contentType) ? 'An HTML page means the URL is not a token endpoint (or a login/proxy page): check the URL.' : 'Check the token endpoint URL.',
  });
}

/** A target's own error text, shortened and with anything token-like removed, for a message. @internal */
export function targetText(text: string): string {
  return redact(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}

/**
 * RFC 8693 token exchange, the default protocol: a form with the Skyporten token as `subject_token`
 * (`subject_token_type` jwt) and the given parameters; the answer's `access_token` and `expires_in`, or its
 * RFC 6749 error with a hint from {@link TOKEN_EXCHANGE_ERROR_HINTS}.
 * @public
 */
export function rfc8693(parameters: Rfc8693Parameters = {}): ExchangeProtocol {
  return {
    name: 'RFC 8693 token exchange',
    buildRequest(subjectToken) {
      const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE });
      for (const value of [parameters.audience ?? []].flat()) form.append('audience', value);
      for (const value of [parameters.resource ?? []].flat()) form.append('resource', value);
      if (parameters.scope) form.set('scope', parameters.scope);
      if (parameters.clientId) form.set('client_id', parameters.clientId);
      return { body: form };
    },
    parseResponse(answer, now) {
      const json = readJsonAnswer(answer);
      const { status } = answer;
      if (status !== 200) {
        const oauthError = typeof json.error === 'string' ? json.error : undefined;
        const description = typeof json.error_description === 'string' ? `: ${targetText(json.error_description)}` : '';
        throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `The token exchange was refused (${status} ${oauthError ?? 'no error code'}${description}).`, {
          status,
          oauthError,
          isRetryable: isTransientStatus(status),
          hint: oauthError === undefined ? undefined : TOKEN_EXCHANGE_ERROR_HINTS[oauthError],
        });
      }
      return createExchangedToken(json.access_token, typeof json.token_type === 'string' ? json.token_type : 'Bearer', json.expires_in, now);
    },
  };
}

/** A redirect or an oversized answer from core's request path becomes this package's typed error; the rest passes. */
function asExchangeError(error: unknown): unknown {
  if (!SkyportenError.isInstance(error) || error.code !== 'TOKEN_RESPONSE_INVALID') return error;
  const status = (error as { status?: number }).status ?? 0;
  const redirect = status >= 300 && status < 400;
  return new TokenExchangeError(redirect ? 'CLOUD_EXCHANGE_FAILED' : 'TOKEN_RESPONSE_INVALID', `${error.message}`, {
    status,
    hint: redirect ? REDIRECT_HINT : 'Check the token endpoint URL.',
  });
}

/**
 * Exchanges the Skyporten token for a target's access token (RFC 8693, or the preset's `protocol`), cached and
 * refreshed.
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
  if (options.protocol !== undefined) {
    for (const field of ['audience', 'scope', 'resource', 'clientId'] as const) {
      if (options[field] !== undefined) {
        throw new ConfigError(field, `${field} is an RFC 8693 parameter; it cannot be combined with protocol (${options.protocol.name}). Leave it out, or give it to the preset.`);
      }
    }
  }
  const protocol = options.protocol ?? rfc8693(options);
  const maskinporten = resolveMaskinportenClient(options.maskinporten);
  const clock = options.clock ?? systemClock;
  const send = options.fetch ?? globalThis.fetch;
  // Core's one request path: no redirects, bodies capped at 1 MiB, one deadline over headers and body.
  const http = createHttpClient({ fetch: options.fetch, timeoutMs: options.timeout ?? 10_000 });

  async function load(): Promise<ExchangedToken> {
    const subjectToken = await maskinporten.getAccessToken();
    const request = protocol.buildRequest(subjectToken);
    let answer: HttpAnswer;
    try {
      answer = await http(endpoint.toString(), { method: 'post', body: request.body, headers: request.headers });
    } catch (error) {
      throw asExchangeError(error);
    }
    return protocol.parseResponse(answer, clock());
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
export function databricks(options: { workspace: string; clientId?: string | undefined }): Pick<TokenExchangeOptions, 'tokenEndpoint' | 'scope' | 'clientId'> {
  const workspace = checkEndpoint('workspace', options.workspace);
  return { tokenEndpoint: new URL('/oidc/v1/token', workspace).toString(), scope: 'all-apis', ...(options.clientId ? { clientId: options.clientId } : {}) };
}

export { vault, VAULT_ERROR_HINTS, type VaultOptions } from './vault.js';
