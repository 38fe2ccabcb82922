import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { LocalTlsCertificate } from './tls-certificate.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** A request as a mock route sees it: the same whether it came over loopback or through msw. */
export interface MockRequest {
  /** The HTTP method, upper case. */
  method: string;
  /** The full request URL. */
  url: URL;
  /** The request headers. */
  headers: Headers;
  /** The body as UTF-8 text (at most 1 MiB). */
  body: string;
  /** The capture groups of the route's path pattern (URL-decoded), or `[]` for a string path. */
  params: string[];
  /** The form fields of an `application/x-www-form-urlencoded` body; empty for any other content type. */
  form: URLSearchParams;
  /** The body parsed as JSON (`{}` when empty), or `undefined` when it is not JSON. */
  json: unknown;
}

/** A request as a transport hands it to a mock. @internal */
export type MockIncoming = Pick<MockRequest, 'method' | 'url' | 'headers' | 'body'>;

/** What a route answers. */
export interface MockAnswer {
  /** The HTTP status. */
  status: number;
  /** Response headers. @default {} */
  headers?: Record<string, string>;
  /** The response body. @default "" */
  body?: string | Uint8Array;
  /** Fields merged into the request's log entry; not sent. @default undefined */
  log?: object;
}

/**
 * A failure queued with `failNext`, the one shape every mock of this package takes; rendered in the service's
 * wire format (OAuth JSON, AWS XML, Google JSON, Entra's AADSTS JSON) unless `body` is given. See the README.
 */
export interface MockFailure<Service extends string = string> {
  /** HTTP status, 200–599. */
  status: number;
  /** How many matching requests answer this failure. @default 1 */
  count?: number;
  /** Which of the mock's services fails. @default the mock's token service: `token` (issuer, Entra ID), `sts` (AWS, GCP), `bigquery` */
  service?: Service;
  /** Only requests whose URL path equals this string or matches this pattern fail. @default undefined: every request to `service` */
  path?: string | RegExp;
  /** The service's error code: OAuth `error`, AWS `<Code>`, Google `status`. @default one that fits the status, e.g. `server_error` */
  code?: string;
  /** The error text: OAuth `error_description`, AWS `<Message>`, Google `message`. @default a generic text for the status */
  message?: string;
  /** The whole body instead: an object as JSON, a string starting with `<` as HTML (AWS: XML), others as text. @default undefined */
  body?: string | object;
  /** Extra response headers, e.g. `{ 'x-trace': 'abc' }`. @default {} */
  headers?: Record<string, string>;
  /** Sends a `Retry-After` header with this many seconds. @default undefined: none */
  retryAfterSeconds?: number;
  /** Milliseconds to wait before answering. @default 0 */
  delayMs?: number;
}

/** One route of a mock: handlers are data, matched in order by method and path. @internal */
export interface MockRoute<Service extends string, Entry = never> {
  /** The service the request counts for and that `failNext({ service })` targets. */
  service: Service;
  /** The method, or methods, that match. @default any */
  method?: string | readonly string[];
  /** The URL path, exactly, or a pattern whose groups become `request.params`. */
  path: string | RegExp;
  /** Whether `failNext` and `hang` apply to this route. @default true */
  faults?: boolean;
  /** A further condition on the request, e.g. a header or form field. @default every request matches */
  when?(request: MockRequest): boolean;
  /** Answers the request; `entry` is its request-log entry, when the mock keeps one for it. */
  handle(request: MockRequest, entry: Entry | undefined): MockAnswer | Promise<MockAnswer>;
}

/** How a mock built on {@link createMockService} behaves. @internal */
export interface MockServiceOptions<Service extends string, Entry> {
  /** Used in the text of a 500 when a handler throws, e.g. "Mock AWS". */
  name: string;
  /** The routes, matched in order. */
  routes: readonly MockRoute<Service, Entry>[];
  /** The service a failure without `service` targets. */
  defaultService: Service;
  /** Renders a failure without `body` in the service's wire format. */
  renderFailure(failure: MockFailure<Service>, service: Service): MockAnswer;
  /** Answers requests that match no route. */
  notFound(request: MockRequest): MockAnswer;
  /** Creates the request-log entry of a request when it arrives (`undefined`: not logged). */
  record?(request: MockRequest, service: Service): Entry | undefined;
  /** Fills a log entry once the request is answered (`answer` is `null` when it hung). */
  finish?(entry: Entry, answer: MockAnswer | null, fault: 'failure' | 'hang' | null): void;
  /** Runs after `record` and before faults, e.g. an authentication check; an answer ends the request. */
  guard?(request: MockRequest, entry: Entry | undefined): MockAnswer | undefined | Promise<MockAnswer | undefined>;
  /** Headers added to every answer (an answer's own win). */
  headers?(): Record<string, string>;
  /** Milliseconds added before every answer. @default 0 */
  latencyMs?(): number;
}

