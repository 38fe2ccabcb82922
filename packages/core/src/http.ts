import ky, { isHTTPError, isNetworkError, isTimeoutError, type KyInstance } from 'ky';
import { NetworkError, SkyportenError, TimeoutError, TokenRequestError } from './errors.js';
import { log, type Logger } from './logger.js';

/**
 * How failed requests are retried: exponential backoff with full jitter, on network errors, timeouts, 408,
 * 429 (honouring `Retry-After`) and 5xx. Other 4xx answers are never retried: the request itself is wrong.
 *
 * @public
 */
export interface RetryOptions {
  /** Retries after the first attempt. `0` disables retrying. @default 3 */
  limit?: number;
  /** Delay before the first retry; doubles each time, then full jitter picks a value below it. @default 200 */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay. @default 5000 */
  maxDelayMs?: number;
  /** Upper bound of a server's `Retry-After`. @default 30000 */
  maxRetryAfterMs?: number;
}

/** @internal */
export interface HttpSettings {
  fetch: typeof globalThis.fetch | undefined;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  logger: Logger | undefined;
}

/** @internal */
export const defaultRetry: Required<RetryOptions> = {
  limit: 3,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
};

/** A plain view of an HTTP answer, read once. @internal */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

const retryStatusCodes = [408, 429, 500, 502, 503, 504];

let proxyDispatcher: Promise<unknown> | undefined;

/**
 * Node's fetch ignores HTTPS_PROXY / NO_PROXY. When one of them is set (and no custom fetch is given),
 * requests go through undici's EnvHttpProxyAgent, which reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
 */
function proxyFromEnvironment(): Promise<unknown> | undefined {
  const env = process.env;
  const configured = env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy;
  if (!configured) return undefined;
  proxyDispatcher ??= import('undici').then(({ EnvHttpProxyAgent }) => new EnvHttpProxyAgent());
  return proxyDispatcher;
}

function createKy(settings: HttpSettings, dispatcher: unknown): KyInstance {
  const { retry } = settings;
  return ky.create({
    timeout: settings.timeoutMs,
    ...(settings.fetch ? { fetch: settings.fetch } : {}),
    ...(dispatcher ? { dispatcher } : {}),
    retry: {
      limit: retry.limit,
      methods: ['get', 'post'],
      statusCodes: retryStatusCodes,
      afterStatusCodes: [429, 503],
      maxRetryAfter: retry.maxRetryAfterMs,
      backoffLimit: retry.maxDelayMs,
      delay: (attempt) => retry.baseDelayMs * 2 ** (attempt - 1),
      jitter: true,
      retryOnTimeout: true,
    },
    hooks: {
      beforeRetry: [
        ({ request, error, retryCount }) => {
          const reason = isHTTPError(error) ? `HTTP ${error.response.status}` : error instanceof Error ? error.name : 'error';
          log(settings.logger, 'warn', 'retrying request', { url: stripQuery(request.url), attempt: retryCount, reason });
        },
      ],
    },
  } as Parameters<typeof ky.create>[0]);
}

