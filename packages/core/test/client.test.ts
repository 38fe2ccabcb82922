import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMaskinportenClient, decodeSkyportenToken, type MaskinportenClientOptions } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';
import { rejectionOf } from './helpers.ts';

let issuer: MockSkyporten;
let registered: RegisteredClient;
const scope = 'entur:skyporten.demo';
const resource = 'https://skyporten.example.org';

beforeAll(async () => {
  issuer = await createMockSkyporten();
  registered = await issuer.registerClient({ scopes: [scope, 'entur:other'], orgNo: '991825827' });
});
afterAll(() => issuer.close());
afterEach(() => issuer.reset());

function options(extra: Partial<MaskinportenClientOptions> = {}): MaskinportenClientOptions {
  return {
    issuer: issuer.issuer,
    clientId: registered.clientId,
    scope,
    resource,
    key: { privateKey: registered.privateKey, kid: registered.kid },
    retry: { limit: 3, baseDelayMs: 1, maxDelayMs: 5 },
    env: false,
    ...extra,
  };
}

describe('createMaskinportenClient against the mock issuer', () => {
  it('discovers the token endpoint and gets a token with the protocol claims', async () => {
    const client = createMaskinportenClient(options());
    const token = await client.getToken();
    const decoded = decodeSkyportenToken(token.accessToken);
    expect(decoded.audience).toEqual([resource]);
    expect(decoded.subject).toBe(`0192:991825827;${scope}`);
    expect(decoded.consumerOrg).toBe('991825827');
    expect(decoded.issuer).toBe(issuer.issuer);
    expect(token.scope).toBe(scope);
    expect(token.lifetimeSeconds).toBeGreaterThan(100);
    expect(await client.getTokenEndpoint()).toBe(issuer.tokenEndpoint);
    expect(issuer.requests).toHaveLength(1);
    expect(issuer.requests[0]!.grantClaims).toMatchObject({ aud: issuer.issuer, iss: registered.clientId, scope, resource });
  });

  it('makes exactly one token request for 1,000 concurrent callers on a cold client', async () => {
    const client = createMaskinportenClient(options());
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(issuer.requests).toHaveLength(1);
  });

  it('reuses the cached token, and fetches again on forceRefresh and after invalidate', async () => {
    const client = createMaskinportenClient(options());
    const first = await client.getAccessToken();
    expect(await client.getAccessToken()).toBe(first);
    expect(issuer.requests).toHaveLength(1);
    const forced = await client.getAccessToken({ forceRefresh: true });
    expect(forced).not.toBe(first);
    client.invalidate();
    await client.getAccessToken();
    expect(issuer.requests).toHaveLength(3);
  });

  it('refreshes ahead of expiry on a shared fake clock, never handing out a token in its safety margin', async () => {
    let now = Date.now();
    const clock = () => now;
    const timed = await createMockSkyporten({ clock });
    try {
      const client = await timed.registerClient({ scopes: [scope] });
      const maskinporten = createMaskinportenClient({
        ...options({ clock }),
        issuer: timed.issuer,
        clientId: client.clientId,
        key: { privateKey: client.privateKey, kid: client.kid },
      });
      const first = await maskinporten.getToken();
      expect(first.lifetimeSeconds).toBeGreaterThan(119); // capped by the JWT's whole-second exp
      expect(first.lifetimeSeconds).toBeLessThanOrEqual(120);
      now += 85_000;
      expect((await maskinporten.getToken()).accessToken).toBe(first.accessToken);
      expect(timed.requests).toHaveLength(1);
      now += 10_000; // 95 s: inside the 30-s refresh window; the caller gets the current token at once
      expect((await maskinporten.getToken()).accessToken).toBe(first.accessToken);
      await vi.waitFor(() => expect(timed.requests).toHaveLength(2));
      const second = await maskinporten.getToken();
      expect(second.accessToken).not.toBe(first.accessToken);
      now += 125_000; // far past both: the caller waits for a fresh one
      const third = await maskinporten.getToken();
      expect(third.expiresAt.getTime() - now).toBeGreaterThan(100_000);
      expect(timed.requests).toHaveLength(3);
    } finally {
      await timed.close();
    }
  });

  it('retries 503 and 429 with a fresh grant (new jti) each time', async () => {
    issuer.failNext({ count: 2, status: 503 });
    const client = createMaskinportenClient(options());
    await client.getToken();
    expect(issuer.requests.map((request) => request.status)).toEqual([503, 503, 200]);
    const jtis = issuer.requests.map((request) => request.grantClaims?.jti);
    expect(new Set(jtis).size).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    issuer.failNext({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow_down' } });
    const client = createMaskinportenClient(options());
    const started = Date.now();
    await client.getToken();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(issuer.requests).toHaveLength(2);
  });

  it('gives up after the retry limit with a retryable TOKEN_REQUEST_FAILED', async () => {
    issuer.failNext({ count: 10, status: 502, body: '<html>Bad gateway</html>' });
    const error = await rejectionOf(createMaskinportenClient(options({ retry: { limit: 2, baseDelayMs: 1 } })).getToken());
    expect(error.code).toBe('TOKEN_REQUEST_FAILED');
    expect(error.isRetryable).toBe(true);
    expect(issuer.requests).toHaveLength(3);
  });

  it('never retries an OAuth error and explains the MP code', async () => {
    const error = await rejectionOf(createMaskinportenClient(options({ scope: 'entur:not-registered' })).getToken());
    expect(error.code).toBe('TOKEN_REQUEST_REJECTED');
    expect(error.error).toBe('invalid_scope');
    expect(error.mpCode).toMatch(/^MP-20[01]$/);
    expect(error.hint).toBeTruthy();
    expect(issuer.requests).toHaveLength(1);
  });

  it('maps an unknown kid / client to MP-100-style invalid_grant', async () => {
    const error = await rejectionOf(createMaskinportenClient(options({ clientId: 'unknown-client' })).getToken());
    expect(error.code).toBe('TOKEN_REQUEST_REJECTED');
    expect(error.error).toBe('invalid_grant');
    expect(error.mpCode).toBe('MP-100');
  });

  it('fails within the timeout when the server never answers, counting every attempt', async () => {
    issuer.hang(5);
    const started = Date.now();
    const error = await rejectionOf(createMaskinportenClient(options({ timeout: 300, retry: { limit: 1, baseDelayMs: 1 } })).getToken());
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('(2 attempts)');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a refused connection as a retryable NETWORK_ERROR', async () => {
    const client = createMaskinportenClient(options({ tokenEndpoint: 'http://127.0.0.1:9/token', retry: { limit: 1, baseDelayMs: 1 } }));
    const error = await rejectionOf(client.getToken());
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.isRetryable).toBe(true);
  });

  it('works with the server clock 5 s off, and fails with MP-130 when it is 60 s off', async () => {
    issuer.setClockOffset(5);
    expect((await createMaskinportenClient(options()).getToken()).scope).toBe(scope);
    issuer.setClockOffset(60);
    const error = await rejectionOf(createMaskinportenClient(options()).getToken());
    expect(error.mpCode).toBe('MP-130');
    expect(error.hint).toMatch(/clock/);
    issuer.setClockOffset(0);
  });

  it('rejects a metadata document whose issuer differs', async () => {
    const client = createMaskinportenClient(options({ issuer: issuer.issuer.replace('127.0.0.1', 'localhost') }));
    const error = await rejectionOf(client.getToken());
    expect(error.code).toBe('DISCOVERY_FAILED');
    expect(error.message).toContain(issuer.issuer);
  });

  it('lets a caller abort its wait', async () => {
    issuer.setLatency(500);
    const controller = new AbortController();
    const pending = createMaskinportenClient(options()).getToken({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await rejectionOf(pending)).code).toBe('ABORTED');
    issuer.setLatency(0);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const client = createMaskinportenClient(
      options({ fetch: async (input, init) => {
        seen.push(input instanceof Request ? input.url : String(input));
        return fetch(input, init);
      } }),
    );
    await client.getToken();
    expect(seen).toEqual([issuer.metadataUrl, issuer.tokenEndpoint]);
  });

  it('never shows the access token, grant or key in String/JSON/inspect or logs', async () => {
    const lines: string[] = [];
    const logger = {
      debug: (...args: unknown[]) => lines.push(inspect(args, { depth: 10 })),
      info: (...args: unknown[]) => lines.push(inspect(args, { depth: 10 })),
      warn: (...args: unknown[]) => lines.push(inspect(args, { depth: 10 })),
    };
    issuer.failNext({ status: 503 });
    const client = createMaskinportenClient(options({ logger }));
    const token = await client.getToken();
    const grant = issuer.requests.at(-1)!.parameters.assertion!;
    const keyBody = registered.privateKey.split('\n')[1]!;
    const texts = [String(token), JSON.stringify(token), inspect(token, { depth: 10, showHidden: true }), inspect(client, { depth: 10 }), JSON.stringify(client), ...lines];
    expect(lines.some((line) => line.includes('token received'))).toBe(true);
    for (const text of texts) {
      expect(text).not.toContain(token.accessToken);
      expect(text).not.toContain(grant);
      expect(text).not.toContain(keyBody);
    }
    expect(decodeJwt(token.accessToken).aud).toBe(resource);
  });
});

describe('a server that sends headers and then stalls the body', () => {
  it('fails with TIMEOUT within the configured timeout instead of hanging', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      if (request.url?.startsWith('/.well-known')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"issuer":');
        return; // never ends
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const started = Date.now();
      const client = createMaskinportenClient(options({ issuer: `http://127.0.0.1:${port}`, timeout: 300, retry: false }));
      const error = await rejectionOf(client.getToken());
      expect(error.code).toBe('DISCOVERY_FAILED');
      expect(error.cause?.name).toBe('TimeoutError');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
