// keepTokenFile in-process, with its file writer replaced (the seam `handlers.writeFile`), so the order of two
// writes that race can be fixed by the test instead of left to the scheduler.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MaskinportenClient, SkyportenToken } from '@skyporten/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepTokenFile, type TokenFileKeeper } from '../src/commands/token-file.ts';
import type { Runtime } from '../src/runtime.ts';
import { waitFor } from './helpers.ts';

/** An unsigned JWT with an audience: keepTokenFile decodes, never verifies. */
function token(name: string, lifetimeSeconds: number): SkyportenToken {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const expiresAt = new Date(Date.now() + lifetimeSeconds * 1000);
  const accessToken = `${part({ alg: 'none' })}.${part({ aud: 'https://skyporten.example.org', exp: Math.floor(expiresAt.getTime() / 1000), jti: name })}.`;
  return { accessToken, expiresAt } as SkyportenToken;
}

function runtime(stderr: string[]): Runtime {
  return {
    exitCode: 0,
    argv: [],
    context: {
      stdout: { write: () => true },
      stderr: { write: (text: string) => stderr.push(text) },
      stdin: (async function* () {})(),
      env: {},
      cwd: tmpdir(),
      clock: Date.now,
      selfCommand: [],
      onSignal: () => () => {},
    },
  };
}

let directory: string;
let keeper: TokenFileKeeper | undefined;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'skyporten-keeper-'));
});
afterEach(async () => {
  keeper?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('keepTokenFile', () => {
  it('a deleted file rewritten while a refresh lands ends up holding the new token, never the old one', async () => {
    const path = join(directory, 'token');
    const first = token('first', 4);
    const second = token('second', 120);
    const queue = [first, second];
    const client = { getToken: async () => queue.shift()! } as unknown as MaskinportenClient;
    // The rewrite of the deleted file (the first token again) is held until the refresh has asked to write.
    let releaseRewrite = () => {};
    let writes = 0;
    let secondAsked = false;
    const writer = async (file: string, content: string) => {
      writes += 1;
      if (writes === 2) await new Promise<void>((resolve) => (releaseRewrite = resolve));
      if (content === second.accessToken) secondAsked = true;
      await writeFile(file, content, { mode: 0o600 });
    };
    const stderr: string[] = [];
    keeper = await keepTokenFile(client, path, runtime(stderr), { onFatal: () => {}, writeFile: writer });
    expect(await readFile(path, 'utf8')).toBe(first.accessToken);
    await rm(path);
    await waitFor(async () => (writes === 2 ? true : undefined), 3_000);
    // The refresh comes 2 s after the start (half of the first token's 4 s); give it time to finish or queue.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    releaseRewrite();
    await waitFor(async () => (secondAsked && existsSync(path) && (await readFile(path, 'utf8')) === second.accessToken ? true : undefined), 3_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readFile(path, 'utf8')).toBe(second.accessToken);
    expect(keeper.current.accessToken).toBe(second.accessToken);
  }, 15_000);
});