function stripQuery(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

/** @internal */
export interface HttpRequestInit {
  method: 'get' | 'post';
  body?: URLSearchParams;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Attempts made so far including this one, when the caller retries itself (for error messages). */
  attempt?: number;
}

/** @internal */
export type HttpClient = (url: string, init: HttpRequestInit) => Promise<HttpAnswer>;

/**
 * A sender with retries that maps transport failures to typed errors. It resolves the final answer, whatever
 * its status: callers decide what a 4xx or 5xx means. The ky instance is made once, on first use.
 *
 * @internal
 */
export function createHttpClient(settings: HttpSettings): HttpClient {
  let instance: KyInstance | undefined;
  return async (url, init) => {
    if (instance === undefined) {
      const dispatcher = settings.fetch ? undefined : await proxyFromEnvironment();
      instance ??= createKy(settings, dispatcher);
    }
    return send(instance, settings, url, init);
  };
}

async function send(client: KyInstance, settings: HttpSettings, url: string, init: HttpRequestInit): Promise<HttpAnswer> {
  try {
    const response = await client(url, {
      method: init.method,
      // Never follow a redirect: a 307/308 would re-send the grant to wherever Location names.
      redirect: 'manual',
      ...(init.body ? { body: init.body } : {}),
      headers: { accept: 'application/json', ...init.headers },
      ...(init.signal ? { signal: init.signal } : {}),
    });
    refuseRedirect(response, url);
    return { status: response.status, headers: response.headers, body: await readText(response, url, settings) };
  } catch (error) {
    if (SkyportenError.isInstance(error)) throw error;
    if (isHTTPError(error)) {
      refuseRedirect(error.response, url);
      const data = error.data;
      const body = typeof data === 'string' ? data : data === undefined ? '' : JSON.stringify(data);
      return { status: error.response.status, headers: error.response.headers, body };
    }
    throw transportError(error, url, settings, init.signal, init.attempt ?? settings.retry.limit + 1);
  }
}

/**
 * A 3xx (or a fetch that followed one anyway) is a typed, non-retryable error naming the status and the
 * Location origin only, never the full URL (it may carry a query) or the grant.
 */
function refuseRedirect(response: Response, url: string): void {
  const redirected = response.status === 0 || (response.status >= 300 && response.status < 400) || response.redirected;
  if (!redirected) return;
  let origin = 'no Location';
  const location = response.headers.get('location');
  if (location) {
    try {
      origin = new URL(location, url).origin;
    } catch {
      origin = 'an unreadable Location';
    }
  }
  throw new TokenRequestError('TOKEN_RESPONSE_INVALID', `${stripQuery(url)} answered a redirect (HTTP ${response.status}, to ${origin}); the SDK never follows redirects.`, {
    status: response.status,
    isRetryable: false,
    hint: 'Configure the final URL directly (issuer / tokenEndpoint); a redirect of a token request would send the signed grant elsewhere.',
  });
}

/** Reads the body within the timeout: a server that sends headers and then stalls must not hang us. */
async function readText(response: Response, url: string, settings: HttpSettings): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const reading = new AbortController();
  const stalled = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // readCapped holds the stream's reader (the stream itself is locked): it cancels the reader on abort.
      reading.abort();
      reject(new TimeoutError(`${stripQuery(url)} sent headers but no complete body within ${settings.timeoutMs} ms.`, {
        hint: 'Check network access to the issuer (proxy: HTTPS_PROXY), or raise the `timeout` option.',
      }));
    }, settings.timeoutMs);
  });
  try {
    return await Promise.race([readCapped(response, url, reading.signal), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** Largest body the SDK reads from any answer: a token or metadata response is a few kB. @internal */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads the body as a stream and stops at once (cancelling it) when it exceeds {@link MAX_BODY_BYTES} or when
 * `stop` aborts (the caller's read timeout), so a slow drip does not keep the connection open.
 */
async function readCapped(response: Response, url: string, stop: AbortSignal, maxBytes = MAX_BODY_BYTES): Promise<string> {
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
  stop.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function transportError(error: unknown, url: string, settings: HttpSettings, signal: AbortSignal | undefined, attempts: number): SkyportenError {
  const attemptText = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  const where = stripQuery(url);
  if (signal?.aborted) {
    return new SkyportenError('ABORTED', `The request to ${where} was aborted by the caller's signal.`, { cause: error });
  }
  if (isTimeoutError(error)) {
    return new TimeoutError(
      `No answer from ${where} within ${settings.timeoutMs} ms (${attemptText}).`,
      { cause: error, hint: 'Check network access to the issuer (proxy: HTTPS_PROXY), or raise the `timeout` option.' },
    );
  }
  if (isNetworkError(error) || error instanceof TypeError) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error as Error).message;
    return new NetworkError(`Could not reach ${where} (${detail}) after ${attemptText}.`, {
      cause: error,
      hint: 'Check DNS and firewall access to the issuer; behind a corporate proxy set HTTPS_PROXY (and NO_PROXY).',
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new SkyportenError('ABORTED', `The request to ${where} was aborted.`, { cause: error });
  }
  return new NetworkError(`The request to ${where} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
