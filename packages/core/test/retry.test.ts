import { describe, expect, it } from 'vitest';
import { NetworkError, SkyportenError, TokenRequestError } from '../src/errors.ts';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, parseRetryAfter, resolveRetryPolicy, withRetry } from '../src/retry.ts';
import { rejectionOf } from './helpers.ts';

describe('retry policy', () => {
  it('retries only retryable SkyportenErrors', () => {
    expect(isRetryable(new NetworkError('down'))).toBe(true);
    expect(isRetryable(new TokenRequestError('TOKEN_REQUEST_REJECTED', 'no'))).toBe(false);
    expect(isRetryable(new SkyportenError('ABORTED', 'stop', { isRetryable: true }))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });

  it('uses full jitter under a doubling ceiling and parses Retry-After', () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, () => 0.5)).toBe(100);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(400);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 10, () => 0.999)).toBeLessThan(5000);
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(resolveRetryPolicy(false).limit).toBe(0);
    expect(resolveRetryPolicy({ limit: 1, baseDelayMs: undefined } as unknown as { limit: number }).baseDelayMs).toBe(200);
  });

  it('runs a fresh attempt each time, honours Retry-After and stops at the limit', async () => {
    const waits: number[] = [];
    let calls = 0;
    const error = await rejectionOf(
      withRetry(
        async () => {
          calls++;
          throw new TokenRequestError('TOKEN_REQUEST_FAILED', 'busy', { isRetryable: true, retryAfterMs: calls === 1 ? 50_000 : 1000 });
        },
        { policy: resolveRetryPolicy(2), sleep: async (ms) => void waits.push(ms), random: () => 0 },
      ),
    );
    expect(error.code).toBe('TOKEN_REQUEST_FAILED');
    expect(calls).toBe(3);
    expect(waits).toEqual([30_000, 1000]);
  });

  it('does not start a wait that ends after the deadline', async () => {
    let now = 0;
    let calls = 0;
    await rejectionOf(
      withRetry(
        async () => {
          calls++;
          now += 900;
          throw new NetworkError('down');
        },
        { policy: { ...DEFAULT_RETRY_POLICY, limit: 10, deadlineMs: 1000 }, clock: () => now, sleep: async () => undefined, random: () => 0.5 },
      ),
    );
    expect(calls).toBe(1);
  });
});
