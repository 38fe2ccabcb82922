import { Storage } from '@google-cloud/storage';
import { gcpCredentialConfig, skyportenCredentials, type SkyportenCredentialsOptions } from '@skyporten/gcp';
import { OAuth2Client } from 'google-auth-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET, CONTENT, OBJECT, SERVICE_ACCOUNT, setup, type Setup } from './fixtures.js';

const HOP = 'skyporten-hop@data-provider.iam.gserviceaccount.com';
const SECOND_HOP = 'skyporten-second-hop@other-project.iam.gserviceaccount.com';
const READ_ONLY = 'https://www.googleapis.com/auth/devstorage.read_only';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

let current: Setup | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** The federated principal may impersonate HOP only; HOP may impersonate SECOND_HOP, which may impersonate the reader. */
async function chained(): Promise<Setup> {
  current = await setup({
    bindings: (clientAccess) => [
      { serviceAccountEmail: HOP, principalSet: clientAccess },
      { serviceAccountEmail: SECOND_HOP, principalSet: `serviceAccount:${HOP}` },
      { serviceAccountEmail: SERVICE_ACCOUNT, principalSet: `serviceAccount:${SECOND_HOP}` },
    ],
  });
  return current;
}

function credentialsFor({ gcp, maskinporten }: Setup, options: Partial<SkyportenCredentialsOptions> = {}) {
  return skyportenCredentials({ maskinporten: maskinporten(), ...gcp.credentialOptions(SERVICE_ACCOUNT), env: false, ...options });
}

/** What the mock's tokeninfo says about a token: whose it is, its scopes and remaining lifetime. */
function tokenInfo(gcp: Setup['gcp'], token: string) {
  return new OAuth2Client({ endpoints: { tokenInfoUrl: gcp.tokenInfoUrl } }).getTokenInfo(token);
}

describe('skyportenCredentials with delegates', () => {
  it('impersonates the service account through the chain, with the scopes and lifetime asked for, and Storage reads with it', async () => {
    const setupped = await chained();
    const { gcp } = setupped;
    const credentials = credentialsFor(setupped, { delegates: [HOP, `projects/-/serviceAccounts/${SECOND_HOP}`], scopes: [READ_ONLY], tokenLifetimeSeconds: 900 });
    expect(credentials.delegates).toEqual([`projects/-/serviceAccounts/${HOP}`, `projects/-/serviceAccounts/${SECOND_HOP}`]);

    const { token } = await credentials.getAccessToken();
    const info = await tokenInfo(gcp, String(token));
    expect(info.email).toBe(SERVICE_ACCOUNT);
    expect(info.scopes).toEqual([READ_ONLY]);
    expect(info.expiry_date - Date.now()).toBeGreaterThan(880_000);
    expect(info.expiry_date - Date.now()).toBeLessThanOrEqual(900_000);
    // STS was asked for cloud-platform (what IAM Credentials needs), the target's token for the scopes given.
    expect(gcp.requests.find((request) => request.service === 'sts')?.details).toMatchObject({ scope: CLOUD_PLATFORM });
    expect(gcp.requests.find((request) => request.service === 'iamcredentials')?.details).toEqual({
      serviceAccountEmail: SERVICE_ACCOUNT,
      scope: [READ_ONLY],
      lifetime: '900s',
      delegates: [`projects/-/serviceAccounts/${HOP}`, `projects/-/serviceAccounts/${SECOND_HOP}`],
    });

    const storage = new Storage({ ...gcp.storageOptions(), authClient: credentials, projectId: 'data-provider' });
    const [content] = await storage.bucket(BUCKET).file(OBJECT).download();
    expect(content.toString('utf8')).toBe(CONTENT);
    expect(gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
  });

  it('shares one exchange and one impersonation between concurrent callers, and refreshes through the chain', async () => {
    const setupped = await chained();
    const credentials = credentialsFor(setupped, { delegates: [HOP, SECOND_HOP] });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => credentials.getAccessToken()));
    expect(new Set(tokens.map(({ token }) => token)).size).toBe(1);
    expect(setupped.gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    // An expired token (as injected with setCredentials): the next call refreshes through the chain again.
    credentials.setCredentials({ access_token: 'expired', expiry_date: Date.now() - 1000 });
    const { token: refreshed } = await credentials.getAccessToken();
    expect(refreshed).not.toBe(tokens[0]?.token);
    expect((await credentials.getAccessToken()).token).toBe(refreshed);
    expect((await tokenInfo(setupped.gcp, String(refreshed))).email).toBe(SERVICE_ACCOUNT);
    expect(setupped.gcp.counters).toMatchObject({ stsCalls: 2, generateAccessTokenCalls: 2 });
  });

  it('is refused without the chain, with a broken chain, and the hint names every grant; a failed attempt leaves no token behind', async () => {
    const setupped = await chained();
    await expect(credentialsFor(setupped).getAccessToken()).rejects.toMatchObject({ status: 403, cloudCode: 'PERMISSION_DENIED' });
    const broken = credentialsFor(setupped, { delegates: [SECOND_HOP] });
    const error = await broken.getAccessToken().catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', status: 403, cloudCode: 'PERMISSION_DENIED' });
    expect((error as { hint?: string }).hint).toContain(`roles/iam.workloadIdentityUser on ${SECOND_HOP} to ${setupped.clientAccess}`);
    expect((error as { hint?: string }).hint).toContain(`roles/iam.serviceAccountTokenCreator on ${SERVICE_ACCOUNT} to serviceAccount:${SECOND_HOP}`);

    // After a failed impersonation the federated token must not become the client's token.
    setupped.gcp.failNext({ service: 'iamcredentials', status: 403, code: 'PERMISSION_DENIED' });
    const credentials = credentialsFor(setupped, { delegates: [HOP, SECOND_HOP] });
    await expect(credentials.getAccessToken()).rejects.toMatchObject({ status: 403 });
    const { token } = await credentials.getAccessToken();
    expect((await tokenInfo(setupped.gcp, String(token))).email).toBe(SERVICE_ACCOUNT);
  });
});

