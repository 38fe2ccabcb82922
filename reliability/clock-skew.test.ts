// The token service's clock is off from ours (the mock's clock offset), as after a failed NTP sync.
import { afterEach, describe, expect, it } from 'vitest';
import { TokenRequestError } from '@skyporten/core';
import { failureOf, startWorld, type World } from './world.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('clock skew', () => {
  for (const offsetSeconds of [60, -60]) {
    it(`server ${offsetSeconds > 0 ? 'ahead' : 'behind'} by 60 s: fails at once with MP-130 and a clock hint, no retries`, async () => {
      world = await startWorld();
      world.issuer.setClockOffset(offsetSeconds);
      const client = world.client();
      const error = await failureOf(() => client.getToken());
      expect(error.code).toBe('TOKEN_REQUEST_REJECTED');
      expect(error).toBeInstanceOf(TokenRequestError);
      expect((error as TokenRequestError).mpCode).toBe('MP-130');
      expect(error.hint).toMatch(/clock/i);
      expect(error.isRetryable).toBe(false);
      expect(world.tokenRequests()).toBe(1);
    });
  }

  for (const offsetSeconds of [5, -5, 9, -9]) {
    it(`server off by ${offsetSeconds} s (within the 10 s Maskinporten allows): works, token not past expiry`, async () => {
      world = await startWorld();
      world.issuer.setClockOffset(offsetSeconds);
      const token = await world.client().getToken();
      expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now());
      expect(world.tokenRequests()).toBe(1);
    });
  }

  it('server 60 s behind with tokens that expire by its clock: expiresAt follows the token\'s exp, not expires_in', async () => {
    // Tokens are stamped by the server's clock; a server behind us issues tokens that expire 60 s early on ours.
    world = await startWorld({ allowedClockSkewSeconds: 90 });
    world.issuer.setClockOffset(-60);
    const token = await world.client().getToken();
    const remaining = token.expiresAt.getTime() - Date.now();
    expect(remaining).toBeGreaterThan(50_000);
    expect(remaining).toBeLessThanOrEqual(61_000);
  });

  it('recovers without a restart once the clocks agree again', async () => {
    world = await startWorld();
    world.issuer.setClockOffset(60);
    const client = world.client();
    expect((await failureOf(() => client.getToken())).code).toBe('TOKEN_REQUEST_REJECTED');
    world.issuer.setClockOffset(0);
    expect((await client.getToken()).expiresAt.getTime()).toBeGreaterThan(Date.now());
  });
});
