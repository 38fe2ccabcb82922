import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createMockSkyporten } from '@skyporten/testing';
import type { MockSkyporten, RegisteredClient } from '@skyporten/testing';
import { ORG_BRREG, ORG_CONSUMER, ORG_DIGDIR, RESOURCE, SCOPE, mpCode, requestToken, signGrant } from './helpers.js';
import type { GrantInput } from './helpers.js';

let now = Date.UTC(2030, 0, 1, 12, 0, 0);
const nowSeconds = (): number => Math.floor(now / 1000);
let issuer: MockSkyporten;
let client: RegisteredClient;

beforeAll(async () => {
  issuer = await createMockSkyporten({ clock: () => now });
  client = await issuer.registerClient({ scopes: [SCOPE, 'entur:other'], orgNo: ORG_DIGDIR });
});
afterAll(() => issuer.close());
beforeEach(() => {
  issuer.reset();
  issuer.setClockOffset(0);
  now = Date.UTC(2030, 0, 1, 12, 0, 0);
});

async function send(input: Partial<GrantInput> = {}): Promise<{ status: number; error: unknown; code: string | null; body: Record<string, unknown> }> {
  const grant = await signGrant({ client, audience: issuer.issuer, now: nowSeconds(), ...input });
  const { status, body } = await requestToken(issuer.tokenEndpoint, grant);
  return { status, error: body['error'], code: mpCode(body), body };
}

test('the injected clock drives validation (control: a fresh grant passes)', async () => {
  expect((await send()).status).toBe(200);
});

describe('header', () => {
  test('HS256 is invalid_grant', async () => {
    const grant = await signGrant({
      client,
      audience: issuer.issuer,
      now: nowSeconds(),
      header: { alg: 'HS256', kid: client.kid },
      signingKey: new Uint8Array(32) as unknown as CryptoKey,
    });
    const { body } = await requestToken(issuer.tokenEndpoint, grant);
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-120');
  });

  test('PS256 is invalid_grant', async () => {
    const result = await send({ header: { alg: 'PS256', kid: client.kid } });
    expect(result.error).toBe('invalid_grant');
    expect(result.code).toBe('MP-120');
  });

  test('an unknown kid is MP-100', async () => {
    const result = await send({ header: { alg: 'RS256', kid: 'unknown-kid' } });
    expect(result).toMatchObject({ status: 400, error: 'invalid_grant', code: 'MP-100' });
  });

  test('neither kid nor x5c is MP-100', async () => {
    const result = await send({ header: { alg: 'RS256' } });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-100' });
    expect(result.body['error_description']).toMatch(/neither kid nor x5c/);
  });

  test("another client's kid is MP-100", async () => {
    const other = await issuer.registerClient({ scopes: [SCOPE] });
    const result = await send({ header: { alg: 'RS256', kid: other.kid }, signingKey: other.privateKey });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-100' });
  });
});

describe('iss and signature', () => {
  test('an unknown client id is MP-100', async () => {
    const result = await send({ claims: { iss: 'no-such-client' } });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-100' });
    expect(result.body['error_description']).toMatch(/Client not found/);
  });

  test('a grant signed by another key is MP-124', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const result = await send({ signingKey: privateKey });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-124' });
  });

  test('a client registered with its own public key (JWK) works', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const registered = await issuer.registerClient({ scopes: [SCOPE], publicKey, kid: 'my-key' });
    expect(registered.privateKey).toBe('');
    expect(registered.kid).toBe('my-key');
    const fromJwk = await issuer.registerClient({ scopes: [SCOPE], publicKey: registered.publicJwk, kid: 'my-key' });
    for (const current of [registered, fromJwk]) {
      const grant = await signGrant({ client: current, audience: issuer.issuer, now: nowSeconds(), signingKey: privateKey });
      expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
    }
  });
});

