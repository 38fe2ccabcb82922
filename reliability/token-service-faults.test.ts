// The token service misbehaves: random 503s and slow answers, a total outage, a server that never answers.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeSkyportenToken, type SkyportenToken } from '@skyporten/core';
import { recordEmission } from './emissions.ts';
import { failureOf, manualClock, startWorld, type World } from './world.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A small seeded generator (mulberry32), so a failing schedule can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function expectUnexpired(token: SkyportenToken, now: number): void {
  expect(token.expiresAt.getTime()).toBeGreaterThan(now);
  expect(decodeSkyportenToken(token.accessToken).expiresAt!.getTime()).toBeGreaterThan(now);
}

describe('30 % of token requests answer 503 and 10 % take 2 s', () => {
  it('every getToken succeeds within the retry budget, requests stay bounded, no expired token', async () => {
    world = await startWorld();
    const { issuer } = world;
    const random = seededRandom(20_260_105);
    let slowAnswers = 0;
    let injected503 = 0;
    // Decides the fate of each request as it leaves: the mock's failNext answers it 503, or its latency is 2 s.
    const faultyFetch: typeof fetch = async (input, init) => {
      const roll = random();
      if (roll < 0.3) {
        issuer.failNext({ status: 503 });
        injected503++;
      } else if (roll < 0.4) {
        issuer.setLatency(2000);
        slowAnswers++;
      }
      try {
        return await fetch(input, init);
      } finally {
        issuer.setLatency(0);
      }
    };
    const retryLimit = 5;
    const client = world.client({ fetch: faultyFetch, timeout: 5000, retry: { limit: retryLimit, baseDelayMs: 5, maxDelayMs: 40 } });

    const calls = 30;
    const started = Date.now();
    for (let call = 0; call < calls; call++) {
      const token = await client.getToken({ forceRefresh: true });
      expectUnexpired(token, Date.now());
      recordEmission(token);
    }
    const requests = world.tokenRequests();
    expect(requests).toBe(calls + injected503);
    expect(requests).toBeLessThanOrEqual(calls * (retryLimit + 1));
    expect(injected503).toBeGreaterThan(0);
    expect(slowAnswers).toBeGreaterThan(0);
    // Bounded in time: the slow answers plus a little per request.
    expect(Date.now() - started).toBeLessThan(slowAnswers * 2000 + requests * 200 + 2000);
  }, 60_000);

  it('concurrent callers through the faults share requests: at most retry budget per refresh', async () => {
    world = await startWorld({ tokenLifetimeSeconds: 2 });
    const { issuer } = world;
    const random = seededRandom(7);
    const faultyFetch: typeof fetch = (input, init) => {
      if (random() < 0.3) issuer.failNext({ status: 503 });
      return fetch(input, init);
    };
    const client = world.client({ fetch: faultyFetch, retry: { limit: 5, baseDelayMs: 5, maxDelayMs: 40 } });
    const started = Date.now();
    let handedOut = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() - started < 3000) {
          const token = await client.getToken();
          expectUnexpired(token, Date.now());
          handedOut++;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }),
    );
    // 2-s tokens for 3 s: a handful of refreshes, each at most 6 attempts, whatever the number of callers.
    expect(handedOut).toBeGreaterThan(1000);
    expect(world.tokenRequests()).toBeLessThanOrEqual(8 * 6);
  });
});

describe('a total outage while a valid token is cached', () => {
  for (const outage of ['503', 'connection refused'] as const) {
    it(`(${outage}) serves the cached token until the safety margin, then a clear error, then recovers without a restart`, async () => {
      const clock = manualClock();
      world = await startWorld({ clock, tokenLifetimeSeconds: 120 });
      let down = false;
      const { issuer } = world;
      const outageFetch: typeof fetch = async (input, init) => {
        if (down && outage === 'connection refused') throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1'), { code: 'ECONNREFUSED' }) });
        if (down) issuer.failNext({ status: 503 });
        return fetch(input, init);
      };
      const client = world.client({ clock, fetch: outageFetch, retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 5 } });
      const first = await client.getToken();
      expect(first.expiresAt.getTime() - clock()).toBe(120_000);

      down = true;
      // Refresh window starts 30 s before expiry, safety margin is 10 s: until then, the cached token.
      for (const secondsAfter of [30, 60, 91, 95, 100, 105, 109.9]) {
        clock.advance(secondsAfter * 1000 - (clock() - first.issuedAt.getTime()));
        expect(await client.getToken()).toBe(first);
        await new Promise((resolve) => setTimeout(resolve, 30)); // let a background refresh fail
      }
      // Background refreshes are throttled by a cool-down, so the outage does not turn into a request storm.
      const duringOutage = world.tokenRequests();
      expect(duringOutage).toBeLessThanOrEqual(1 + 4 * 3);

      clock.advance(200); // 110.1 s: inside the safety margin
      const error = await failureOf(() => client.getToken());
      expect(error.code).toBe(outage === '503' ? 'TOKEN_REQUEST_FAILED' : 'NETWORK_ERROR');
      expect(error.isRetryable).toBe(true);
      expect(error.hint).toBeTruthy();
      clock.advance(15_000); // past expiry: still an error, never the expired token
      expect((await failureOf(() => client.getToken())).isRetryable).toBe(true);

      down = false;
      issuer.reset();
      const recovered = await client.getToken();
      expect(recovered).not.toBe(first);
      expectUnexpired(recovered, clock());
      expect(world.tokenRequests()).toBe(1);
    });
  }
});

describe('a server that accepts the connection and never answers', () => {
  it('fails with TIMEOUT within the configured timeout (no retries)', async () => {
    world = await startWorld();
    world.issuer.hang();
    const client = world.client({ timeout: 300, retry: false });
    const started = Date.now();
    const error = await failureOf(() => client.getToken(), 3000);
    expect(error.code).toBe('TIMEOUT');
    expect(error.isRetryable).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1300);
  });

  it('fails within attempts x timeout + backoff when every retry hangs too', async () => {
    world = await startWorld();
    world.issuer.hang(3);
    const client = world.client({ timeout: 250, retry: { limit: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const started = Date.now();
    const error = await failureOf(() => client.getToken(), 4000);
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3 * 250 + 2 * 20 + 1000);
    expect(world.tokenRequests()).toBe(3);
  });

  it('recovers on the next call once the server answers again', async () => {
    world = await startWorld();
    world.issuer.hang(1);
    const client = world.client({ timeout: 250, retry: false });
    expect((await failureOf(() => client.getToken())).code).toBe('TIMEOUT');
    const token = await client.getToken();
    expectUnexpired(token, Date.now());
  });

  it('a caller\'s signal stops its wait before the timeout', async () => {
    world = await startWorld();
    world.issuer.hang();
    const client = world.client({ timeout: 10_000, retry: false });
    const started = Date.now();
    const error = await failureOf(() => client.getToken({ signal: AbortSignal.timeout(150) }), 2000);
    expect(error.code).toBe('ABORTED');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
