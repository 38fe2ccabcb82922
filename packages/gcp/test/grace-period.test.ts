// A refresh that fails with a retryable error inside google-auth-library's refresh window (5 minutes before
// expiry when impersonating, 15 s without) keeps the still-valid Google access token in use until the safety
// margin. google-auth-library reads `new Date()`, so these tests move the system time (vi.setSystemTime mocks
// Date only; timers stay real).
import { Storage } from '@google-cloud/storage';
import type { Logger } from '@skyporten/core';
import { skyportenCredentials, type SkyportenIdentityPoolClient } from '@skyporten/gcp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BUCKET, CONTENT, OBJECT, SERVICE_ACCOUNT, issuedTokens, setup, type Setup } from './fixtures.js';

let current: Setup | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await current?.close();
  current = undefined;
});

const START = Date.UTC(2026, 0, 5, 8, 0, 0);

/** A logger whose every call is recorded. */
function recordingLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn() } satisfies Logger;
}

/** A mock issuer and GCP project (600-s impersonated tokens unless told), and credentials for them. */
async function start(options: { impersonate?: boolean; safetyMarginSeconds?: number } = {}) {
  vi.setSystemTime(START);
  const impersonate = options.impersonate ?? true;
  current = await setup({
    accessTokenLifetimeSeconds: 600,
    ...(impersonate ? {} : { bindings: (clientAccess: string) => [{ bucket: BUCKET, principalSet: clientAccess }] }),
  });
  const { gcp, maskinporten } = current;
  const logger = recordingLogger();
  const credentials: SkyportenIdentityPoolClient = skyportenCredentials({
    maskinporten: maskinporten(),
    audience: gcp.audience,
    tokenUrl: gcp.stsTokenUrl,
    ...(impersonate ? { serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT) } : {}),
    ...(options.safetyMarginSeconds === undefined ? {} : { safetyMarginSeconds: options.safetyMarginSeconds }),
    logger,
    env: false,
  });
  const storage = new Storage({ authClient: credentials, apiEndpoint: gcp.storageEndpoint, useAuthWithCustomEndpoint: true, projectId: 'data-provider' });
  async function accessToken(): Promise<string> {
    const { token } = await credentials.getAccessToken();
    if (typeof token !== 'string') throw new Error('getAccessToken gave no token');
    return token;
  }
  /** When the cached Google access token expires, in ms. */
  function expiresAt(): number {
    const expiry = credentials.credentials.expiry_date;
    if (typeof expiry !== 'number') throw new Error('no expiry_date');
    return expiry;
  }
  return { ...current, credentials, storage, logger, accessToken, expiresAt };
}

