import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient } from '@skyporten/core';
import { createMockSkyporten, createTestProxy, type MockSkyporten, type TestProxy } from '@skyporten/testing';

// Node's fetch ignores HTTP(S)_PROXY; the client must route through it when set. This file sets the
// variables for its own worker only.
let issuer: MockSkyporten;
let proxy: TestProxy;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  proxy = await createTestProxy();
  process.env.HTTP_PROXY = proxy.url;
});

afterAll(async () => {
  delete process.env.HTTP_PROXY;
  await issuer.close();
  await proxy.close();
});

describe('proxy support', () => {
  it('sends discovery and token requests through HTTP_PROXY', async () => {
    const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
    const client = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: 'entur:skyporten.demo',
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    await client.getToken();
    expect(proxy.requests.length).toBeGreaterThanOrEqual(1);
    expect(proxy.requests.every((line) => line === `CONNECT ${issuer.url.host}` || line.includes(issuer.url.host))).toBe(true);
  });
});
