// GCP STS, IAM Credentials and Storage that fail: the adapter (through google-auth-library's retries) retries with
// the same Skyporten token or fails with a retryable CloudExchangeError, never mints a new Maskinporten token per
// retry, and recovers without a restart. Each test has its own issuer and mock GCP, so they run concurrently.
import { Storage } from '@google-cloud/storage';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { recordEmission, recordingLogger, rememberSecret } from './emissions.ts';
import { failureOf, RESOURCE, SCOPE, ORGANISATION_NUMBER, sleep, startWorld } from './world.ts';

const gcp = await import('@skyporten/gcp').catch(() => undefined);
const { createMockGcp } = await import('@skyporten/testing');
const SERVICE_ACCOUNT = 'skyporten-reader@data-provider.iam.gserviceaccount.com';
const BUCKET = 'skyporten-demo';
const OBJECT = 'greeting.txt';
const CONTENT = 'Hei fra Skyporten!\n';

/** What the tests measured, printed once at the end for docs/reliability.md. */
const measured: Record<string, unknown> = {};
afterAll(() => {
  if (process.env.SKYPORTEN_PRINT_COUNTS) console.log('GCP STS failures, measured:', measured);
});

interface GcpWorldOptions {
  /** Impersonate SERVICE_ACCOUNT (the usual setup); otherwise the federated token reads the bucket directly. */
  impersonate?: boolean;
  /** Lifetime of impersonated tokens from the mock; google-auth-library refreshes them 5 minutes early. */
  accessTokenLifetimeSeconds?: number;
  /** The adapter's clock (its safety margin); google-auth-library itself reads `new Date()`. */
  clock?: () => number;
}

async function gcpWorld(context: TestContext, options: GcpWorldOptions = {}) {
  const impersonate = options.impersonate ?? true;
  const world = await startWorld();
  const clientAccess = `principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:${ORGANISATION_NUMBER}::${SCOPE}`;
  const mock = await createMockGcp({
    issuer: world.issuer,
    allowedAudiences: [RESOURCE],
    bindings: [impersonate ? { serviceAccountEmail: SERVICE_ACCOUNT, principalSet: clientAccess } : { bucket: BUCKET, principalSet: clientAccess }],
    buckets: { [BUCKET]: { [OBJECT]: CONTENT } },
    ...(options.accessTokenLifetimeSeconds === undefined ? {} : { accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds }),
  });
  context.onTestFinished(async () => {
    await mock.close();
    await world.close();
  });
  const credentials = gcp!.skyportenCredentials({
    maskinporten: world.client(),
    audience: mock.audience,
    tokenUrl: mock.stsTokenUrl,
    ...(impersonate ? { serviceAccountImpersonationUrl: mock.serviceAccountImpersonationUrl(SERVICE_ACCOUNT) } : {}),
    logger: recordingLogger(),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    env: false,
  });
  recordEmission(credentials);
  const storage = new Storage({
    authClient: credentials,
    apiEndpoint: mock.storageEndpoint,
    useAuthWithCustomEndpoint: true,
    projectId: 'data-provider',
    retryOptions: { maxRetries: 2, maxRetryDelay: 0.02, retryDelayMultiplier: 1.1 },
  });
  /** A Google access token, remembered as a secret for the hygiene check. */
  async function accessToken(): Promise<string> {
    const { token } = await credentials.getAccessToken();
    if (typeof token !== 'string') throw new Error('getAccessToken gave no token');
    rememberSecret(token);
    return token;
  }
  async function download(): Promise<string> {
    const [content] = await storage.bucket(BUCKET).file(OBJECT).download();
    return content.toString('utf8');
  }
  /**
   * Object metadata: a plain JSON request. (Storage's retries of a streamed download() hit an unhandled
   * ERR_STREAM_UNABLE_TO_PIPE in teeny-request, googleapis/google-cloud-node#8670, so the Storage-fault tests use this.)
   */
  async function metadata(): Promise<string | undefined> {
    const [resource] = await storage.bucket(BUCKET).file(OBJECT).getMetadata();
    return resource.name;
  }
  return { mock, credentials, accessToken, download, metadata, tokenRequests: world.tokenRequests };
}

function cloudFields(error: unknown) {
  const { code, isRetryable, status, cloudCode, cloud } = error as { code?: string; isRetryable?: boolean; status?: number; cloudCode?: string; cloud?: string };
  return { code, isRetryable, status, cloudCode, cloud };
}

