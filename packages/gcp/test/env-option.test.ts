import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@skyporten/core';
import { skyportenCredentials as awsCredentials } from '@skyporten/aws';
import { skyportenCredentials as azureCredentials } from '@skyporten/azure';
import { skyportenCredentials as gcpCredentials } from '@skyporten/gcp';

// `env: false` / an explicit `env` must reach the Maskinporten client the adapter creates: before the fix, the
// GCP and Azure adapters created it from process.env whatever `env` said.
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const maskinportenEnv = {
  MASKINPORTEN_CLIENT_ID: 'client-from-env',
  MASKINPORTEN_PRIVATE_KEY: privateKey,
  MASKINPORTEN_KID: 'kid-1',
  MASKINPORTEN_SCOPE: 'org:dataset.read',
  SKYPORTEN_RESOURCE: 'https://sky.example',
  SKYPORTEN_TOKEN_ENDPOINT: 'http://127.0.0.1:9/token',
  SKYPORTEN_ISSUER: 'http://127.0.0.1:9',
};
const adapters = {
  aws: (env: Record<string, string> | false) => awsCredentials({ roleArn: 'arn:aws:iam::123456789012:role/reader', env }),
  gcp: (env: Record<string, string> | false) => gcpCredentials({ audience: '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/skyporten', env }),
  azure: (env: Record<string, string> | false) => azureCredentials({ tenantId: '11111111-2222-3333-4444-555555555555', clientId: '11111111-2222-3333-4444-666666666666', env }),
};

describe.each(Object.entries(adapters))('%s adapter: the env option reaches the Maskinporten client', (_name, create) => {
  const saved = { ...process.env };
  beforeEach(() => Object.assign(process.env, maskinportenEnv));
  afterEach(() => {
    for (const name of Object.keys(maskinportenEnv)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('env: false reads nothing from process.env, so the missing client settings are a ConfigError', async () => {
    let caught: unknown;
    try {
      const credentials = create(false);
      // The AWS provider reports configuration errors when first called (decision 0015); the others at once.
      if (typeof credentials === 'function') await credentials();
    } catch (error) {
      caught = error;
    }
    // The first Maskinporten setting the client looks for is the issuer; process.env has one, env: false hides it.
    expect(ConfigError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'CONFIG_INVALID', field: 'environment' });
  });

  it('an explicit env object is where the client settings come from', () => {
    for (const name of Object.keys(maskinportenEnv)) delete process.env[name];
    expect(() => create(maskinportenEnv)).not.toThrow();
  });
});
