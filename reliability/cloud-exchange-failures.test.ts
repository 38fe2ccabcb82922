// A cloud STS that fails: the adapter retries with the same Skyporten token or fails clearly, and never mints a
// new Maskinporten token per retry. AWS here; GCP in gcp-sts-failures.test.ts, Entra ID in entra-failures.test.ts.
import * as aws from '@skyporten/aws';
import { createMockAws } from '@skyporten/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { recordEmission } from './emissions.ts';
import { failureOf, RESOURCE, startWorld, SUBJECT, type World } from './world.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

let world: World | undefined;
let closeAws: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeAws?.();
  await world?.close();
  world = undefined;
  closeAws = undefined;
});

async function awsWorld(maxAttempts = 3) {
  world = await startWorld();
  const mock = await createMockAws({ issuer: world.issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }] });
  closeAws = () => mock.close();
  const provider = aws.skyportenCredentials({
    roleArn: ROLE_ARN,
    maskinporten: world.client(),
    clientConfig: { endpoint: mock.stsEndpoint, maxAttempts },
    env: false,
  });
  return { mock, provider, tokenRequests: world.tokenRequests };
}

describe('AWS STS failures', () => {
  for (const failure of [
    { name: '500 InternalFailure', status: 500 },
    { name: '503 ServiceUnavailable', status: 503 },
    { name: '400 Throttling', status: 400, code: 'Throttling' },
  ]) {
    it(`${failure.name} twice: retried with the same token, then credentials; one Maskinporten token`, async () => {
      const { mock, provider, tokenRequests } = await awsWorld(3);
      mock.failNext({ ...failure, count: 2 });
      const credentials = await provider();
      recordEmission(credentials.accessKeyId);
      expect(credentials.accessKeyId).toMatch(/^ASIA/);
      expect(mock.stsCalls).toBe(3);
      expect(tokenRequests()).toBe(1);
    });

    it(`${failure.name} on every attempt: a CloudExchangeError after maxAttempts, one Maskinporten token`, async () => {
      const { mock, provider, tokenRequests } = await awsWorld(3);
      mock.failNext({ ...failure, count: 100 });
      const error = await failureOf(() => provider(), 20_000);
      expect(error.code).toBe('CLOUD_EXCHANGE_FAILED');
      expect((error as { cloud?: string }).cloud).toBe('aws');
      expect(error.message.length).toBeGreaterThan(20);
      expect(mock.stsCalls).toBe(3);
      expect(tokenRequests()).toBe(1);

      // The failure is not cached: once STS answers, the next call succeeds, still on the same token.
      mock.reset();
      expect((await provider()).accessKeyId).toMatch(/^ASIA/);
      expect(tokenRequests()).toBe(1);
    });
  }

  it('an outage of STS under 200 concurrent callers: one exchange at a time, one token', async () => {
    const { mock, provider, tokenRequests } = await awsWorld(2);
    mock.failNext({ count: 100, status: 503 });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => provider()));
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(mock.stsCalls).toBe(2);
    expect(tokenRequests()).toBe(1);
  });
});
