import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMockAws, createMockEntraId, createTestCertificate, type MockAws, type MockEntraId } from '@skyporten/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

const SUBJECT = `0192:${ORG};${SCOPE}`;
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const DAY = 86_400_000;

let fixture: Fixture;
let aws: MockAws;
let entra: MockEntraId;
let caFile: string;

beforeAll(async () => {
  fixture = await createFixture();
  aws = await createMockAws({ issuer: fixture.issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }] });
  entra = await createMockEntraId({
    issuer: fixture.issuer,
    applications: [{ clientId: '11111111-2222-3333-4444-555555555555', principalId: '99999999-8888-7777-6666-555555555555', federatedCredentials: [{ issuer: fixture.issuer.issuer, subject: SUBJECT, audiences: [RESOURCE] }] }],
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

  it('prints the checks as JSON with --json', async () => {
    const result = await doctor(['--json', ...fixture.flags]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.status)).not.toContain('fail');
  });
});
