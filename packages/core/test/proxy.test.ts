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

describe('proxy support without undici', () => {
  it('names the fix when a proxy is set, Node does not handle it, and undici is missing', async () => {
    const { proxyAgentLoader } = await import('../src/http.ts');
    const { createMaskinportenClient: create } = await import('../src/index.ts');
    const original = proxyAgentLoader.load;
    proxyAgentLoader.loaded = undefined;
    proxyAgentLoader.load = () => Promise.reject(Object.assign(new Error("Cannot find package 'undici'"), { code: 'ERR_MODULE_NOT_FOUND' }));
    try {
      const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
      const client = create({
        issuer: issuer.issuer,
        clientId: registered.clientId,
        scope: 'entur:skyporten.demo',
        key: { privateKey: registered.privateKey, kid: registered.kid },
        env: false,
      });
      const error = await client.getToken().catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'HTTPS_PROXY' });
      expect((error as { hint: string }).hint).toContain('NODE_USE_ENV_PROXY=1');
      expect((error as { hint: string }).hint).toContain('npm install undici');
    } finally {
      proxyAgentLoader.load = original;
      proxyAgentLoader.loaded = undefined;
    }
  });
});
