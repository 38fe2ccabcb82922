import { S3Client } from '@aws-sdk/client-s3';
import { skyportenCredentials, type SkyportenCredentialsOptions } from '@skyporten/aws';
import { createMaskinportenClient, type MaskinportenClient } from '@skyporten/core';
import { createMockAws, createMockSkyporten, type MockAws, type MockAwsOptions, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORG = '991825827';
export const SUBJECT = `0192:${ORG};${SCOPE}`;
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
export const BUCKET = 'shared-data';

export interface World {
  issuer: MockSkyporten;
  aws: MockAws;
  registered: RegisteredClient;
  /** A Maskinporten client for `registered`, asking for `resource` (default RESOURCE; `null` for none). */
  maskinporten(resource?: string | null, clock?: () => number): MaskinportenClient;
  s3(credentials: S3Client['config']['credentials']): S3Client;
  /** Token requests that reached the issuer's token endpoint. */
  tokenRequests(): number;
  close(): Promise<void>;
}

/**
 * A mock issuer and mock AWS (one role trusting SUBJECT, one bucket), on loopback. `overrides.clock` is
 * AWS's clock, and the issuer's too unless `issuerOnRealClock`.
 */
export async function startWorld(overrides: Partial<MockAwsOptions> = {}, { issuerOnRealClock = false } = {}): Promise<World> {
  const issuer = await createMockSkyporten(overrides.clock && !issuerOnRealClock ? { clock: overrides.clock } : {});
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }],
    buckets: { [BUCKET]: { 'hello.txt': 'Hello from Skyporten', 'reports/2026.csv': 'year,value\n2026,42\n' } },
    ...overrides,
  });
  return {
    issuer,
    aws,
    registered,
    maskinporten(resource = RESOURCE, clock) {
      return createMaskinportenClient({
        issuer: issuer.issuer,
        tokenEndpoint: issuer.tokenEndpoint,
        clientId: registered.clientId,
        scope: SCOPE,
        ...(resource === null ? {} : { resource }),
        key: { privateKey: registered.privateKey, kid: registered.kid },
        retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 5 },
        env: false,
        ...(clock ? { clock } : {}),
      });
    },
    s3(credentials) {
      return new S3Client({ region: 'eu-north-1', endpoint: aws.s3Endpoint, forcePathStyle: true, credentials });
    },
    tokenRequests: () => issuer.requests.filter((request) => request.method === 'POST').length,
    async close() {
      await aws.close();
      await issuer.close();
    },
  };
}

/** `skyportenCredentials` for the world's role, Maskinporten client and STS endpoint; `options` override. */
export function credentialsFor(current: World, options: SkyportenCredentialsOptions = {}) {
  return skyportenCredentials({
    roleArn: ROLE_ARN,
    maskinporten: current.maskinporten(),
    clientConfig: { endpoint: current.aws.stsEndpoint },
    env: false,
    ...options,
  });
}
