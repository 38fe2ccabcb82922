// `skyporten exchange --output FILE [--watch]`: the target's token in a bearer-token file, kept fresh by the
// token-file keeper.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRequestOf } from '../src/credential-cache.ts';
import { BIN, createFixture, ORG, RESOURCE, runCli, SCOPE, secretsIn, waitFor, type Fixture } from './helpers.ts';
import { answer, startTarget, type Target } from './exchange-helpers.ts';

let fixture: Fixture;
let target: Target;
/** Each token the target issued, with when it expires (ms since the epoch). */
const expiries = new Map<string, number>();
let lifetimeSeconds = 3600;
let refuse = false;
let counter = 0;

beforeAll(async () => {
  fixture = await createFixture();
  // An RFC 8693 endpoint that accepts only a Skyporten token for RESOURCE and this subject.
  target = await startTarget(async (request, response) => {
    const form = new URLSearchParams(request.body);
    const claims = await fixture.issuer.verifyAccessToken(form.get('subject_token') ?? '', { audience: RESOURCE }).catch(() => undefined);
    if (refuse) return answer(response, 400, { error: 'invalid_grant', error_description: 'No matching federation policy' });
    if (claims?.sub !== `0192:${ORG};${SCOPE}`) return answer(response, 400, { error: 'invalid_request' });
    const token = `target-${++counter}`;
    expiries.set(token, Date.now() + lifetimeSeconds * 1000);
    answer(response, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetimeSeconds });
  });
});
afterAll(async () => {
  await target.close();
  await fixture.close();
});

const endpoint = () => ['--token-endpoint', `${target.url}/token`];

function exchange(args: string[]) {
  return runCli(['exchange', ...args, ...fixture.flags], { env: fixture.env });
}

function watch(output: string) {
  const child = spawn(process.execPath, [BIN, 'exchange', ...endpoint(), '--output', output, '--watch', ...fixture.flags], { env: fixture.env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** Reads the file every 50 ms; records each content and whether any was an expired token when read. */
function observe(path: string) {
  const seen: string[] = [];
  let expiredSeen = false;
  const timer = setInterval(() => {
    readFile(path, 'utf8').then(
      (content) => {
        if (seen.at(-1) !== content) seen.push(content);
        if ((expiries.get(content) ?? 0) <= Date.now()) expiredSeen = true;
      },
      () => {},
    );
  }, 50);
  return { seen, expiredSeen: () => expiredSeen, stop: () => clearInterval(timer) };
}

/** Runs `exchange --output <name> --watch` against 4-s target tokens while `body` runs; cleans up after it. */
async function watching(name: string, body: (run: ReturnType<typeof watch>, observed: ReturnType<typeof observe>, output: string) => Promise<void>): Promise<void> {
  lifetimeSeconds = 4;
  const output = join(fixture.directory, name);
  const run = watch(output);
  const observed = observe(output);
  try {
    await body(run, observed, output);
  } finally {
    observed.stop();
    run.child.kill('SIGKILL');
    refuse = false;
    lifetimeSeconds = 3600;
  }
}

describe('skyporten exchange --output', () => {
  it("writes the target's token to the file (0600, atomic), prints nothing and no secret", async () => {
    const output = join(fixture.directory, 'out', 'target-token');
    const result = await exchange([...endpoint(), '--output', output]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const token = await readFile(output, 'utf8');
    expect(expiries.has(token)).toBe(true);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(fixture.directory, 'out'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(result.stderr).toMatch(/^Wrote the token from 127\.0\.0\.1:\d+ to .*target-token; it expires in (59 min \d+ s|1 h 0 min)\.\n$/);
    expect(secretsIn(result.stderr, [token])).toEqual([]);
  });

  it('--format json writes {"access_token", "expires_at"}, expires_at from the target\'s expires_in', async () => {
    const output = join(fixture.directory, 'target-token.json');
    const result = await exchange([...endpoint(), '--output', output, '--format', 'json']);
    expect(result.code).toBe(0);
    const content = JSON.parse(await readFile(output, 'utf8')) as { access_token: string; expires_at: string };
    expect(Object.keys(content).sort()).toEqual(['access_token', 'expires_at']);
    // The CLI counts expires_in from when the answer arrived: a few ms after the target did.
    const lag = Date.parse(content.expires_at) - expiries.get(content.access_token)!;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(1000);
  });

  it('is never answered from the cross-process cache: each run asks the target (even with an argument named "token")', async () => {
    const cacheDir = join(fixture.directory, 'output-cache');
    const output = join(fixture.directory, 'token');
    const before = target.received.length;
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['exchange', '--cache-dir', cacheDir, ...endpoint(), '--output', 'token', ...fixture.flags], { env: fixture.env, cwd: fixture.directory });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('');
    }
    expect(target.received.length - before).toBe(2);
    expect(expiries.has(await readFile(output, 'utf8'))).toBe(true);
    // The fast path in bin.ts (taken when an argument is "token") finds no request to answer.
    for (const flag of [['--output', 'token'], ['--output=token']]) expect(cacheRequestOf(['exchange', ...endpoint(), ...flag], fixture.env, fixture.directory)).toBeUndefined();
    expect(cacheRequestOf(['exchange', ...endpoint()], fixture.env, fixture.directory)).toBeDefined();
  });

  it('--watch rewrites the file with a new token before the old one expires (never an expired one in it), and stops on SIGTERM', () =>
    watching('watched-target-token', async (run, observed, output) => {
      await waitFor(async () => (observed.seen.length >= 3 ? true : undefined), 15_000);
      const [first, second, third] = observed.seen as [string, string, string];
      expect(new Set([first, second, third]).size).toBe(3);
      expect(expiries.get(second)!).toBeGreaterThan(expiries.get(first)!);
      expect(observed.expiredSeen()).toBe(false);
      expect((await stat(output)).mode & 0o777).toBe(0o600);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.stderr()).toMatch(/Wrote the token from .* to .*watched-target-token; it expires in [34] s\.\n/);
      expect(secretsIn(run.stderr(), observed.seen)).toEqual([]);
    }), 30_000);

  it("--watch: when the target refuses a refresh, the file is removed before its token expires, the target's error and hint are printed, exit 1", () =>
    watching('refused-target-token', async (run, observed, output) => {
      await waitFor(() => readFile(output, 'utf8'), 10_000);
      refuse = true;
      expect(await run.exited).toBe(1);
      expect(existsSync(output)).toBe(false);
      expect(observed.expiredSeen()).toBe(false);
      expect(run.stderr()).toMatch(/skyporten: The token exchange was refused \(400 invalid_grant: No matching federation policy\)\. \[CLOUD_EXCHANGE_FAILED\]\n {2}hint: .*federation policy/);
      expect(secretsIn(run.stderr(), observed.seen)).toEqual([]);
    }), 30_000);

  it.each([
    ['--watch without --output', ['--watch'], /--watch needs --output FILE/],
    ['--format without --output', ['--format', 'json'], /--format needs --output FILE/],
    ['--json with --output', ['--json', '--output', 'x'], /--json prints the token; with --output give --format json/],
    ['an unknown --format', ['--format', 'yaml', '--output', 'x'], /--format is "yaml": use raw or json/],
  ])('refuses %s with exit 2, before any request', async (_name, args, message) => {
    const before = target.received.length;
    const result = await runCli(['exchange', ...endpoint(), ...args, ...fixture.flags], { env: fixture.env, cwd: fixture.directory });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(target.received.length).toBe(before);
    expect(existsSync(join(fixture.directory, 'x'))).toBe(false);
  });
});
