import { Storage, type StorageOptions } from '@google-cloud/storage';
import { createMaskinportenClient } from '@skyporten/core';
import { IdentityPoolClient, type AuthClient, type SubjectTokenSupplier } from 'google-auth-library';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createSubjectTokenSupplier,
  gcpCredentialConfig,
  gcpExecutableResponse,
  skyportenCredentials,
  SkyportenIdentityPoolClient,
  workloadIdentityAudience,
  type GcpExecutableResponse,
  type GcpExternalAccountConfig,
  type SkyportenCredentialsOptions,
} from '@skyporten/gcp';

const audience = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten';

describe('@skyporten/gcp public types', () => {
  it("skyportenCredentials returns google-auth-library's own client types, which Storage accepts as authClient", () => {
    expectTypeOf(skyportenCredentials).returns.toEqualTypeOf<SkyportenIdentityPoolClient>();
    expectTypeOf<SkyportenIdentityPoolClient>().toExtend<IdentityPoolClient>();
    expectTypeOf<SkyportenIdentityPoolClient>().toExtend<AuthClient>();
    expectTypeOf<SkyportenIdentityPoolClient>().toExtend<NonNullable<StorageOptions['authClient']>>();
    new Storage({ authClient: skyportenCredentials({ audience }) });
    expectTypeOf(skyportenCredentials({ audience }).getAccessToken).returns.resolves.toHaveProperty('token');
    expectTypeOf(skyportenCredentials).parameter(0).toEqualTypeOf<SkyportenCredentialsOptions | undefined>();
  });

  it('maskinporten takes a client or the options for one; the subject token supplier fits google-auth-library', () => {
    const maskinporten = createMaskinportenClient({ environment: 'test' });
    skyportenCredentials({ audience, maskinporten });
    skyportenCredentials({ audience, maskinporten: { environment: 'test', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org' } });
    expectTypeOf(createSubjectTokenSupplier(maskinporten)).toEqualTypeOf<SubjectTokenSupplier>();
    // @ts-expect-error a client, options, or nothing
    skyportenCredentials({ audience, maskinporten: 'my-client-id' });
    // @ts-expect-error createSubjectTokenSupplier needs a client, not options
    createSubjectTokenSupplier({ environment: 'test' });
  });

  it('audience is the resource name or its parts', () => {
    skyportenCredentials({ audience: { projectNumber: '123456789012', poolId: 'skyporten', providerId: 'maskinporten' } });
    expectTypeOf(workloadIdentityAudience).returns.toEqualTypeOf<string>();
    // @ts-expect-error not a string or the parts
    skyportenCredentials({ audience: 42 });
    // @ts-expect-error the project number is a string of digits
    workloadIdentityAudience({ projectNumber: 123456789012, poolId: 'skyporten', providerId: 'maskinporten' });
    // @ts-expect-error providerId is required
    workloadIdentityAudience({ projectNumber: '123456789012', poolId: 'skyporten' });
  });

  it('rejects wrong option types and unknown options at compile time', () => {
    // @ts-expect-error seconds as a number
    skyportenCredentials({ audience, tokenLifetimeSeconds: '3600' });
    // @ts-expect-error scopes is an array
    skyportenCredentials({ audience, scopes: 'https://www.googleapis.com/auth/devstorage.read_only' });
    // @ts-expect-error not an option (serviceAccountEmail)
    skyportenCredentials({ audience, serviceAccount: 'reader@data-provider.iam.gserviceaccount.com' });
    // An explicit undefined is "not given" (process.env.X under exactOptionalPropertyTypes, issue 15).
    const env: Record<string, string | undefined> = {};
    expectTypeOf(() => skyportenCredentials({ audience: env.SKYPORTEN_GCP_AUDIENCE, serviceAccountEmail: env.SKYPORTEN_GCP_SERVICE_ACCOUNT, logger: undefined }))
      .returns.toEqualTypeOf<ReturnType<typeof skyportenCredentials>>();
    // @ts-expect-error milliseconds as a number
    gcpCredentialConfig({ audience, timeoutMillis: '30000' });
    // @ts-expect-error delegates is an array of service accounts
    skyportenCredentials({ audience, serviceAccountEmail: 'reader@data-provider.iam.gserviceaccount.com', delegates: 'hop@data-provider.iam.gserviceaccount.com' });
    // @ts-expect-error the external_account JSON has no delegates
    gcpCredentialConfig({ audience, delegates: ['hop@data-provider.iam.gserviceaccount.com'] });
  });

  it('credential config and executable response have the documented shapes', () => {
    expectTypeOf(gcpCredentialConfig).returns.toEqualTypeOf<GcpExternalAccountConfig>();
    expectTypeOf<GcpExternalAccountConfig['type']>().toEqualTypeOf<'external_account'>();
    expectTypeOf(gcpExecutableResponse).returns.toEqualTypeOf<GcpExecutableResponse>();
    gcpExecutableResponse({ accessToken: 'x', expiresAt: new Date() });
    gcpExecutableResponse({ code: 'CONFIG_INVALID', message: 'm' });
    // @ts-expect-error expiresAt is a Date
    gcpExecutableResponse({ accessToken: 'x', expiresAt: 1_700_000_000 });
  });
});