describe('aud', () => {
  test('the issuer with a trailing slash is MP-110', async () => {
    const result = await send({ audience: `${issuer.issuer}/` });
    expect(result).toMatchObject({ status: 400, error: 'invalid_grant', code: 'MP-110' });
    expect(result.body['error_description']).toMatch(/Invalid JWT claim aud/);
  });

  test('the token endpoint as aud is MP-110', async () => {
    expect((await send({ audience: issuer.tokenEndpoint })).code).toBe('MP-110');
  });

  test('an aud array is MP-110', async () => {
    expect((await send({ claims: { aud: [issuer.issuer] } })).code).toBe('MP-110');
  });

  test('a missing aud is MP-110', async () => {
    expect((await send({ claims: { aud: undefined } })).code).toBe('MP-110');
  });
});

describe('time', () => {
  test('iat 11 s in the past is MP-130, 10 s is fine', async () => {
    expect((await send({ now: nowSeconds() - 10 })).status).toBe(200);
    const result = await send({ now: nowSeconds() - 11 });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-130' });
  });

  test('iat 11 s in the future is MP-130', async () => {
    expect((await send({ now: nowSeconds() + 11 })).code).toBe('MP-130');
  });

  test('exp in the past is MP-130', async () => {
    const result = await send({ claims: { iat: nowSeconds() - 5, exp: nowSeconds() - 1 } });
    expect(result).toMatchObject({ error: 'invalid_grant', code: 'MP-130' });
    expect(result.body['error_description']).toMatch(/expired/);
  });

  test('exp - iat of 121 s is MP-130, 120 s is fine', async () => {
    expect((await send({ claims: { exp: nowSeconds() + 120 } })).status).toBe(200);
    expect((await send({ claims: { exp: nowSeconds() + 121 } })).code).toBe('MP-130');
  });

  test('missing iat or exp is MP-130', async () => {
    expect((await send({ claims: { iat: undefined } })).code).toBe('MP-130');
    expect((await send({ claims: { exp: undefined } })).code).toBe('MP-130');
  });

  test("the server's clock offset applies: a client 30 s behind is rejected, then accepted after correcting", async () => {
    issuer.setClockOffset(30);
    expect((await send()).code).toBe('MP-130');
    expect((await send({ now: nowSeconds() + 30 })).status).toBe(200);
  });

  test('maxGrantLifetimeSeconds and allowedClockSkewSeconds are configurable', async () => {
    const strict = await createMockSkyporten({ clock: () => now, maxGrantLifetimeSeconds: 30, allowedClockSkewSeconds: 2 });
    try {
      const strictClient = await strict.registerClient({ scopes: [SCOPE] });
      const grant = (claims: Record<string, unknown>): Promise<string> =>
        signGrant({ client: strictClient, audience: strict.issuer, now: nowSeconds(), claims });
      expect((await requestToken(strict.tokenEndpoint, await grant({ exp: nowSeconds() + 30 }))).status).toBe(200);
      expect(mpCode((await requestToken(strict.tokenEndpoint, await grant({ exp: nowSeconds() + 31 }))).body)).toBe('MP-130');
      expect(mpCode((await requestToken(strict.tokenEndpoint, await grant({ iat: nowSeconds() - 3 }))).body)).toBe('MP-130');
    } finally {
      await strict.close();
    }
  });
});

describe('jti', () => {
  test('a reused grant is MP-012 "Grant is used before"', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, now: nowSeconds() });
    expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
    const { status, body } = await requestToken(issuer.tokenEndpoint, grant);
    expect(status).toBe(400);
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-012');
    expect(body['error_description']).toMatch(/Grant is used before/);
  });

  test('reset() forgets used jtis', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, now: nowSeconds() });
    expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
    issuer.reset();
    expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
  });

  test('a missing jti is invalid_grant', async () => {
    const result = await send({ claims: { jti: undefined } });
    expect(result.error).toBe('invalid_grant');
    expect(result.body['error_description']).toMatch(/jti/);
  });
});

