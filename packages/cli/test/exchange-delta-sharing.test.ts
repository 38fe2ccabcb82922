import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createFixture, ORG, RESOURCE, runCli, SCOPE, secretsIn, waitFor, type Fixture } from './helpers.ts';
import { answer, bearerOf, startTarget, type Target } from './exchange-helpers.ts';

interface Profile {
  shareCredentialsVersion: number;
  endpoint: string;
  bearerToken: string;
  expirationTime: string;
}

let fixture: Fixture;
let sharing: Target;
let endpoint: string;

beforeAll(async () => {
  fixture = await createFixture();
  // A Delta Sharing server's recipient with OIDC federation: the bearer must be a Skyporten token for RESOURCE and this subject.
  sharing = await startTarget(async (request, response) => {
    const claims = await fixture.issuer.verifyAccessToken(bearerOf(request) ?? '', { audience: RESOURCE }).catch(() => undefined);
    if (claims?.sub !== `0192:${ORG};${SCOPE}`) return answer(response, 401, { errorCode: 'UNAUTHENTICATED', message: 'not a federated recipient' });
    if (request.url?.endsWith('/shares') !== true) return answer(response, 404, { errorCode: 'NOT_FOUND' });
    answer(response, 200, { items: [{ name: 'skyporten-share', id: 'share-1' }] });
  });
  endpoint = `${sharing.url}/api/2.0/delta-sharing/metastores/m1`;
});
afterAll(async () => {
  await sharing.close();
  await fixture.close();
});

/** What a Delta Sharing client does with a profile: GET <endpoint>/shares with the bearer token. */
async function listShares(profile: Profile): Promise<number> {
  return (await fetch(`${profile.endpoint}/shares`, { headers: { authorization: `Bearer ${profile.bearerToken}` } })).status;
}

const profileCommand = ['databricks', 'delta-sharing-profile'];

describe('skyporten databricks delta-sharing-profile', () => {
  it('writes a version-1 profile (0600) whose bearer token the sharing server accepts', async () => {
    const output = join(fixture.directory, 'share', 'profile.share');
    const result = await runCli([...profileCommand, '--endpoint', endpoint, '--output', output, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^Wrote a Delta Sharing profile to .*profile\.share; its token expires in /);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    const profile = JSON.parse(await readFile(output, 'utf8')) as Profile;
    expect(Object.keys(profile).sort()).toEqual(['bearerToken', 'endpoint', 'expirationTime', 'shareCredentialsVersion']);
    expect(profile.shareCredentialsVersion).toBe(1);
    expect(profile.endpoint).toBe(endpoint);
    const claims = await fixture.issuer.verifyAccessToken(profile.bearerToken, { audience: RESOURCE });
    expect(Date.parse(profile.expirationTime)).toBe((claims.exp ?? 0) * 1000);
    expect(await listShares(profile)).toBe(200);
    expect(secretsIn(result.stderr, [profile.bearerToken])).toEqual([]);
  });

  it('prints the profile without --output', async () => {
    const result = await runCli([...profileCommand, '--endpoint', endpoint, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(await listShares(JSON.parse(result.stdout) as Profile)).toBe(200);
  });

  it('--watch rewrites the profile with a fresh token before the old one expires, and stops on SIGTERM', async () => {
    fixture.issuer.setTokenLifetime(4);
    const output = join(fixture.directory, 'watched.share');
    const child = spawn(process.execPath, [BIN, ...profileCommand, '--endpoint', endpoint, '--output', output, '--watch', ...fixture.flags], { env: fixture.env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const read = async () => JSON.parse(await readFile(output, 'utf8')) as Profile;
      const first = await waitFor(read, 10_000);
      const second = await waitFor(async () => {
        const next = await read();
        return next.bearerToken !== first.bearerToken ? next : undefined;
      }, 10_000);
      expect(Date.parse(second.expirationTime)).toBeGreaterThan(Date.parse(first.expirationTime));
      // Rewritten while the first token was still valid (half-way), so a reader always finds a valid one.
      expect(Date.now()).toBeLessThan(Date.parse(first.expirationTime));
      expect(await listShares(second)).toBe(200);
      expect((await stat(output)).mode & 0o777).toBe(0o600);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(secretsIn(stderr, [first.bearerToken, second.bearerToken])).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      fixture.issuer.setTokenLifetime(120);
    }
  }, 30_000);

  it.each([
    ['--watch without --output', ['--endpoint', 'https://sharing.example.org/delta-sharing', '--watch'], /--watch needs --output/],
    ['plain http to another host', ['--endpoint', 'http://sharing.example.org/delta-sharing'], /--endpoint must use https/],
    ['no --endpoint', [], /required option '--endpoint <url>'/],
  ])('refuses %s with exit 2', async (_name, args, message) => {
    const result = await runCli([...profileCommand, ...args, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