describe('grace period: a failed refresh inside google-auth-library\'s refresh window', () => {
  it('serves the cached token through an STS outage to getAccessToken, getRequestHeaders, request() and Storage, with a warning', async () => {
    const { gcp, issuer, credentials, storage, logger, accessToken, expiresAt } = await start();
    const cached = await accessToken();
    expect(expiresAt()).toBe(START + 600_000);
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });

    // 290 s left: google-auth-library refreshes (5 minutes early), STS fails on every attempt.
    vi.setSystemTime(START + 310_000);
    const [token, headers, response, [metadata]] = await Promise.all([
      accessToken(),
      credentials.getRequestHeaders(),
      credentials.request<{ name: string }>({ url: `${gcp.storageEndpoint}/storage/v1/b/${BUCKET}/o/${OBJECT}` }),
      storage.bucket(BUCKET).file(OBJECT).getMetadata(),
    ]);
    expect(token).toBe(cached);
    expect(headers.get('authorization')).toBe(`Bearer ${cached}`);
    expect(response.data.name).toBe(OBJECT);
    expect(metadata.name).toBe(OBJECT);
    // One shared refresh: google-auth-library's 1 attempt + 3 retries.
    expect(gcp.counters).toMatchObject({ stsCalls: 5, generateAccessTokenCalls: 1 });

    expect(logger.warn).toHaveBeenCalledOnce();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/refreshing the Google access token failed; the current one stays in use/),
      expect.objectContaining({ code: 'CLOUD_EXCHANGE_FAILED', status: 503, cloudCode: 'UNAVAILABLE', expiresAt: new Date(START + 600_000).toISOString() }),
    );
    expect(JSON.stringify([logger.debug.mock.calls, logger.info.mock.calls, logger.warn.mock.calls])).not.toContain(cached);
    expect(issuedTokens(issuer)).toBeGreaterThanOrEqual(1);
  });

  it('serves it through an IAM Credentials outage and a Maskinporten outage too', async () => {
    const { gcp, issuer, accessToken } = await start();
    const cached = await accessToken();
    gcp.failNext({ service: 'iamcredentials', count: 1000, status: 503 });
    vi.setSystemTime(START + 310_000);
    // The 120-s Skyporten token has expired by now: the Maskinporten client fetches a new one (still up here).
    expect(await accessToken()).toBe(cached);
    expect(gcp.counters.generateAccessTokenCalls).toBe(5);

    gcp.reset();
    issuer.failNext({ count: 1000, status: 503 });
    vi.setSystemTime(START + 500_000);
    expect(await accessToken()).toBe(cached);
    expect(gcp.counters.stsCalls).toBe(0);
  });

  it('throws the retryable error once the token is within the safety margin (min(60 s, 10 % of its lifetime))', async () => {
    const { gcp, accessToken } = await start();
    const cached = await accessToken();
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 539_000); // 61 s left
    expect(await accessToken()).toBe(cached);
    vi.setSystemTime(START + 541_000); // 59 s left
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503, cloudCode: 'UNAVAILABLE' });
  });

  it('takes safetyMarginSeconds, capped at a tenth of the lifetime', async () => {
    const { gcp, accessToken } = await start({ safetyMarginSeconds: 200 });
    const cached = await accessToken();
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 539_000); // 61 s left: beyond the cap of 60 s
    expect(await accessToken()).toBe(cached);
  });

  it('takes a smaller safetyMarginSeconds as is', async () => {
    const { gcp, accessToken } = await start({ safetyMarginSeconds: 5 });
    const cached = await accessToken();
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 594_000); // 6 s left
    expect(await accessToken()).toBe(cached);
    vi.setSystemTime(START + 596_000); // 4 s left
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true });
  });

  it('refuses a safetyMarginSeconds that is not a number of seconds', async () => {
    current = await setup();
    const { gcp, maskinporten } = current;
    for (const safetyMarginSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY, '60' as unknown as number]) {
      expect(() => skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, safetyMarginSeconds, env: false })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', field: 'safetyMarginSeconds' }),
      );
    }
  });

  it('does not mask non-retryable errors: permission denied and an audience mismatch are thrown at once', async () => {
    const { gcp, accessToken } = await start();
    await accessToken();
    vi.setSystemTime(START + 310_000);
    gcp.failNext({ service: 'iamcredentials',
      status: 403,
      body: { error: { code: 403, status: 'PERMISSION_DENIED', message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)." } },
    });
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: false, status: 403, cloudCode: 'PERMISSION_DENIED' });

    gcp.failNext({ service: 'sts', status: 400, body: { error: 'invalid_grant', error_description: 'The audience in ID Token [https://other.example.org] does not match the expected audience.' } });
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: false, status: 400, cloudCode: 'invalid_grant' });
  });

  it('keeps only a token it obtained itself: after setCredentials, a failed refresh is thrown, not an injected expired token served', async () => {
    const { gcp, credentials, accessToken } = await start();
    await accessToken();
    credentials.setCredentials({ access_token: 'injected-token', expiry_date: START + 60_000 });
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 120_000); // the injected token has expired; the one obtained before is still valid
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503 });
  });

  it('recovers after the outage: the next refresh gets a new token, which is then cached', async () => {
    const { gcp, accessToken } = await start();
    const cached = await accessToken();
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 310_000);
    expect(await accessToken()).toBe(cached);

    gcp.reset();
    vi.setSystemTime(START + 315_001); // past the 5-s cool-down after the failed refresh
    const fresh = await accessToken();
    expect(fresh).not.toBe(cached);
    expect(await accessToken()).toBe(fresh);
    expect(gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
  });

  it('does not retry STS on every call during an outage: a cool-down of 5 s follows each failed refresh', async () => {
    const { gcp, accessToken } = await start();
    const cached = await accessToken();
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(START + 310_000);
    expect(await accessToken()).toBe(cached);
    const afterFirst = gcp.counters.stsCalls;
    vi.setSystemTime(START + 314_000);
    const started = performance.now();
    expect(await Promise.all([accessToken(), accessToken()])).toEqual([cached, cached]);
    expect(performance.now() - started).toBeLessThan(500);
    expect(gcp.counters.stsCalls).toBe(afterFirst);
    vi.setSystemTime(START + 315_001);
    expect(await accessToken()).toBe(cached);
    expect(gcp.counters.stsCalls).toBeGreaterThan(afterFirst);
  });

  it('without impersonation: the federated token is kept from 15 s before expiry until its 12-s margin', async () => {
    const { gcp, accessToken, expiresAt } = await start({ impersonate: false });
    const cached = await accessToken();
    const expiry = expiresAt();
    expect(expiry - START).toBe(120_000);
    gcp.failNext({ service: 'sts', count: 1000, status: 503 });
    vi.setSystemTime(expiry - 14_000);
    expect(await accessToken()).toBe(cached);
    vi.setSystemTime(expiry - 11_000);
    await expect(accessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503 });
  });
});
