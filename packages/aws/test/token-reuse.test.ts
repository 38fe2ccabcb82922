import { createWebIdentityTokenProvider } from '@skyporten/aws';
import { requireAudience } from '@skyporten/core/adapter';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsFor, startWorld, type World } from './setup.ts';

// Every export of core's token module stays as it is, wrapped in a spy: the tests count how often a token is
// decoded (and checked), by the adapter or core's adapter kit (which calls the module directly, not the entry).
vi.mock('../../core/src/token.ts', { spy: true });
const decodes = vi.mocked(requireAudience);

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('one Skyporten token, decoded once', () => {
  it('five STS calls on one Skyporten token decode it once', async () => {
    world = await startWorld();
    const provider = credentialsFor(world);
    decodes.mockClear();
    for (let round = 0; round < 5; round++) await provider({ forceRefresh: true });
    expect(world.aws.stsCalls).toBe(5);
    expect(world.tokenRequests()).toBe(1);
    expect(decodes).toHaveBeenCalledTimes(1);
  });

  it('a new token is decoded (and checked) again', async () => {
    world = await startWorld();
    const maskinporten = world.maskinporten();
    const provider = credentialsFor(world, { maskinporten });
    decodes.mockClear();
    await provider();
    maskinporten.invalidate();
    await provider({ forceRefresh: true });
    expect(world.tokenRequests()).toBe(2);
    expect(decodes).toHaveBeenCalledTimes(2);
  });

  it('the web identity token provider decodes each token once', async () => {
    world = await startWorld();
    const getToken = createWebIdentityTokenProvider(world.maskinporten());
    decodes.mockClear();
    const tokens = await Promise.all([getToken(), getToken()]);
    tokens.push(await getToken(), await getToken());
    expect(new Set(tokens).size).toBe(1);
    expect(decodes).toHaveBeenCalledTimes(1);
  });
});
