// Tests of the app with the mock issuer as msw handlers: the app keeps its production issuer
// (`environment: 'test'`, https://test.sky.maskinporten.no) and msw answers it in-process, so no issuer port
// and no URL to inject. AWS is the loopback mock; msw lets those requests through and fails on anything else.
import { createMockAws } from '@skyporten/testing';
import { createMockSkyportenHandlers } from '@skyporten/testing/msw';
import type { MockAws, RegisteredClient } from '@skyporten/testing';
import { http, HttpResponse, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import type { SetupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReportReader } from '../src/report.ts';
import type { ReportReader } from '../src/report.ts';
import { BUCKET, ORGANISATION_NUMBER, REPORT_KEY, RESOURCE, ROLE_ARN, SCOPE, SHARED_OBJECTS, TRUSTED_SUBJECT } from './fixtures.ts';

const skyporten = createMockSkyportenHandlers(); // https://test.sky.maskinporten.no
let aws: MockAws;
let server: SetupServer;
let client: RegisteredClient;
const readers: ReportReader[] = [];

beforeAll(async () => {
  client = await skyporten.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  aws = await createMockAws({
    issuer: skyporten, // fetches the JWKS from https://test.sky.maskinporten.no: msw answers that too
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: TRUSTED_SUBJECT } }],
    buckets: { [BUCKET]: SHARED_OBJECTS },
  });
  server = setupServer(...skyporten.handlers, http.all(`${aws.endpoint}/*`, () => passthrough()));
  server.listen({ onUnhandledFrame: 'error' });
});
afterEach(() => {
  server.resetHandlers();
  skyporten.reset();
  for (const reader of readers.splice(0)) reader.destroy();
});
afterAll(async () => {
  server.close();
  await aws.close();
  await skyporten.close();
});

function reader(overrides: { resource?: string } = {}): ReportReader {
  const created = createReportReader({
    roleArn: ROLE_ARN,
    bucket: BUCKET,
    key: REPORT_KEY,
    s3Endpoint: aws.s3Endpoint,
    stsEndpoint: aws.stsEndpoint,
    maskinporten: {
      environment: 'test',
      clientId: client.clientId,
      scope: SCOPE,
      resource: overrides.resource ?? RESOURCE,
      key: { privateKey: client.privateKey, kid: client.kid },
      retry: false,
      env: false,
    },
  });
  readers.push(created);
  return created;
}

describe('fetchSharedReport with the issuer as msw handlers', () => {
  it('reads the report through the production issuer URL', async () => {
    await expect(reader().fetchSharedReport()).resolves.toMatchObject({ totalPassengers: 64 });
    expect(skyporten.requests).toHaveLength(1);
    expect(skyporten.requests[0]).toMatchObject({ status: 200 });
  });

  it('fails with TOKEN_REQUEST_FAILED when a one-off msw handler makes the token endpoint answer 503', async () => {
    server.use(http.post(skyporten.tokenEndpoint, () => HttpResponse.json({ error: 'server_error' }, { status: 503 }), { once: true }));
    const app = reader();
    await expect(app.fetchSharedReport()).rejects.toMatchObject({ code: 'TOKEN_REQUEST_FAILED' });
    await expect(app.fetchSharedReport()).resolves.toMatchObject({ totalPassengers: 64 });
  });

  it('fails with CLOUD_EXCHANGE_FAILED when the audience is not one AWS trusts', async () => {
    await expect(reader({ resource: 'https://not-the-provider.example.org' }).fetchSharedReport()).rejects.toMatchObject({
      code: 'CLOUD_EXCHANGE_FAILED',
      cloudCode: 'InvalidIdentityToken',
    });
  });
});
