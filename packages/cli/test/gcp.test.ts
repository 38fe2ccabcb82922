import { createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { createMockGcp, type MockGcp } from '@skyporten/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createFixture, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

const SERVICE_ACCOUNT = 'reader@data-provider.iam.gserviceaccount.com';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const OTHER_PROVIDER = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/other';

let fixture: Fixture;
let gcp: MockGcp;
beforeAll(async () => {
  fixture = await createFixture();
  gcp = await createMockGcp({
    issuer: fixture.issuer,
    allowedAudiences: [RESOURCE],
    bindings: [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: `principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:${ORG}::${SCOPE}` }],
    buckets: { 'shared-data': { 'report.csv': 'id,value\n1,42\n' } },
  });
});
afterAll(async () => {
  await gcp.close();
  await fixture.close();
});
afterEach(() => {
  delete process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES;
});

describe('skyporten gcp executable', () => {
  it("prints Google's executable response and writes GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE (mode 0600)", async () => {
    const outputFile = join(fixture.directory, 'executable-output.json');
    const env = { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: gcp.audience, GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE: JWT_TYPE, GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE: '0', GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE: outputFile };
    const result = await runCli(['gcp', 'executable', ...fixture.flags], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const response = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(response).toMatchObject({ version: 1, success: true, token_type: JWT_TYPE });
    expect(response.expiration_time).toBeGreaterThan(Date.now() / 1000);
    await expect(fixture.issuer.verifyAccessToken(String(response.id_token), { audience: RESOURCE })).resolves.toBeDefined();
    expect(JSON.parse(await readFile(outputFile, 'utf8'))).toEqual(response);
    expect((await stat(outputFile)).mode & 0o777).toBe(0o600);
  });

  it('answers success:false with a code and message on stdout, exit code 1', async () => {
    const result = await runCli(['gcp', 'executable', ...fixture.flags.map((flag) => (flag === fixture.client.kid ? 'unknown-kid' : flag))], { env: fixture.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ version: 1, success: false, code: 'TOKEN_REQUEST_REJECTED', message: expect.stringContaining('invalid_grant') as unknown });
  });

  it('refuses a GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE that is not a provider name, without asking for a token', async () => {
    const before = fixture.issuer.requests.length;
    const result = await runCli(['gcp', 'executable', ...fixture.flags], { env: { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: RESOURCE } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ success: false, code: 'INVALID_AUDIENCE', message: expect.stringContaining('//iam.googleapis.com/projects/<NUMBER>') as unknown });
    expect(fixture.issuer.requests.length).toBe(before);
  });

  it('refuses a GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE other than the configured provider (--audience, SKYPORTEN_GCP_AUDIENCE, config file)', async () => {
    const config = join(fixture.directory, 'other-provider.json');
    await writeFile(config, JSON.stringify({ gcp: { audience: OTHER_PROVIDER } }));
    const env = { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: gcp.audience, GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE: JWT_TYPE };
    for (const [args, extraEnv] of [
      [['--config', config], {}],
      [[], { SKYPORTEN_GCP_AUDIENCE: OTHER_PROVIDER }],
      [['--audience', OTHER_PROVIDER], {}],
    ] as const) {
      const result = await runCli(['gcp', 'executable', ...args, ...fixture.flags], { env: { ...env, ...extraEnv } });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('');
      const answer = JSON.parse(result.stdout) as { success: boolean; code: string; message: string };
      expect(answer).toMatchObject({ success: false, code: 'AUDIENCE_MISMATCH' });
      expect(answer.message).toContain(OTHER_PROVIDER);
    }
    // The same provider, or a flag overriding the config file, is fine.
    const same = await runCli(['gcp', 'executable', '--config', config, '--audience', gcp.audience, ...fixture.flags], { env });
    expect(JSON.parse(same.stdout)).toMatchObject({ success: true });
  });

  it("refuses a token whose aud is another provider's default audience", async () => {
    const flags = fixture.flags.map((flag) => (flag === RESOURCE ? `https:${OTHER_PROVIDER}` : flag));
    const result = await runCli(['gcp', 'executable', ...flags], { env: { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: gcp.audience } });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ success: false, code: 'AUDIENCE_MISMATCH', message: expect.stringContaining(`https:${OTHER_PROVIDER}`) as unknown });
    expect(result.stdout).not.toMatch(/eyJ[\w-]+\.eyJ/);

    const matching = await runCli(['gcp', 'executable', ...fixture.flags.map((flag) => (flag === RESOURCE ? `https:${gcp.audience}` : flag))], {
      env: { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: gcp.audience },
    });
    expect(JSON.parse(matching.stdout)).toMatchObject({ success: true });
  });

  it('refuses a token type other than a JWT', async () => {
    const result = await runCli(['gcp', 'executable', ...fixture.flags], { env: { ...fixture.env, GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE: 'urn:ietf:params:oauth:token-type:saml2' } });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ success: false, code: 'UNSUPPORTED_TOKEN_TYPE' });
  });
});

