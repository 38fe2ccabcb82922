import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient } from '../src/index.ts';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';
import { pumpForever, rejectionOf } from './helpers.ts';

// A hostile token endpoint / metadata server answers with a redirect to a second loopback server (the
// "attacker"); the grant must never reach it, and the error must be typed and not retried.
let issuer: MockSkyporten;
let registered: RegisteredClient;
let attacker: Server;
let attackerUrl: string;
const attackerRequests: string[] = [];
let redirector: Server;
let redirectorUrl: string;
let redirectStatus = 307;
let redirectorHits = 0;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

beforeAll(async () => {
  issuer = await createMockSkyporten();
  registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
  attacker = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      attackerRequests.push(`${request.method} ${request.url} ${body}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  attackerUrl = await listen(attacker);
  redirector = createServer((request, response) => {
    redirectorHits++;
    request.resume();
    response.writeHead(redirectStatus, { location: `${attackerUrl}/steal?x=secret` }).end();
  });
  redirectorUrl = await listen(redirector);
});

afterAll(async () => {
  await issuer.close();
  attacker.closeAllConnections();
  redirector.closeAllConnections();
  await Promise.all([new Promise((resolve) => attacker.close(resolve)), new Promise((resolve) => redirector.close(resolve))]);
});

function client(extra: { tokenEndpoint?: string; issuer?: string }) {
  return createMaskinportenClient({
    issuer: extra.issuer ?? issuer.issuer,
    ...(extra.tokenEndpoint ? { tokenEndpoint: extra.tokenEndpoint } : {}),
    clientId: registered.clientId,
    scope: 'entur:skyporten.demo',
    key: { privateKey: registered.privateKey, kid: registered.kid },
    retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 2 },
    timeout: 2000,
    env: false,
  });
}

describe('redirects are never followed', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it(`token request answered ${status}: TOKEN_RESPONSE_INVALID, not retried, nothing reaches the Location`, async () => {
      redirectStatus = status;
      redirectorHits = 0;
      attackerRequests.length = 0;
      const error = await rejectionOf(client({ tokenEndpoint: `${redirectorUrl}/token` }).getToken());
      expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
      expect(error.isRetryable).toBe(false);
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain(attackerUrl);
      expect(error.message).not.toContain('secret');
      expect(redirectorHits).toBe(1);
      expect(attackerRequests).toEqual([]);
    });

    it(`metadata request answered ${status}: DISCOVERY_FAILED, nothing reaches the Location`, async () => {
      redirectStatus = status;
      redirectorHits = 0;
      attackerRequests.length = 0;
      const error = await rejectionOf(client({ issuer: redirectorUrl }).getToken());
      expect(error.code).toBe('DISCOVERY_FAILED');
      expect(error.isRetryable).toBe(false);
      expect(error.message).toContain(`HTTP ${status}`);
      expect(redirectorHits).toBe(1);
      expect(attackerRequests).toEqual([]);
    });
  }
});

describe('discovery rules', () => {
  async function metadataServer(document: (origin: string) => object): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((request, response) => {
      request.resume();
      const origin = `http://${request.headers.host}`;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document(origin)));
    });
    const url = await listen(server);
    return { url, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
  }

  it('refuses a token_endpoint on another origin named by the metadata, and sends no grant there', async () => {
    attackerRequests.length = 0;
    const hostile = await metadataServer((origin) => ({ issuer: origin, token_endpoint: `${attackerUrl}/token` }));
    try {
      const error = await rejectionOf(client({ issuer: hostile.url }).getToken());
      expect(error.code).toBe('DISCOVERY_FAILED');
      expect(error.isRetryable).toBe(false);
      expect(error.message).toContain(attackerUrl);
      expect(attackerRequests).toEqual([]);
    } finally {
      await hostile.close();
    }
  });

  it('refuses metadata whose issuer differs from the configured one', async () => {
    attackerRequests.length = 0;
    const hostile = await metadataServer(() => ({ issuer: attackerUrl, token_endpoint: `${attackerUrl}/token` }));
    try {
      const error = await rejectionOf(client({ issuer: hostile.url }).getToken());
      expect(error.code).toBe('DISCOVERY_FAILED');
      expect(attackerRequests).toEqual([]);
    } finally {
      await hostile.close();
    }
  });
});

describe('response bodies are capped', () => {
  it('stops reading an endless 200 token body at 1 MiB: TOKEN_RESPONSE_INVALID, not retried, memory bounded', async () => {
    let requests = 0;
    let bytesSent = 0;
    const endless = createServer((request, response) => {
      requests++;
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' });
      pumpForever(response, (bytes) => (bytesSent += bytes));
    });
    const url = await listen(endless);
    try {
      const before = process.memoryUsage().rss;
      const started = Date.now();
      const error = await rejectionOf(client({ tokenEndpoint: `${url}/token` }).getToken());
      expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
      expect(error.isRetryable).toBe(false);
      expect(requests).toBe(1);
      expect(Date.now() - started).toBeLessThan(2000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The server could only push what the socket buffers took after the cap: a few MiB, not hundreds.
      expect(bytesSent).toBeLessThan(8 * 1024 * 1024);
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });
});

describe('token endpoint origin rules (unit)', async () => {
  const { processDiscoveryResponse } = await import('../src/discovery.ts');
  const issuerUrl = 'https://test.sky.maskinporten.no';
  const answer = (tokenEndpoint: string) => ({ status: 200, body: JSON.stringify({ issuer: issuerUrl, token_endpoint: tokenEndpoint }) });

  it('accepts a token endpoint on the issuer origin', () => {
    expect(processDiscoveryResponse(answer(`${issuerUrl}/token`), issuerUrl).token_endpoint).toBe(`${issuerUrl}/token`);
  });

  it('refuses a downgrade to http on the same host, and a loopback http endpoint for an https issuer', () => {
    expect(() => processDiscoveryResponse(answer('http://test.sky.maskinporten.no/token'), issuerUrl)).toThrow(/not on the issuer's origin/);
    expect(() => processDiscoveryResponse(answer('http://127.0.0.1:8080/token'), issuerUrl)).toThrow(/not on the issuer's origin/);
  });

  it('accepts another https origin only when named in trustedTokenEndpointOrigins, and never an http one', () => {
    const other = 'https://login.example.no';
    expect(() => processDiscoveryResponse(answer(`${other}/token`), issuerUrl)).toThrow(/not on the issuer's origin/);
    expect(processDiscoveryResponse(answer(`${other}/token`), issuerUrl, [other]).token_endpoint).toBe(`${other}/token`);
    expect(() => processDiscoveryResponse(answer('http://login.example.no/token'), issuerUrl, ['http://login.example.no'])).toThrow(/not on the issuer's origin/);
  });

  it('trustedTokenEndpointOrigins must be https origins: a ConfigError naming the option', () => {
    for (const bad of [['http://login.example.no'], ['https://login.example.no/'], ['https://login.example.no/token'], 'https://login.example.no']) {
      expect(() =>
        createMaskinportenClient({
          issuer: issuerUrl,
          clientId: 'c',
          scope: 'entur:a',
          key: { sign: async () => new Uint8Array(), kid: 'k' },
          trustedTokenEndpointOrigins: bad as string[],
          env: false,
        }),
      ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'trustedTokenEndpointOrigins' }));
    }
  });
});
