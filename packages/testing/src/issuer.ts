import { serveOnLoopback } from './mock-service.js';
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
  let engine: IssuerEngine | undefined;
  const listening = await serveOnLoopback('Mock issuer', (request) => (engine as IssuerEngine).handle(request));
  const issuer = applyTrailingSlash(listening.url, options.trailingSlash);
  engine = new IssuerEngine(resolveSettings(options, issuer));
  const close = (): Promise<void> => ((engine as IssuerEngine).close(), listening.close());

  return {
    ...createControls(engine),
    url: new URL(issuer),
    close,
    [Symbol.asyncDispose]: close,
  };
}
