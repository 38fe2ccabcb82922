import { describe, expect, it } from 'vitest';
import { createKeyedCache, createRefreshingCache, SkyportenError, type LoadContext } from '../src/adapter.ts';
import { manualClock, rejectionOf } from './helpers.ts';

interface Value {
  id: number;
  issuedAt: Date;
  expiresAt: Date;
}

const retryable = () => new SkyportenError('NETWORK_ERROR', 'down', { isRetryable: true });

function source(clock: ReturnType<typeof manualClock>, lifetimeMs = 100_000) {
  let loads = 0;
  let failWith: unknown;
  const contexts: LoadContext[] = [];
  const load = async (context: LoadContext): Promise<Value> => {
    loads++;
    contexts.push(context);
    if (failWith !== undefined) throw failWith;
    return { id: loads, issuedAt: new Date(clock()), expiresAt: new Date(clock() + lifetimeMs) };
  };
  return {
    load,
    contexts,
    get loads() {
      return loads;
    },
    fail(error: unknown) {
      failWith = error;
    },
  };
}

describe('keepOnRetryableFailure', () => {
  it('hands out the current value when a forced refresh fails retryably while it is usable, with one warning per failure and a cool-down', async () => {
    const clock = manualClock();
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error() {} };
    const values = source(clock);
    const cache = createRefreshingCache(values.load, { clock, name: 'test value', logger, keepOnRetryableFailure: true });
    const first = await cache.get();
    const failure = retryable();
    values.fail(failure);
    expect(await cache.get({ forceRefresh: true })).toBe(first);
    // Within the cool-down (min(5 s, 5 % of 100 s)) a forced get does not ask again.
    clock.advance(4_000);
    expect(await cache.get({ forceRefresh: true })).toBe(first);
    expect(values.loads).toBe(2);
    // After it, it asks again; the same failure warns once.
    clock.advance(2_000);
    expect(await cache.get({ forceRefresh: true })).toBe(first);
    expect(values.loads).toBe(3);
    expect(warnings.filter((message) => message.includes('stays in use'))).toHaveLength(1);
    values.fail(retryable());
    clock.advance(6_000);
    expect(await cache.get({ forceRefresh: true })).toBe(first);
    expect(warnings.filter((message) => message.includes('stays in use'))).toHaveLength(2);
    expect(values.loads).toBe(4);
  });

  it('throws a non-retryable failure, and any failure past the safety margin', async () => {
    const clock = manualClock();
    const values = source(clock);
    const cache = createRefreshingCache(values.load, { clock, name: 'test value', keepOnRetryableFailure: true });
    await cache.get();
    values.fail(new SkyportenError('CONFIG_INVALID', 'wrong'));
    expect((await rejectionOf(cache.get({ forceRefresh: true }))).code).toBe('CONFIG_INVALID');
    values.fail(retryable());
    clock.advance(95_000); // past min(10 s, 10 % of 100 s) before expiry
    expect(cache.peekUsable()).toBeUndefined();
    expect((await rejectionOf(cache.get())).code).toBe('NETWORK_ERROR');
  });

  it('without the option, a forced refresh that fails rejects', async () => {
    const clock = manualClock();
    const values = source(clock);
    const cache = createRefreshingCache(values.load, { clock, name: 'test value' });
    await cache.get();
    values.fail(retryable());
    expect((await rejectionOf(cache.get({ forceRefresh: true }))).code).toBe('NETWORK_ERROR');
  });
});

describe('loader context and peekUsable', () => {
  it('tells the loader the options of the call that started the fetch and the value it replaces', async () => {
    const clock = manualClock();
    const values = source(clock);
    const cache = createRefreshingCache(values.load, { clock, name: 'test value' });
    const first = await cache.get();
    await cache.get({ forceRefresh: true });
    expect(values.contexts[0]).toEqual({ options: {}, current: undefined });
    expect(values.contexts[1]).toEqual({ options: { forceRefresh: true }, current: first });
    expect(cache.peekUsable()?.id).toBe(2);
  });
});

describe('createKeyedCache', () => {
  it('one shared fetch per key, a value per key, least recently used dropped beyond maxKeys', async () => {
    const clock = manualClock();
    const loaded: string[] = [];
    const cache = createKeyedCache(
      async (key: string[]) => {
        loaded.push(key.join(' '));
        return { key, issuedAt: new Date(clock()), expiresAt: new Date(clock() + 60_000) };
      },
      { clock, name: 'keyed', maxKeys: 2 },
    );
    const [a, b, again] = await Promise.all([cache.get(['a']), cache.get(['b']), cache.get(['a'])]);
    expect(a).toBe(again);
    expect(a.key).toEqual(['a']);
    expect(b.key).toEqual(['b']);
    expect(loaded).toEqual(['a', 'b']);
    await cache.get(['c']); // drops 'b': 'a' was used after it
    expect(cache.size).toBe(2);
    await cache.get(['a']);
    expect(loaded).toEqual(['a', 'b', 'c']);
    await cache.get(['b']);
    expect(loaded).toEqual(['a', 'b', 'c', 'b']);
    cache.invalidate();
    await cache.get(['a']);
    expect(loaded).toHaveLength(5);
  });
});
