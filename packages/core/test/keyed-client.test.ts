import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';
import { createMaskinportenClient, decodeSkyportenToken } from '../src/index.ts';
import { rejectionOf } from './helpers.ts';

// A supplier (leverandør) acting for many consumer organisations holds one client and one key.
const consumers = ['910753614', '987654325', '974760673'];
let issuer: MockSkyporten;
let supplier: RegisteredClient;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  supplier = await issuer.registerClient({
    scopes: ['entur:skyporten.demo', 'entur:skyporten.other'],
    delegations: consumers.map((consumerOrg) => ({ consumerOrg, scopes: ['entur:skyporten.demo', 'entur:skyporten.other'] })),
  });
});
afterAll(() => issuer.close());

function supplierClient(extra: { maxCachedKeys?: number } = {}) {
  return createMaskinportenClient({
    issuer: issuer.issuer,
    clientId: supplier.clientId,
    scope: 'entur:skyporten.demo',
    key: { privateKey: supplier.privateKey, kid: supplier.kid },
    env: false,
    ...extra,
  });
}

describe('client.with({ consumerOrg, scope, resource })', () => {
  it('one token per consumer, each for that consumer; none again while valid; one metadata request for all', async () => {
    const client = supplierClient();
    const before = issuer.requests.length;
    const tokens = await Promise.all(consumers.map((consumerOrg) => client.with({ consumerOrg }).getToken()));
    expect(issuer.requests.length - before).toBe(consumers.length);
    expect(tokens.map((token) => decodeSkyportenToken(token.accessToken).consumerOrg)).toEqual(consumers);
    const grants = issuer.requests.slice(before).map((request) => request.grantClaims?.consumer_org);
    expect(grants.sort()).toEqual([...consumers].sort());

    await Promise.all(consumers.map((consumerOrg) => client.with({ consumerOrg }).getToken()));
    expect(issuer.requests.length - before).toBe(consumers.length);
  });

  it('the same key is the same view; other scopes get their own token; the root client is with({})', async () => {
    const client = supplierClient();
    expect(client.with({ consumerOrg: consumers[0] })).toBe(client.with({ consumerOrg: `0192:${consumers[0]}` }));
    expect(client.with({})).toBe(client);
    const other = client.with({ scope: 'entur:skyporten.other' });
    expect(other.scope).toBe('entur:skyporten.other');
    const [a, b] = await Promise.all([client.getToken(), other.getToken()]);
    expect(a.scope).toBe('entur:skyporten.demo');
    expect(b.scope).toBe('entur:skyporten.other');
    expect(a.accessToken).not.toBe(b.accessToken);
  });

  it('drops the least recently used view beyond maxCachedKeys', () => {
    const client = supplierClient({ maxCachedKeys: 2 });
    const first = client.with({ consumerOrg: consumers[0] });
    client.with({ consumerOrg: consumers[1] });
    client.with({ consumerOrg: consumers[2] });
    expect(client.with({ consumerOrg: consumers[2] })).toBe(client.with({ consumerOrg: consumers[2] }));
    expect(client.with({ consumerOrg: consumers[0] })).not.toBe(first);
  });

  it('a bad key is a ConfigError naming the field, before any request', async () => {
    const client = supplierClient();
    const before = issuer.requests.length;
    expect(() => client.with({ consumerOrg: '123' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'consumerOrg' }));
    expect(() => client.with({ scope: 'not a scope' })).toThrow(expect.objectContaining({ field: 'scope' }));
    expect(issuer.requests.length).toBe(before);
  });

  it('a consumer without a delegation fails for that key only', async () => {
    const client = supplierClient();
    const error = await rejectionOf(client.with({ consumerOrg: '921627009' }).getToken());
    expect(error.code).toBe('TOKEN_REQUEST_REJECTED');
    await expect(client.with({ consumerOrg: consumers[1] }).getToken()).resolves.toBeDefined();
  });
});