describe.skipIf(gcp === undefined).concurrent('GCP STS failures', () => {
  // The mock answers Google's error JSON ({ error: { code, status, message } }), as Google's front end does for these.
  const outages = [
    { status: 503, cloudCode: 'UNAVAILABLE' },
    { status: 500, cloudCode: 'INTERNAL', body: { error: { code: 500, status: 'INTERNAL', message: 'Internal error encountered.' } } },
    { status: 429, cloudCode: 'RESOURCE_EXHAUSTED', body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for quota metric \'Token exchange requests\'.' } } },
  ];
  for (const { status, cloudCode, body } of outages) {
    const failure = body === undefined ? { status } : { status, body };
    it(`STS ${status} twice: retried with the same Skyporten token, then a token; one Maskinporten token`, { timeout: 10_000 }, async (context) => {
      const { mock, download, tokenRequests } = await gcpWorld(context);
      mock.failNext({ ...failure, service: 'sts', count: 2 });
      expect(await download()).toBe(CONTENT);
      expect(mock.counters).toMatchObject({ stsCalls: 3, generateAccessTokenCalls: 1, storageCalls: 1 });
      expect(tokenRequests()).toBe(1);
    });

    it(`STS ${status} on every attempt: a retryable CLOUD_EXCHANGE_FAILED, one Maskinporten token, then recovery`, { timeout: 10_000 }, async (context) => {
      const { mock, accessToken, tokenRequests } = await gcpWorld(context);
      mock.failNext({ ...failure, service: 'sts', count: 1000 });
      const error = await failureOf(() => accessToken(), 8000);
      expect(cloudFields(error)).toEqual({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status, cloudCode, cloud: 'gcp' });
      expect(error.message).toMatch(new RegExp(`GCP STS refused the token exchange \\(HTTP ${status}`));
      expect(error.hint).toMatch(/try again later/);
      // google-auth-library: 1 attempt + 3 retries (gaxios backoff 0.1 s, 0.5 s, 1.5 s)
      expect(mock.counters.stsCalls).toBe(4);
      measured[`sts${status}AlwaysStsCalls`] = mock.counters.stsCalls;
      expect(tokenRequests()).toBe(1);

      if (status === 503) {
        // Not cached: a second caller during the outage tries again (still on the same Skyporten token).
        await failureOf(() => accessToken(), 8000);
        expect(mock.counters.stsCalls).toBe(8);
        expect(tokenRequests()).toBe(1);
      }
      // Once STS answers, the next call succeeds without a restart.
      mock.reset();
      await accessToken();
      expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
      expect(tokenRequests()).toBe(1);
    });
  }

  it('IAM Credentials 503 twice: generateAccessToken retried, one STS exchange, one Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { mock, download, tokenRequests } = await gcpWorld(context);
    mock.failNext({ service: 'iamcredentials', count: 2, status: 503 });
    expect(await download()).toBe(CONTENT);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 3 });
    expect(tokenRequests()).toBe(1);
  });

  it('IAM Credentials 503 on every attempt: a retryable CLOUD_EXCHANGE_FAILED naming IAM Credentials, then recovery', { timeout: 10_000 }, async (context) => {
    const { mock, accessToken, tokenRequests } = await gcpWorld(context);
    mock.failNext({ service: 'iamcredentials', count: 1000, status: 503 });
    const error = await failureOf(() => accessToken(), 8000);
    expect(cloudFields(error)).toEqual({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503, cloudCode: 'UNAVAILABLE', cloud: 'gcp' });
    expect(error.message).toMatch(/IAM Credentials failed to impersonate/);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 4 });
    measured.iam503AlwaysCalls = { ...mock.counters };
    expect(tokenRequests()).toBe(1);
    mock.reset();
    await accessToken();
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    expect(tokenRequests()).toBe(1);
  });

  it('Storage 503 twice: Storage retries with the cached Google token; no new exchange, one Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { mock, metadata, tokenRequests } = await gcpWorld(context);
    mock.failNext({ service: 'storage', count: 2, status: 503 });
    expect(await metadata()).toBe(OBJECT);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1, storageCalls: 3 });
    expect(tokenRequests()).toBe(1);
  });

  it('Storage 503 on every attempt: Storage\'s own error (code 503), the credentials untouched, then recovery', { timeout: 10_000 }, async (context) => {
    const { mock, metadata, tokenRequests } = await gcpWorld(context);
    // maxRetries 2: three attempts, all answered 503.
    mock.failNext({ service: 'storage', count: 3, status: 503 });
    const error = (await metadata().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as { code?: unknown } | undefined;
    recordEmission(error);
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe(503);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1, storageCalls: 3 });
    measured.storage503AlwaysCalls = { ...mock.counters };
    expect(tokenRequests()).toBe(1);
    expect(await metadata()).toBe(OBJECT);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1, storageCalls: 4 });
    expect(tokenRequests()).toBe(1);
  });

  it('200 concurrent callers during an STS outage: one exchange at a time, one Maskinporten token, then recovery', { timeout: 10_000 }, async (context) => {
    const { mock, accessToken, tokenRequests } = await gcpWorld(context);
    mock.failNext({ service: 'sts', count: 1000, status: 503 });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => accessToken()));
    const elapsed = Date.now() - started;
    for (const result of results) if (result.status === 'rejected') recordEmission(result.reason);
    expect(results.every((result) => result.status === 'rejected' && cloudFields(result.reason).code === 'CLOUD_EXCHANGE_FAILED')).toBe(true);
    expect(results.every((result) => result.status === 'rejected' && cloudFields(result.reason).isRetryable === true)).toBe(true);
    expect(mock.counters.stsCalls).toBe(4);
    expect(tokenRequests()).toBe(1);
    measured.concurrentOutage = { callers: 200, stsCalls: mock.counters.stsCalls, maskinportenTokens: tokenRequests(), elapsedMs: elapsed };
    mock.reset();
    const tokens = await Promise.all(Array.from({ length: 200 }, () => accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    expect(tokenRequests()).toBe(1);
  });

  it('150 concurrent downloads while STS fails twice: all succeed on 3 STS calls, 1 impersonation, 1 Maskinporten token', { timeout: 10_000 }, async (context) => {
    const { mock, download, tokenRequests } = await gcpWorld(context);
    mock.failNext({ service: 'sts', count: 2, status: 503 });
    const contents = await Promise.all(Array.from({ length: 150 }, () => download()));
    expect(contents.every((content) => content === CONTENT)).toBe(true);
    expect(mock.counters).toMatchObject({ stsCalls: 3, generateAccessTokenCalls: 1, storageCalls: 150 });
    expect(tokenRequests()).toBe(1);
  });

  it('a total STS outage while the Google token is cached: callers keep it through google-auth-library\'s refresh point until the safety margin, then a clear error, then recovery', { timeout: 15_000 }, async (context) => {
    // 302-s impersonated tokens: google-auth-library treats them as fresh for 2 s (it refreshes 5 minutes early);
    // the adapter's safety margin is min(60 s, 10 % of 302 s) = 30.2 s. The adapter's clock is moved to reach it.
    let clockOffsetMs = 0;
    const { mock, accessToken, download, tokenRequests } = await gcpWorld(context, { accessTokenLifetimeSeconds: 302, clock: () => Date.now() + clockOffsetMs });
    const cached = await accessToken();
    mock.failNext({ service: 'sts', count: 1000, status: 503 });
    mock.failNext({ service: 'iamcredentials', count: 1000, status: 503 });
    const during = await Promise.all(Array.from({ length: 100 }, () => accessToken()));
    expect(during.every((token) => token === cached)).toBe(true);
    expect(await download()).toBe(CONTENT);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    measured.cachedDuringOutage = { callers: 101, newStsCalls: mock.counters.stsCalls - 1 };

    // Past google-auth-library's refresh point: its refresh fails (1 + 3 STS calls), and the still-valid token is
    // handed out instead of the error, to 100 concurrent callers and a download.
    await sleep(2100);
    const started = Date.now();
    const inWindow = await Promise.all(Array.from({ length: 100 }, () => accessToken()));
    const elapsed = Date.now() - started;
    expect(inWindow.every((token) => token === cached)).toBe(true);
    expect(mock.counters).toMatchObject({ stsCalls: 5, generateAccessTokenCalls: 1 });
    measured.cachedInRefreshWindow = { callers: 100, newStsCalls: mock.counters.stsCalls - 1, elapsedMs: elapsed };
    // A 5-s cool-down follows the failed refresh: later calls get the kept token without trying STS again.
    expect(await download()).toBe(CONTENT);
    expect(mock.counters.stsCalls).toBe(5);

    // Within the safety margin (30.2 s before expiry) the token is not handed out: a retryable error instead.
    clockOffsetMs = 272_000;
    const error = await failureOf(() => accessToken(), 8000);
    expect(cloudFields(error)).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', isRetryable: true, status: 503 });
    expect(tokenRequests()).toBe(1);

    mock.reset();
    expect(await accessToken()).not.toBe(cached);
    expect(tokenRequests()).toBe(1);
  });

  it('a total STS outage without impersonation: the cached federated token is used during the outage', { timeout: 10_000 }, async (context) => {
    const { mock, accessToken, download, tokenRequests } = await gcpWorld(context, { impersonate: false });
    const cached = await accessToken();
    mock.failNext({ service: 'sts', count: 1000, status: 503 });
    const during = await Promise.all(Array.from({ length: 100 }, () => accessToken()));
    expect(during.every((token) => token === cached)).toBe(true);
    expect(await download()).toBe(CONTENT);
    expect(mock.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 0 });
    expect(tokenRequests()).toBe(1);
  });
});
