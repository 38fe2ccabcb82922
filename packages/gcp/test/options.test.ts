import { SkyportenToken, type DecodedSkyportenToken, type MaskinportenClient } from '@skyporten/core';
import {
  clientAccessPrincipalSet,
  createSubjectTokenSupplier,
  gcpCredentialConfig,
  gcpExecutableResponse,
  GCP_ENVIRONMENT_VARIABLES,
  skyportenCredentials,
  workloadIdentityAudience,
} from '@skyporten/gcp';
import { describe, expect, it } from 'vitest';

const AUDIENCE = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten';
const EMAIL = 'reader@data-provider.iam.gserviceaccount.com';

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** A stand-in Maskinporten client: these tests never fetch a token. */
const offlineClient = (): MaskinportenClient =>
  ({
    getToken: () => Promise.reject(new Error('not used')),
    getAccessToken: () => Promise.reject(new Error('not used')),
    invalidate: () => undefined,
  }) as unknown as MaskinportenClient;

describe('audience', () => {
  it('builds the provider resource name from its parts', () => {
    expect(workloadIdentityAudience({ projectNumber: '123456789012', poolId: 'skyporten', providerId: 'maskinporten' })).toBe(AUDIENCE);
  });

  it.each([
    ['a project id instead of the number', AUDIENCE.replace('123456789012', 'my-project')],
    ['a missing provider', AUDIENCE.replace('/providers/maskinporten', '')],
    ['an https URL', AUDIENCE.replace('//iam.googleapis.com', 'https://iam.googleapis.com')],
    ['a workforce pool', '//iam.googleapis.com/locations/global/workforcePools/pool/providers/provider'],
  ])('rejects %s with ConfigError on audience', (_, audience) => {
    expect(thrown(() => gcpCredentialConfig({ audience, env: false }))).toMatchObject({ code: 'CONFIG_INVALID', field: 'audience' });
  });

  it('names the bad part of an audience object', () => {
    expect(thrown(() => workloadIdentityAudience({ projectNumber: 'my-project', poolId: 'skyporten', providerId: 'maskinporten' }))).toMatchObject({
      code: 'CONFIG_INVALID',
      field: 'audience.projectNumber',
    });
    expect(thrown(() => workloadIdentityAudience({ projectNumber: '1', poolId: 'UPPER', providerId: 'maskinporten' }))).toMatchObject({ field: 'audience.poolId' });
  });

  it('is required, and read from SKYPORTEN_GCP_AUDIENCE', () => {
    expect(thrown(() => gcpCredentialConfig({ env: {} }))).toMatchObject({ code: 'CONFIG_INVALID', field: 'audience' });
    expect(gcpCredentialConfig({ env: { [GCP_ENVIRONMENT_VARIABLES.audience]: AUDIENCE } }).audience).toBe(AUDIENCE);
    expect(GCP_ENVIRONMENT_VARIABLES).toEqual({ audience: 'SKYPORTEN_GCP_AUDIENCE', serviceAccountEmail: 'SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL' });
  });
});

