import { ConfigError, NetworkError, SkyportenError, TimeoutError, TokenRequestError } from './errors.js';

/** Settings of {@link createHttpClient}. @public */
export interface HttpSettings {
  /** A fetch implementation. @default globalThis.fetch, through HTTPS_PROXY when set */
  fetch?: typeof globalThis.fetch | undefined;
  /** One attempt's deadline over headers and body, in ms. */
  timeoutMs: number;
  /** Largest body read. @default MAX_BODY_BYTES */
  maxBodyBytes?: number | undefined;
}

/** A plain view of an HTTP answer, read once. @public */
export interface HttpAnswer {
  /** The HTTP status (never a 3xx: those are errors). */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The body as text, at most the cap. */
  body: string;
}

/** One request of an {@link HttpClient}. @public */
export interface HttpRequestInit {
  /** The method. */
  method: 'get' | 'post';
  /** A form or a string body. */
  body?: URLSearchParams | string | undefined;
  /** Extra headers; `accept: application/json` is sent unless given. */
  headers?: Record<string, string> | undefined;
  /** The caller's signal: aborting it ends the request with `ABORTED`. */
  signal?: AbortSignal | undefined;
  /** Caps this attempt's deadline below `timeoutMs` (e.g. the retry policy's time left). */
  timeoutMs?: number | undefined;
  /** Attempts made so far including this one, when the caller retries (for error messages). */
  attempt?: number | undefined;
}

/** Sends one request and resolves its answer, whatever the status: callers decide what a 4xx or 5xx means. @public */
export type HttpClient = (url: string, init: HttpRequestInit) => Promise<HttpAnswer>;

/** Largest body the SDK reads from any answer: a token or metadata response is a few kB. @public */
export const MAX_BODY_BYTES = 1024 * 1024;

/** True for a status worth another attempt: 408, 429 and 5xx. @public */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The URL without its query, for messages (a query may carry a secret). @public */
export function stripQuery(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

/** The proxy agent, loaded once; `load` is a seam for the test of a missing undici. @internal */
export const proxyAgentLoader: { load: () => Promise<unknown>; loaded: Promise<unknown> | undefined } = {
  load: async () => new (await import('undici')).EnvHttpProxyAgent(),
  loaded: undefined,
};

/** undici's EnvHttpProxyAgent when a proxy is set and Node's fetch ignores it (see docs/security.md). */
function proxyFromEnvironment(): Promise<unknown> | undefined {
  const env = process.env;
  const configured = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (!configured) return undefined;
  if (env.NODE_USE_ENV_PROXY === '1' || process.execArgv.includes('--use-env-proxy')) return undefined;
  proxyAgentLoader.loaded ??= proxyAgentLoader.load().catch((error: unknown) => {
    proxyAgentLoader.loaded = undefined;
    const hint = 'Run Node with NODE_USE_ENV_PROXY=1 (Node >= 22.21 / 24.5), or `npm install undici`, or unset the proxy variables.';
    const message = 'HTTPS_PROXY / HTTP_PROXY is set, but Node\'s fetch ignores it and undici (an optional peer dependency of @skyporten/core) is not installed.';
    throw new ConfigError('HTTPS_PROXY', message, { cause: error, hint });
  });
  return proxyAgentLoader.loaded;
}

/**
 * The one outbound request path (docs/security.md): no redirects, every body capped, one deadline per attempt
 * over headers and body, HTTPS_PROXY honoured; one attempt (wrap it in `withRetry` to retry).
 * @public
 */
export function createHttpClient(settings: HttpSettings): HttpClient {
  const maxBytes = settings.maxBodyBytes ?? MAX_BODY_BYTES;
  return async (url, init) => {
    const dispatcher = settings.fetch ? undefined : await proxyFromEnvironment();
    const send = settings.fetch ?? globalThis.fetch;
    const timeoutMs = Math.max(1, Math.min(settings.timeoutMs, init.timeoutMs ?? Infinity));
    // A timer cleared when the attempt ends (AbortSignal.timeout would hold each request's state for timeoutMs).
    const stop = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort();
    }, timeoutMs);
    const onCallerAbort = () => stop.abort();
    if (init.signal?.aborted) stop.abort();
    init.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const response = await send(url, {
        method: init.method.toUpperCase(),
        // Never follow a redirect: a 307/308 would re-send the grant to wherever Location names.
        redirect: 'manual',
        headers: { accept: 'application/json', ...init.headers },
        signal: stop.signal,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(dispatcher ? { dispatcher } : {}),
      } as RequestInit);
      refuseRedirect(response, url);
      const body = await readCapped(response, url, stop.signal, maxBytes);
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      if (SkyportenError.isInstance(error)) throw error;
      throw transportError(error, url, { timedOut, timeoutMs, callerAborted: init.signal?.aborted === true, attempts: init.attempt ?? 1 });
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onCallerAbort);
    }
  };
}

