import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { CLIENT_OPTION_DEFAULTS } from '@skyporten/core';
import { createMockAws, createMockEntraId, createTestCertificate, type MockAws, type MockEntraId } from '@skyporten/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';
import { createTestProxy as startProxy } from '@skyporten/testing';

const SUBJECT = `0192:${ORG};${SCOPE}`;
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const DAY = 86_400_000;
const ENTRA_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
/** The core's fixture: RSA 2048 key and a 30-year chain (leaf, test CA) for org 991825827. */
const CORE_FIXTURES = new URL('../../core/test/fixtures/', import.meta.url);

let fixture: Fixture;
let aws: MockAws;
let entra: MockEntraId;
let caFile: string;

beforeAll(async () => {
  fixture = await createFixture();
  aws = await createMockAws({ issuer: fixture.issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }] });
  entra = await createMockEntraId({
    issuer: fixture.issuer,
    applications: [{ clientId: ENTRA_CLIENT_ID, principalId: '99999999-8888-7777-6666-555555555555', federatedCredentials: [{ issuer: fixture.issuer.issuer, subject: SUBJECT, audiences: [RESOURCE] }] }],
  });
  caFile = join(fixture.directory, 'entra-ca.pem');
  await writeFile(caFile, entra.certificate);
});
afterAll(async () => {
  await entra.close();
  await aws.close();
  await fixture.close();
});

function doctor(args: string[], env: Record<string, string> = fixture.env) {
  return runCli(['doctor', ...args], { env, timeoutMs: 30_000 });
}

function failed(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith('✗'));
}

describe('skyporten doctor', () => {
  it('passes every check (and the AWS and Entra ID exchanges) for a correct setup, exit code 0', async () => {
    const result = await doctor(
      [...fixture.flags, '--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', aws.stsEndpoint,
        '--azure-tenant-id', entra.tenantId, '--azure-client-id', '11111111-2222-3333-4444-555555555555', '--azure-authority-host', entra.authorityHost],
      { ...fixture.env, NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(failed(result.stdout)).toEqual([]);
    expect(result.code).toBe(0);
    for (const name of ['configuration complete', 'private key', 'issuer reachable', 'clock skew', 'metadata', 'issuer string exact', 'token obtained', 'aud as expected', 'sub format (AWS, Azure)', 'AWS STS AssumeRoleWithWebIdentity', 'Entra ID client assertion']) {
      expect(result.stdout).toMatch(new RegExp(`^✓ ${name.replace(/[()]/g, '\\$&')}: `, 'm'));
    }
    expect(result.stdout).toMatch(/All checks passed\.\n$/);
    expect(result.stdout).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('finds a trailing slash on the issuer', async () => {
    const result = await doctor(fixture.flags.map((flag) => (flag === fixture.issuer.issuer ? `${flag}/` : flag)));
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✗ issuer string exact: .*\(trailing slash\)\.\n {4}fix: Set --issuer http:\/\/127\.0\.0\.1:\d+: /m);
  });

  it('finds a wrong kid and explains the MP code', async () => {
    const result = await doctor(fixture.flags.map((flag) => (flag === fixture.client.kid ? 'wrong-kid' : flag)));
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✗ token obtained: MP-\d+: .*\n {4}fix: .*kid/m);
  });

  it('finds clock skew from the Date header', async () => {
    fixture.issuer.setClockOffset(60);
    try {
      const result = await doctor(fixture.flags);
      expect(result.code).toBe(3);
      expect(result.stdout).toMatch(/^✗ clock skew: This machine's clock is (59|60|61) s behind the issuer's\.\n {4}fix: Synchronise the clock/m);
    } finally {
      fixture.issuer.setClockOffset(0);
    }
  });

  it('finds a missing resource (no aud)', async () => {
    const withoutResource = fixture.flags.slice(0, -2);
    const result = await doctor(withoutResource);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✗ configuration complete: missing: resource$/m);
    expect(result.stdout).toMatch(/^✗ aud present: The token has no aud\./m);
  });

  it('finds an expired certificate, and one that does not belong to the key', async () => {
    const expired = join(fixture.directory, 'expired.pem');
    await writeFile(expired, createTestCertificate({ privateKey: fixture.client.privateKey, orgNo: ORG, notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) }));
    const result = await doctor([...fixture.flags, '--certificate-file', expired]);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✓ certificate matches key: /m);
    expect(result.stdout).toMatch(/^✗ certificate expiry: The certificate expired on \d{4}-\d\d-\d\d\./m);

    const foreign = join(fixture.directory, 'foreign.pem');
    await writeFile(foreign, createTestCertificate({ orgNo: ORG }));
    const mismatch = await doctor([...fixture.flags, '--certificate-file', foreign]);
    expect(mismatch.code).toBe(3);
    expect(mismatch.stdout).toMatch(/^✗ certificate matches key: /m);

    const soon = join(fixture.directory, 'soon.pem');
    await writeFile(soon, createTestCertificate({ privateKey: fixture.client.privateKey, orgNo: ORG, notAfter: new Date(Date.now() + 20 * DAY) }));
    const warning = await doctor([...fixture.flags, '--certificate-file', soon]);
    expect(warning.stdout).toMatch(/^! certificate expiry: The certificate expires on .*, in (19|20) days\./m);
    expect(warning.code).toBe(0);
  });

  it('finds a missing client id and an unreadable key file', async () => {
    const result = await doctor(['--issuer', fixture.issuer.issuer, '--scope', SCOPE, '--resource', RESOURCE, '--kid', 'k', '--key-file', '/nonexistent.pem']);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✗ configuration complete: missing: client id$/m);
    expect(result.stdout).toMatch(/^✗ private key: --key-file "\/nonexistent\.pem" cannot be read \(ENOENT\)\./m);
  });

  it('explains a principal id used as the Azure client id (AADSTS700016) and a trust policy mismatch', async () => {
    const result = await doctor(
      [...fixture.flags, '--azure-tenant-id', entra.tenantId, '--azure-client-id', '99999999-8888-7777-6666-555555555555', '--azure-authority-host', entra.authorityHost,
        '--aws-role-arn', 'arn:aws:iam::123456789012:role/other', '--aws-sts-endpoint', aws.stsEndpoint],
      { ...fixture.env, NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^✗ Entra ID client assertion: .*AADSTS700016.*\n {4}fix: .*not its principal/m);
    expect(result.stdout).toMatch(/^✗ AWS STS AssumeRoleWithWebIdentity: /m);
  });

  it("prints each option's source: flag, environment variable, config file field or default", async () => {
    const config = join(fixture.directory, 'doctor-sources.json');
    await writeFile(config, JSON.stringify({ scope: SCOPE, kid: fixture.client.kid }), { mode: 0o600 });
    const flags = ['--issuer', fixture.issuer.issuer, '--key-file', fixture.keyFile, '--resource', RESOURCE, '--config', config];
    const result = await doctor(flags, { ...fixture.env, MASKINPORTEN_CLIENT_ID: fixture.client.clientId });
    expect(result.code).toBe(0);
    const given = 'issuer from flag --issuer, clientId from environment MASKINPORTEN_CLIENT_ID, scope from config file "scope", resource from flag --resource, key from flag --key-file, kid from config file "kid"';
    expect(result.stdout).toContain(`\n✓ configuration sources: ${given}; defaults for ${Object.keys(CLIENT_OPTION_DEFAULTS).join(', ')}\n`);
  });

  it('prints the checks as JSON with --json', async () => {
    const result = await doctor(['--json', ...fixture.flags]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.status)).not.toContain('fail');
  });
});

