// The CLI's cross-process credential cache (issue 12): 100 `aws credential-process` runs started together, then
// one more, counted on the mocks. Runs the built CLI (packages/cli/dist/bin.js) with this Node.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exactly, type BenchResult } from '../result.ts';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORG = '991825827';

/** A mock issuer and AWS, a key on disk, and the command line of a cached `aws credential-process`. */
export interface CliWorld {
  argv: string[];
  env: Record<string, string>;
  tokenRequests(): number;
  stsCalls(): number;
  close(): Promise<void>;
}

export async function startCliWorld(): Promise<CliWorld> {
  const { createMockSkyporten, createMockAws } = await import('@skyporten/testing');
  const issuer = await createMockSkyporten();
  const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const aws = await createMockAws({ issuer, clientIds: [RESOURCE], roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORG};${SCOPE}` } }] });
  const directory = await mkdtemp(join(tmpdir(), 'skyporten-bench-cli-'));
  const keyFile = join(directory, 'key.pem');
  await writeFile(keyFile, client.privateKey, { mode: 0o600 });
  const argv = [
    BIN, 'aws', 'credential-process', '--role-arn', ROLE_ARN, '--sts-endpoint', aws.stsEndpoint, '--duration-seconds', '3600',
    '--issuer', issuer.issuer, '--client-id', client.clientId, '--kid', client.kid, '--key-file', keyFile, '--scope', SCOPE, '--resource', RESOURCE,
  ];
  return {
    argv,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: directory, SKYPORTEN_CACHE_DIR: join(directory, 'cache') },
    tokenRequests: () => issuer.requests.filter((request) => request.method === 'POST').length,
    stsCalls: () => aws.stsCalls,
    async close() {
      await aws.close();
      await issuer.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Runs `node <args>`; resolves the exit code, stdout and the wall time in ms. */
export function runNode(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, ms: performance.now() - started }));
  });
}

export async function cliCache(): Promise<BenchResult[]> {
  const world = await startCliWorld();
  try {
    const runs = await Promise.all(Array.from({ length: 100 }, () => runNode(world.argv, world.env)));
    const failed = runs.filter((run) => run.code !== 0).length;
    const fanInTokens = world.tokenRequests();
    const fanInSts = world.stsCalls();
    const second = await runNode(world.argv, world.env);
    const secondTokens = world.tokenRequests() - fanInTokens;
    const secondSts = world.stsCalls() - fanInSts;
    return [
      { id: 'cli.cache.fanInTokenRequests', label: 'CLI: 100 concurrent credential_process -> Maskinporten requests', value: fanInTokens, unit: 'count', ...exactly(fanInTokens, 1), details: { failedRuns: failed } },
      { id: 'cli.cache.fanInStsCalls', label: 'CLI: 100 concurrent credential_process -> STS calls', value: fanInSts, unit: 'count', ...exactly(fanInSts, 1) },
      { id: 'cli.cache.secondCommandCalls', label: 'CLI: second command -> Maskinporten requests + STS calls', value: secondTokens + secondSts, unit: 'count', ...exactly(secondTokens + secondSts, 0), details: { exitCode: second.code } },
    ];
  } finally {
    await world.close();
  }
}
