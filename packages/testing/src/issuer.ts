import { createServer } from 'node:http';
import { listenOnLoopback, readBody } from './loopback.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createControls } from './controls.js';
import type { MockIssuerControls } from './controls.js';
import { IssuerEngine } from './engine.js';
import { applyTrailingSlash, resolveSettings } from './options.js';
import type { MockSkyportenOptions } from './options.js';

/**
 * A mock Skyporten issuer listening on `http://127.0.0.1:<random port>`.
 *
 * @example
 * ```ts
 * const issuer: MockSkyporten = await createMockSkyporten();
 * await issuer.close();
 * ```
 */
export interface MockSkyporten extends MockIssuerControls {
  /** The issuer as a `URL`. */
  url: URL;
  /** Stops the server: hung and delayed requests are dropped, open connections closed. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using issuer = await createMockSkyporten()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function toHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

/**
 * Starts a mock Skyporten issuer on the loopback interface. It enforces the rules of the real token endpoint
 * (see the package README) and serves the metadata document and JWKS.
 *
 * @example
 * ```ts
 * const issuer = await createMockSkyporten();
 * afterAll(() => issuer.close());
 * const client = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
 * // point the code under test at issuer.issuer / issuer.tokenEndpoint
 * ```
 */
export async function createMockSkyporten(options: MockSkyportenOptions = {}): Promise<MockSkyporten> {
  // Validate before opening a port, so bad options do not leak a server.
  resolveSettings(options, 'http://127.0.0.1');
  const server = createServer();
  const listening = await listenOnLoopback(server);
  const { port } = listening;
  const issuer = applyTrailingSlash(`http://127.0.0.1:${port}`, options.trailingSlash);
  const engine = new IssuerEngine(resolveSettings(options, issuer));

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      try {
        const body = await readBody(request);
        const answer = await engine.handle({ method: request.method ?? 'GET', url: request.url ?? '/', headers: toHeaders(request), body });
        if (answer === null) {
          request.socket.destroy();
          return;
        }
        response.writeHead(answer.status, answer.headers);
        response.end(request.method === 'HEAD' ? undefined : answer.body);
      } catch (error) {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`Mock issuer failure: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  });

  return {
    ...createControls(engine),
    url: new URL(issuer),
    close() {
      engine.close();
      return listening.close();
    },
    [Symbol.asyncDispose]() {
      engine.close();
      return listening.close();
    },
  };
}
