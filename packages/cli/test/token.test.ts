import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, lines, RESOURCE, runCli, SCOPE, type Fixture } from './helpers.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});
afterAll(() => fixture.close());

describe('skyporten token', () => {
  it('prints the access token, which the issuer verifies', async () => {
    const result = await runCli(['token', ...fixture.flags], { env: fixture.env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    const claims = await fixture.issuer.verifyAccessToken(token, { audience: RESOURCE });
    expect(claims.sub).toBe(`${fixture.client.consumerId};${SCOPE}`);
  });

  it('prints the token response with its expiry with --json', async () => {
    const result = await runCli(['token', '--json', ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    const response = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(response).toMatchObject({ token_type: 'Bearer', scope: SCOPE });
    expect(response.expires_in).toBeGreaterThan(100);
    expect(Date.parse(String(response.expires_at))).toBeGreaterThan(Date.now());
    expect(String(response.access_token).split('.')).toHaveLength(3);
  });

  it('reads the environment, and flags win over it; the config file is the lowest layer', async () => {
    const config = join(fixture.directory, 'config.json');
    await writeFile(config, JSON.stringify({ issuer: fixture.issuer.issuer, clientId: 'wrong-client', scope: SCOPE, resource: 'https://from-config.example.org', kid: fixture.client.kid, keyFile: 'maskinporten.pem' }));
    const env = { ...fixture.env, MASKINPORTEN_CLIENT_ID: fixture.client.clientId };
    const result = await runCli(['token', '--json', '--config', config, '--resource', RESOURCE], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { access_token } = JSON.parse(result.stdout) as { access_token: string };
    await expect(fixture.issuer.verifyAccessToken(access_token, { audience: RESOURCE })).resolves.toBeDefined();

    const fromConfig = await runCli(['token', '--config', config], { env });
    const claims = await fixture.issuer.verifyAccessToken(fromConfig.stdout.trim(), { audience: 'https://from-config.example.org' });
    expect(claims.client_id).toBe(fixture.client.clientId);
  });

  it('--debug logs SDK events to stderr, never the token', async () => {
    const result = await runCli(['token', '--debug', '--no-cache', ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(result.stderr).toMatch(/token received/);
    expect(result.stderr).not.toContain(token);
    expect(result.stderr).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('explains an MP error in one line plus a hint, exit code 1', async () => {
    const result = await runCli(['token', ...fixture.flags.map((flag) => (flag === fixture.client.kid ? 'unknown-kid' : flag))], { env: fixture.env });
    expect(result.code).toBe(1);
    const output = lines(result.stderr);
    expect(output).toHaveLength(2);
    expect(output[0]).toMatch(/^skyporten: .*\[TOKEN_REQUEST_REJECTED\]$/);
    expect(output[1]).toMatch(/^ {2}hint: /);
    expect(result.stdout).toBe('');
  });
});
