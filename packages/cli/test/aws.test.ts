import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fromProcess } from '@aws-sdk/credential-providers';
import { createMockAws, type MockAws } from '@skyporten/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createFixture, lines, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const AWS_CLI = '/usr/bin/aws';
const PYTHON = '/usr/bin/python3';
const hasBoto3 = existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/boto3');

let fixture: Fixture;
let aws: MockAws;
let awsFlags: string[];

beforeAll(async () => {
  fixture = await createFixture();
  aws = await createMockAws({ issuer: fixture.issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORG};${SCOPE}` } }] });
  awsFlags = ['--role-arn', ROLE_ARN, '--sts-endpoint', aws.stsEndpoint, '--region', 'eu-north-1', ...fixture.flags];
});
afterAll(async () => {
  await aws.close();
  await fixture.close();
});

/** A ~/.aws/config with a profile whose credential_process runs the built bin. */
async function writeAwsConfig(): Promise<string> {
  const command = [`"${process.execPath}"`, `"${BIN}"`, 'aws', 'credential-process', ...awsFlags].join(' ');
  const path = join(fixture.directory, 'aws-config');
  await writeFile(path, `[profile skyporten]\ncredential_process = ${command}\nregion = eu-north-1\n`);
  return path;
}

describe('skyporten aws credential-process', () => {
  it('prints credential_process JSON from STS', async () => {
    const result = await runCli(['aws', 'credential-process', '--duration-seconds', '900', ...awsFlags], { env: fixture.env });
    expect(result.stderr).toMatch(/^skyporten: warning: --duration-seconds 900 is below 3600: botocore .* within 15 minutes before every request/);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    expect(output.Version).toBe(1);
    expect(output.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const expiresIn = Date.parse(String(output.Expiration)) - Date.now();
    expect(expiresIn).toBeGreaterThan(800_000);
    expect(expiresIn).toBeLessThanOrEqual(900_000);
    expect(aws.requests.at(-1)).toMatchObject({ action: 'AssumeRoleWithWebIdentity', status: 200, roleArn: ROLE_ARN });
  });

  it("feeds the AWS SDK's fromProcess through a credential_process profile", async () => {
    const configFilepath = await writeAwsConfig();
    const provider = fromProcess({ profile: 'skyporten', configFilepath, filepath: join(fixture.directory, 'no-credentials') });
    const credentials = await provider();
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.sessionToken).toBeTruthy();
    expect(credentials.expiration!.getTime()).toBeGreaterThan(Date.now());
  });

  it.skipIf(!existsSync(AWS_CLI))(`feeds the aws CLI v2 (aws configure export-credentials)${existsSync(AWS_CLI) ? '' : ' — SKIPPED: /usr/bin/aws is not installed (apt-get install awscli)'}`, async () => {
    const configFile = await writeAwsConfig();
    const { stdout } = await promisify(execFile)(AWS_CLI, ['configure', 'export-credentials', '--profile', 'skyporten', '--format', 'process'], {
      env: { ...fixture.env, AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(fixture.directory, 'no-credentials') },
      timeout: 30_000,
    });
    const exported = JSON.parse(stdout) as Record<string, unknown>;
    expect(exported).toMatchObject({ Version: 1, AccessKeyId: expect.stringMatching(/^ASIA/) as unknown });
    expect(exported.SessionToken).toBeTruthy();
  }, 40_000);

  it('names the missing role ARN in one line, exit code 2', async () => {
    const result = await runCli(['aws', 'credential-process', ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe('skyporten: The IAM role to assume is missing. [CONFIG_INVALID]');
    expect(lines(result.stderr)[1]).toMatch(/--role-arn/);
  });

  it('reports a trust policy mismatch from STS, exit code 1', async () => {
    const result = await runCli(['aws', 'credential-process', ...awsFlags.map((flag) => (flag === ROLE_ARN ? 'arn:aws:iam::123456789012:role/other' : flag))], { env: fixture.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[CLOUD_EXCHANGE_FAILED\]/);
    expect(result.stdout).toBe('');
  });
});

describe('skyporten exec --aws-role-arn', () => {
  it('serves refreshing credentials from a loopback endpoint (container-credentials protocol) and passes the exit code through', async () => {
    const script = [
      'const e = process.env;',
      'const r = await fetch(e.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: e.AWS_CONTAINER_AUTHORIZATION_TOKEN } });',
      'const denied = await fetch(e.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: "wrong" } });',
      'console.log(JSON.stringify({ url: e.AWS_CONTAINER_CREDENTIALS_FULL_URI, status: r.status, body: await r.json(), denied: denied.status, key: e.AWS_ACCESS_KEY_ID ?? null, profile: e.AWS_PROFILE ?? null }));',
      'process.exit(7);',
    ].join(' ');
    const execFlags = ['--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', aws.stsEndpoint, ...fixture.flags];
    const result = await runCli(['exec', ...execFlags, '--', process.execPath, '--input-type=module', '-e', script], { env: { ...fixture.env, AWS_PROFILE: 'other', AWS_ACCESS_KEY_ID: 'AKIASTALE' } });
    expect(result.code).toBe(7);
    const seen = JSON.parse(result.stdout) as { url: string; status: number; body: Record<string, string>; denied: number; key: string | null; profile: string | null };
    expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/skyporten\/[0-9a-f]+$/);
    expect(seen.status).toBe(200);
    expect(Object.keys(seen.body).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'Token']);
    expect(seen.body.AccessKeyId).toMatch(/^ASIA/);
    expect(Date.parse(seen.body.Expiration!)).toBeGreaterThan(Date.now());
    expect(seen).toMatchObject({ denied: 403, key: null, profile: null });
  });

  it('--aws-env-keys sets the fixed AWS credential variables instead', async () => {
    const script = 'const e = process.env; console.log(JSON.stringify({ id: e.AWS_ACCESS_KEY_ID, session: !!e.AWS_SESSION_TOKEN, uri: e.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? null }))';
    const result = await runCli(['exec', '--aws-env-keys', '--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', aws.stsEndpoint, ...fixture.flags, '--', process.execPath, '-e', script], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: expect.stringMatching(/^ASIA/) as unknown, session: true, uri: null });
  });

  it.skipIf(!existsSync(AWS_CLI))(`feeds the aws CLI v2 through the endpoint (aws configure export-credentials)${existsSync(AWS_CLI) ? '' : ' — SKIPPED: /usr/bin/aws is not installed'}`, async () => {
    const execFlags = ['--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', aws.stsEndpoint, ...fixture.flags];
    const result = await runCli(['exec', ...execFlags, '--', AWS_CLI, 'configure', 'export-credentials', '--format', 'process'], {
      env: { ...fixture.env, AWS_CONFIG_FILE: join(fixture.directory, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(fixture.directory, 'none') },
      timeoutMs: 40_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ AccessKeyId: expect.stringMatching(/^ASIA/) as unknown });
  }, 45_000);
});

describe('skyporten exec: credentials that outlive their first lifetime', () => {
  // STS issues 6-s credentials (the mock's credentialLifetimeSeconds): the command runs past their expiry.
  let shortAws: MockAws;
  let shortFlags: string[];
  beforeAll(async () => {
    shortAws = await createMockAws({
      issuer: fixture.issuer,
      clientIds: [RESOURCE],
      roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORG};${SCOPE}` } }],
      buckets: { 'shared-data': { 'report.csv': 'id,value\n1,42\n' } },
      credentialLifetimeSeconds: 6,
    });
    shortFlags = ['--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', shortAws.stsEndpoint, ...fixture.flags];
  });
  afterAll(() => shortAws.close());

  it('the loopback endpoint answers new, unexpired credentials after the first ones expire', async () => {
    const script = [
      'const e = process.env;',
      'const get = async () => (await fetch(e.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: e.AWS_CONTAINER_AUTHORIZATION_TOKEN } })).json();',
      'const first = await get();',
      'await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(first.Expiration) - Date.now()) + 300));',
      'const askedAt = Date.now();',
      'const second = await get();',
      'console.log(JSON.stringify({ first, second, askedAt }));',
    ].join(' ');
    const before = shortAws.stsCalls;
    const result = await runCli(['exec', ...shortFlags, '--', process.execPath, '--input-type=module', '-e', script], { env: fixture.env, timeoutMs: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    type Served = { AccessKeyId: string; Expiration: string };
    const { first, second, askedAt } = JSON.parse(result.stdout) as { first: Served; second: Served; askedAt: number };
    expect(Date.parse(first.Expiration)).toBeLessThan(askedAt);
    expect(second.AccessKeyId).toMatch(/^ASIA/);
    expect(second.AccessKeyId).not.toBe(first.AccessKeyId);
    expect(Date.parse(second.Expiration)).toBeGreaterThan(askedAt);
    expect(shortAws.stsCalls - before).toBeGreaterThanOrEqual(2);
  }, 25_000);

  it.skipIf(!hasBoto3)(`one boto3 process reads S3 before and after the first credentials expire${hasBoto3 ? '' : ' — SKIPPED: python3-boto3 is not installed'}`, async () => {
    // botocore's container provider asks the endpoint again as expiry nears; the mock S3 refuses expired sessions.
    const script = [
      'import boto3, time, sys',
      `s3 = boto3.client("s3", endpoint_url="${shortAws.s3Endpoint}", region_name="eu-north-1")`,
      'first = s3.get_object(Bucket="shared-data", Key="report.csv")["Body"].read()',
      'time.sleep(7)',
      'second = s3.get_object(Bucket="shared-data", Key="report.csv")["Body"].read()',
      'sys.stdout.write((first + second).decode())',
    ].join('\n');
    const before = shortAws.stsCalls;
    const result = await runCli(['exec', ...shortFlags, '--', PYTHON, '-c', script], {
      env: { ...fixture.env, AWS_CONFIG_FILE: join(fixture.directory, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(fixture.directory, 'none') },
      timeoutMs: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('id,value\n1,42\n'.repeat(2));
    expect(result.code).toBe(0);
    expect(shortAws.stsCalls - before).toBeGreaterThanOrEqual(2);
  }, 35_000);
});
