// Entra ID's token endpoint that fails: @azure/identity's pipeline retries with the same Skyporten token (the
// client assertion) or the adapter fails with a retryable CloudExchangeError, never mints a new Maskinporten token
// per retry, and recovers without a restart. The credential is asked directly (credential.getToken), as the AWS
// file asks its provider. Each test has its own issuer and mock Entra ID, so they run concurrently.
import tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it, vi, type TestContext } from 'vitest';
import { recordEmission, recordingLogger, rememberSecret } from './emissions.ts';
import { failureOf, RESOURCE, sleep, startWorld, SUBJECT } from './world.ts';

const azure = await import('@skyporten/azure').catch(() => undefined);
const { createLocalTlsCertificate, createMockEntraId } = await import('@skyporten/testing');
const CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** @azure/identity's pipeline: 1 attempt + 2 retries, 5-20 ms apart, so an outage costs milliseconds here. */
const RETRY_OPTIONS = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };

// @azure/identity demands https: one self-signed certificate for every mock Entra ID of this file, trusted once
// before the first TLS connection (Node caches its default trust store then).
const TEST_TLS = createLocalTlsCertificate();
tls.setDefaultCACertificates([...tls.getCACertificates('default'), TEST_TLS.cert]);

/** What the tests measured, printed once at the end for docs/reliability.md. */
const measured: Record<string, unknown> = {};
afterAll(() => {
  if (process.env.SKYPORTEN_PRINT_COUNTS) console.log('Entra ID failures, measured:', measured);
});

/** `clock` is the adapter's (its safety margin); MSAL itself reads Date.now. */
async function entraWorld(context: TestContext, accessTokenLifetimeSeconds = 3600, clock?: () => number) {
  const world = await startWorld();
  const entra = await createMockEntraId({
    issuer: world.issuer,
    tls: TEST_TLS,
    accessTokenLifetimeSeconds,
    applications: [{ clientId: CLIENT_ID, federatedCredentials: [{ issuer: world.issuer.issuer, subject: SUBJECT, audiences: [RESOURCE] }] }],
  });
  context.onTestFinished(async () => {
    await entra.close();
    await world.close();
  });
  const credential = azure!.skyportenCredentials({
    tenantId: entra.tenantId,
    clientId: CLIENT_ID,
    authorityHost: entra.authorityHost,
    maskinporten: world.client(),
    retryOptions: RETRY_OPTIONS,
    logger: recordingLogger(),
    ...(clock === undefined ? {} : { clock }),
    env: false,
  });
  recordEmission(credential);
  /** An Entra ID access token, remembered as a secret for the hygiene check. */
  async function accessToken(): Promise<string> {
    const { token } = await credential.getToken(STORAGE_SCOPE);
    rememberSecret(token);
    return token;
  }
  return { entra, accessToken, tokenRequests: world.tokenRequests, entraRequests: () => entra.counters.tokenRequests };
}

function cloudFields(error: unknown) {
  const { code, isRetryable, status, cloudCode, cloud } = error as { code?: string; isRetryable?: boolean; status?: number; cloudCode?: string; cloud?: string };
  return { code, isRetryable, status, cloudCode, cloud };
}

