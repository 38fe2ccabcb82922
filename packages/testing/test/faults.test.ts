import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createMockSkyporten } from '@skyporten/testing';
import type { MockSkyporten, RegisteredClient } from '@skyporten/testing';
import { SCOPE, mpCode, requestToken, signGrant } from './helpers.js';

let issuer: MockSkyporten;
let client: RegisteredClient;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  client = await issuer.registerClient({ scopes: [SCOPE] });
});
afterAll(() => issuer.close());
beforeEach(() => {
  issuer.reset();
  issuer.setLatency(0);
  issuer.setClockOffset(0);
  issuer.setTokenLifetime(120);
});

const grant = (): Promise<string> => signGrant({ client, audience: issuer.issuer });

describe('failNext', () => {
  test('answers the failure N times, then processes again; the jti is not consumed', async () => {
    issuer.failNext({ count: 2, status: 503 });
    const assertion = await grant();
    const first = await requestToken(issuer.tokenEndpoint, assertion);
    expect(first.status).toBe(503);
    expect(first.body['error']).toBe('server_error');
    expect(first.headers.get('content-type')).toBe('application/json');
    expect((await requestToken(issuer.tokenEndpoint, assertion)).status).toBe(503);
    expect((await requestToken(issuer.tokenEndpoint, assertion)).status).toBe(200);
    expect(issuer.requests.map((record) => [record.status, record.fault])).toEqual([
      [503, 'failure'],
      [503, 'failure'],
      [200, null],
    ]);
    expect(issuer.requests[0]?.error).toBe('server_error');
    expect(issuer.requests[0]?.grantClaims?.jti).toBe(issuer.requests[2]?.grantClaims?.jti);
  });

  test('a string starting with "<" is sent as HTML', async () => {
    issuer.failNext({ status: 502, body: '<html><body>Bad gateway</body></html>' });
    const response = await fetch(issuer.tokenEndpoint, { method: 'POST', body: new URLSearchParams({ assertion: await grant() }) });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toBe('<html><body>Bad gateway</body></html>');
  });

  test('an object body is sent as JSON and its MP code recorded; headers are added', async () => {
    issuer.failNext(1, { // the deprecated (count, failure) form still works
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid assertion. Client authentication failed. (MP-100)' },
      headers: { 'X-Trace': 'abc' },
    });
    const response = await requestToken(issuer.tokenEndpoint, await grant());
    expect(response.status).toBe(400);
    expect(mpCode(response.body)).toBe('MP-100');
    expect(response.headers.get('x-trace')).toBe('abc');
    expect(issuer.requests[0]).toMatchObject({ error: 'invalid_grant', mpCode: 'MP-100', fault: 'failure' });
  });

  test('429 defaults to temporarily_unavailable and keeps Retry-After', async () => {
    issuer.failNext({ status: 429, headers: { 'Retry-After': '2' } });
    const response = await requestToken(issuer.tokenEndpoint, await grant());
    expect(response.status).toBe(429);
    expect(response.body['error']).toBe('temporarily_unavailable');
    expect(response.headers.get('retry-after')).toBe('2');
  });

  test('delayMs delays the failure', async () => {
    issuer.failNext({ status: 500, delayMs: 150 });
    const started = performance.now();
    const response = await requestToken(issuer.tokenEndpoint, await grant());
    expect(response.status).toBe(500);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('faults are queued in call order and cleared by reset()', async () => {
    issuer.failNext({ status: 500 });
    issuer.failNext({ status: 502 });
    expect((await requestToken(issuer.tokenEndpoint, await grant())).status).toBe(500);
    issuer.reset();
    expect((await requestToken(issuer.tokenEndpoint, await grant())).status).toBe(200);
    expect(issuer.requests).toHaveLength(1);
  });

  test('rejects a status outside 200–599', () => {
    expect(() => issuer.failNext({ status: 99 })).toThrow(/status/);
    expect(() => issuer.failNext({ count: 0, status: 500 })).toThrow(/count/);
  });
});

describe('latency and hang', () => {
  test('setLatency delays every response, metadata included', async () => {
    issuer.setLatency(120);
    let started = performance.now();
    await fetch(issuer.metadataUrl);
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    started = performance.now();
    expect((await requestToken(issuer.tokenEndpoint, await grant())).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  test('hang accepts and never answers; the next request is answered', async () => {
    issuer.hang();
    await expect(
      fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=x',
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toThrow(/abort|timeout/i);
    expect(issuer.requests[0]).toMatchObject({ fault: 'hang', status: null });
    expect((await requestToken(issuer.tokenEndpoint, await grant())).status).toBe(200);
  });

  test('close() drops hung requests and resolves promptly', async () => {
    const own = await createMockSkyporten();
    own.hang(1);
    const pending = fetch(own.tokenEndpoint, { method: 'POST', body: 'grant_type=x' });
    while (own.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    await own.close();
    await expect(pending).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('clock and lifetime', () => {
  test('the Date header follows the server clock, offset included', async () => {
    issuer.setClockOffset(3600);
    const response = await fetch(issuer.metadataUrl);
    const skew = Date.parse(response.headers.get('date') ?? '') - Date.now();
    expect(skew).toBeGreaterThan(3590_000);
    expect(skew).toBeLessThan(3610_000);
  });

  test('clockOffsetSeconds and clock options set the server clock', async () => {
    const fixed = Date.UTC(2031, 5, 1, 8, 0, 0);
    const own = await createMockSkyporten({ clock: () => fixed, clockOffsetSeconds: -60 });
    try {
      const response = await fetch(own.jwksUri);
      expect(response.headers.get('date')).toBe(new Date(fixed - 60_000).toUTCString());
      const ownClient = await own.registerClient({ scopes: [SCOPE] });
      const assertion = await signGrant({ client: ownClient, audience: own.issuer, now: fixed / 1000 - 60 });
      const { body } = await requestToken(own.tokenEndpoint, assertion);
      expect(decodeJwt(body['access_token'] as string).iat).toBe(fixed / 1000 - 60);
    } finally {
      await own.close();
    }
  });

  test('setTokenLifetime changes expires_in and exp - iat', async () => {
    issuer.setTokenLifetime(300);
    const { body } = await requestToken(issuer.tokenEndpoint, await grant());
    expect(body['expires_in']).toBe(300);
    const claims = decodeJwt(body['access_token'] as string);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
  });

  test('tokenLifetimeSeconds option', async () => {
    const own = await createMockSkyporten({ tokenLifetimeSeconds: 30 });
    try {
      const ownClient = await own.registerClient({ scopes: [SCOPE] });
      const { body } = await requestToken(own.tokenEndpoint, await signGrant({ client: ownClient, audience: own.issuer }));
      expect(body['expires_in']).toBe(30);
    } finally {
      await own.close();
    }
  });
});

describe('trailingSlash', () => {
  test('the issuer ends with "/" and aud must too', async () => {
    const own = await createMockSkyporten({ trailingSlash: true });
    try {
      expect(own.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(own.tokenEndpoint).toBe(`${own.issuer}token`);
      expect(((await (await fetch(own.metadataUrl)).json()) as { issuer: string }).issuer).toBe(own.issuer);
      const ownClient = await own.registerClient({ scopes: [SCOPE] });
      const wrong = await requestToken(own.tokenEndpoint, await signGrant({ client: ownClient, audience: own.issuer.slice(0, -1) }));
      expect(mpCode(wrong.body)).toBe('MP-110');
      const right = await requestToken(own.tokenEndpoint, await signGrant({ client: ownClient, audience: own.issuer }));
      expect(right.status).toBe(200);
      expect(decodeJwt(right.body['access_token'] as string).iss).toBe(own.issuer);
    } finally {
      await own.close();
    }
  });
});

describe('signAccessToken and verifyAccessToken', () => {
  test('signs with defaults that claims override', async () => {
    const token = await issuer.signAccessToken({ aud: 'https://a.example', sub: 'x', client_amr: 'virksomhetssertifikat' }, { expiresInSeconds: 60 });
    const claims = await issuer.verifyAccessToken(token, { audience: 'https://a.example' });
    expect(claims).toMatchObject({ iss: issuer.issuer, aud: 'https://a.example', sub: 'x', token_type: 'Bearer', client_amr: 'virksomhetssertifikat' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
  });

  test('verifyAccessToken rejects expired tokens and foreign signatures', async () => {
    const expired = await issuer.signAccessToken({ exp: Math.floor(Date.now() / 1000) - 60 });
    await expect(issuer.verifyAccessToken(expired)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    const other = await createMockSkyporten();
    try {
      const foreign = await other.signAccessToken({ iss: issuer.issuer });
      await expect(issuer.verifyAccessToken(foreign)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    } finally {
      await other.close();
    }
  });
});

describe('option validation', () => {
  test('bad options throw TypeErrors naming the option', async () => {
    await expect(createMockSkyporten({ latencyMs: -1 })).rejects.toThrow(/latencyMs/);
    await expect(createMockSkyporten({ tokenLifetimeSeconds: 0 })).rejects.toThrow(/tokenLifetimeSeconds/);
    await expect(issuer.registerClient({ scopes: [SCOPE], orgNo: '123456789' })).rejects.toThrow(/orgNo/);
    await expect(issuer.registerClient({ scopes: ['two scopes'] })).rejects.toThrow(/scopes/);
    await expect(issuer.registerClient({ scopes: [SCOPE], allowedResources: ['relative'] })).rejects.toThrow(/allowedResources/);
    await expect(issuer.registerClient({ scopes: [SCOPE], clientId: client.clientId })).rejects.toThrow(/already registered/);
  });

  test('registerClient defaults: scope, a valid org number, a generated PKCS#8 key', async () => {
    const registered = await issuer.registerClient();
    expect(registered).toMatchObject({ scopes: ['entur:skyporten.demo'], orgNo: '991825827', consumerId: '0192:991825827' });
    expect(registered.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(registered.publicJwk).toMatchObject({ kty: 'RSA', kid: registered.kid });
    const prefixed = await issuer.registerClient({ scopes: [SCOPE], orgNo: '0192:974760673' });
    expect(prefixed.orgNo).toBe('974760673');
  });
});
