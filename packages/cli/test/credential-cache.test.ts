import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMockAws, type MockAws } from '@skyporten/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cacheRequestOf, isFresh, refreshMarginMs } from '../src/credential-cache.ts';
import { createFixture, ORG, RESOURCE, runCli, SCOPE, secretsIn, withFullDisk, type Fixture } from './helpers.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

let fixture: Fixture;
let aws: MockAws;
let awsFlags: string[];
let cacheIndex = 0;
let cacheDir: string;

beforeAll(async () => {
  fixture = await createFixture();
  aws = await createMockAws({ issuer: fixture.issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORG};${SCOPE}` } }] });
  awsFlags = ['aws', 'credential-process', '--role-arn', ROLE_ARN, '--sts-endpoint', aws.stsEndpoint, '--region', 'eu-north-1', '--duration-seconds', '3600', ...fixture.flags];
});
afterAll(async () => {
  await aws.close();
  await fixture.close();
});
beforeEach(() => {
  cacheIndex += 1;
  cacheDir = join(fixture.directory, `cache-${cacheIndex}`);
  fixture.issuer.reset();
  aws.reset();
});

const env = () => ({ ...fixture.env, SKYPORTEN_CACHE_DIR: cacheDir });

async function entryFiles(): Promise<string[]> {
  return (await readdir(cacheDir)).filter((name) => name.endsWith('.json'));
}

describe('the cross-process credential cache', () => {
  it('100 concurrent credential_process runs make 1 Maskinporten request and 1 STS call; a second command makes 0', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, () => runCli(awsFlags, { env: env(), timeoutMs: 90_000 })));
    expect(results.map((result) => result.code)).toEqual(Array.from({ length: 100 }, () => 0));
    const keys = new Set(results.map((result) => (JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId));
    expect(keys.size).toBe(1);
    expect(fixture.issuer.requests).toHaveLength(1);
    expect(aws.stsCalls).toBe(1);

    const second = await runCli(awsFlags, { env: env() });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(results[0]!.stdout));
    expect(fixture.issuer.requests).toHaveLength(1);
    expect(aws.stsCalls).toBe(1);
  }, 120_000);

  it('keeps entries 0600 in a 0700 directory, holding only what the command prints', async () => {
    const result = await runCli(awsFlags, { env: env() });
    expect(result.code).toBe(0);
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
    const [file] = await entryFiles();
    expect((await stat(join(cacheDir, file!))).mode & 0o777).toBe(0o600);
    const entry = JSON.parse(await readFile(join(cacheDir, file!), 'utf8')) as { output: unknown };
    expect(entry.output).toEqual(JSON.parse(result.stdout));
    expect(JSON.stringify(entry)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('--no-cache and another role ARN or duration each make their own requests', async () => {
    await runCli(awsFlags, { env: env() });
    await runCli([...awsFlags, '--no-cache'], { env: env() });
    const other = awsFlags.map((flag) => (flag === '3600' ? '7200' : flag));
    await runCli(other, { env: env() });
    expect(aws.stsCalls).toBe(3);
    expect(await entryFiles()).toHaveLength(2);
  });

  it('ignores and replaces a corrupt cache file with a warning, never printing it', async () => {
    await runCli(awsFlags, { env: env() });
    const [file] = await entryFiles();
    await writeFile(join(cacheDir, file!), '{"version":1,"command":"aws credential-process","obtainedAt":1,', { mode: 0o600 });
    const result = await runCli(awsFlags, { env: env() });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: ignoring the corrupt cache entry .* It will be replaced/);
    const credentials = JSON.parse(result.stdout) as { SecretAccessKey: string; SessionToken: string };
    expect(secretsIn(result.stderr, [credentials.SecretAccessKey, credentials.SessionToken])).toEqual([]);
    expect(aws.stsCalls).toBe(2);
    const again = await runCli(awsFlags, { env: env() });
    expect(again.stderr).toBe('');
    expect(aws.stsCalls).toBe(2);
  });

  it('ignores a tampered entry whose output is not credentials', async () => {
    await runCli(awsFlags, { env: env() });
    const [file] = await entryFiles();
    const path = join(cacheDir, file!);
    const entry = JSON.parse(await readFile(path, 'utf8')) as { output: Record<string, unknown> };
    entry.output = { Version: 1, AccessKeyId: 'AKIAEVIL' };
    await writeFile(path, JSON.stringify(entry), { mode: 0o600 });
    const result = await runCli(awsFlags, { env: env() });
    expect(result.stdout).not.toContain('AKIAEVIL');
    expect(result.stderr).toMatch(/corrupt cache entry/);
  });

  it('removes entries untouched for a day when it writes another', async () => {
    await runCli(awsFlags, { env: env() });
    const [file] = await entryFiles();
    const old = join(cacheDir, file!.replace(/-[0-9a-f]{40}\.json$/, `-${'0'.repeat(40)}.json`));
    await writeFile(old, '{}', { mode: 0o600 });
    const dayAgo = new Date(Date.now() - 25 * 3_600_000);
    await utimes(old, dayAgo, dayAgo);
    await runCli([...awsFlags, '--region', 'eu-west-1'], { env: env() });
    expect(existsSync(old)).toBe(false);
    expect(await entryFiles()).toHaveLength(2);
  });

  it('does not serve an expired entry', async () => {
    await runCli(awsFlags, { env: env() });
    const [file] = await entryFiles();
    const path = join(cacheDir, file!);
    const entry = JSON.parse(await readFile(path, 'utf8')) as { obtainedAt: number; expiresAt: number; output: Record<string, unknown> };
    entry.obtainedAt = Date.now() - 3_700_000;
    entry.expiresAt = Date.now() - 100_000;
    entry.output.AccessKeyId = 'ASIAEXPIRED';
    await writeFile(path, JSON.stringify(entry), { mode: 0o600 });
    const result = await runCli(awsFlags, { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('ASIAEXPIRED');
    expect(aws.stsCalls).toBe(2);
  });

  it('ignores a cache file that is readable by others or owned by another user', async () => {
    await runCli(awsFlags, { env: env() });
    const [file] = await entryFiles();
    const path = join(cacheDir, file!);
    await chmod(path, 0o644);
    const loose = await runCli(awsFlags, { env: env() });
    expect(loose.stderr).toMatch(/ignoring the cache entry .*mode is 644/);
    expect(aws.stsCalls).toBe(2);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) {
      await chown(path, 12345, 12345);
      const foreign = await runCli(awsFlags, { env: env() });
      expect(foreign.stderr).toMatch(/belongs to user 12345/);
      expect(aws.stsCalls).toBe(3);
    }
  });

  it('does not use a world-writable cache directory or one owned by someone else (warning, still prints credentials)', async () => {
    await mkdir(cacheDir, { mode: 0o700 });
    await chmod(cacheDir, 0o777);
    const open = await runCli(awsFlags, { env: env() });
    expect(open.code).toBe(0);
    expect(open.stderr).toMatch(/writable by group or others \(mode 777\): not using the cache/);
    expect(await entryFiles()).toHaveLength(0);
    await runCli(awsFlags, { env: env() });
    expect(aws.stsCalls).toBe(2);
    if (process.getuid?.() === 0) {
      await chmod(cacheDir, 0o700);
      await chown(cacheDir, 12345, 12345);
      const foreign = await runCli(awsFlags, { env: env() });
      expect(foreign.code).toBe(0);
      expect(foreign.stderr).toMatch(/belongs to user 12345, not to you/);
    }
  });

  it('does not serve an entry from a directory that became writable by others (anyone could have swapped it)', async () => {
    const first = await runCli(awsFlags, { env: env() });
    await chmod(cacheDir, 0o777);
    const result = await runCli(awsFlags, { env: env() });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/writable by group or others \(mode 777\): not using the cache/);
    expect(aws.stsCalls).toBe(2);
    expect(JSON.parse(result.stdout)).not.toEqual(JSON.parse(first.stdout));
  });

  it('never serves one command line the entry of another (a renamed or copied entry file)', async () => {
    const west = [...awsFlags, '--region', 'eu-west-1'];
    const north = await runCli(awsFlags, { env: env() });
    const [northFile] = await entryFiles();
    await runCli(west, { env: env() });
    const westFile = (await entryFiles()).find((name) => name !== northFile)!;
    await writeFile(join(cacheDir, westFile), await readFile(join(cacheDir, northFile!)), { mode: 0o600 });
    const result = await runCli(west, { env: env() });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/ignoring the cache entry .*: it was written for other settings \(copied or renamed\)\. It will be replaced/);
    expect((JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId).not.toBe((JSON.parse(north.stdout) as { AccessKeyId: string }).AccessKeyId);
    expect(aws.stsCalls).toBe(3);
  });

  it('on a full disk prints the credentials, warns that they were not cached, and never prints a secret', async () => {
    const ran = await withFullDisk(fixture.directory, 'cache entry', async (disk) => {
      // The filler takes the disk's one page: the entry's temporary file cannot get any.
      await writeFile(join(disk, 'filler'), 'x');
      const fullEnv = { ...fixture.env, SKYPORTEN_CACHE_DIR: join(disk, 'skyporten') };
      const result = await runCli(awsFlags, { env: fullEnv });
      expect(result.code).toBe(0);
      const credentials = JSON.parse(result.stdout) as { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string };
      expect(credentials.AccessKeyId).toMatch(/^ASIA/);
      expect(Date.parse(credentials.Expiration)).toBeGreaterThan(Date.now());
      expect(result.stderr).toMatch(/warning: could not write the cache entry: Cannot write .*tiny-disk\/skyporten\/aws-credential-process-[0-9a-f]+\.json: the disk is full \(ENOSPC\)/);
      expect(result.stderr).toMatch(/--cache-dir/);
      expect(result.stderr).not.toMatch(/--output/);
      expect(secretsIn(result.stderr, [credentials.SecretAccessKey, credentials.SessionToken])).toEqual([]);
      expect((await readdir(join(disk, 'skyporten'))).filter((name) => name.endsWith('.json') || name.endsWith('.tmp'))).toEqual([]);
      const again = await runCli(awsFlags, { env: fullEnv });
      expect(again.code).toBe(0);
      expect(aws.stsCalls).toBe(2);
    });
    if (!ran) expect(process.getuid?.()).not.toBe(0);
  });

  it('caches `token` (raw and --json share one entry) and `gcp executable`', async () => {
    const raw = await runCli(['token', ...fixture.flags], { env: env() });
    const asJson = await runCli(['token', '--json', ...fixture.flags], { env: env() });
    expect((JSON.parse(asJson.stdout) as { access_token: string }).access_token).toBe(raw.stdout.trim());
    expect(fixture.issuer.requests).toHaveLength(1);
    const executableEnv = { ...env(), GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE: 'urn:ietf:params:oauth:token-type:jwt' };
    const first = await runCli(['gcp', 'executable', ...fixture.flags], { env: executableEnv });
    const second = await runCli(['gcp', 'executable', ...fixture.flags], { env: executableEnv });
    expect(first.stdout).toBe(second.stdout);
    expect(JSON.parse(first.stdout)).toMatchObject({ success: true });
    expect(fixture.issuer.requests).toHaveLength(2);
    // Google's Node library reads stdout and stderr together: a corrupt entry is replaced without a word.
    const [file] = (await entryFiles()).filter((name) => name.startsWith('gcp-executable-'));
    await writeFile(join(cacheDir, file!), 'garbage', { mode: 0o600 });
    const third = await runCli(['gcp', 'executable', ...fixture.flags], { env: executableEnv });
    expect(third.stderr).toBe('');
    expect(JSON.parse(third.stdout)).toMatchObject({ success: true });
    expect(fixture.issuer.requests).toHaveLength(3);
  });
});

describe('cache keys and the refresh point', () => {
  const base = ['aws', 'credential-process', '--role-arn', ROLE_ARN, '--scope', SCOPE];
  const key = (argv: string[], environment: Record<string, string> = {}) => cacheRequestOf(argv, { HOME: '/home/x', ...environment }, '/work')!.key;

  it('changes with every input that changes the result, not with --debug or the cache flags', () => {
    expect(key([...base, '--debug', '--cache-dir', '/tmp/c'])).toBe(key(base));
    expect(key([...base, '--region', 'us-east-1'])).not.toBe(key(base));
    expect(key(base, { MASKINPORTEN_CLIENT_ID: 'a' })).not.toBe(key(base, { MASKINPORTEN_CLIENT_ID: 'b' }));
    expect(key(base, { AWS_ENDPOINT_URL_STS: 'http://a' })).not.toBe(key(base));
    expect(key(base, { UNRELATED: '1' })).toBe(key(base));
    const from = (cwd: string, argv: string[]) => cacheRequestOf(argv, { HOME: '/home/x' }, cwd)!.key;
    expect(from('/work', [...base, '--key-file', 'k.pem'])).toBe(from('/other', [...base, '--key-file', '/work/k.pem']));
    expect(from('/work', [...base, '--key-file=k.pem'])).toBe(from('/', [...base, '--key-file=/work/k.pem']));
    expect(from('/work', [...base, '--key-file', 'k.pem'])).not.toBe(from('/other', [...base, '--key-file', 'k.pem']));
    expect(from('/a', base)).toBe(from('/b', base));
    expect(cacheRequestOf([...base, '--no-cache'], {}, '/')).toBeUndefined();
    expect(cacheRequestOf(base, { SKYPORTEN_NO_CACHE: '1' }, '/')).toBeUndefined();
    expect(cacheRequestOf(['exec', '--aws'], {}, '/')).toBeUndefined();
  });

  it('uses $XDG_CACHE_HOME/skyporten, else ~/.cache/skyporten', () => {
    expect(cacheRequestOf(base, { XDG_CACHE_HOME: '/xdg', HOME: '/home/x' }, '/')!.directory).toBe('/xdg/skyporten');
    expect(cacheRequestOf(base, { HOME: '/home/x' }, '/')!.directory).toBe('/home/x/.cache/skyporten');
  });

  it("serves AWS credentials until botocore's windows: 15 min left for long ones, never under 11 min", () => {
    expect(refreshMarginMs('aws credential-process', 3_600_000)).toBe(900_000);
    expect(refreshMarginMs('aws credential-process', 900_000)).toBe(660_000);
    expect(refreshMarginMs('token', 120_000)).toBe(60_000);
    const entry = (lifetime: number, age: number) => ({ version: 2 as const, command: 'aws credential-process' as const, key: 'k', obtainedAt: 1_000_000 - age, expiresAt: 1_000_000 - age + lifetime, output: {} });
    expect(isFresh(entry(900_000, 200_000), 1_000_000)).toBe(true);
    expect(isFresh(entry(900_000, 250_000), 1_000_000)).toBe(false);
  });
});