describe('skyporten doctor behind a proxy', () => {
  it("sends the issuer check through HTTP_PROXY", async () => {
    const proxy = await startProxy();
    try {
      // Without a client id the token step is skipped: the only request is doctor's own metadata check.
      const withoutClientId = fixture.flags.filter((flag, index, all) => flag !== '--client-id' && all[index - 1] !== '--client-id');
      const result = await doctor(withoutClientId, { ...fixture.env, HTTP_PROXY: proxy.url });
      expect(result.stdout).toMatch(/^✓ issuer reachable: /m);
      expect(result.stdout).toMatch(/^- token obtained: /m);
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.requests.every((line) => line.includes(fixture.issuer.url.host))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('sends the Entra ID check through HTTPS_PROXY, and fails the issuer check when the proxy is down', async () => {
    const proxy = await startProxy();
    try {
      const result = await doctor(
        [...fixture.flags, '--azure-tenant-id', entra.tenantId, '--azure-client-id', ENTRA_CLIENT_ID, '--azure-authority-host', entra.authorityHost],
        { ...fixture.env, NODE_EXTRA_CA_CERTS: caFile, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
      );
      expect(result.stdout).toMatch(/^✓ Entra ID client assertion: /m);
      expect(proxy.requests).toContain(`CONNECT ${new URL(entra.authorityHost).host}`);
    } finally {
      await proxy.close();
    }
    const down = await doctor(fixture.flags, { ...fixture.env, HTTP_PROXY: 'http://127.0.0.1:9' });
    expect(down.code).toBe(3);
    expect(down.stdout).toMatch(/^✗ issuer reachable: /m);
  });
});

describe('skyporten doctor with cloud settings from the environment', () => {
  it('runs the AWS and Entra ID exchanges from AWS_ROLE_ARN, AZURE_TENANT_ID and AZURE_CLIENT_ID alone', async () => {
    const result = await doctor(fixture.flags, {
      ...fixture.env,
      NODE_EXTRA_CA_CERTS: caFile,
      AWS_ROLE_ARN: ROLE_ARN,
      AWS_ENDPOINT_URL_STS: aws.stsEndpoint,
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_CLIENT_ID: ENTRA_CLIENT_ID,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
    });
    expect(result.stdout).toMatch(/^✓ AWS STS AssumeRoleWithWebIdentity: arn:aws:iam::123456789012:role\/skyporten-reader, /m);
    expect(result.stdout).toMatch(/^✓ Entra ID client assertion: an Azure Storage token for client 11111111-/m);
    expect(result.code).toBe(0);
  });

  it('takes them from the config file, with the flag winning over the environment', async () => {
    const config = join(fixture.directory, 'doctor-clouds.json');
    await writeFile(config, JSON.stringify({ azure: { tenantId: entra.tenantId, clientId: ENTRA_CLIENT_ID, authorityHost: entra.authorityHost } }));
    const result = await doctor([...fixture.flags, '--config', config, '--aws-role-arn', 'arn:aws:iam::123456789012:role/other', '--aws-sts-endpoint', aws.stsEndpoint], {
      ...fixture.env,
      NODE_EXTRA_CA_CERTS: caFile,
      AWS_ROLE_ARN: ROLE_ARN,
    });
    expect(result.stdout).toMatch(/^✓ Entra ID client assertion: /m);
    expect(result.stdout).toMatch(/^✗ AWS STS AssumeRoleWithWebIdentity: /m);
    expect(result.code).toBe(3);
  });
});

/** A .p12 holding `privateKeyPem` and `certificatesPem` (leaf first or not), 3DES-encrypted with `passphrase`. */
function pkcs12(privateKeyPem: string, certificatesPem: string, passphrase: string): Buffer {
  const certificates = certificatesPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((pem) => forge.pki.certificateFromPem(pem));
  const asn1 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(privateKeyPem), certificates, passphrase, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

describe('skyporten doctor with a PKCS#12 key', () => {
  it('checks the key size, that the certificate belongs to the key and its expiry, then gets a token with x5c', async () => {
    const chain = await readFile(new URL('chain.pem', CORE_FIXTURES), 'utf8');
    const leaf = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    const registered = await fixture.issuer.registerClient({ scopes: [SCOPE], orgNo: ORG, certificate: leaf });
    const keyFile = new URL('business.p12', CORE_FIXTURES).pathname;
    const flags = ['--issuer', fixture.issuer.issuer, '--client-id', registered.clientId, '--key-file', keyFile, '--scope', SCOPE, '--resource', RESOURCE];
    const result = await doctor(flags, { ...fixture.env, MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'p12 secret' });
    expect(result.stdout).toMatch(/^✓ private key: PKCS#12, RSA 2048 bits$/m);
    expect(result.stdout).toMatch(/^✓ certificate matches key: .*991825827/m);
    expect(result.stdout).toMatch(/^✓ certificate expiry: valid until \d{4}-\d\d-\d\d \((35\d|36\d) months\)$/m);
    expect(result.stdout).toMatch(/^✓ token obtained: /m);
    expect(result.code).toBe(0);

    const wrongPassphrase = await doctor(flags, { ...fixture.env, MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'wrong' });
    expect(wrongPassphrase.code).toBe(3);
    expect(wrongPassphrase.stdout).toMatch(/^✗ private key: The PKCS#12 file could not be opened .*\n {4}fix: Set MASKINPORTEN_PRIVATE_KEY_PASSPHRASE/m);
    expect(wrongPassphrase.stdout).toMatch(/^- token obtained: /m);
  });

  it('warns about a certificate that expires soon and fails one that belongs to another key', async () => {
    const soon = join(fixture.directory, 'soon.p12');
    const soonCertificate = createTestCertificate({ privateKey: fixture.client.privateKey, orgNo: ORG, notAfter: new Date(Date.now() + 20 * DAY) });
    await writeFile(soon, pkcs12(fixture.client.privateKey, soonCertificate, 'pw'));
    const env = { ...fixture.env, MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'pw' };
    const withP12 = (file: string) => fixture.flags.map((flag) => (flag === fixture.keyFile ? file : flag));
    const warning = await doctor(withP12(soon), env);
    expect(warning.stdout).toMatch(/^✓ certificate matches key: /m);
    expect(warning.stdout).toMatch(/^! certificate expiry: The certificate expires on .*, in (19|20) days\./m);
    expect(warning.code).toBe(0);

    const foreign = join(fixture.directory, 'foreign.p12');
    await writeFile(foreign, pkcs12(fixture.client.privateKey, createTestCertificate({ orgNo: ORG }), 'pw'));
    const mismatch = await doctor(withP12(foreign), env);
    expect(mismatch.stdout).toMatch(/^✗ certificate matches key: /m);
    expect(mismatch.code).toBe(3);
  });
});
