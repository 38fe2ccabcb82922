/**
 * `@skyporten/testing/msw`: the mock issuer as msw request handlers, on a subpath of its own so the main entry
 * (and its types) never needs msw.
 *
 * @packageDocumentation
 */
import { http } from 'msw';
import type { RequestHandler } from 'msw';
import { applyTrailingSlash, createIssuerEngine } from './issuer.js';
import type { MockIssuerControls, MockSkyportenOptions } from './issuer.js';

/** The default issuer of {@link createMockSkyportenHandlers}: Skyporten's test environment. */
export const DEFAULT_HANDLERS_ISSUER = 'https://test.sky.maskinporten.no';

/** The mock issuer as msw request handlers, for `setupServer(...handlers)`. */
export interface MockSkyportenHandlers extends MockIssuerControls {
  /** msw handlers answering every request to the issuer's origin. */
  handlers: RequestHandler[];
  /** Releases hung and delayed requests (they fail as network errors). */
  close(): Promise<void>;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * The same mock issuer as `createMockSkyporten`, in-process as msw handlers: no port, any issuer URL.
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
  const { controls, service } = createIssuerEngine(options, issuer);
  const handler = http.all(`${origin}/*`, async ({ request }) => {
    const answer = await service.handle({ method: request.method, url: new URL(request.url), headers: request.headers, body: await request.text() });
    if (answer === null) return Response.error();
    const body = NULL_BODY_STATUSES.has(answer.status) || request.method === 'HEAD' ? null : String(answer.body ?? '');
    return new Response(body, { status: answer.status, headers: answer.headers ?? {} });
  });
  return { ...controls, handlers: [handler], close: () => Promise.resolve(service.close()) };
}
