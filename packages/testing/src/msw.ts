/**
 * `@skyporten/testing/msw`: the mock issuer as msw request handlers. A subpath of its own, so the package's main
 * entry (and its types) never needs msw; import this one only where msw ^3 is installed.
 *
 * @packageDocumentation
 */
import { http } from 'msw';
import type { RequestHandler } from 'msw';
import { createControls } from './controls.js';
import type { MockIssuerControls } from './controls.js';
import { IssuerEngine } from './engine.js';
import { applyTrailingSlash, resolveSettings } from './options.js';
import type { MockSkyportenOptions } from './options.js';

/**
 * The default issuer of {@link createMockSkyportenHandlers}: Skyporten's test environment.
 *
 * @example
 * ```ts
 * createMockSkyportenHandlers().issuer === DEFAULT_HANDLERS_ISSUER; // "https://test.sky.maskinporten.no"
 * ```
 */
export const DEFAULT_HANDLERS_ISSUER = 'https://test.sky.maskinporten.no';

/**
 * The mock issuer as msw request handlers, for `setupServer(...handlers)`.
 *
 * @example
 * ```ts
 * const { handlers, registerClient } = createMockSkyportenHandlers();
 * ```
 */
export interface MockSkyportenHandlers extends MockIssuerControls {
  /** msw handlers answering every request to the issuer's origin. */
  handlers: RequestHandler[];
  /** Releases hung and delayed requests (they fail as network errors). */
  close(): Promise<void>;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * The same mock issuer as {@link createMockSkyporten}, in-process as msw handlers: no port, any issuer URL.
 *
 * @example
 * ```ts
 * const issuer = createMockSkyportenHandlers(); // https://test.sky.maskinporten.no
 * const server = setupServer(...issuer.handlers);
 * beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
 * afterAll(() => server.close());
 * ```
 */
export function createMockSkyportenHandlers(options: MockSkyportenOptions = {}): MockSkyportenHandlers {
  const issuer = applyTrailingSlash(options.issuer ?? DEFAULT_HANDLERS_ISSUER, options.trailingSlash ?? options.issuer?.endsWith('/'));
  let origin: string;
  try {
    origin = new URL(issuer).origin;
  } catch (cause) {
    throw new TypeError(`Option issuer must be an absolute URL such as "${DEFAULT_HANDLERS_ISSUER}", got "${issuer}".`, { cause });
  }
  const engine = new IssuerEngine(resolveSettings(options, issuer));
  const handler = http.all(`${origin}/*`, async ({ request }) => {
    const body = await request.text();
    const answer = await engine.handle({ method: request.method, url: new URL(request.url), headers: request.headers, body });
    if (answer === null) return Response.error();
    const responseBody = NULL_BODY_STATUSES.has(answer.status) || request.method === 'HEAD' ? null : String(answer.body ?? '');
    return new Response(responseBody, { status: answer.status, headers: answer.headers ?? {} });
  });
  return {
    ...createControls(engine),
    handlers: [handler],
    close() {
      engine.close();
      return Promise.resolve();
    },
  };
}
