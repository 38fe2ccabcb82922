// Tests of the app against real loopback servers: a mock Skyporten issuer and mock AWS STS + S3 from
// @skyporten/testing. Every byte goes over HTTP on 127.0.0.1, through the real AWS SDK and @skyporten/aws,
// so these tests also catch wiring mistakes (endpoints, region, role ARN) in the app.
import { SkyportenError } from '@skyporten/core';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';
import type { MockAws, MockSkyporten, RegisteredClient } from '@skyporten/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReportReader } from '../src/report.ts';
import type { ReportReader } from '../src/report.ts';
import { BROKEN_REPORT_KEY, BUCKET, ORGANISATION_NUMBER, REPORT_KEY, RESOURCE, ROLE_ARN, SCOPE, SHARED_OBJECTS, TRUSTED_SUBJECT } from './fixtures.ts';

let issuer: MockSkyporten;
let aws: MockAws;
let client: RegisteredClient;
const readers: ReportReader[] = [];

beforeAll(async () => {
  issuer = await createMockSkyporten();
  client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: TRUSTED_SUBJECT } }],
    buckets: { [BUCKET]: SHARED_OBJECTS },
  });
});
afterAll(async () => {
  await aws.close();
  await issuer.close();
});
afterEach(() => {
  for (const reader of readers.splice(0)) reader.destroy();
});

/** The app, configured as in production except for the endpoints and the key. */
function reader(overrides: { resource?: string; key?: string; retry?: false } = {}): ReportReader {
  const created = createReportReader({
    roleArn: ROLE_ARN,
    bucket: BUCKET,
    key: overrides.key ?? REPORT_KEY,
    s3Endpoint: aws.s3Endpoint,
    stsEndpoint: aws.stsEndpoint,
    maskinporten: {
      issuer: issuer.issuer,
      clientId: client.clientId,
      scope: SCOPE,
      resource: overrides.resource ?? RESOURCE,
      key: { privateKey: client.privateKey, kid: client.kid },
      ...(overrides.retry === undefined ? {} : { retry: overrides.retry }),
      env: false,
    },
  });
  readers.push(created);
  return created;
}

function tokenRequests(): number {
  return issuer.requests.filter((request) => request.method === 'POST').length;
}

describe('fetchSharedReport against the loopback mocks', () => {
  it('reads and sums the shared report, with one token and one STS call for many reads', async () => {
    const tokensBefore = tokenRequests();
    const stsBefore = aws.stsCalls;
    const app = reader();
    const reports = await Promise.all([app.fetchSharedReport(), app.fetchSharedReport(), app.fetchSharedReport()]);
    expect(reports[0]).toEqual({
      lines: [
        { line: 'L1', passengers: 42 },
        { line: 'R10', passengers: 17 },
        { line: 'F1', passengers: 5 },
      ],
      totalPassengers: 64,
      bytes: Buffer.byteLength(SHARED_OBJECTS[REPORT_KEY]),
    });
    expect(tokenRequests() - tokensBefore).toBe(1);
    expect(aws.stsCalls - stsBefore).toBe(1);
  });

  it('fails with CLOUD_EXCHANGE_FAILED / InvalidIdentityToken when the token has the wrong audience', async () => {
    const failure = reader({ resource: 'https://not-the-provider.example.org' }).fetchSharedReport();
    await expect(failure).rejects.toSatisfy(SkyportenError.isInstance);
    await expect(failure).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'InvalidIdentityToken' });
  });

  it('fails with TOKEN_REQUEST_FAILED while the issuer answers 503, and recovers when it is back', async () => {
    issuer.failNext({ status: 503 });
    const app = reader({ retry: false });
    await expect(app.fetchSharedReport()).rejects.toMatchObject({ code: 'TOKEN_REQUEST_FAILED', isRetryable: true });
    // Failures are not cached: the next call asks again and succeeds.
    await expect(app.fetchSharedReport()).resolves.toMatchObject({ totalPassengers: 64 });
  });

  it('reports a malformed object as the app\'s own error, after the credentials worked', async () => {
    await expect(reader({ key: BROKEN_REPORT_KEY }).fetchSharedReport()).rejects.toThrow(/Row 2 of the report/);
  });
});