describe('skyporten gcp credential-config', () => {
  it('writes an external_account file that google-auth-library uses to get a token from GCP STS', async () => {
    const output = join(fixture.directory, 'skyporten-gcp.json');
    const result = await runCli(
      ['gcp', 'credential-config', '--audience', gcp.audience, '--service-account', SERVICE_ACCOUNT, '--token-url', gcp.stsTokenUrl,
        '--service-account-impersonation-url', gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT), '--output', output, ...fixture.flags],
      { env: fixture.env },
    );
    expect(result.code).toBe(0);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(output, 'utf8')) as { type: string; subject_token_type: string; credential_source: { executable: { command: string } } };
    expect(config).toMatchObject({ type: 'external_account', audience: gcp.audience, subject_token_type: JWT_TYPE, token_url: gcp.stsTokenUrl });
    expect(config.credential_source.executable.command).toContain(`${BIN} gcp executable --issuer`);
    expect(config.credential_source.executable.command).toMatch(new RegExp(` --audience ${gcp.audience.replace(/[./]/g, '\\$&')}$`));

    // What GOOGLE_APPLICATION_CREDENTIALS=<file> does in any Google library.
    process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES = '1';
    const auth = new GoogleAuth({ keyFilename: output, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    const token = await auth.getAccessToken();
    expect(gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    // The service account token the mock's IAM Credentials issued: its Storage serves the object to it.
    expect(token).toMatch(/^mock-sa\./);
    const object = await fetch(`${gcp.storageEndpoint}/storage/v1/b/shared-data/o/report.csv?alt=media`, { headers: { authorization: `Bearer ${String(token)}` } });
    expect(object.status).toBe(200);
    expect(await object.text()).toBe('id,value\n1,42\n');
  }, 30_000);

  it('prints the configuration to stdout without --output, and names a missing audience', async () => {
    const printed = await runCli(['gcp', 'credential-config', '--audience', gcp.audience, '--command', 'npx skyporten gcp executable'], { env: fixture.env });
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ credential_source: { executable: { command: 'npx skyporten gcp executable', timeout_millis: 30000 } } });

    const missing = await runCli(['gcp', 'credential-config'], { env: fixture.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^skyporten: The workload identity pool provider is missing\. \[CONFIG_INVALID\]\n {2}hint: .*--audience/);
  });
});

describe('skyporten exec --gcp-audience', () => {
  it('points GOOGLE_APPLICATION_CREDENTIALS at a temporary external_account file, removed afterwards', async () => {
    const script = "const p = process.env.GOOGLE_APPLICATION_CREDENTIALS; console.log(JSON.stringify({ p, config: JSON.parse(require('fs').readFileSync(p, 'utf8')), allow: process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES }))";
    const result = await runCli(['exec', '--gcp-audience', gcp.audience, '--gcp-token-url', gcp.stsTokenUrl, ...fixture.flags, '--', process.execPath, '-e', script], { env: fixture.env });
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout) as { p: string; config: { type: string; audience: string }; allow: string };
    expect(seen.config).toMatchObject({ type: 'external_account', audience: gcp.audience });
    expect(seen.allow).toBe('1');
    expect(existsSync(seen.p)).toBe(false);
  });
});

