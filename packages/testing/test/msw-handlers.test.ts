import { decodeJwt } from 'jose';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createMockSkyportenHandlers } from '@skyporten/testing/msw';
import type { RegisteredClient } from '@skyporten/testing';
import { JWT_BEARER, RESOURCE, SCOPE, mpCode, requestToken, signGrant } from './helpers.js';

const skyporten = createMockSkyportenHandlers();
const maskinporten = createMockSkyportenHandlers({ issuer: 'https://test.maskinporten.no', trailingSlash: true });
const server = setupServer(...skyporten.handlers, ...maskinporten.handlers);
let client: RegisteredClient;

beforeAll(async () => {
  server.listen({ onUnhandledFrame: 'error' });
  client = await skyporten.registerClient({ scopes: [SCOPE] });
});
afterAll(async () => {
  server.close();
  await skyporten.close();
  await maskinporten.close();
});
beforeEach(() => {
  skyporten.reset();
  maskinporten.reset();
});

describe('msw handlers', () => {
  test('default issuer is Skyporten test, without trailing slash', async () => {
    expect(skyporten.issuer).toBe('https://test.sky.maskinporten.no');
    expect(skyporten.tokenEndpoint).toBe('https://test.sky.maskinporten.no/token');
    const metadata = (await (await fetch('https://test.sky.maskinporten.no/.well-known/openid-configuration')).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ issuer: 'https://test.sky.maskinporten.no', jwks_uri: 'https://test.sky.maskinporten.no/jwk' });
    const jwks = await (await fetch(skyporten.jwksUri)).json();
    expect(jwks).toEqual(skyporten.jwks());
  });

  test('issues a token for a valid grant', async () => {
    const grant = await signGrant({ client, audience: skyporten.issuer, claims: { resource: RESOURCE } });
    const { status, body, headers } = await requestToken(skyporten.tokenEndpoint, grant);
    expect(status).toBe(200);
    expect(headers.get('date')).not.toBeNull();
    const claims = await skyporten.verifyAccessToken(body['access_token'] as string, { audience: RESOURCE });
    expect(claims).toMatchObject({ iss: 'https://test.sky.maskinporten.no', sub: `${client.consumerId};${SCOPE}` });
    expect(skyporten.requests).toHaveLength(1);
  });

  test('enforces the same rules: trailing-slash aud is MP-110', async () => {
    const grant = await signGrant({ client, audience: 'https://test.sky.maskinporten.no/' });
    const { status, body } = await requestToken(skyporten.tokenEndpoint, grant);
    expect(status).toBe(400);
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-110');
  });

  test('a Maskinporten-style issuer keeps its trailing slash', async () => {
    expect(maskinporten.issuer).toBe('https://test.maskinporten.no/');
    expect(maskinporten.tokenEndpoint).toBe('https://test.maskinporten.no/token');
    const mpClient = await maskinporten.registerClient({ scopes: [SCOPE] });
    const grant = await signGrant({ client: mpClient, audience: 'https://test.maskinporten.no/' });
    const { status, body } = await requestToken(maskinporten.tokenEndpoint, grant);
    expect(status).toBe(200);
    expect(decodeJwt(body['access_token'] as string).iss).toBe('https://test.maskinporten.no/');
    expect(skyporten.requests).toHaveLength(0);
  });

  test('fault injection works in-process', async () => {
    skyporten.failNext({ status: 503, body: '<html>down</html>' });
    const grant = await signGrant({ client, audience: skyporten.issuer });
    const failed = await fetch(skyporten.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: grant }),
    });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toMatch(/text\/html/);
    expect((await requestToken(skyporten.tokenEndpoint, grant)).status).toBe(200);
  });

  test('hang: the request stays pending until the caller gives up', async () => {
    skyporten.hang();
    const pending = fetch(skyporten.tokenEndpoint, { method: 'POST', body: 'x', signal: AbortSignal.timeout(100) });
    await expect(pending).rejects.toThrow();
    expect(skyporten.requests[0]?.fault).toBe('hang');
  });

  test('requests to other hosts stay unhandled and fail', async () => {
    await expect(fetch('https://not-mocked.example/token')).rejects.toThrow();
  });
});
