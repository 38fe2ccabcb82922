import { afterEach, describe, expect, it } from 'vitest';
import { STORAGE_SCOPE, startAzureWorld, type AzureWorld } from './fixtures.ts';

let world: AzureWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('MSAL throttling after Entra ID answered 5xx/429', () => {
  it('the locally replayed answer is still a retryable CloudExchangeError with the status and a hint about the wait', async () => {
    world = await startAzureWorld();
    world.entra.failNext({ count: 10, status: 503 });
    const credential = world.credential({ retryOptions: { maxRetries: 0 } });
    const first: unknown = await credential.getToken(STORAGE_SCOPE).catch((thrown: unknown) => thrown);
    expect(first).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', status: 503, isRetryable: true, cloudCode: 'AADSTS90033' });
    expect(world.entra.counters.tokenRequests).toBe(1);

    // MSAL does not ask Entra ID again for 60 s; it repeats the 503 itself.
    const replayed: unknown = await credential.getToken(STORAGE_SCOPE).catch((thrown: unknown) => thrown);
    expect(world.entra.counters.tokenRequests).toBe(1);
    expect(replayed).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', status: 503, isRetryable: true, cloudCode: 'AADSTS90033' });
    expect((replayed as { hint?: string }).hint).toMatch(/MSAL repeats that answer.*60 s/);
  });
});
