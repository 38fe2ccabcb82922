import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createFixture, RESOURCE, runCli, waitFor, type Fixture } from './helpers.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});
afterAll(() => fixture.close());

describe('skyporten azure token-file', () => {
  it('writes the token atomically with mode 0600', async () => {
    const output = join(fixture.directory, 'tokens', 'azure-token');
    const result = await runCli(['azure', 'token-file', '--output', output, ...fixture.flags], { env: fixture.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Wrote a token to .*azure-token; it expires in /);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    await expect(fixture.issuer.verifyAccessToken(await readFile(output, 'utf8'), { audience: RESOURCE })).resolves.toBeDefined();
  });

  it('refuses to write a token without aud (Entra ID would reject it)', async () => {
    const result = await runCli(['azure', 'token-file', '--output', join(fixture.directory, 'no-aud'), ...fixture.flags.slice(0, -2)], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/has no aud.*\[CONFIG_INVALID\]/);
    expect(existsSync(join(fixture.directory, 'no-aud'))).toBe(false);
  });

  it('--watch rewrites the file before each expiry and exits 0 on SIGTERM', async () => {
    fixture.issuer.setTokenLifetime(4);
    const output = join(fixture.directory, 'watched-token');
    const child = spawn(process.execPath, [BIN, 'azure', 'token-file', '--watch', '--output', output, ...fixture.flags], { env: fixture.env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const first = await waitFor(() => readFile(output, 'utf8'), 10_000);
      const second = await waitFor(async () => {
        const content = await readFile(output, 'utf8');
        return content !== first ? content : undefined;
      }, 10_000);
      await expect(fixture.issuer.verifyAccessToken(second, { audience: RESOURCE })).resolves.toBeDefined();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/Stopped on SIGTERM/);
    } finally {
      child.kill('SIGKILL');
      fixture.issuer.setTokenLifetime(120);
    }
  }, 30_000);
});

describe('skyporten exec --azure-tenant-id --azure-client-id', () => {
  it('sets AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID; the file is removed afterwards', async () => {
    const script = "const e = process.env; const fs = require('fs'); console.log(JSON.stringify({ file: e.AZURE_FEDERATED_TOKEN_FILE, token: fs.readFileSync(e.AZURE_FEDERATED_TOKEN_FILE, 'utf8'), mode: fs.statSync(e.AZURE_FEDERATED_TOKEN_FILE).mode & 0o777, tenant: e.AZURE_TENANT_ID, client: e.AZURE_CLIENT_ID, host: e.AZURE_AUTHORITY_HOST }))";
    const result = await runCli(
      ['exec', '--azure-tenant-id', 'tenant-1', '--azure-client-id', 'client-1', '--azure-authority-host', 'https://127.0.0.1:9', ...fixture.flags, '--', process.execPath, '-e', script],
      { env: fixture.env },
    );
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout) as { file: string; token: string; mode: number; tenant: string; client: string; host: string };
    expect(seen).toMatchObject({ tenant: 'tenant-1', client: 'client-1', host: 'https://127.0.0.1:9', mode: 0o600 });
    await expect(fixture.issuer.verifyAccessToken(seen.token, { audience: RESOURCE })).resolves.toBeDefined();
    expect(existsSync(seen.file)).toBe(false);
  });

  it('asks which cloud when none is given, exit code 2; a missing command is exit code 127', async () => {
    const none = await runCli(['exec', ...fixture.flags, '--', 'true'], { env: fixture.env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^skyporten: Say which cloud/);
    const missing = await runCli(['exec', '--azure-tenant-id', 't', '--azure-client-id', 'c', ...fixture.flags, '--', 'no-such-command-skyporten'], { env: fixture.env });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/command not found/);
  });
});