/** A 3xx (or a fetch that followed one anyway) is a non-retryable error naming only the status and the Location's origin. */
function refuseRedirect(response: Response, url: string): void {
  const redirected = response.status === 0 || (response.status >= 300 && response.status < 400) || response.redirected;
  if (!redirected) return;
  void response.body?.cancel().catch(() => undefined);
  const location = response.headers.get('location');
  const origin = !location ? 'no Location' : URL.canParse(location, url) ? new URL(location, url).origin : 'an unreadable Location';
  throw new TokenRequestError('TOKEN_RESPONSE_INVALID', `${stripQuery(url)} answered a redirect (HTTP ${response.status}, to ${origin}); the SDK never follows redirects.`, {
    status: response.status,
    isRetryable: false,
    hint: 'Configure the final URL directly (issuer / tokenEndpoint); a redirect of a token request would send the signed grant elsewhere.',
  });
}

/** Reads the body, cancelling it at once past `maxBytes` or when `stop` aborts (deadline, caller), so no endless body or slow drip holds on. */
async function readCapped(response: Response, url: string, stop: AbortSignal, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new TokenRequestError('TOKEN_RESPONSE_INVALID', `${stripQuery(url)} sent a body larger than ${maxBytes} bytes; the SDK stopped reading it.`, {
      status: response.status,
      isRetryable: false,
      hint: 'Check that the URL points to Maskinporten / Skyporten and not to a proxy or a download.',
    });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    void response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  // A custom fetch may not tie its body to the signal: cancel the reader ourselves, and stop waiting for it.
  const stopped = new Promise<never>((_resolve, reject) => {
    const onStop = () => {
      cancel();
      reject(new DOMException('The body read was stopped.', 'AbortError'));
    };
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
  stopped.catch(() => undefined);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await Promise.race([reader.read(), stopped]);
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? new TextDecoder().decode(chunks[0]) : new TextDecoder().decode(Buffer.concat(chunks));
}

function transportError(
  error: unknown,
  url: string,
  state: { timedOut: boolean; timeoutMs: number; callerAborted: boolean; attempts: number },
): SkyportenError {
  const where = stripQuery(url);
  const attempts = `${state.attempts} attempt${state.attempts === 1 ? '' : 's'}`;
  if (state.callerAborted) {
    return new SkyportenError('ABORTED', `The request to ${where} was aborted by the caller's signal.`, { cause: error });
  }
  if (state.timedOut) {
    return new TimeoutError(`No complete answer from ${where} within ${state.timeoutMs} ms (${attempts}).`, {
      cause: error,
      hint: 'Check network access to the issuer (proxy: HTTPS_PROXY), or raise the `timeout` option.',
    });
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code === 'UND_ERR_HEADERS_OVERFLOW') {
    // The server sent more header bytes than Node accepts (16 KiB): no retry will fix that.
    return new TokenRequestError('TOKEN_RESPONSE_INVALID', `${where} sent response headers larger than Node accepts; the SDK stopped reading.`, {
      cause: error,
      isRetryable: false,
      hint: 'Check that the URL points to Maskinporten / Skyporten and not to a proxy or a download.',
    });
  }
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new NetworkError(`Could not reach ${where} (${detail}) after ${attempts}.`, {
    cause: error,
    hint: 'Check DNS and firewall access to the issuer; behind a corporate proxy set HTTPS_PROXY (and NO_PROXY).',
  });
}