describe('service account and endpoints', () => {
  it('rejects a malformed email', () => {
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, serviceAccountEmail: 'reader', env: false }))).toMatchObject({ field: 'serviceAccountEmail' });
  });

  it('reads the email from SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL', () => {
    const config = gcpCredentialConfig({ audience: AUDIENCE, env: { SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL: EMAIL } });
    expect(config.service_account_impersonation_url).toBe(`https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${EMAIL}:generateAccessToken`);
  });

  it('takes the email from an impersonation URL, and refuses one that names another', () => {
    const url = `http://127.0.0.1:9/v1/projects/-/serviceAccounts/${EMAIL}:generateAccessToken`;
    expect(skyportenCredentials({ maskinporten: offlineClient(), audience: AUDIENCE, serviceAccountImpersonationUrl: url, env: false }).federation.serviceAccountEmail).toBe(EMAIL);
    expect(
      thrown(() => gcpCredentialConfig({ audience: AUDIENCE, serviceAccountEmail: 'other@x.iam.gserviceaccount.com', serviceAccountImpersonationUrl: url, env: false })),
    ).toMatchObject({ field: 'serviceAccountImpersonationUrl' });
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, serviceAccountImpersonationUrl: 'https://example.org/nope', env: false }))).toMatchObject({
      field: 'serviceAccountImpersonationUrl',
    });
  });

  it('allows http only on loopback', () => {
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, tokenUrl: 'http://sts.example.org/v1/token', env: false }))).toMatchObject({ field: 'tokenUrl' });
    expect(gcpCredentialConfig({ audience: AUDIENCE, tokenUrl: 'http://127.0.0.1:8080/v1/token', env: false }).token_url).toBe('http://127.0.0.1:8080/v1/token');
  });

  it('builds endpoints in another universe', () => {
    const config = gcpCredentialConfig({ audience: AUDIENCE, serviceAccountEmail: EMAIL, universeDomain: 'example-universe.goog', env: false });
    expect(config).toMatchObject({
      universe_domain: 'example-universe.goog',
      token_url: 'https://sts.example-universe.goog/v1/token',
      service_account_impersonation_url: `https://iamcredentials.example-universe.goog/v1/projects/-/serviceAccounts/${EMAIL}:generateAccessToken`,
    });
  });

  it('validates scopes and the impersonated token lifetime where the credentials are made', () => {
    expect(thrown(() => skyportenCredentials({ maskinporten: offlineClient(), audience: AUDIENCE, scopes: [], env: false }))).toMatchObject({ field: 'scopes' });
    expect(thrown(() => skyportenCredentials({ maskinporten: offlineClient(), audience: AUDIENCE, serviceAccountEmail: EMAIL, tokenLifetimeSeconds: 60, env: false }))).toMatchObject({
      field: 'tokenLifetimeSeconds',
    });
  });
});

