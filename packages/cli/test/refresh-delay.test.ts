import { describe, expect, it } from 'vitest';
import { refreshDelayMs } from '../src/commands/azure.ts';

const NOW = Date.UTC(2026, 0, 1);
const expiringIn = (seconds: number) => ({ expiresAt: new Date(NOW + seconds * 1000) });

describe('refreshDelayMs (azure token-file --watch)', () => {
  it('rewrites half-way to expiry, scaling with the lifetime', () => {
    expect(refreshDelayMs(expiringIn(120), NOW)).toBe(60_000);
    expect(refreshDelayMs(expiringIn(3600), NOW)).toBe(1_800_000);
    // Tokens living under a minute were rewritten every second (remaining - 60 s was negative).
    expect(refreshDelayMs(expiringIn(30), NOW)).toBe(15_000);
    expect(refreshDelayMs(expiringIn(59), NOW)).toBe(29_500);
    expect(refreshDelayMs(expiringIn(10), NOW)).toBe(5_000);
  });

  it('waits at least a second, also for an expired token', () => {
    expect(refreshDelayMs(expiringIn(1), NOW)).toBe(1_000);
    expect(refreshDelayMs(expiringIn(-5), NOW)).toBe(1_000);
  });
});
