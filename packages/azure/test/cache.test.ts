import { ClientAssertionCredential } from '@azure/identity';
import { createAssertionSupplier } from '@skyporten/azure';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLIENT_ID, STORAGE_SCOPE, startAzureWorld, type AzureWorld } from './fixtures.ts';

/**
 * Counts how often a Skyporten token is decoded (and checked), wherever: the adapter and core's adapter kit
 * both reach core's token module, so the count is taken there.
 */
const decodes = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../core/src/token.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('@skyporten/core/adapter')>();
  return {
    ...original,
    requireAudience(...args: Parameters<typeof original.requireAudience>) {
      decodes.count++;
      return original.requireAudience(...args);
    },
    decodeSkyportenToken(...args: Parameters<typeof original.decodeSkyportenToken>) {
      decodes.count++;
      return original.decodeSkyportenToken(...args);
    },
  };
});

describe('token caching', () => {
  let world: AzureWorld;
  beforeAll(async () => {
    // 60-s Entra tokens: MSAL treats a token within 5 minutes of expiry as expired, so every getToken
    // goes to Entra ID again; that is how these tests force Entra refreshes.
    world = await startAzureWorld({ accessTokenLifetimeSeconds: 60 });
  });
  afterAll(() => world?.close());

  it('gets the client assertion from the Maskinporten client\'s cache on every Entra ID request', async () => {
    world.entra.reset();
    world.issuer.reset();
    const maskinporten = world.maskinporten();
    const credential = world.credential({ maskinporten });
    decodes.count = 0;
    for (let round = 0; round < 5; round++) await credential.getToken(STORAGE_SCOPE);
    expect(world.entra.counters.tokenRequests).toBe(5);
    // @azure/identity asks for the assertion twice per getToken and the adapter once more up front: all
    // answered by one Skyporten token.
    expect(maskinporten.assertionCalls).toBeGreaterThanOrEqual(10);
    expect(world.maskinportenTokenRequests()).toBe(1);
    // ...and decoded once: the same token is not decoded again for each of those calls.
    expect(decodes.count).toBe(1);
  });

  it('lets @azure/identity cache the Entra ID token: a second getToken sends nothing', async () => {
    const longLived = await startAzureWorld({ accessTokenLifetimeSeconds: 3600 });
    try {
      const credential = longLived.credential();
      const first = await credential.getToken(STORAGE_SCOPE);
      const second = await credential.getToken(STORAGE_SCOPE);
      expect(second.token).toBe(first.token);
      expect(first.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);
      expect(longLived.entra.counters.tokenRequests).toBe(1);
      expect(longLived.maskinportenTokenRequests()).toBe(1);
    } finally {
      await longLived.close();
    }
  });

  it('shares one request between concurrent getToken calls (MSAL alone sends one per caller)', async () => {
    world.entra.reset();
    world.issuer.reset();
    const credential = world.credential();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => credential.getToken(STORAGE_SCOPE)));
    expect(new Set(tokens.map((token) => token.token)).size).toBe(1);
    expect(world.entra.counters.tokenRequests).toBe(1);
    expect(world.maskinportenTokenRequests()).toBe(1);
  });

  it('(why the adapter single-flights) a bare ClientAssertionCredential sends one Entra ID request per concurrent caller', async () => {
    world.entra.reset();
    world.issuer.reset();
    const bare = new ClientAssertionCredential(world.entra.tenantId, CLIENT_ID, createAssertionSupplier(world.maskinporten()), {
      authorityHost: world.entra.authorityHost,
      disableInstanceDiscovery: true,
    });
    await Promise.all(Array.from({ length: 20 }, () => bare.getToken(STORAGE_SCOPE)));
    expect(world.entra.counters.tokenRequests).toBeGreaterThan(1);
    expect(world.maskinportenTokenRequests()).toBe(1);
  });

  it('lets an aborted caller stop waiting without failing the others', async () => {
    world.entra.reset();
    const credential = world.credential();
    const controller = new AbortController();
    const aborted = credential.getToken(STORAGE_SCOPE, { abortSignal: controller.signal });
    const other = credential.getToken(STORAGE_SCOPE);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(other).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(world.entra.counters.tokenRequests).toBe(1);
  });
});