/** The transport-neutral core of every mock: routing, request log, counters and fault injection. @internal */
export interface MockService<Service extends string, Entry> {
  /** Answers one request; `null` means "drop the connection" (hung, or closed meanwhile). */
  handle: MockHandler;
  /** The request log, in arrival order; cleared by `reset()`. */
  readonly log: Entry[];
  /** How many requests arrived for `service` since the last `reset()`. */
  calls(service: Service): number;
  /** Queues a failure (validated). */
  failNext(failure: MockFailure<Service>): void;
  /** The next `count` requests to `service` are accepted and never answered. */
  hang(count?: number, service?: Service): void;
  /** Clears the log, the counters and queued faults. */
  reset(): void;
  /** Drops hung and delayed requests; later requests are dropped too. */
  close(): void;
  /** Serves this mock on `127.0.0.1:<random port>`: see {@link serveOnLoopback}. */
  listen(transport?: LoopbackTransport): Promise<LoopbackServer>;
}

/** Answers one transport-neutral request; `null` drops the connection. @internal */
export type MockHandler = (request: MockIncoming) => Promise<MockAnswer | null>;

/** How {@link serveOnLoopback} serves: HTTP/1.1 by default. @internal */
export interface LoopbackTransport {
  /** Serve HTTPS with this certificate. @default undefined: cleartext */
  tls?: LocalTlsCertificate | undefined;
  /** Serve cleartext HTTP/2 (h2c) instead of HTTP/1.1. @default false */
  http2?: boolean | undefined;
}

/** A started loopback server. @internal */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` or `https://...`, no trailing slash. */
  url: string;
  /** The port. */
  port: number;
  /** Stops the server and ends open connections (idempotent). */
  close(): Promise<void>;
}

/** A queued `failNext` (with `failure`) or `hang` (without). */
type QueuedFault<Service> = { remaining: number; service: Service; path: string | RegExp | undefined; failure?: MockFailure };

/** Thrown by a route handler to answer `answer` at once, e.g. a rejected token request. @internal */
export class MockRejection extends Error {
  constructor(readonly answer: MockAnswer) {
    super(`Rejected with HTTP ${answer.status}.`);
  }
}

/** Throws a `TypeError` naming `name` unless `value` is a finite number of at least `minimum`. @internal */
export function assertNumberOption(name: string, value: number, minimum: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
    throw new TypeError(`Option ${name} must be a finite number >= ${minimum}, got ${String(value)}.`);
  }
}

