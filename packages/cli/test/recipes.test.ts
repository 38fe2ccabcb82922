// Each recipe in docs/recipes/ run with the real client against the local mocks. A client that is not installed
// is skipped with a message naming the package (apt-get install awscli python3-boto3; gcloud from Google's repo).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createMockAws, createMockGcp, type MockAws, type MockGcp } from '@skyporten/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createFixture, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

const run = promisify(execFile);
const AWS_CLI = '/usr/bin/aws';
const PYTHON = '/usr/bin/python3';
const GCLOUD = '/usr/bin/gcloud';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const SERVICE_ACCOUNT = 'reader@data-provider.iam.gserviceaccount.com';
const hasBoto3 = existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/boto3');
/**
 * google-auth with external_account (workload identity federation) support, 1.27 or later: Debian's
 * python3-google-auth where it is recent enough (bookworm's is 1.5.1), else the copy the Google Cloud SDK ships in
 * lib/third_party (with its own requests), run with `python3 -S` so Debian's older copy does not shadow it.
 */
const GOOGLE_AUTH = [
  { path: '/usr/lib/python3/dist-packages', args: [] as string[] },
  { path: '/usr/lib/google-cloud-sdk/lib/third_party', args: ['-S'] },
].find((candidate) => existsSync(PYTHON) && existsSync(join(candidate.path, 'google/auth/external_account.py')));
const skipNote = (present: boolean, what: string) => (present ? '' : ` — SKIPPED: ${what} is not installed`);

let fixture: Fixture;
let aws: MockAws;
let gcp: MockGcp;
let awsConfig: string;

