import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ClientAssertionCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { createMaskinportenClient, type SkyportenError } from '@skyporten/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createAssertionSupplier,
  skyportenCredentials,
  translateEntraError,
  type SkyportenCredentialsOptions,
  type SkyportenTokenCredential,
} from '@skyporten/azure';

const tenantId = '00000000-0000-0000-0000-000000000000';
const clientId = '11111111-1111-1111-1111-111111111111';

describe('@skyporten/azure public types', () => {
  it('skyportenCredentials returns a TokenCredential that BlobServiceClient accepts', () => {
    expectTypeOf(skyportenCredentials).returns.toEqualTypeOf<SkyportenTokenCredential>();
    expectTypeOf<SkyportenTokenCredential>().toExtend<TokenCredential>();
    expectTypeOf<SkyportenTokenCredential['getToken']>().returns.resolves.toEqualTypeOf<AccessToken>();
    new BlobServiceClient('https://account.blob.core.windows.net', skyportenCredentials({ tenantId, clientId }));
    expectTypeOf(skyportenCredentials).parameter(0).toEqualTypeOf<SkyportenCredentialsOptions | undefined>();
  });

  it('maskinporten takes a client or the options for one; the assertion supplier fits ClientAssertionCredential', () => {
    const maskinporten = createMaskinportenClient({ environment: 'test' });
    skyportenCredentials({ tenantId, clientId, maskinporten });
    skyportenCredentials({ tenantId, clientId, maskinporten: { environment: 'test', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org' } });
    new ClientAssertionCredential(tenantId, clientId, createAssertionSupplier(maskinporten));
    // @ts-expect-error a client, options, or nothing
    skyportenCredentials({ tenantId, clientId, maskinporten: 'my-client-id' });
    // @ts-expect-error createAssertionSupplier needs a client, not options
    createAssertionSupplier({ environment: 'test' });
  });

  it("passes @azure/identity's own options through, typed", () => {
    skyportenCredentials({ tenantId, clientId, additionallyAllowedTenants: ['*'], retryOptions: { maxRetries: 2 } });
    // @ts-expect-error additionallyAllowedTenants is a list
    skyportenCredentials({ tenantId, clientId, additionallyAllowedTenants: '*' });
  });

  it('rejects wrong option types and unknown options at compile time', () => {
    // @ts-expect-error the tenant id is a string
    skyportenCredentials({ tenantId: 42, clientId });
    // @ts-expect-error not an option (tenantId)
    skyportenCredentials({ tenant: tenantId, clientId });
    // @ts-expect-error the authority host is a URL string
    skyportenCredentials({ tenantId, clientId, authorityHost: new URL('https://login.microsoftonline.com') });
    // An explicit undefined is "not given" (process.env.X under exactOptionalPropertyTypes, issue 15).
    const env: Record<string, string | undefined> = {};
    expectTypeOf(() => skyportenCredentials({ tenantId: env.AZURE_TENANT_ID, clientId: env.AZURE_CLIENT_ID, authorityHost: env.AZURE_AUTHORITY_HOST, logger: undefined }))
      .returns.toEqualTypeOf<ReturnType<typeof skyportenCredentials>>();
    // @ts-expect-error false reads nothing; true means nothing
    skyportenCredentials({ tenantId, clientId, env: true });
  });

  it('translateEntraError returns a SkyportenError', () => {
    expectTypeOf(translateEntraError).returns.toEqualTypeOf<SkyportenError>();
  });
});
