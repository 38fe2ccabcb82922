import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createExchangedToken, createTokenExchange, databricks, rfc8693, TokenExchangeError, type ExchangeProtocol } from '../src/index.ts';
import { json, RESOURCE, serve, skyporten } from './helpers.ts';

describe('createTokenExchange', () => {
  it('sends an RFC 8693 request with the Skyporten token and caches the answer', async () => {
    const server = await serve((request, response) => json(response, 200, { access_token: `dbx-${new URLSearchParams(request.body).get('scope')}`, token_type: 'Bearer', expires_in: 3600 }));
    const { issuer, maskinporten } = await skyporten();
    const exchange = createTokenExchange({ ...databricks({ workspace: server.url }), maskinporten });
    const tokens = await Promise.all([exchange.getToken(), exchange.getToken()]);
    expect(tokens[0]?.accessToken).toBe('dbx-all-apis');
    expect(await exchange.getAuthorizationHeader()).toBe('Bearer dbx-all-apis');
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.url).toBe('/oidc/v1/token');
    const form = new URLSearchParams(server.received[0]?.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(form.get('subject_token_type')).toBe('urn:ietf:params:oauth:token-type:jwt');
    await expect(issuer.verifyAccessToken(form.get('subject_token') ?? '', { audience: RESOURCE })).resolves.toBeDefined();
    expect(JSON.stringify(tokens[0])).not.toContain('dbx-all-apis');
  });

  it.each([
    ['an OAuth error', (response: ServerResponse) => json(response, 400, { error: 'invalid_grant', error_description: 'no matching federation policy' }), 'CLOUD_EXCHANGE_FAILED', /federation policy/],
    ['HTML', (response: ServerResponse) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), 'TOKEN_RESPONSE_INVALID', /HTML/],
    ['a redirect', (response: ServerResponse) => response.writeHead(302, { location: 'https://attacker.example/token' }).end(), 'CLOUD_EXCHANGE_FAILED', /final token endpoint/],
    ['no expires_in', (response: ServerResponse) => json(response, 200, { access_token: 'x', token_type: 'Bearer' }), 'TOKEN_RESPONSE_INVALID', /expires_in|how long/],
  ])('gives a typed error with a hint for %s, and caches nothing', async (_name, answer, code, hint) => {
    const server = await serve((_request, response) => answer(response));
    const exchange = createTokenExchange({ tokenEndpoint: `${server.url}/token`, maskinporten: (await skyporten()).maskinporten });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await exchange.getToken().catch((caught: unknown) => caught);
      expect(TokenExchangeError.isInstance(error)).toBe(true);
      expect((error as TokenExchangeError).code).toBe(code);
      expect((error as TokenExchangeError).hint).toMatch(hint);
    }
    expect(server.received).toHaveLength(2);
  });

  it('refuses plain http to a non-loopback host', () => {
    expect(() => createTokenExchange({ tokenEndpoint: 'http://example.org/token', maskinporten: { env: false } })).toThrow(/loopback/);
  });

  it('sends through a custom protocol (the extension point): its request, its parsing, the same cache', async () => {
    const server = await serve((request, response) => json(response, 200, { token: `custom-for-${(JSON.parse(request.body) as { jwt: string }).jwt.length}`, ttl: 60 }));
    const protocol: ExchangeProtocol = {
      name: 'test login',
      buildRequest: (jwt) => ({ body: JSON.stringify({ jwt }), headers: { 'content-type': 'application/json' } }),
      parseResponse: (answer, now) => {
        const body = JSON.parse(answer.body) as { token: string; ttl: number };
        return createExchangedToken(body.token, 'Bearer', body.ttl, now, 'ttl');
      },
    };
    const exchange = createTokenExchange({ tokenEndpoint: `${server.url}/login`, protocol, maskinporten: (await skyporten()).maskinporten });
    const [first, second] = await Promise.all([exchange.getToken(), exchange.getToken()]);
    expect(first?.accessToken).toMatch(/^custom-for-\d{3,}$/);
    expect(second).toBe(first);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.headers['content-type']).toBe('application/json');
  });

  it('refuses RFC 8693 parameters next to a protocol, naming the field', () => {
    expect(() => createTokenExchange({ tokenEndpoint: 'https://target.example/token', protocol: rfc8693(), scope: 'all-apis', maskinporten: { env: false } })).toThrow(/scope is an RFC 8693 parameter/);
  });

  it('createExchangedToken refuses a token without a positive lifetime, naming the field', () => {
    expect(() => createExchangedToken('t', 'Bearer', 0, Date.now(), 'auth.lease_duration')).toThrow(/auth\.lease_duration/);
    expect(() => createExchangedToken('', 'Bearer', 60, Date.now())).toThrow(/without a token/);
  });
});
