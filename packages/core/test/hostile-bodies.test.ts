import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';
import { createMaskinportenClient } from '../src/index.ts';
import { pumpForever, rejectionOf } from './helpers.ts';

// One hostile loopback server whose answer each test sets: endless error bodies, huge headers, broken JSON,
// tokens that are no bearer tokens, impossible lifetimes. Every case must end in a typed error, fast, with
// bounded memory, and without a retry where retrying cannot help.
let issuer: MockSkyporten;
let registered: RegisteredClient;
let hostileUrl: string;
let requests = 0;
let bytesSent = 0;
let answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.end();
const hostile = createServer((request, response) => {
  requests++;
  request.resume();
  answer(request, response);
});

const countSent = (bytes: number) => (bytesSent += bytes);

beforeAll(async () => {
  issuer = await createMockSkyporten();
  registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
  hostileUrl = await new Promise((resolve) =>
    hostile.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(hostile.address() as { port: number }).port}`)),
  );
});

afterAll(async () => {
  await issuer.close();
  hostile.closeAllConnections();
  await new Promise((resolve) => hostile.close(resolve));
});

function client(options: { issuer?: string; tokenEndpoint?: string } = { tokenEndpoint: 'set below' }) {
  return createMaskinportenClient({
    issuer: options.issuer ?? issuer.issuer,
    ...(options.issuer ? {} : { tokenEndpoint: `${hostileUrl}/token` }),
    clientId: registered.clientId,
    scope: 'entur:skyporten.demo',
    key: { privateKey: registered.privateKey, kid: registered.kid },
    retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 2 },
    timeout: 2000,
    env: false,
  });
}

/** Runs `run`, returning its rejection and how much the process grew meanwhile (rss, MiB). */
async function measured(run: () => Promise<unknown>): Promise<{ error: any; grewMiB: number; ms: number }> {
  requests = 0;
  bytesSent = 0;
  const before = process.memoryUsage().rss;
  const started = Date.now();
  const error = await rejectionOf(run());
  const result = { error, grewMiB: (process.memoryUsage().rss - before) / 2 ** 20, ms: Date.now() - started };
  if (process.env.HOSTILE_REPORT) console.log(`[hostile] ${result.error?.code} grew ${result.grewMiB.toFixed(1)} MiB in ${result.ms} ms, ${bytesSent} bytes sent`);
  return result;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return (_request: IncomingMessage, response: ServerResponse) =>
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('endless bodies', () => {
  it('an endless 503 error body is capped too: TOKEN_RESPONSE_INVALID, not retried, memory bounded', async () => {
    answer = (_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      pumpForever(response, countSent);
    };
    const { error, grewMiB, ms } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.isRetryable).toBe(false);
    expect(requests).toBe(1);
    expect(ms).toBeLessThan(2000);
    expect(bytesSent).toBeLessThan(8 * 2 ** 20);
    expect(grewMiB).toBeLessThan(64);
  });

  it('an endless metadata document: DISCOVERY_FAILED, not retried, memory bounded', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      pumpForever(response, countSent);
    };
    const { error, grewMiB } = await measured(() => client({ issuer: hostileUrl }).getToken());
    expect(error.code).toBe('DISCOVERY_FAILED');
    expect(error.isRetryable).toBe(false);
    expect(error.message).toContain('larger than 1048576 bytes');
    expect(requests).toBe(1);
    expect(grewMiB).toBeLessThan(64);
  });

  it('a declared Content-Length over the cap is refused before reading', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 2 ** 20) });
      response.write('{');
    };
    const { error, ms } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(requests).toBe(1);
    expect(ms).toBeLessThan(1000);
  });
});

describe('malformed answers', () => {
  it('a huge response header (1 MiB): a typed error, not retried, nothing hangs', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-padding': 'a'.repeat(2 ** 20) });
      response.end('{}');
    };
    const { error, ms, grewMiB } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.isRetryable).toBe(false);
    expect(error.message).toContain('header');
    expect(requests).toBe(1);
    expect(ms).toBeLessThan(2000);
    expect(grewMiB).toBeLessThan(64);
  });

  it('invalid JSON with a JSON content type: TOKEN_RESPONSE_INVALID, not retried', async () => {
    answer = json(200, '{"access_token": "abc", ');
    const { error } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.message).toContain('not valid JSON');
    expect(requests).toBe(1);
  });

  it('an HTML login page with 200: TOKEN_RESPONSE_INVALID naming the content type', async () => {
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    const { error } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.message).toContain('text/html');
  });

  it('an access_token that is no bearer token at all (HTML, spaces): TOKEN_RESPONSE_INVALID', async () => {
    answer = json(200, { access_token: '<html> not a token </html>', token_type: 'Bearer', expires_in: 60 });
    const { error } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.message).toContain('not a bearer token');
    expect(error.message).not.toContain('<html>');
  });

  it('an opaque (non-JWT) bearer token is accepted, expiring by expires_in (RFC 6749 lets tokens be opaque)', async () => {
    answer = json(200, { access_token: 'opaque-ABC.def_123', token_type: 'Bearer', expires_in: 60 });
    const started = Date.now();
    const token = await client().getToken();
    expect(token.accessToken).toBe('opaque-ABC.def_123');
    expect(Math.abs(token.expiresAt.getTime() - started - 60_000)).toBeLessThan(2000);
  });

  for (const [label, expiresIn] of [
    ['negative', -5],
    ['zero', 0],
    ['huge', 10 ** 12],
    ['a string', '3600'],
    ['missing', undefined],
    ['NaN-ish', 'NaN'],
  ] as const) {
    it(`expires_in ${label}: TOKEN_RESPONSE_INVALID, not retried, nothing cached`, async () => {
      answer = json(200, { access_token: 'abc', token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) });
      const working = client();
      const { error } = await measured(() => working.getToken());
      expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
      expect(error.isRetryable).toBe(false);
      expect(error.message).toContain('expires_in');
      expect(requests).toBe(1);
      expect(working.peekToken()).toBeUndefined();
    });
  }

  it('a 503 with Retry-After is retried after the wait the server asked for (capped), each with a fresh grant', async () => {
    const grants: string[] = [];
    answer = (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        grants.push(new URLSearchParams(body).get('assertion') ?? '');
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error":"temporarily_unavailable"}');
      });
    };
    const { error } = await measured(() => client().getToken());
    expect(error.code).toBe('TOKEN_REQUEST_FAILED');
    expect(error.isRetryable).toBe(true);
    expect(requests).toBe(3);
    expect(new Set(grants).size).toBe(3);
  });
});