describe('delegates validation', () => {
  const offline = { audience: '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten', env: false as const };
  /** Options are checked before the key is read: an unreadable key must not be what fails. */
  const maskinporten = { issuer: 'https://issuer.example.org', clientId: 'client', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org', key: { privateKey: 'unused', kid: 'kid' }, env: false as const };

  it.each([
    ['a string', 'hop@data-provider.iam.gserviceaccount.com', /must be an array/],
    ['a name that is not a service account', ['projects/-/serviceAccounts/not-an-email'], /delegates\[0\] "projects\/-\/serviceAccounts\/not-an-email" is not a service account/],
    ['another resource form', ['projects/my-project/serviceAccounts/hop@data-provider.iam.gserviceaccount.com'], /delegates\[0\]/],
    ['an empty entry', [HOP, ''], /delegates\[1\]/],
  ])('rejects %s with a ConfigError naming delegates', (_, delegates, message) => {
    expect(() => skyportenCredentials({ ...offline, maskinporten, serviceAccountEmail: SERVICE_ACCOUNT, delegates: delegates as string[] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'delegates', message: expect.stringMatching(message) }),
    );
  });

  it('needs serviceAccountEmail, and has no place in the external_account JSON; an empty chain is no chain', async () => {
    expect(() => skyportenCredentials({ ...offline, maskinporten, delegates: [HOP] })).toThrow(expect.objectContaining({ field: 'delegates', message: expect.stringMatching(/set serviceAccountEmail/) }));
    expect(() => gcpCredentialConfig({ ...offline, serviceAccountEmail: SERVICE_ACCOUNT, ...({ delegates: [HOP] } as object) })).toThrow(expect.objectContaining({ field: 'delegates' }));
    const { maskinporten: registered } = await chained();
    expect(skyportenCredentials({ ...offline, maskinporten: registered(), serviceAccountEmail: SERVICE_ACCOUNT, delegates: [] }).delegates).toEqual([]);
  });
});
