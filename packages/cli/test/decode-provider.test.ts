import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, lines, ORG, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});
afterAll(() => fixture.close());

const SUBJECT = `0192:${ORG};${SCOPE}`;
const PROVIDER = ['--org', `0192:${ORG}`, '--scope', SCOPE, '--audience', RESOURCE];

describe('skyporten decode', () => {
  it('shows claims with human times and what each cloud matches, from an argument or stdin', async () => {
    const token = await fixture.issuer.signAccessToken({ aud: RESOURCE, sub: SUBJECT, scope: SCOPE, consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${ORG}` } }, { expiresInSeconds: 120 });
    for (const result of [await runCli(['decode', token], { env: fixture.env }), await runCli(['decode', '-'], { env: fixture.env, input: `${token}\n` })]) {
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(token);
      expect(result.stdout).toMatch(/^Issuer {6}http:\/\/127\.0\.0\.1:\d+$/m);
      expect(result.stdout).toMatch(/^Expires at {2}\d{4}-.*Z \(in (2 min|1 min( \d+ s)?|\d+ s)\)$/m);
      expect(result.stdout).toMatch(/^Time left {3}(2 min|1 min( \d+ s)?|\d+ s)$/m);
      expect(result.stdout).toContain(`StringEquals "127.0.0.1:${new URL(fixture.issuer.issuer).port}:sub": "${SUBJECT}"`);
      expect(result.stdout).toContain(`attribute.clientaccess=client::0192:${ORG}::${SCOPE}`);
      expect(result.stdout).toContain(`principalSet://iam.googleapis.com/projects/<PROJECT_NUMBER>/locations/global/workloadIdentityPools/<POOL>/attribute.clientaccess/client::0192:${ORG}::${SCOPE}`);
      expect(result.stdout).toContain(`subject ${SUBJECT}, audience ${RESOURCE}`);
      expect(result.stdout).not.toContain('✗');
    }
  });

  it('warns about a token without aud and an old-style sub; --json has the same', async () => {
    const token = await fixture.issuer.signAccessToken({ sub: `0192:${ORG}`, scope: SCOPE, consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${ORG}` } });
    const result = await runCli(['decode', '--json', token], { env: fixture.env });
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { warnings: string[]; clouds: { gcp: Record<string, string> }; secondsLeft: number };
    expect(output.warnings).toHaveLength(2);
    expect(output.warnings[0]).toMatch(/no aud/);
    expect(output.clouds.gcp['google.subject']).toBe(`0192:${ORG}`);
    expect(output.secondsLeft).toBeGreaterThan(100);
  });

  it('rejects something that is not a JWT, exit code 2', async () => {
    const result = await runCli(['decode', 'not-a-token'], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual(['skyporten: The value is not a well-formed JWT access token. [TOKEN_INVALID]']);
  });
});

describe('skyporten provider', () => {
  it('aws: OIDC provider with the audience as client id, trust policy on <host>:sub', async () => {
    const result = await runCli(['provider', 'aws', ...PROVIDER, '--env', 'prod', '--account-id', '123456789012', '--format', 'json'], { env: fixture.env });
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { openIdConnectProvider: unknown; role: { AssumeRolePolicyDocument: { Statement: Array<Record<string, unknown>> } } };
    expect(output.openIdConnectProvider).toEqual({ Url: 'https://sky.maskinporten.no', ClientIDList: [RESOURCE] });
    expect(output.role.AssumeRolePolicyDocument.Statement[0]).toEqual({
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/sky.maskinporten.no' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { 'sky.maskinporten.no:sub': SUBJECT, 'sky.maskinporten.no:aud': RESOURCE } },
    });
    const text = await runCli(['provider', 'aws', ...PROVIDER], { env: fixture.env });
    expect(text.stdout).toContain('"test.sky.maskinporten.no:sub": "0192:991825827;entur:skyporten.demo"');
    const shell = await runCli(['provider', 'aws', ...PROVIDER, '--format', 'shell'], { env: fixture.env });
    expect(shell.stdout).toContain(`aws iam create-open-id-connect-provider --url https://test.sky.maskinporten.no --client-id-list ${RESOURCE}`);
    const terraform = await runCli(['provider', 'aws', ...PROVIDER, '--format', 'terraform'], { env: fixture.env });
    expect(terraform.stdout).toContain(`"test.sky.maskinporten.no:sub" = "${SUBJECT}"`);
  });

  it("gcp: pool provider with PROTOCOL.md's attribute mapping and the principalSet binding", async () => {
    const result = await runCli(['provider', 'gcp', ...PROVIDER, '--project-number', '123456789012', '--service-account', 'reader@p.iam.gserviceaccount.com', '--format', 'json'], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      provider: {
        oidc: { issuerUri: 'https://test.sky.maskinporten.no', allowedAudiences: [RESOURCE] },
        attributeMapping: {
          'google.subject': 'assertion.consumer.ID',
          'attribute.maskinportenscope': 'assertion.scope',
          'attribute.clientaccess': '"client::" + assertion.consumer.ID + "::" + assertion.scope',
        },
      },
      binding: {
        role: 'roles/iam.workloadIdentityUser',
        member: `principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:${ORG}::${SCOPE}`,
      },
      consumerAudience: '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten',
    });
    const shell = await runCli(['provider', 'gcp', ...PROVIDER, '--format', 'shell'], { env: fixture.env });
    expect(shell.stdout).toContain(`--attribute-mapping='google.subject=assertion.consumer.ID,attribute.maskinportenscope=assertion.scope,attribute.clientaccess="client::" + assertion.consumer.ID + "::" + assertion.scope'`);
    const terraform = await runCli(['provider', 'gcp', ...PROVIDER, '--format', 'terraform'], { env: fixture.env });
    expect(terraform.stdout).toContain('issuer_uri        = "https://test.sky.maskinporten.no"');
  });

  it('azure: federated identity credential with the exact issuer, subject and audience', async () => {
    const result = await runCli(['provider', 'azure', ...PROVIDER, '--format', 'json'], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ federatedIdentityCredential: { issuer: 'https://test.sky.maskinporten.no', subject: SUBJECT, audiences: [RESOURCE] } });
    const shell = await runCli(['provider', 'azure', ...PROVIDER, '--format', 'shell'], { env: fixture.env });
    expect(shell.stdout).toContain(`--issuer https://test.sky.maskinporten.no --subject '${SUBJECT}' --audiences ${RESOURCE}`);
  });

  it.each([
    [['--org', '0192:991825828'], '--org', /modulus-11/],
    [['--org', '12345'], '--org', /not a valid Norwegian organisation number/],
    [['--org', '9908:991825827'], '--org', /not 0192:/],
    [['--scope', 'entur skyporten'], '--scope', /several scopes/],
    [['--scope', 'noprefix'], '--scope', /not a Maskinporten scope/],
    [['--audience', 'skyporten.example.org'], '--audience', /not an absolute URI/],
  ])('rejects %j in one line with the fix, exit code 2', async (override, _flag, pattern) => {
    const args = [...PROVIDER];
    args[args.indexOf(override[0]!) + 1] = override[1]!;
    const result = await runCli(['provider', 'aws', ...args], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)[0]).toMatch(pattern);
    expect(lines(result.stderr).length).toBeLessThanOrEqual(2);
  });
});