describe('gcpCredentialConfig', () => {
  it('has the shape gcloud create-cred-config writes for an executable source', () => {
    const config = gcpCredentialConfig({ audience: AUDIENCE, serviceAccountEmail: EMAIL, env: false });
    expect(config).toEqual({
      universe_domain: 'googleapis.com',
      type: 'external_account',
      audience: AUDIENCE,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${EMAIL}:generateAccessToken`,
      credential_source: { executable: { command: 'npx skyporten gcp executable', timeout_millis: 30000 } },
    });
  });

  it('takes a command, timeout, output file and token lifetime', () => {
    const config = gcpCredentialConfig({
      audience: { projectNumber: '123456789012', poolId: 'skyporten', providerId: 'maskinporten' },
      serviceAccountEmail: EMAIL,
      command: '/usr/local/bin/skyporten gcp executable --profile demo',
      timeoutMillis: 10_000,
      outputFile: '/tmp/skyporten-gcp-token.json',
      tokenLifetimeSeconds: 1800,
      env: false,
    });
    expect(config.audience).toBe(AUDIENCE);
    expect(config.credential_source.executable).toEqual({
      command: '/usr/local/bin/skyporten gcp executable --profile demo',
      timeout_millis: 10000,
      output_file: '/tmp/skyporten-gcp-token.json',
    });
    expect(config.service_account_impersonation).toEqual({ token_lifetime_seconds: 1800 });
  });

  it('leaves impersonation out without a service account, and rejects a lifetime then', () => {
    expect(gcpCredentialConfig({ audience: AUDIENCE, env: false })).not.toHaveProperty('service_account_impersonation_url');
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, tokenLifetimeSeconds: 1800, env: false }))).toMatchObject({ field: 'tokenLifetimeSeconds' });
  });

  it('rejects timeouts outside 5 to 120 seconds', () => {
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, timeoutMillis: 1000, env: false }))).toMatchObject({ field: 'timeoutMillis' });
    expect(thrown(() => gcpCredentialConfig({ audience: AUDIENCE, timeoutMillis: 200_000, env: false }))).toMatchObject({ field: 'timeoutMillis' });
  });

  it('formats executable responses', () => {
    expect(gcpExecutableResponse({ accessToken: 'a.b.c', expiresAt: new Date(1_800_000_000_500) })).toEqual({
      version: 1,
      success: true,
      token_type: 'urn:ietf:params:oauth:token-type:jwt',
      id_token: 'a.b.c',
      expiration_time: 1_800_000_000,
    });
    expect(gcpExecutableResponse({ code: 'TOKEN_REQUEST_REJECTED', message: 'MP-200' })).toEqual({ version: 1, success: false, code: 'TOKEN_REQUEST_REJECTED', message: 'MP-200' });
  });
});

describe('createSubjectTokenSupplier', () => {
  function unsignedToken(claims: Record<string, unknown>): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${encode({ alg: 'RS256' })}.${encode(claims)}.c2lnbmF0dXJl`;
  }

  function skyportenToken(now: number, seconds: number): SkyportenToken {
    return new SkyportenToken({
      accessToken: unsignedToken({ aud: 'https://skyporten.example.org', iss: 'https://test.sky.maskinporten.no', consumer: { authority: 'iso6523-actorid-upis', ID: '0192:991825827' }, exp: Math.floor(now / 1000) + seconds }),
      tokenType: 'Bearer',
      scope: 'entur:skyporten.demo',
      expiresAt: new Date(now + seconds * 1000),
      issuedAt: new Date(now),
    });
  }

  function fakeClient(expiresInSeconds: number[], now: number): { client: MaskinportenClient; forced: boolean[] } {
    const forced: boolean[] = [];
    const client = {
      async getToken(options?: { forceRefresh?: boolean }) {
        forced.push(options?.forceRefresh === true);
        return skyportenToken(now, expiresInSeconds[forced.length - 1] ?? 120);
      },
    } as unknown as MaskinportenClient;
    return { client, forced };
  }

  it('forces a fresh token when the cached one has less than the minimum left', async () => {
    const now = 1_800_000_000_000;
    const { client, forced } = fakeClient([20, 119], now);
    const seen: string[] = [];
    const supplier = createSubjectTokenSupplier(client, { minimumLifetimeSeconds: 45, clock: () => now, onToken: (decoded) => seen.push(decoded.consumerId ?? '') });
    await supplier.getSubjectToken({} as never);
    expect(forced).toEqual([false, true]);
    expect(seen).toEqual(['0192:991825827']);
  });

  it('uses the cached token when it has enough left', async () => {
    const now = 1_800_000_000_000;
    const { client, forced } = fakeClient([100], now);
    await createSubjectTokenSupplier(client, { minimumLifetimeSeconds: 45, clock: () => now }).getSubjectToken({} as never);
    expect(forced).toEqual([false]);
  });

  it('decodes each Skyporten token once, however many exchanges present it', async () => {
    const now = 1_800_000_000_000;
    const tokens = [skyportenToken(now, 120), skyportenToken(now + 1000, 120)];
    const handedOut = [tokens[0], tokens[0], tokens[1]];
    const client = { getToken: async () => handedOut.shift() } as unknown as MaskinportenClient;
    const seen: DecodedSkyportenToken[] = [];
    const supplier = createSubjectTokenSupplier(client, { onToken: (decoded) => seen.push(decoded) });
    for (let exchange = 0; exchange < 3; exchange += 1) await supplier.getSubjectToken({} as never);
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).not.toBe(seen[0]);
    expect(seen[2]).toEqual({ ...seen[0], claims: { ...seen[0]?.claims, exp: 1_800_000_121 }, expiresAt: new Date(1_800_000_121_000) });
  });
});

describe('clientAccessPrincipalSet', () => {
  it('follows the attribute.clientaccess mapping', () => {
    expect(clientAccessPrincipalSet({ projectNumber: '123456789012', poolId: 'skyporten' }, '0192:991825827', 'entur:skyporten.demo')).toBe(
      'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:991825827::entur:skyporten.demo',
    );
  });
});