describe('scope', () => {
  test('an unregistered scope is invalid_scope MP-201', async () => {
    const result = await send({ claims: { scope: `${SCOPE} entur:secret` } });
    expect(result).toMatchObject({ status: 400, error: 'invalid_scope', code: 'MP-201' });
    expect(result.body['error_description']).toMatch(/entur:secret/);
  });

  test('a missing scope is invalid_scope MP-200', async () => {
    expect(await send({ claims: { scope: undefined } })).toMatchObject({ error: 'invalid_scope', code: 'MP-200' });
    expect(await send({ claims: { scope: '  ' } })).toMatchObject({ error: 'invalid_scope', code: 'MP-200' });
  });
});

describe('resource', () => {
  test('a relative resource is invalid_target', async () => {
    const result = await send({ claims: { resource: 'skyporten.example.org' } });
    expect(result).toMatchObject({ status: 400, error: 'invalid_target' });
  });

  test('a resource with a fragment, an empty array or a number is invalid_target', async () => {
    expect((await send({ claims: { resource: `${RESOURCE}#x` } })).error).toBe('invalid_target');
    expect((await send({ claims: { resource: [] } })).error).toBe('invalid_target');
    expect((await send({ claims: { resource: 42 } })).error).toBe('invalid_target');
  });

  test('allowedResources restricts the audiences', async () => {
    const restricted = await issuer.registerClient({ scopes: [SCOPE], allowedResources: [RESOURCE] });
    const ok = await send({ client: restricted, claims: { resource: RESOURCE } });
    expect(ok.status).toBe(200);
    const refused = await send({ client: restricted, claims: { resource: [RESOURCE, 'https://evil.example'] } });
    expect(refused.error).toBe('invalid_target');
    expect(refused.body['error_description']).toMatch(/evil\.example/);
  });
});

describe('consumer_org (delegation)', () => {
  let supplier: RegisteredClient;
  beforeAll(async () => {
    supplier = await issuer.registerClient({
      scopes: [SCOPE, 'entur:other'],
      orgNo: ORG_BRREG,
      delegations: [{ consumerOrg: ORG_CONSUMER, scopes: [SCOPE] }],
    });
  });

  test('a delegated scope gives a token for the consumer, with supplier and delegation_source', async () => {
    const result = await send({ client: supplier, claims: { consumer_org: ORG_CONSUMER, resource: RESOURCE } });
    expect(result.status).toBe(200);
    const claims = await issuer.verifyAccessToken(result.body['access_token'] as string);
    expect(claims).toMatchObject({
      sub: `0192:${ORG_CONSUMER};${SCOPE}`,
      consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${ORG_CONSUMER}` },
      supplier: { authority: 'iso6523-actorid-upis', ID: `0192:${ORG_BRREG}` },
      delegation_source: 'https://tt02.altinn.no/',
      client_id: supplier.clientId,
    });
  });

  test('a consumer that delegated nothing is MP-251', async () => {
    const result = await send({ client: supplier, claims: { consumer_org: ORG_DIGDIR } });
    expect(result).toMatchObject({ status: 400, error: 'invalid_scope', code: 'MP-251' });
  });

  test('a scope the consumer did not delegate is MP-251', async () => {
    const result = await send({ client: supplier, claims: { consumer_org: ORG_CONSUMER, scope: 'entur:other' } });
    expect(result).toMatchObject({ error: 'invalid_scope', code: 'MP-251' });
  });

  test('a delegated scope not registered on the supplier client is MP-201', async () => {
    const narrow = await issuer.registerClient({
      scopes: ['entur:other'],
      orgNo: ORG_BRREG,
      delegations: [{ consumerOrg: ORG_CONSUMER, scopes: [SCOPE] }],
    });
    expect((await send({ client: narrow, claims: { consumer_org: ORG_CONSUMER } })).code).toBe('MP-201');
  });

  test('an invalid consumer_org is invalid_request', async () => {
    expect((await send({ client: supplier, claims: { consumer_org: '123456789' } })).error).toBe('invalid_request');
  });

  test("consumer_org equal to the client's own org needs no delegation and adds no supplier", async () => {
    const result = await send({ claims: { consumer_org: ORG_DIGDIR } });
    expect(result.status).toBe(200);
    expect(await issuer.verifyAccessToken(result.body['access_token'] as string)).not.toHaveProperty('supplier');
  });
});