describe.skipIf(azure === undefined).concurrent('Entra ID failures', () => {
  const outages = [
    { name: '503 temporarily_unavailable', failure: { status: 503 }, cloudCode: 'AADSTS90033' },
    { name: '500 temporarily_unavailable', failure: { status: 500 }, cloudCode: 'AADSTS90033' },
    {
      name: '429 with Retry-After: 0',
      failure: { status: 429, error: 'temporarily_unavailable', errorDescription: 'AADSTS90055: Too many requests; try again later.', retryAfterSeconds: 0 },
      cloudCode: 'AADSTS90055',
    },
  ];
  for (const { name, failure, cloudCode } of outages) {
    it(`${name} twice: retried with the same Skyporten token, then a token; one Maskinporten token`, { timeout: 10_000 }, async (context) => {
      const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context);
      entra.failNext({ ...failure, count: 2 });
      await accessToken();
      expect(entraRequests()).toBe(3);
      expect(tokenRequests()).toBe(1);
      // Every attempt presented the same Skyporten token.
      expect(new Set(entra.requests.map((request) => request.assertionClaims?.jti)).size).toBe(1);
    });

    it(`${name} on every attempt: a retryable CLOUD_EXCHANGE_FAILED, one Maskinporten token, replayed by MSAL without a request`, { timeout: 10_000 }, async (context) => {
      const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context);
      entra.failNext({ ...failure, count: 1000 });
      const error = await failureOf(() => accessToken(), 8000);
      expect(cloudFields(error)).toEqual({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: failure.status, cloudCode, cloud: 'azure' });
      expect(error.message).toMatch(new RegExp(`^Entra ID did not issue a token for client id ${CLIENT_ID} .*\\(HTTP ${failure.status}\\)`));
      expect(error.hint).toMatch(/try|again/i);
      expect(entraRequests()).toBe(1 + RETRY_OPTIONS.maxRetries);
      measured[`${failure.status}AlwaysEntraRequests`] = entraRequests();
      expect(tokenRequests()).toBe(1);

      // A second caller during the outage: MSAL replays the answer without a request (its throttling), and the
      // adapter still reports it as retryable, with the status and a hint about the wait.
      const replayed = await failureOf(() => accessToken(), 8000);
      expect(cloudFields(replayed)).toEqual({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: failure.status, cloudCode, cloud: 'azure' });
      expect(replayed.hint).toMatch(/MSAL repeats that answer/);
      expect(entraRequests()).toBe(1 + RETRY_OPTIONS.maxRetries);
      expect(tokenRequests()).toBe(1);
    });
  }

  it('200 concurrent callers during an Entra ID outage: one request at a time, one Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context);
    entra.failNext({ count: 1000, status: 503 });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => accessToken()));
    const elapsed = Date.now() - started;
    for (const result of results) if (result.status === 'rejected') recordEmission(result.reason);
    expect(results.every((result) => result.status === 'rejected' && cloudFields(result.reason).code === 'CLOUD_EXCHANGE_FAILED')).toBe(true);
    expect(results.every((result) => result.status === 'rejected' && cloudFields(result.reason).isRetryable === true)).toBe(true);
    expect(entraRequests()).toBe(1 + RETRY_OPTIONS.maxRetries);
    expect(tokenRequests()).toBe(1);
    measured.concurrentOutage = { callers: 200, entraRequests: entraRequests(), maskinportenTokens: tokenRequests(), elapsedMs: elapsed };
  });

  it('150 concurrent callers while Entra ID fails twice: all get the token of the third request; one Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context);
    entra.failNext({ count: 2, status: 503 });
    const tokens = await Promise.all(Array.from({ length: 150 }, () => accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(entraRequests()).toBe(3);
    expect(tokenRequests()).toBe(1);
  });

  it('a total Entra ID outage while its token is cached: callers keep it through MSAL\'s refresh point until the safety margin, then a clear retryable error', { timeout: 12_000 }, async (context) => {
    // 302-s Entra tokens: MSAL treats them as fresh for 2-3 s (it refreshes 5 minutes before expiry); the
    // adapter's safety margin is min(60 s, 10 % of 302 s) = 30.2 s. The adapter's clock is moved to reach it.
    let clockOffsetMs = 0;
    const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context, 302, () => Date.now() + clockOffsetMs);
    const cached = await accessToken();
    entra.failNext({ count: 1000, status: 503 });
    const during = await Promise.all(Array.from({ length: 100 }, () => accessToken()));
    expect(during.every((token) => token === cached)).toBe(true);
    expect(entraRequests()).toBe(1);
    measured.cachedDuringOutage = { callers: 100, newEntraRequests: entraRequests() - 1 };

    // Past MSAL's refresh point (it compares whole seconds, so 2-3 s here) MSAL asks Entra ID, which fails; the
    // still-valid token is handed out instead of the error. Later calls get MSAL's replay of the 503 (no request)
    // and the same token.
    await sleep(3100);
    const inWindow = await Promise.all(Array.from({ length: 100 }, () => accessToken()));
    expect(inWindow.every((token) => token === cached)).toBe(true);
    expect(await accessToken()).toBe(cached);
    expect(entraRequests()).toBe(2 + RETRY_OPTIONS.maxRetries);
    measured.cachedInRefreshWindow = { callers: 101, newEntraRequests: entraRequests() - 1 };

    // Within the safety margin (30.2 s before expiry) the token is not handed out: a retryable error instead.
    clockOffsetMs = 272_000;
    const error = await failureOf(() => accessToken(), 8000);
    expect(cloudFields(error)).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503 });
    expect(entraRequests()).toBe(2 + RETRY_OPTIONS.maxRetries);
    expect(tokenRequests()).toBe(1);
  });
});

// Not concurrent: it moves Date.now, which every test of the file would see.
describe.skipIf(azure === undefined)('Entra ID recovery after a total outage', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('200 callers fail during the outage; MSAL asks again only after its 60-s throttle; then all get a token, same credential, one Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { entra, accessToken, tokenRequests, entraRequests } = await entraWorld(context);
    entra.failNext({ count: 1000, status: 503 });
    const failed = await Promise.allSettled(Array.from({ length: 200 }, () => accessToken()));
    for (const result of failed) if (result.status === 'rejected') recordEmission(result.reason);
    expect(failed.every((result) => result.status === 'rejected')).toBe(true);
    expect(entraRequests()).toBe(1 + RETRY_OPTIONS.maxRetries);

    // Entra ID is back, but MSAL replays the 503 without asking for 60 s.
    entra.reset();
    const replayed = await failureOf(() => accessToken(), 5000);
    expect(cloudFields(replayed)).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503 });
    expect(entraRequests()).toBe(0);

    // 61 s later (Date.now moved; the 120-s Skyporten token is still valid), the same credential recovers.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(entraRequests()).toBe(1);
    expect(tokenRequests()).toBe(1);
    measured.recovery = { replayedWithoutRequest: true, requestsAfterThrottle: entraRequests(), maskinportenTokens: tokenRequests() };
  });
});
