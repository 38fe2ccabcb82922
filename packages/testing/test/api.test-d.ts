import type { JWK } from 'jose';
import type { RequestHandler } from 'msw';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createMockAws,
  createMockEntraId,
  createMockGcp,
  createMockSkyporten,
  type MockAws,
  type MockAwsOptions,
  type MockEntraId,
  type MockEntraIdOptions,
  type MockGcp,
  type MockGcpOptions,
  type MockGcpService,
  type MockSkyporten,
  type MockSkyportenOptions,
  type RegisterClientOptions,
  type RegisteredClient,
} from '@skyporten/testing';
import { createMockSkyportenHandlers, type MockSkyportenHandlers } from '@skyporten/testing/msw';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

describe('@skyporten/testing public types', () => {
  it('createMockSkyporten resolves a MockSkyporten; registerClient a RegisteredClient', async () => {
    expectTypeOf(createMockSkyporten).parameter(0).toEqualTypeOf<MockSkyportenOptions | undefined>();
    expectTypeOf(createMockSkyporten).returns.resolves.toEqualTypeOf<MockSkyporten>();
    const issuer = await createMockSkyporten({ tokenLifetimeSeconds: 120, clock: () => Date.now() });
    expectTypeOf(issuer.issuer).toEqualTypeOf<string>();
    expectTypeOf(issuer.url).toEqualTypeOf<URL>();
    expectTypeOf(issuer.close).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(issuer.registerClient).parameter(0).toEqualTypeOf<RegisterClientOptions | undefined>();
    expectTypeOf(issuer.registerClient).returns.resolves.toEqualTypeOf<RegisteredClient>();
    const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: '991825827', allowedResources: [RESOURCE] });
    expectTypeOf(client.privateKey).toEqualTypeOf<string>();
    expectTypeOf(client.publicJwk).toEqualTypeOf<JWK>();
    expectTypeOf(client.scopes).toEqualTypeOf<string[]>();
    expectTypeOf(issuer.signAccessToken).returns.resolves.toEqualTypeOf<string>();
  });

  it('msw handlers exist only on createMockSkyportenHandlers(), which is synchronous', () => {
    expectTypeOf(createMockSkyportenHandlers).returns.toEqualTypeOf<MockSkyportenHandlers>();
    expectTypeOf<MockSkyportenHandlers['handlers']>().toEqualTypeOf<RequestHandler[]>();
    expectTypeOf<MockSkyporten>().not.toHaveProperty('handlers');
  });

  it('the cloud mocks take the MockSkyporten as their issuer and resolve their own type', async () => {
    const issuer = await createMockSkyporten();
    expectTypeOf(issuer).toExtend<MockAwsOptions['issuer']>();
    expectTypeOf(issuer).toExtend<MockGcpOptions['issuer']>();
    expectTypeOf(issuer).toExtend<MockEntraIdOptions['issuer']>();

    expectTypeOf(createMockAws).parameter(0).toEqualTypeOf<MockAwsOptions>();
    expectTypeOf(createMockAws).returns.resolves.toEqualTypeOf<MockAws>();
    const aws = await createMockAws({ issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:991825827;${SCOPE}` } }] });
    expectTypeOf(aws.stsCalls).toEqualTypeOf<number>();

    expectTypeOf(createMockGcp).parameter(0).toEqualTypeOf<MockGcpOptions>();
    expectTypeOf(createMockGcp).returns.resolves.toEqualTypeOf<MockGcp>();
    const gcp = await createMockGcp({ issuer, allowedAudiences: [RESOURCE] });
    expectTypeOf<Parameters<typeof gcp.failNext>[0]>().toExtend<{ service?: MockGcpService; status: number; count?: number }>();
    gcp.failNext({ service: 'iamcredentials', status: 503, count: 2 });
    aws.failNext({ service: 's3', status: 503, code: 'SlowDown' });
    issuer.failNext({ status: 429, retryAfterSeconds: 1 });
    // scopes has a default, so an organisation number alone is enough
    await issuer.registerClient({ orgNo: '991825827' });
    expectTypeOf(aws.clientConfig('s3')).toEqualTypeOf<{ endpoint: string; region: string; forcePathStyle?: boolean }>();
    expectTypeOf(gcp.serviceAccountImpersonationUrl).returns.toEqualTypeOf<string>();

    expectTypeOf(createMockEntraId).parameter(0).toEqualTypeOf<MockEntraIdOptions>();
    expectTypeOf(createMockEntraId).returns.resolves.toEqualTypeOf<MockEntraId>();
    const entra = await createMockEntraId({ issuer, applications: [{ clientId: 'app', federatedCredentials: [{ issuer: issuer.issuer, subject: 's', audiences: ['api://AzureADTokenExchange'] }] }] });
    expectTypeOf(entra.authorityHost).toEqualTypeOf<string>();
  });

  it('accepts an explicit undefined for an option, as process.env.X gives', async () => {
    const env: Record<string, string | undefined> = {};
    createMockSkyportenHandlers({ issuer: env['MASKINPORTEN_ISSUER'], trailingSlash: undefined, clock: undefined });
    const issuer = await createMockSkyporten({ tokenLifetimeSeconds: undefined });
    await issuer.registerClient({ orgNo: env['ORG_NO'], clientId: env['CLIENT_ID'], scopes: undefined });
    await createMockAws({ issuer, clientIds: [RESOURCE], roles: [], accountId: env['AWS_ACCOUNT_ID'], buckets: undefined });
    await createMockGcp({ issuer, allowedAudiences: [RESOURCE], projectNumber: env['GCP_PROJECT_NUMBER'], poolId: env['POOL'] });
    await createMockEntraId({ issuer, applications: [], tenantId: env['AZURE_TENANT_ID'], tls: undefined });
  });

  it('rejects wrong option types at compile time', async () => {
    // @ts-expect-error seconds as a number
    await createMockSkyporten({ tokenLifetimeSeconds: '120' });
    // @ts-expect-error the clock returns milliseconds, not a Date
    await createMockSkyporten({ clock: () => new Date() });
    const issuer = await createMockSkyporten();
    // @ts-expect-error scopes is an array
    await issuer.registerClient({ scopes: SCOPE });
    // @ts-expect-error the organisation number is a string (it may have leading zeros or a 0192: prefix)
    await issuer.registerClient({ scopes: [SCOPE], orgNo: 991825827 });
    // @ts-expect-error roles is required
    await createMockAws({ issuer, clientIds: [RESOURCE] });
    // @ts-expect-error the trust policy's sub is a string or strings
    await createMockAws({ issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: 42 } }] });
    // @ts-expect-error allowedAudiences is an array
    await createMockGcp({ issuer, allowedAudiences: RESOURCE });
    const gcp = await createMockGcp({ issuer, allowedAudiences: [RESOURCE] });
    // @ts-expect-error the services are sts, iamcredentials and storage
    gcp.failNext({ service: 's3', status: 503 });
    // @ts-expect-error an application needs its federated credentials
    await createMockEntraId({ issuer, applications: [{ clientId: 'app' }] });
  });
});
