import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
/** A valid modulus-11 organisation number. */
export const ORG = '991825827';

/** The built bin: the tests run what users run. `npm test` builds first; run `npm run build -w @skyporten/cli` by hand. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** The minimal environment a spawned CLI sees: no SKYPORTEN_* or AWS_* from the machine running the tests. */
export function baseEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1' };
}

/** Spawns the built bin with Node (the PATH's node may be older than the one running the tests). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build -w @skyporten/cli\` first.`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? baseEnv(tmpdir()),
      cwd: options.cwd ?? tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A mock issuer, a registered client and its key on disk. */
export interface Fixture {
  issuer: MockSkyporten;
  client: RegisteredClient;
  directory: string;
  keyFile: string;
  env: Record<string, string>;
  /** The Maskinporten flags that make the CLI use this fixture. */
  flags: string[];
  close(): Promise<void>;
}

export async function createFixture(options: { resource?: string | false } = {}): Promise<Fixture> {
  const issuer = await createMockSkyporten();
  const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const directory = await mkdtemp(join(tmpdir(), 'skyporten-cli-test-'));
  const keyFile = join(directory, 'maskinporten.pem');
  await writeFile(keyFile, client.privateKey, { mode: 0o600 });
  const resource = options.resource ?? RESOURCE;
  const flags = [
    '--issuer', issuer.issuer,
    '--client-id', client.clientId,
    '--kid', client.kid,
    '--key-file', keyFile,
    '--scope', SCOPE,
    ...(resource === false ? [] : ['--resource', resource]),
  ];
  return {
    issuer,
    client,
    directory,
    keyFile,
    env: baseEnv(directory),
    flags,
    async close() {
      await issuer.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The lines of a text, without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, index, all) => !(line === '' && index === all.length - 1));
}

/** Polls `read` every 50 ms until it resolves a value (a rejection counts as "not yet"), for at most `timeoutMs`. */
export async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}

/**
 * Runs `body` with a real full disk: a 4 KiB tmpfs mounted at `<parent>/tiny-disk`, holding one page, so the
 * first file written fills it and the next write fails with ENOSPC. Needs root (CAP_SYS_ADMIN); returns false,
 * after a warning naming the skipped case, where the mount is refused.
 */
export async function withFullDisk(parent: string, name: string, body: (mountPoint: string) => Promise<void>): Promise<boolean> {
  const run = promisify(execFile);
  const mountPoint = join(parent, 'tiny-disk');
  await mkdir(mountPoint, { recursive: true });
  if (!(await run('mount', ['-t', 'tmpfs', '-o', 'size=4k,mode=700', 'tmpfs', mountPoint]).then(() => true, () => false))) {
    console.warn(`SKIPPED the real full-disk case (${name}): mounting a tmpfs needs root`);
    return false;
  }
  try {
    await body(mountPoint);
  } finally {
    await run('umount', ['-l', mountPoint]).catch(() => {});
  }
  return true;
}

/** JWTs (the Skyporten token, a client assertion), PEM private keys and the given secret values. */
export function secretsIn(text: string, known: readonly string[] = []): string[] {
  const found = [...text.matchAll(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*|-----BEGIN [A-Z ]*PRIVATE KEY-----/g)].map((match) => match[0]);
  return [...found, ...known.filter((secret) => secret !== '' && text.includes(secret))];
}