describe('skyporten exec --gcp-audience with the key in the environment', () => {
  it("keeps the key and its passphrase out of the child's environment; the executable still mints tokens", async () => {
    const passphrase = 'exec secret passphrase';
    const encryptedKey = createPrivateKey(fixture.client.privateKey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
    const googleAuthLibrary = createRequire(import.meta.url).resolve('google-auth-library');
    const script = join(fixture.directory, 'child.cjs');
    await writeFile(
      script,
      `const { GoogleAuth } = require(${JSON.stringify(googleAuthLibrary)});
const fs = require('fs');
const credentials = JSON.parse(fs.readFileSync(process.env.GOOGLE_APPLICATION_CREDENTIALS, 'utf8'));
const configFile = /--config (\\S+)/.exec(credentials.credential_source.executable.command)[1];
new GoogleAuth({ keyFilename: process.env.GOOGLE_APPLICATION_CREDENTIALS, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getAccessToken().then(
  (token) => console.log(JSON.stringify({ env: process.env, token, configFile, configMode: fs.statSync(configFile).mode & 0o777 })),
  (error) => console.log(JSON.stringify({ env: process.env, error: String(error) })),
);
`,
    );
    const env = {
      ...fixture.env,
      SKYPORTEN_ISSUER: fixture.issuer.issuer,
      MASKINPORTEN_CLIENT_ID: fixture.client.clientId,
      MASKINPORTEN_KID: fixture.client.kid,
      MASKINPORTEN_SCOPE: SCOPE,
      SKYPORTEN_RESOURCE: RESOURCE,
      MASKINPORTEN_PRIVATE_KEY: encryptedKey.replace(/\n/g, '\\n'),
      MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: passphrase,
    };
    const before = gcp.counters.stsCalls;
    const result = await runCli(
      ['exec', '--gcp-audience', gcp.audience, '--gcp-token-url', gcp.stsTokenUrl, '--gcp-service-account', SERVICE_ACCOUNT,
        '--gcp-service-account-impersonation-url', gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT), '--', process.execPath, script],
      { env, timeoutMs: 30_000 },
    );
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout) as { env: Record<string, string>; token?: string; error?: string; configFile: string; configMode: number };
    expect(seen.error).toBeUndefined();
    expect(seen.token).toMatch(/^mock-sa\./);
    expect(gcp.counters.stsCalls).toBe(before + 1);
    expect(Object.keys(seen.env).filter((name) => name.startsWith('MASKINPORTEN_PRIVATE_KEY'))).toEqual([]);
    const values = Object.values(seen.env).join('\n');
    expect(values).not.toContain('PRIVATE KEY');
    expect(values).not.toContain(passphrase);
    expect(seen.env.MASKINPORTEN_CLIENT_ID).toBe(fixture.client.clientId);
    expect(seen.configMode).toBe(0o600);
    expect(existsSync(seen.configFile)).toBe(false);
  }, 30_000);
});

describe('skyporten doctor --gcp-audience', () => {
  it('takes the provider from SKYPORTEN_GCP_AUDIENCE and the config file', async () => {
    const config = join(fixture.directory, 'doctor-gcp.json');
    await writeFile(config, JSON.stringify({ gcp: { tokenUrl: gcp.stsTokenUrl, serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT) } }));
    const result = await runCli(['doctor', '--config', config, ...fixture.flags], {
      env: { ...fixture.env, SKYPORTEN_GCP_AUDIENCE: gcp.audience, SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL: SERVICE_ACCOUNT },
    });
    expect(result.stdout).toMatch(/^✓ GCP STS exchange and impersonation: a Google access token for reader@/m);
    expect(result.code).toBe(0);
  });

  it('exchanges the token with GCP STS and impersonates the service account', async () => {
    const args = ['doctor', ...fixture.flags, '--gcp-audience', gcp.audience, '--gcp-token-url', gcp.stsTokenUrl, '--gcp-service-account', SERVICE_ACCOUNT,
      '--gcp-service-account-impersonation-url', gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT)];
    const result = await runCli(args, { env: fixture.env });
    expect(result.stdout).toMatch(/^✓ GCP STS exchange and impersonation: /m);
    expect(result.code).toBe(0);

    const denied = await runCli(args.map((arg) => (arg === SERVICE_ACCOUNT ? 'other@data-provider.iam.gserviceaccount.com' : arg.replace(SERVICE_ACCOUNT, 'other@data-provider.iam.gserviceaccount.com'))), { env: fixture.env });
    expect(denied.code).toBe(3);
    expect(denied.stdout).toMatch(/^✗ GCP STS exchange and impersonation: /m);
  });
});
