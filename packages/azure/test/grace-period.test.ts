// A token request that fails with a retryable error inside MSAL's refresh window (5 minutes before expiry)
// keeps the still-valid Entra ID token in use until the safety margin. MSAL and the mocks read Date.now, so
// these tests move the system time (vi.setSystemTime mocks Date only; timers stay real).
import type { Logger } from '@skyporten/core';
import type { SkyportenCredentialsOptions } from '@skyporten/azure';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STORAGE_SCOPE, startAzureWorld, type AzureWorld } from './fixtures.ts';

let world: AzureWorld | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await world?.close();
  world = undefined;
});

const START = Date.UTC(2026, 0, 5, 8, 0, 0);
/** @azure/identity's pipeline: 1 attempt + 2 retries, 5-20 ms apart. */
const RETRY_OPTIONS = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };

/** A logger whose every call is recorded. */
function recordingLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn() } satisfies Logger;
}

/** A mock issuer and Entra ID issuing 600-s tokens, and a credential for them. */
async function start(overrides: SkyportenCredentialsOptions = {}) {
  vi.setSystemTime(START);
  world = await startAzureWorld({ accessTokenLifetimeSeconds: 600 });
  const logger = recordingLogger();
  const credential = world.credential({ retryOptions: RETRY_OPTIONS, logger, ...overrides });
  const { entra, issuer } = world;
  return { entra, issuer, credential, logger, token: async (scope = STORAGE_SCOPE) => (await credential.getToken(scope)).token };
}

describe('grace period: a failed refresh inside MSAL\'s refresh window', () => {
  it('serves the cached token through an Entra ID outage, also while MSAL replays the failure, with a warning', async () => {
    const { entra, credential, logger, token } = await start();
    const first = await credential.getToken(STORAGE_SCOPE);
    expect(first.expiresOnTimestamp).toBe(START + 600_000);
    entra.failNext({ count: 1000, status: 503 });

    // 290 s left: MSAL asks Entra ID again (it refreshes 5 minutes early), which fails on every attempt.
    vi.setSystemTime(START + 310_000);
    const during = await Promise.all(Array.from({ length: 20 }, () => credential.getToken(STORAGE_SCOPE)));
    expect(during.every((kept) => kept.token === first.token && kept.expiresOnTimestamp === first.expiresOnTimestamp)).toBe(true);
    expect(entra.counters.tokenRequests).toBe(1 + 1 + RETRY_OPTIONS.maxRetries);

    // MSAL's throttling replays the 503 without a request; the cached token is still handed out.
    vi.setSystemTime(START + 320_000);
    expect(await token()).toBe(first.token);
    expect(entra.counters.tokenRequests).toBe(4);

    const kept = logger.warn.mock.calls.filter(([message]) => /stays in use/.test(String(message)));
    expect(kept).toHaveLength(2);
    expect(kept[0]?.[1]).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'AADSTS90033', expiresAt: new Date(START + 600_000).toISOString() });
    expect(JSON.stringify([logger.debug.mock.calls, logger.info.mock.calls, logger.warn.mock.calls])).not.toContain(first.token);
  });

  it('serves it through a Maskinporten outage too', async () => {
    const { entra, issuer, token } = await start();
    const cached = await token();
    // The 120-s Skyporten token has expired by then; the token service answers 503.
    issuer.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 310_000);
    expect(await token()).toBe(cached);
    expect(entra.counters.tokenRequests).toBe(1);
  });

  it('serves it through a network outage of Entra ID too (connection refused)', async () => {
    const { entra, token } = await start();
    const cached = await token();
    await entra.close();
    vi.setSystemTime(START + 310_000);
    expect(await token()).toBe(cached);
  });

  it('throws the retryable error once the token is within the safety margin (min(60 s, 10 % of its lifetime))', async () => {
    const { entra, token } = await start();
    const cached = await token();
    entra.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 539_000); // 61 s left
    expect(await token()).toBe(cached);
    vi.setSystemTime(START + 541_000); // 59 s left (MSAL replays the 503)
    await expect(token()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503, cloudCode: 'AADSTS90033' });
  });

  it('within the safety margin, a failed refresh costs one attempt: asking for the kept token sends nothing more', async () => {
    const { issuer, token } = await start();
    await token();
    issuer.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 541_000); // 59 s left; the Skyporten token has expired, Maskinporten answers 503
    const before = issuer.requests.length;
    await expect(token()).rejects.toMatchObject({ code: 'TOKEN_REQUEST_FAILED', isRetryable: true });
    expect(issuer.requests.length - before).toBe(1);
  });

  it('takes safetyMarginSeconds, capped at a tenth of the lifetime', async () => {
    const { entra, token } = await start({ safetyMarginSeconds: 200 });
    const cached = await token();
    entra.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 539_000); // 61 s left: beyond the cap of 60 s
    expect(await token()).toBe(cached);
  });

  it('takes a smaller safetyMarginSeconds as is', async () => {
    const { entra, token } = await start({ safetyMarginSeconds: 5 });
    const cached = await token();
    entra.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 594_000); // 6 s left
    expect(await token()).toBe(cached);
    vi.setSystemTime(START + 596_000); // 4 s left
    await expect(token()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true });
  });

  it('refuses a safetyMarginSeconds that is not a number of seconds', async () => {
    world = await startAzureWorld();
    for (const safetyMarginSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY, '60' as unknown as number]) {
      expect(() => world?.credential({ safetyMarginSeconds })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'safetyMarginSeconds' }));
    }
  });

  it('does not mask non-retryable errors: a subject or audience mismatch is thrown at once', async () => {
    const { entra, token } = await start();
    await token();
    vi.setSystemTime(START + 310_000);
    entra.failNext({
      status: 400,
      code: 'invalid_client',
      message: 'AADSTS700213: No matching federated identity record found for presented assertion subject.',
    });
    await expect(token()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: false, status: 400, cloudCode: 'AADSTS700213' });
    entra.failNext({
      status: 400,
      code: 'invalid_client',
      message: 'AADSTS700212: No matching federated identity record found for presented assertion audience.',
    });
    await expect(token()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: false, cloudCode: 'AADSTS700212' });
  });

  it('keeps tokens per scopes: a scope never obtained gets the error', async () => {
    const { entra, token } = await start();
    await token();
    entra.failNext({ count: 1000, status: 503 });
    await expect(token('https://vault.azure.net/.default')).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true });
  });

  it('recovers after the outage: once MSAL asks again, a new token, which is then cached', async () => {
    const { entra, token } = await start();
    const cached = await token();
    entra.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 310_000);
    expect(await token()).toBe(cached);

    entra.reset();
    // MSAL replays the 503 for 60 s after it; the cached token covers that too.
    vi.setSystemTime(START + 340_000);
    expect(await token()).toBe(cached);
    expect(entra.counters.tokenRequests).toBe(0);
    vi.setSystemTime(START + 371_000);
    const fresh = await token();
    expect(fresh).not.toBe(cached);
    expect(await token()).toBe(fresh);
    expect(entra.counters.tokenRequests).toBe(1);
  });
});
