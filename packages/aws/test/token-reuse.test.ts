import { createWebIdentityTokenProvider } from '@skyporten/aws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsFor, startWorld, type World } from './setup.ts';

/** Counts how often the adapter decodes (and checks) a Skyporten token. */
const decodes = vi.hoisted(() => ({ count: 0 }));
vi.mock('@skyporten/core/adapter', async (importOriginal) => {
  const original = await importOriginal<typeof import('@skyporten/core/adapter')>();
  return {
    ...original,
    requireAudience(...args: Parameters<typeof original.requireAudience>) {
      decodes.count++;
      return original.requireAudience(...args);
    },
  };
});

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('one Skyporten token, decoded once', () => {
  it('five STS calls on one Skyporten token decode it once', async () => {
    world = await startWorld();
    const provider = credentialsFor(world);
    decodes.count = 0;
    for (let round = 0; round < 5; round++) await provider({ forceRefresh: true });
    expect(world.aws.stsCalls).toBe(5);
    expect(world.tokenRequests()).toBe(1);
    expect(decodes.count).toBe(1);
  });

  it('a new token is decoded (and checked) again', async () => {
    world = await startWorld();
    const maskinporten = world.maskinporten();
    const provider = credentialsFor(world, { maskinporten });
    decodes.count = 0;
    await provider();
    maskinporten.invalidate();
    await provider({ forceRefresh: true });
    expect(world.tokenRequests()).toBe(2);
    expect(decodes.count).toBe(2);
  });

  it('the web identity token provider decodes each token once', async () => {
    world = await startWorld();
    const getToken = createWebIdentityTokenProvider(world.maskinporten());
    decodes.count = 0;
    const tokens = await Promise.all([getToken(), getToken()]);
    tokens.push(await getToken(), await getToken());
    expect(new Set(tokens).size).toBe(1);
    expect(decodes.count).toBe(1);
  });
});
