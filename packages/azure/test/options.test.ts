import { ConfigError, createMaskinportenClient, type MaskinportenClient } from '@skyporten/core';
import { DEFAULT_AUTHORITY_HOST, skyportenCredentials } from '@skyporten/azure';
import { describe, expect, it } from 'vitest';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';

function maskinporten(): MaskinportenClient {
  return createMaskinportenClient({
    environment: 'test',
    clientId: 'integration-id',
    scope: 'entur:skyporten.demo',
    resource: 'https://skyporten.example.org',
    key: { sign: async () => new Uint8Array(256), kid: 'unused' },
    env: false,
  });
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('skyportenCredentials options', () => {
  it('takes tenantId, clientId and authorityHost, and shares the Maskinporten client it is given', () => {
    const client = maskinporten();
    const credential = skyportenCredentials({ tenantId: TENANT, clientId: CLIENT, maskinporten: client, env: false });
    expect(credential).toMatchObject({ tenantId: TENANT, clientId: CLIENT, authorityHost: DEFAULT_AUTHORITY_HOST });
    expect(credential.maskinporten).toBe(client);
    expect(typeof credential.getToken).toBe('function');
  });

  it('reads AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_AUTHORITY_HOST', () => {
    const credential = skyportenCredentials({
      maskinporten: maskinporten(),
      env: { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us/' },
    });
    expect(credential).toMatchObject({ tenantId: TENANT, clientId: CLIENT, authorityHost: 'https://login.microsoftonline.us' });
  });

  it('prefers options over the environment, and reads nothing with env: false', () => {
    const other = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const credential = skyportenCredentials({ tenantId: other, clientId: CLIENT, maskinporten: maskinporten(), env: { AZURE_TENANT_ID: TENANT } });
    expect(credential.tenantId).toBe(other);
    expect(configError(() => skyportenCredentials({ clientId: CLIENT, maskinporten: maskinporten(), env: false })).field).toBe('tenantId');
  });

  it('accepts a verified domain as tenant', () => {
    expect(skyportenCredentials({ tenantId: 'contoso.onmicrosoft.com', clientId: CLIENT, maskinporten: maskinporten(), env: false }).tenantId).toBe(
      'contoso.onmicrosoft.com',
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ' '],
    ['common (not a tenant)', 'common'],
    ['organizations (not a tenant)', 'organizations'],
    ['neither GUID nor domain', 'my tenant'],
    ['a truncated GUID', '72f988bf-86f1-41af-91ab'],
  ])('rejects a tenantId that is %s', (_name, tenantId) => {
    const error = configError(() => skyportenCredentials({ ...(tenantId === undefined ? {} : { tenantId }), clientId: CLIENT, maskinporten: maskinporten(), env: false }));
    expect(error.field).toBe('tenantId');
  });

  it.each([
    ['missing', undefined],
    ['a name', 'skyporten-reader'],
    ['a resource id', '/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z'],
  ])('rejects a clientId that is %s', (_name, clientId) => {
    const error = configError(() => skyportenCredentials({ tenantId: TENANT, ...(clientId === undefined ? {} : { clientId }), maskinporten: maskinporten(), env: false }));
    expect(error.field).toBe('clientId');
  });

  it('names the environment variable when the value came from it', () => {
    const error = configError(() => skyportenCredentials({ maskinporten: maskinporten(), env: { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: 'not-a-guid' } }));
    expect(error.field).toBe('AZURE_CLIENT_ID');
  });

  it.each([['http://127.0.0.1:8443'], ['not a url']])('rejects authorityHost %s', (authorityHost) => {
    const error = configError(() => skyportenCredentials({ tenantId: TENANT, clientId: CLIENT, authorityHost, maskinporten: maskinporten(), env: false }));
    expect(error.field).toBe('authorityHost');
  });

  it('rejects a non-object', () => {
    expect(configError(() => skyportenCredentials(null as never)).field).toBe('options');
  });
});
