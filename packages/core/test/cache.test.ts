import { describe, expect, it } from 'vitest';
import { createRefreshingCache, SkyportenError } from '@skyporten/core';
import { manualClock, rejectionOf } from './helpers.ts';

interface Value {
  id: number;
  issuedAt: Date;
  expiresAt: Date;
}

function harness(lifetimeMs = 120_000) {
  const clock = manualClock();
  let loads = 0;
  const pending: { resolve: (value: Value) => void; reject: (error: unknown) => void }[] = [];
  let mode: 'immediate' | 'manual' | 'fail' = 'immediate';
  const load = () => {
    loads++;
    const value = { id: loads, issuedAt: new Date(clock()), expiresAt: new Date(clock() + lifetimeMs) };
    if (mode === 'fail') return Promise.reject(new SkyportenError('NETWORK_ERROR', `load ${loads} failed`, { isRetryable: true }));
    if (mode === 'immediate') return Promise.resolve(value);
    return new Promise<Value>((resolve, reject) => pending.push({ resolve: () => resolve(value), reject }));
  };
  const cache = createRefreshingCache(load, { clock, name: 'test value' });
  return {
    cache,
    clock,
    get loads() {
      return loads;
    },
    pending,
    setMode(next: typeof mode) {
      mode = next;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createRefreshingCache', () => {
  it('shares one load among 1,000 concurrent cold callers', async () => {
    const h = harness();
    h.setMode('manual');
    const all = Promise.all(Array.from({ length: 1000 }, () => h.cache.get()));
    expect(h.loads).toBe(1);
    h.pending[0]!.resolve(undefined as never);
    const values = await all;
    expect(new Set(values.map((value) => value.id))).toEqual(new Set([1]));
    expect(h.loads).toBe(1);
  });

  it('does not cache failures: the next caller tries again', async () => {
    const h = harness();
    h.setMode('fail');
    const [first, second] = await Promise.allSettled([h.cache.get(), h.cache.get()]);
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('rejected');
    expect(h.loads).toBe(1);
    h.setMode('immediate');
    await expect(h.cache.get()).resolves.toMatchObject({ id: 2 });
  });

  it('hands out the cached value until the refresh window, then refreshes in the background without waiting', async () => {
    const h = harness(120_000);
    await h.cache.get();
    h.clock.advance(89_000);
    expect((await h.cache.get()).id).toBe(1);
    expect(h.loads).toBe(1);
    h.setMode('manual');
    h.clock.advance(2_000); // 91 s old: inside the 30-s refresh window
    expect((await h.cache.get()).id).toBe(1);
    expect(h.loads).toBe(2);
    expect((await h.cache.get()).id).toBe(1); // still one background load
    expect(h.loads).toBe(2);
    h.pending[0]!.resolve(undefined as never);
    await flush();
    expect((await h.cache.get()).id).toBe(2);
  });

  it('keeps the still-valid value while background refreshes fail, then raises the error at the safety margin', async () => {
    const h = harness(120_000);
    await h.cache.get();
    h.setMode('fail');
    h.clock.advance(95_000);
    expect((await h.cache.get()).id).toBe(1);
    await flush();
    h.clock.advance(10_000); // 105 s: still before the 110-s margin
    expect((await h.cache.get()).id).toBe(1);
    await flush();
    h.clock.advance(6_000); // 111 s: inside the safety margin
    const error = await rejectionOf(h.cache.get());
    expect(error.code).toBe('NETWORK_ERROR');
    h.setMode('immediate');
    expect((await h.cache.get()).id).toBeGreaterThan(1);
  });

  it('scales with short lifetimes: a 4-s value is reused for most of its life', async () => {
    const h = harness(4_000);
    await h.cache.get();
    for (let elapsed = 0; elapsed < 2_900; elapsed += 100) {
      h.clock.advance(100);
      await h.cache.get();
    }
    expect(h.loads).toBe(1);
    h.clock.advance(700); // 3.6 s: past the margin (0.4 s before expiry)
    await h.cache.get();
    expect(h.loads).toBe(2);
  });

  it('never hands out a value past its safety margin', async () => {
    const h = harness(120_000);
    await h.cache.get();
    h.clock.advance(119_000);
    const value = await h.cache.get();
    expect(value.expiresAt.getTime() - h.clock()).toBeGreaterThan(10_000);
  });

  it('forceRefresh fetches anew and shares the fetch', async () => {
    const h = harness();
    await h.cache.get();
    const [a, b] = await Promise.all([h.cache.get({ forceRefresh: true }), h.cache.get({ forceRefresh: true })]);
    expect(a.id).toBe(2);
    expect(b.id).toBe(2);
    expect(h.loads).toBe(2);
  });

  it('does not store a load that was in flight when invalidate() was called', async () => {
    const h = harness();
    h.setMode('manual');
    const waiting = h.cache.get();
    h.cache.invalidate();
    h.pending[0]!.resolve(undefined as never);
    expect((await waiting).id).toBe(1);
    expect(h.cache.peek()).toBeUndefined();
  });

  it('lets one caller stop waiting with a signal while the shared load goes on', async () => {
    const h = harness();
    h.setMode('manual');
    const controller = new AbortController();
    const aborted = h.cache.get({ signal: controller.signal });
    const other = h.cache.get();
    controller.abort();
    const error = await rejectionOf(aborted);
    expect(error.code).toBe('ABORTED');
    h.pending[0]!.resolve(undefined as never);
    expect((await other).id).toBe(1);
  });
});