/** A JSON answer (`application/json; charset=utf-8` unless `headers` says otherwise). @internal */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): MockAnswer {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

/** Reads the Bearer token of a request, or `undefined`. @internal */
export function bearerToken(request: MockRequest): string | undefined {
  return /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
}

/** Turns the legacy `failNext(count, failure)` and `failNext(service, count, failure)` forms into the one shape. @internal */
export function toFailure<Failure extends MockFailure>(args: readonly unknown[]): Failure {
  const [first, second, third] = args;
  if (typeof first === 'number') return { ...(second as Failure), count: first };
  if (typeof first === 'string') return { ...(third as Failure), service: first, count: second as number };
  return first as Failure;
}

/** Starts `server` on a free port of 127.0.0.1. @internal */
export async function listenOnLoopback(server: Server, scheme = 'http'): Promise<LoopbackServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // Every connection (HTTP/1.1 keep-alive, HTTP/2 session, proxy tunnel) ends with the server.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** The route's answer; a thrown {@link MockRejection} is its answer. */
async function answerOf<Service extends string, Entry>(route: MockRoute<Service, Entry>, request: MockRequest, entry: Entry | undefined): Promise<MockAnswer> {
  try {
    return await route.handle(request, entry);
  } catch (error) {
    if (error instanceof MockRejection) return error.answer;
    throw error;
  }
}

function matches(pattern: string | RegExp, pathname: string): string[] | null {
  if (typeof pattern === 'string') return pattern === pathname ? [] : null;
  const match = pattern.exec(pathname);
  return match === null ? null : match.slice(1).map((group) => (group === undefined ? '' : decodeURIComponent(group)));
}

function failureAnswer<Service extends string>(options: MockServiceOptions<Service, unknown>, failure: MockFailure<Service>, service: Service): MockAnswer {
  let answer = options.renderFailure(failure, service);
  if (typeof failure.body === 'object') answer = { ...answer, ...json(failure.status, failure.body) };
  else if (typeof failure.body === 'string') {
    const rendered = answer.headers?.['content-type'] ?? '';
    const markup = /xml/.test(rendered) ? rendered : 'text/html; charset=utf-8';
    answer = { ...answer, headers: { 'content-type': failure.body.trimStart().startsWith('<') ? markup : 'text/plain; charset=utf-8' }, body: failure.body };
  }
  const headers: Record<string, string> = { ...answer.headers };
  if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
  for (const [name, value] of Object.entries(failure.headers ?? {})) headers[name.toLowerCase()] = value;
  return { ...answer, headers };
}

function parseRequest(incoming: MockIncoming, params: string[]): MockRequest {
  const type = incoming.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  let parsed: unknown;
  try {
    parsed = incoming.body === '' ? {} : (JSON.parse(incoming.body) as unknown);
  } catch {
    parsed = undefined;
  }
  const form = new URLSearchParams(type === 'application/x-www-form-urlencoded' ? incoming.body : '');
  return { ...incoming, method: incoming.method.toUpperCase(), params, form, json: parsed };
}

/**
 * Builds a mock from routes: the one primitive under the issuer and every cloud mock of this package. It
 * routes, logs, counts, injects failures and hangs, adds latency, and serves over loopback HTTP/HTTPS/h2c or
 * (through `handle`) msw.
 *
 * @internal
 */
export function createMockService<Service extends string, Entry>(options: MockServiceOptions<Service, Entry>): MockService<Service, Entry> {
  const log: Entry[] = [];
  const counts = new Map<Service, number>();
  const faults: QueuedFault<Service>[] = [];
  const closing = new AbortController();

  /** Waits `ms` (forever for `Infinity`); resolves `false` when the mock was closed meanwhile. */
  function sleep(ms: number): Promise<boolean> {
    const signal = closing.signal;
    if (signal.aborted) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve(true)), ms) : undefined;
      const onAbort = (): void => (clearTimeout(timer), resolve(false));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  function takeFault(service: Service, pathname: string): QueuedFault<Service> | undefined {
    const index = faults.findIndex((fault) => fault.service === service && (fault.path === undefined || matches(fault.path, pathname) !== null));
    const fault = faults[index];
    if (fault !== undefined && --fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  }

  function route(incoming: MockIncoming): { route: MockRoute<Service, Entry> | undefined; request: MockRequest } {
    const method = incoming.method.toUpperCase();
    for (const candidate of options.routes) {
      const methods = typeof candidate.method === 'string' ? [candidate.method] : candidate.method;
      const params = methods === undefined || methods.includes(method) ? matches(candidate.path, incoming.url.pathname) : null;
      if (params === null) continue;
      const request = parseRequest(incoming, params);
      if (candidate.when === undefined || candidate.when(request)) return { route: candidate, request };
    }
    return { route: undefined, request: parseRequest(incoming, []) };
  }

  async function handle(incoming: MockIncoming): Promise<MockAnswer | null> {
    if (closing.signal.aborted) return null;
    if (Buffer.byteLength(incoming.body) > MAX_BODY_BYTES) return tooLarge(options.name);
    const { route: matched, request } = route(incoming);
    let answer: MockAnswer;
    let fault: QueuedFault<Service> | undefined;
    if (matched === undefined) answer = options.notFound(request);
    else {
      counts.set(matched.service, (counts.get(matched.service) ?? 0) + 1);
      const entry = options.record?.(request, matched.service);
      if (entry !== undefined) log.push(entry);
      const denied = await options.guard?.(request, entry);
      fault = denied === undefined && matched.faults !== false ? takeFault(matched.service, request.url.pathname) : undefined;
      if (fault !== undefined && fault.failure === undefined) {
        if (entry !== undefined) options.finish?.(entry, null, 'hang');
        await sleep(Number.POSITIVE_INFINITY);
        return null;
      }
      answer = denied ?? (fault?.failure === undefined ? await answerOf(matched, request, entry) : failureAnswer(options, fault.failure, matched.service));
      if (entry !== undefined) {
        Object.assign(entry as object, answer.log);
        options.finish?.(entry, answer, fault === undefined ? null : 'failure');
      }
    }
    const delay = (options.latencyMs?.() ?? 0) + (fault?.failure?.delayMs ?? 0);
    if (!(await sleep(delay))) return null;
    const { log: _log, ...sent } = answer;
    return { ...sent, headers: { ...options.headers?.(), ...answer.headers } };
  }

  function queue(method: 'failNext' | 'hang', fault: QueuedFault<Service>): void {
    assertNumberOption(`${method} count`, fault.remaining, 1);
    faults.push(fault);
  }

  return {
    handle,
    log,
    calls: (name) => counts.get(name) ?? 0,
    failNext(failure) {
      if (!Number.isInteger(failure.status) || failure.status < 200 || failure.status > 599) {
        throw new TypeError(`failNext: status must be an integer HTTP status 200–599, got ${String(failure.status)}.`);
      }
      queue('failNext', { failure, remaining: failure.count ?? 1, service: failure.service ?? options.defaultService, path: failure.path });
    },
    hang(count = 1, name = options.defaultService) {
      queue('hang', { remaining: count, service: name, path: undefined });
    },
    reset() {
      log.length = 0;
      faults.length = 0;
      counts.clear();
    },
    close: () => closing.abort(),
    listen: (transport) => serveOnLoopback(options.name, handle, transport),
  };
}

/** What every cloud mock of this package shares: its request log, `failNext`, `reset`, `close` and `await using`. */
export interface MockLifecycle<Entry, Failure> {
  /** Every request the mock logs, in order. Cleared by `reset()`. Never holds a token or a secret. */
  readonly requests: Entry[];
  /** @deprecated Use `failNext({ count, ...failure })`; this form goes in the next minor. */
  failNext(count: number, failure: Failure): void;
  /** The next `failure.count` (default 1) requests to `failure.service` answer `failure` unprocessed; queued after earlier ones. */
  failNext(failure: Failure): void;
  /** Clears the request log, counters and queued failures. */
  reset(): void;
  /** Stops the server: hung and delayed requests are dropped, open connections closed. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using mock = await createMock...(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The {@link MockLifecycle} of a served mock; `onReset` clears the mock's own state too. @internal */
export function mockLifecycle<Service extends string, Entry>(
  service: MockService<Service, Entry>,
  listening: LoopbackServer,
  onReset?: () => void,
): MockLifecycle<Entry, never> & { failNext(...args: readonly unknown[]): void } {
  const close = (): Promise<void> => (service.close(), listening.close());
  return {
    requests: service.log,
    failNext: (...args: readonly unknown[]) => service.failNext(toFailure(args)),
    reset() {
      service.reset();
      onReset?.();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Live counters: each name reads `service.calls()` of its service. @internal */
export function liveCounters<Service extends string, Name extends string>(service: MockService<Service, unknown>, names: Record<Name, Service>): Readonly<Record<Name, number>> {
  const counters = {};
  for (const [name, target] of Object.entries<Service>(names)) Object.defineProperty(counters, name, { enumerable: true, get: () => service.calls(target) });
  return counters as Readonly<Record<Name, number>>;
}

function tooLarge(name: string): MockAnswer {
  return { status: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${name}: request body over 1 MiB.` };
}

function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    // HTTP/2 pseudo-headers are no header names; `:authority` is the Host.
    if (name === ':authority' && request.headers.host === undefined) headers.set('host', String(value));
    if (name.startsWith(':')) continue;
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
  }
  return headers;
}

async function serve(name: string, handle: MockHandler, base: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        const { status, headers, body } = tooLarge(name);
        response.writeHead(status, { ...headers, ...(request.httpVersionMajor < 2 ? { connection: 'close' } : {}) }).end(body);
        return;
      }
      chunks.push(chunk);
    }
    const method = request.method ?? 'GET';
    const answer = await handle({ method, url: new URL(request.url ?? '/', base), headers: headersOf(request), body: Buffer.concat(chunks).toString('utf8') });
    if (answer === null) {
      request.socket.destroy();
      return;
    }
    const body = answer.body ?? '';
    response.writeHead(answer.status, { 'content-length': String(Buffer.byteLength(body)), ...answer.headers });
    response.end(method === 'HEAD' ? undefined : body);
  } catch (error) {
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
    response.end(`${name} failure: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Serves `handle` on `127.0.0.1:<random port>` (HTTPS with `tls`, cleartext HTTP/2 with `http2`): bodies over
 * 1 MiB get a 413, a handler that throws a 500 naming `name`, a `null` answer a dropped connection.
 *
 * @internal
 */
export async function serveOnLoopback(name: string, handle: MockHandler, transport: LoopbackTransport = {}): Promise<LoopbackServer> {
  const { tls, http2 } = transport;
  const server = tls !== undefined ? createHttpsServer({ cert: tls.cert, key: tls.key }) : http2 === true ? createHttp2Server() : createHttpServer();
  const listening = await listenOnLoopback(server as Server, tls === undefined ? 'http' : 'https');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => void serve(name, handle, listening.url, request, response));
  return listening;
}