beforeAll(async () => {
  fixture = await createFixture();
  aws = await createMockAws({
    issuer: fixture.issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORG};${SCOPE}` } }],
    buckets: { 'shared-data': { 'report.csv': 'id,value\n1,42\n' } },
  });
  gcp = await createMockGcp({
    issuer: fixture.issuer,
    allowedAudiences: [RESOURCE],
    bindings: [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: `principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:${ORG}::${SCOPE}` }],
    buckets: { 'shared-data': { 'report.csv': 'id,value\n1,42\n' } },
  });
  // docs/recipes/aws-cli.md: the credential_process profile.
  const command = [`"${process.execPath}"`, `"${BIN}"`, 'aws', 'credential-process', '--role-arn', ROLE_ARN, '--sts-endpoint', aws.stsEndpoint, ...fixture.flags].join(' ');
  awsConfig = join(fixture.directory, 'aws-config');
  await writeFile(awsConfig, `[profile skyporten]\ncredential_process = ${command}\nregion = eu-north-1\n`);
});
afterAll(async () => {
  await gcp.close();
  await aws.close();
  await fixture.close();
});

const awsEnv = () => ({ ...fixture.env, AWS_CONFIG_FILE: awsConfig, AWS_SHARED_CREDENTIALS_FILE: join(fixture.directory, 'none'), AWS_PROFILE: 'skyporten' });

describe('docs/recipes/aws-cli.md', () => {
  it.skipIf(!existsSync(AWS_CLI))(`aws s3 cp through the credential_process profile; a second command makes no Maskinporten or STS call${skipNote(existsSync(AWS_CLI), '/usr/bin/aws (apt-get install awscli)')}`, async () => {
    const copy = () => run(AWS_CLI, ['s3', 'cp', 's3://shared-data/report.csv', '-', '--endpoint-url', aws.s3Endpoint], { env: awsEnv(), timeout: 30_000 });
    expect((await copy()).stdout).toBe('id,value\n1,42\n');
    const tokens = fixture.issuer.requests.length;
    const sts = aws.stsCalls;
    expect((await copy()).stdout).toBe('id,value\n1,42\n');
    expect(fixture.issuer.requests.length).toBe(tokens);
    expect(aws.stsCalls).toBe(sts);
  }, 60_000);

  it.skipIf(!existsSync(AWS_CLI))(`skyporten exec -- aws s3 cp, through the loopback credential endpoint${skipNote(existsSync(AWS_CLI), '/usr/bin/aws')}`, async () => {
    const result = await runCli(
      ['exec', '--aws-role-arn', ROLE_ARN, '--aws-sts-endpoint', aws.stsEndpoint, ...fixture.flags, '--', AWS_CLI, 's3', 'cp', 's3://shared-data/report.csv', '-', '--endpoint-url', aws.s3Endpoint, '--region', 'eu-north-1'],
      { env: { ...fixture.env, AWS_CONFIG_FILE: join(fixture.directory, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(fixture.directory, 'none') }, timeoutMs: 40_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('id,value\n1,42\n');
    expect(result.code).toBe(0);
  }, 45_000);
});

describe('docs/recipes/boto3.md', () => {
  it.skipIf(!hasBoto3)(`boto3 reads S3 through the credential_process profile${skipNote(hasBoto3, 'python3-boto3 (apt-get install python3-boto3)')}`, async () => {
    const script = [
      'import boto3, sys',
      'session = boto3.Session(profile_name="skyporten")',
      `s3 = session.client("s3", endpoint_url="${aws.s3Endpoint}")`,
      'for _ in range(5): body = s3.get_object(Bucket="shared-data", Key="report.csv")["Body"].read()',
      'sys.stdout.write(body.decode())',
    ].join('\n');
    const before = aws.stsCalls;
    const { stdout } = await run(PYTHON, ['-c', script], { env: awsEnv(), timeout: 30_000 });
    expect(stdout).toBe('id,value\n1,42\n');
    expect(aws.stsCalls - before).toBeLessThanOrEqual(1);
  }, 40_000);

  it.skipIf(!hasBoto3)(`boto3 web identity: AWS_WEB_IDENTITY_TOKEN_FILE written by skyporten token-file${skipNote(hasBoto3, 'python3-boto3')}`, async () => {
    const tokenFile = join(fixture.directory, 'web-identity-token');
    expect((await runCli(['token-file', '--output', tokenFile, ...fixture.flags], { env: fixture.env })).code).toBe(0);
    // Debian's botocore predates AWS_ENDPOINT_URL_STS, so the STS client is pointed at the mock explicitly with the
    // same token file the web identity provider reads.
    const script = [
      'import boto3, os, sys',
      `sts = boto3.client("sts", region_name="eu-north-1", endpoint_url="${aws.stsEndpoint}")`,
      'token = open(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]).read()',
      'answer = sts.assume_role_with_web_identity(RoleArn=os.environ["AWS_ROLE_ARN"], RoleSessionName="recipe", WebIdentityToken=token)',
      'c = answer["Credentials"]',
      `s3 = boto3.client("s3", endpoint_url="${aws.s3Endpoint}", region_name="eu-north-1", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])`,
      'sys.stdout.write(s3.get_object(Bucket="shared-data", Key="report.csv")["Body"].read().decode())',
    ].join('\n');
    const { stdout } = await run(PYTHON, ['-c', script], { env: { ...fixture.env, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN, AWS_CONFIG_FILE: join(fixture.directory, 'none') }, timeout: 30_000 });
    expect(stdout).toBe('id,value\n1,42\n');
  }, 40_000);
});

describe('docs/recipes/google-auth-python.md', () => {
  const present = GOOGLE_AUTH !== undefined;
  const note = skipNote(present, 'google-auth >= 1.27 (python3-google-auth, or the copy in /usr/lib/google-cloud-sdk/lib/third_party)');
  /** Loads the credential configuration with google-auth, refreshes it and reads an object with the token. */
  async function readWithGoogleAuth(credentials: string, extraEnv: Record<string, string> = {}): Promise<{ token: string; body: string }> {
    const script = [
      'import json, sys, google.auth',
      'from google.auth.transport.requests import AuthorizedSession, Request',
      // load_credentials_from_file also looks the project up at cloudresourcemanager.googleapis.com, which no
      // mock serves: that one request is answered "not found" here (the project is then None, as google-auth allows).
      'class LocalOnly(Request):',
      '    def __call__(self, url, method="GET", **kwargs):',
      '        if url.startswith("https://cloudresourcemanager.googleapis.com/"):',
      '            return type("NotFound", (), {"status": 404, "data": b"{}", "headers": {}})()',
      '        return super().__call__(url, method, **kwargs)',
      'credentials, _ = google.auth.load_credentials_from_file(sys.argv[1], scopes=["https://www.googleapis.com/auth/cloud-platform"], request=LocalOnly())',
      'credentials.refresh(LocalOnly())',
      `body = AuthorizedSession(credentials).get("${gcp.storageEndpoint}/storage/v1/b/shared-data/o/report.csv?alt=media").text`,
      'print(json.dumps({"token": credentials.token, "body": body}))',
    ].join('\n');
    const { stdout } = await run(PYTHON, [...GOOGLE_AUTH!.args, '-c', script, credentials], {
      env: { ...fixture.env, PYTHONPATH: GOOGLE_AUTH!.path, ...extraEnv },
      timeout: 60_000,
    });
    return JSON.parse(stdout) as { token: string; body: string };
  }

  it.skipIf(!present)(`google-auth, file source: the token file skyporten token-file writes${note}`, async () => {
    const tokenFile = join(fixture.directory, 'google-auth-token.json');
    expect((await runCli(['token-file', '--format', 'json', '--output', tokenFile, ...fixture.flags], { env: fixture.env })).code).toBe(0);
    // What gcloud's create-cred-config writes (docs/recipes/gcloud.md, JSON variant), pointed at the mocks.
    const credentials = join(fixture.directory, 'google-auth-file.json');
    await writeFile(credentials, JSON.stringify({
      type: 'external_account',
      audience: gcp.audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: gcp.stsTokenUrl,
      service_account_impersonation_url: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
      credential_source: { file: tokenFile, format: { type: 'json', subject_token_field_name: 'access_token' } },
    }));
    const before = gcp.counters.stsCalls;
    const seen = await readWithGoogleAuth(credentials);
    expect(seen.token).toMatch(/^mock-sa\./);
    expect(seen.body).toBe('id,value\n1,42\n');
    expect(gcp.counters.stsCalls).toBeGreaterThan(before);
  }, 90_000);

  it.skipIf(!present)(`google-auth, executable source: skyporten gcp credential-config, then skyporten gcp executable${note}`, async () => {
    const credentials = join(fixture.directory, 'google-auth-executable.json');
    const made = await runCli(['gcp', 'credential-config', '--audience', gcp.audience, '--service-account', SERVICE_ACCOUNT, '--token-url', gcp.stsTokenUrl,
      '--service-account-impersonation-url', gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT), '--output', credentials, ...fixture.flags], { env: fixture.env });
    expect(made.code).toBe(0);
    const env = { GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: '1', SKYPORTEN_CACHE_DIR: join(fixture.directory, 'google-auth-cache') };
    const tokens = fixture.issuer.requests.length;
    const seen = await readWithGoogleAuth(credentials, env);
    expect(seen.token).toMatch(/^mock-sa\./);
    expect(seen.body).toBe('id,value\n1,42\n');
    expect(fixture.issuer.requests.length).toBe(tokens + 1);
    // A second Python process: google-auth runs the executable again, which answers from the cross-process cache.
    const sts = gcp.counters.stsCalls;
    expect((await readWithGoogleAuth(credentials, env)).body).toBe('id,value\n1,42\n');
    expect(fixture.issuer.requests.length).toBe(tokens + 1);
    expect(gcp.counters.stsCalls).toBeGreaterThan(sts);
  }, 90_000);
});

describe('docs/recipes/gcloud.md', () => {
  const gcloudPresent = existsSync(GCLOUD);
  async function gcloudFlow(format: 'text' | 'json'): Promise<string> {
    const tokenFile = join(fixture.directory, `gcloud-token-${format}`);
    const args = ['token-file', '--output', tokenFile, ...(format === 'json' ? ['--format', 'json'] : []), ...fixture.flags];
    expect((await runCli(args, { env: fixture.env })).code).toBe(0);
    const configDir = join(fixture.directory, `gcloud-config-${format}`);
    await mkdir(configDir, { recursive: true });
    const credentials = join(fixture.directory, `gcloud-credentials-${format}.json`);
    const env = { ...fixture.env, CLOUDSDK_CONFIG: configDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1' };
    const provider = gcp.audience.replace('//iam.googleapis.com/', '');
    // The seed's flow, exactly; the JSON variant adds the two flags from Digdir's guide.
    await run(GCLOUD, [
      'iam', 'workload-identity-pools', 'create-cred-config', provider,
      `--service-account=${SERVICE_ACCOUNT}`, `--credential-source-file=${tokenFile}`,
      ...(format === 'json' ? ['--credential-source-type=json', '--credential-source-field-name=access_token'] : []),
      `--output-file=${credentials}`,
    ], { env, timeout: 60_000 });
    const config = JSON.parse(await readFile(credentials, 'utf8')) as Record<string, unknown>;
    expect(config.credential_source).toEqual({ file: tokenFile, ...(format === 'json' ? { format: { type: 'json', subject_token_field_name: 'access_token' } } : {}) });
    expect(config.service_account_impersonation_url).toMatch(new RegExp(`serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken$`));
    // Only the Google endpoints are pointed at the local mocks.
    config.token_url = gcp.stsTokenUrl;
    config.service_account_impersonation_url = gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT);
    await writeFile(credentials, JSON.stringify(config));
    const before = { sts: gcp.counters.stsCalls, iam: gcp.counters.generateAccessTokenCalls };
    await run(GCLOUD, ['auth', 'login', `--cred-file=${credentials}`], { env, timeout: 60_000 });
    const { stdout } = await run(GCLOUD, ['auth', 'print-access-token'], { env, timeout: 60_000 });
    // The access token gcloud prints is the one the mock's generateAccessToken issued for the service account.
    expect(stdout.trim()).toMatch(/^mock-sa\./);
    expect(gcp.counters.stsCalls).toBeGreaterThan(before.sts);
    expect(gcp.counters.generateAccessTokenCalls).toBeGreaterThan(before.iam);
    return 'ok';
  }

  it.skipIf(!gcloudPresent)(`gcloud: create-cred-config --credential-source-file (the seed's flow)${skipNote(gcloudPresent, '/usr/bin/gcloud')}`, async () => {
    expect(await gcloudFlow('text')).toBe('ok');
  }, 120_000);

  it.skipIf(!gcloudPresent)(`gcloud: the JSON variant (--credential-source-type=json --credential-source-field-name=access_token)${skipNote(gcloudPresent, '/usr/bin/gcloud')}`, async () => {
    expect(await gcloudFlow('json')).toBe('ok');
  }, 120_000);
});