describe('usage errors', () => {
  it('unknown command: one line with a suggestion, exit code 2', async () => {
    const result = await runCli(['tokn'], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe("skyporten: unknown command 'tokn'");
    expect(result.stderr).toContain('token');
  });

  it('missing required flag, exit code 2', async () => {
    const result = await runCli(['provider', 'aws', '--scope', SCOPE, '--audience', RESOURCE], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual(["skyporten: required option '--org <orgno>' not specified"]);
  });

  it('unreadable key file, exit code 2', async () => {
    const result = await runCli(['token', ...fixture.flags.map((flag) => (flag === fixture.keyFile ? '/nonexistent/key.pem' : flag))], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe('skyporten: --key-file "/nonexistent/key.pem" cannot be read (ENOENT). [CONFIG_INVALID]');
  });

  it('issuer down: one line plus hint, exit code 1, no stack unless --debug', async () => {
    const down = ['--issuer', 'http://127.0.0.1:9', ...fixture.flags.slice(2)];
    const result = await runCli(['token', ...down], { env: fixture.env });
    expect(result.code).toBe(1);
    expect(lines(result.stderr).length).toBeLessThanOrEqual(2);
    expect(lines(result.stderr)[0]).toMatch(/^skyporten: .*127\.0\.0\.1:9.*\[(DISCOVERY_FAILED|NETWORK_ERROR)\]$/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    const debug = await runCli(['token', '--debug', ...down], { env: fixture.env });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  it('every command has --help with an example', async () => {
    for (const command of [['token'], ['aws', 'credential-process'], ['gcp', 'executable'], ['gcp', 'credential-config'], ['azure', 'token-file'], ['exec'], ['decode'], ['doctor'], ['provider']]) {
      const result = await runCli([...command, '--help'], { env: fixture.env });
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout, command.join(' ')).toMatch(/Examples:\n {2}\$ .*skyporten /);
    }
  });
});
