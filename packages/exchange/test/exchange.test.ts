import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMaskinportenClient } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten } from '@skyporten/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenExchange, databricks, TokenExchangeError } from '../src/index.ts';

type Handler = (form: URLSearchParams, response: ServerResponse) => void;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function target(handler: Handler): Promise<{ url: string; forms: URLSearchParams[] }> {
  const forms: URLSearchParams[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const form = new URLSearchParams(body);
      forms.push(form);
      handler(form, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, forms };
}

async function maskinporten() {
  const issuer: MockSkyporten = await createMockSkyporten();
  closers.push(() => issuer.close());
  const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'], orgNo: '991825827' });
  return createMaskinportenClient({
    issuer: issuer.issuer, clientId: registered.clientId, scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org',
    key: { privateKey: registered.privateKey, kid: registered.kid }, env: false,
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('createTokenExchange', () => {
  it('sends an RFC 8693 request with the Skyporten token and caches the answer', async () => {
    const server = await target((form, response) => json(response, 200, { access_token: `dbx-${form.get('scope')}`, token_type: 'Bearer', expires_in: 3600 }));
    const exchange = createTokenExchange({ ...databricks({ workspace: server.url }), maskinporten: await maskinporten() });
    const tokens = await Promise.all([exchange.getToken(), exchange.getToken()]);
    expect(tokens[0]?.accessToken).toBe('dbx-all-apis');
    expect(await exchange.getAuthorizationHeader()).toBe('Bearer dbx-all-apis');
    expect(server.forms).toHaveLength(1);
    const form = server.forms[0];
    expect(form?.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(form?.get('subject_token_type')).toBe('urn:ietf:params:oauth:token-type:jwt');
    expect(form?.get('subject_token')?.split('.')).toHaveLength(3);
    expect(JSON.stringify(tokens[0])).not.toContain('dbx-all-apis');
  });

  it.each([
    ['an OAuth error', (response: ServerResponse) => json(response, 400, { error: 'invalid_grant', error_description: 'no matching federation policy' }), 'CLOUD_EXCHANGE_FAILED', /federation policy/],
    ['HTML', (response: ServerResponse) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), 'TOKEN_RESPONSE_INVALID', /HTML/],
    ['a redirect', (response: ServerResponse) => response.writeHead(302, { location: 'https://attacker.example/token' }).end(), 'CLOUD_EXCHANGE_FAILED', /final token endpoint/],
    ['no expires_in', (response: ServerResponse) => json(response, 200, { access_token: 'x', token_type: 'Bearer' }), 'TOKEN_RESPONSE_INVALID', /expires_in|how long/],
  ])('gives a typed error with a hint for %s, and caches nothing', async (_name, answer, code, hint) => {
    let calls = 0;
    const server = await target((_form, response) => { calls++; answer(response); });
    const exchange = createTokenExchange({ tokenEndpoint: `${server.url}/token`, maskinporten: await maskinporten() });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await exchange.getToken().catch((caught: unknown) => caught);
      expect(TokenExchangeError.isInstance(error)).toBe(true);
      expect((error as TokenExchangeError).code).toBe(code);
      expect((error as TokenExchangeError).hint).toMatch(hint);
    }
    expect(calls).toBe(2);
  });

  it('refuses plain http to a non-loopback host', () => {
    expect(() => createTokenExchange({ tokenEndpoint: 'http://example.org/token', maskinporten: { env: false } })).toThrow(/loopback/);
  });
});
