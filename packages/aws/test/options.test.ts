import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsFor, ROLE_ARN, startWorld, type World } from './setup.ts';

let world: World | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await world?.close();
  world = undefined;
});

/** A world on a fake clock and a provider for it; `at(secondsBeforeExpiry)` asks for credentials then. */
async function refreshing(options: Parameters<typeof credentialsFor>[1]) {
  const start = Date.parse('2026-01-05T08:00:00Z');
  let now = start;
  const clock = () => now;
  world = await startWorld({ clock });
  const current = world;
  const provider = credentialsFor(current, { maskinporten: current.maskinporten(undefined, clock), clock, durationSeconds: 43200, ...options });
  await provider();
  return {
    /** Asks for credentials this many seconds before they expire; resolves once STS was called `expected` times in all. */
    async at(secondsBeforeExpiry: number, expected: number) {
      now = start + (43200 - secondsBeforeExpiry) * 1000;
      await provider();
      // A refresh that should not start gets 200 ms to show up anyway.
      if (expected === current.aws.stsCalls) await new Promise((resolve) => setTimeout(resolve, 200));
      await expect.poll(() => current.aws.stsCalls).toBe(expected);
    },
  };
}

describe('credentialRefreshAheadSeconds', () => {
  it('starts the background refresh that long before expiry (default 600)', async () => {
    const custom = await refreshing({ credentialRefreshAheadSeconds: 1800 });
    await custom.at(1801, 1);
    await custom.at(1799, 2);
    await world?.close();

    const defaults = await refreshing({});
    await defaults.at(1799, 1);
    await defaults.at(599, 2);
  });

  it('the old name refreshWindowSeconds still works, with one DeprecationWarning per process; the new name wins over it', async () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const old = await refreshing({ refreshWindowSeconds: 1800 });
    await old.at(1799, 2);
    await world?.close();
    const both = await refreshing({ refreshWindowSeconds: 1800, credentialRefreshAheadSeconds: 900 });
    await both.at(1799, 1);
    await both.at(899, 2);
    await world?.close();
    await refreshing({ refreshWindowSeconds: 60 });

    expect(emitWarning).toHaveBeenCalledTimes(1);
    const [message, options] = emitWarning.mock.calls[0] as [string, { type: string; code: string }];
    expect(message).toContain('refreshWindowSeconds is deprecated: use credentialRefreshAheadSeconds');
    expect(options).toEqual({ type: 'DeprecationWarning', code: 'SKYPORTEN_DEP_AWS_REFRESHWINDOWSECONDS' });
  });
});

describe('explicit undefined', () => {
  it('every option given as undefined means its default or environment variable', async () => {
    world = await startWorld();
    const unset = process.env.SKYPORTEN_TEST_UNSET_VARIABLE;
    const provider = credentialsFor(world, {
      roleSessionName: unset,
      durationSeconds: undefined,
      chain: undefined,
      credentialRefreshAheadSeconds: undefined,
      refreshWindowSeconds: undefined,
      safetyMarginSeconds: undefined,
      logger: undefined,
      clock: undefined,
      clientConfig: { endpoint: world.aws.stsEndpoint, region: undefined, maxAttempts: undefined },
    });
    expect((await provider({ forceRefresh: undefined, callerClientConfig: undefined })).accessKeyId).toMatch(/^ASIA/);
    expect(world.aws.requests[0]).toMatchObject({ roleArn: ROLE_ARN, status: 200, roleSessionName: expect.stringMatching(/^skyporten-\d{9}-[0-9a-f]{8}$/) });
  });
});
