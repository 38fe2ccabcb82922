import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWriteFailure } from '../src/output.ts';
import { BIN, createFixture, RESOURCE, runCli, secretsIn, waitFor, withFullDisk, type Fixture } from './helpers.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});
afterAll(() => fixture.close());

function watch(output: string, extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'token-file', '--watch', '--output', output, ...extra, ...fixture.flags], { env: fixture.env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('skyporten token-file', () => {
  it('writes token files 0600 atomically (raw), the token verified by the issuer', async () => {
    const output = join(fixture.directory, 'out', 'token');
    const result = await runCli(['token-file', '--output', output, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    await expect(fixture.issuer.verifyAccessToken(await readFile(output, 'utf8'), { audience: RESOURCE })).resolves.toBeDefined();
  });

  it('--format json writes {"access_token", "expires_at"} for --credential-source-field-name=access_token', async () => {
    const output = join(fixture.directory, 'token.json');
    const result = await runCli(['token-file', '--format', 'json', '--output', output, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    const content = JSON.parse(await readFile(output, 'utf8')) as { access_token: string; expires_at: string };
    expect(Object.keys(content).sort()).toEqual(['access_token', 'expires_at']);
    expect(Date.parse(content.expires_at)).toBeGreaterThan(Date.now());
    await expect(fixture.issuer.verifyAccessToken(content.access_token, { audience: RESOURCE })).resolves.toBeDefined();
    const bad = await runCli(['token-file', '--format', 'yaml', '--output', output, ...fixture.flags], { env: fixture.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format is "yaml": use raw or json/);
  });

  it('replaces a symlink planted at a temporary name never; a named symlink keeps pointing at the rewritten file', async () => {
    const target = join(fixture.directory, 'real-token');
    await writeFile(target, 'old', { mode: 0o600 });
    const link = join(fixture.directory, 'link-token');
    await symlink(target, link);
    const result = await runCli(['token-file', '--output', link, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    expect((await readFile(target, 'utf8')).split('.')).toHaveLength(3);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('names the disk being full and other write failures', () => {
    expect(describeWriteFailure('/run/t', Object.assign(new Error('x'), { code: 'ENOSPC' }))).toMatch(/^Cannot write \/run\/t: the disk is full \(ENOSPC\); the file was left as it was/);
    expect(describeWriteFailure('/run/t', Object.assign(new Error('x'), { code: 'EACCES' }))).toMatch(/no permission/);
  });

  it('names a full disk (a 4 KiB tmpfs, filled) and leaves the old file as it was', async () => {
    const ran = await withFullDisk(fixture.directory, 'token-file', async (disk) => {
      const output = join(disk, 'token');
      await writeFile(output, 'old', { mode: 0o600 });
      const result = await runCli(['token-file', '--output', output, ...fixture.flags], { env: fixture.env });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Cannot write .*tiny-disk\/token: the disk is full \((ENOSPC|EDQUOT)\); the file was left as it was/);
      expect(secretsIn(result.stderr)).toEqual([]);
      expect(await readFile(output, 'utf8')).toBe('old');
      expect((await readdir(disk)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });
    if (!ran) expect(process.getuid?.()).not.toBe(0);
  });

  it('--watch on a disk that fills up: keeps the valid token, retries, then removes the file before it expires and exits 1', async () => {
    fixture.issuer.setTokenLifetime(20);
    try {
      const ran = await withFullDisk(fixture.directory, 'token-file --watch', async (disk) => {
        // The first token takes the disk's one page: every rewrite (a new temporary file) fails with ENOSPC.
        const output = join(disk, 'token');
        const run = watch(output);
        const seen: string[] = [];
        let expiredSeen = false;
        const poll = setInterval(() => {
          readFile(output, 'utf8').then(
            (content) => {
              seen.push(content);
              const { exp } = JSON.parse(Buffer.from(content.split('.')[1]!, 'base64url').toString()) as { exp: number };
              if (exp * 1000 <= Date.now()) expiredSeen = true;
            },
            () => {},
          );
        }, 100);
        try {
          expect(await run.exited).toBe(1);
        } finally {
          clearInterval(poll);
          run.child.kill('SIGKILL');
        }
        expect(seen.length).toBeGreaterThan(0);
        expect(new Set(seen).size).toBe(1);
        expect(expiredSeen).toBe(false);
        expect(existsSync(output)).toBe(false);
        expect(run.stderr()).toMatch(/the disk is full \(ENOSPC\); the file was left as it was.*retrying in 5 s/);
        expect(run.stderr()).toMatch(/Cannot keep .*tiny-disk\/token fresh: the token in it expires in \d+ s and no new one could be had .*The file was removed/);
        expect(secretsIn(run.stderr(), [seen[0]!])).toEqual([]);
      });
      if (!ran) expect(process.getuid?.()).not.toBe(0);
    } finally {
      fixture.issuer.setTokenLifetime(120);
    }
  }, 40_000);

  it('reports an unwritable directory clearly, exit code 2', async () => {
    const result = await runCli(['token-file', '--output', '/proc/skyporten-token', ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Cannot write \/proc\/skyporten-token/);
  });

  it('--watch recreates a deleted token file', async () => {
    const output = join(fixture.directory, 'watched-deleted');
    const run = watch(output);
    try {
      await waitFor(() => readFile(output, 'utf8'), 10_000);
      await rm(output);
      const again = await waitFor(() => readFile(output, 'utf8'), 5_000);
      expect(again.split('.')).toHaveLength(3);
      expect(run.stderr()).toMatch(/was deleted; wrote it again/);
      expect(secretsIn(run.stderr(), [again])).toEqual([]);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 30_000);

  it('--watch survives an issuer outage while the token is valid, then exits 1 and removes the file when it cannot keep it fresh', async () => {
    fixture.issuer.setTokenLifetime(20);
    const output = join(fixture.directory, 'watched-outage');
    const run = watch(output);
    try {
      const first = await waitFor(() => readFile(output, 'utf8'), 10_000);
      fixture.issuer.failNext(1000, { status: 503 });
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toMatch(/retrying in 5 s/);
      expect(run.stderr()).toMatch(/Cannot keep .*watched-outage fresh/);
      expect(secretsIn(run.stderr(), [first])).toEqual([]);
      expect(first.split('.')).toHaveLength(3);
      expect(existsSync(output)).toBe(false);
    } finally {
      run.child.kill('SIGKILL');
      fixture.issuer.reset();
      fixture.issuer.setTokenLifetime(120);
    }
  }, 40_000);
});
