// The SDK side by side with what a careful engineer writes instead: openid-client v6 or oauth4webapi v3 with the
// minimal cache of bench/peers/minimal-cache.mjs (reuse until exp - 60 s, one in-flight promise), and the naive
// sign + POST script, all against the same mock issuer in the same run. Every row reports each side's median
// over interleaved rounds and the median (and range) of the per-round ratio SDK / best peer.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fastestOf, interleave, nanosecondsPerCall, round, spread, versusBestPeer, type Spread } from '../measure.ts';
import * as naive from '../peers/naive.mjs';
import * as oauth4webapi from '../peers/oauth4webapi.mjs';
import * as openidClient from '../peers/openid-client.mjs';
import * as sdk from '../peers/sdk.mjs';
import type { CreateTokenSource } from '../peers/types.ts';
import { atMost, exactly, type BenchResult } from '../result.ts';
import type { BenchWorld } from '../world.ts';
import { CONCURRENT_CALLERS } from './stampede.ts';

export const SIDES = ['sdk', 'openid-client', 'oauth4webapi', 'naive'] as const;
export type Side = (typeof SIDES)[number];
/** The peers the SDK is judged against ("best peer" is the better of these two in each round). */
export const PEERS = ['openid-client', 'oauth4webapi'] as const satisfies readonly Side[];

const sources: Record<Side, CreateTokenSource> = { sdk: sdk.createTokenSource, 'openid-client': openidClient.createTokenSource, oauth4webapi: oauth4webapi.createTokenSource, naive: naive.createTokenSource };
const run = promisify(execFile);

/** What the side-by-side table prints for one row; stored in the result's `details`. */
export interface SideBySide {
  /** The unit of each side's figure: `ns`, `ms`, `count`, `bytes`. */
  sideUnit: string;
  /** Median over rounds of SDK / `versus`. */
  ratio: number;
  sides: Partial<Record<Side, Spread>>;
  /** What the ratio divides by: `best peer` (the peer the SDK compares worst with) or one named peer. */
  versus: string;
  bestPeer: Side;
  ratioSpread: { min: number; max: number };
  rounds: number[];
  [extra: string]: unknown;
}

function roundSpread(value: Spread): Spread {
  return { median: round(value.median), min: round(value.min), max: round(value.max) };
}

export function sideBySide<S extends Side>(values: Record<S, number[]>, unit: string, versus: 'best peer' | (typeof PEERS)[number]): { ratio: number; details: SideBySide } {
  const peers = versus === 'best peer' ? PEERS : [versus];
  const compared = versusBestPeer(values as Record<Side, number[]>, 'sdk', peers);
  const sides = Object.fromEntries(Object.entries<number[]>(values).map(([side, measures]) => [side, roundSpread(spread(measures))]));
  const ratio = round(compared.ratio.median);
  return {
    ratio,
    details: {
      sideUnit: unit,
      ratio,
      sides,
      versus,
      bestPeer: versusBestPeer(values as Record<Side, number[]>, 'sdk', PEERS).bestPeer,
      ratioSpread: { min: round(compared.ratio.min), max: round(compared.ratio.max) },
      rounds: compared.rounds.map((value) => round(value)),
    },
  };
}

/** Cold, same process: create a client (key parsing included) and get its first token; mean of 5 per round. */
export async function peerCold(world: BenchWorld): Promise<BenchResult[]> {
  const perRound = 5;
  const values = await interleave(9, SIDES, async (side) => {
    world.issuer.reset();
    const started = performance.now();
    for (let index = 0; index < perRound; index++) await sources[side](world.config)();
    const elapsed = performance.now() - started;
    // Every side must really have asked the issuer, once per new client.
    if (world.tokenRequests() !== perRound) throw new Error(`${side}: ${world.tokenRequests()} token requests for ${perRound} cold clients`);
    return elapsed / perRound;
  });
  const { ratio, details } = sideBySide(values, 'ms', 'best peer');
  return [{ id: 'peers.coldFirstTokenRatio', label: 'cold, same process: create + first token', value: ratio, unit: 'x', details }];
}

/** Warm: `await getToken()` with a valid token cached, ns per call. The naive script has no cache (see `naive`). */
export async function peerWarm(world: BenchWorld): Promise<BenchResult[]> {
  const client = world.client();
  const getters = { sdk: () => client.getToken(), 'openid-client': openidClient.createTokenSource(world.config), oauth4webapi: oauth4webapi.createTokenSource(world.config) };
  for (const getToken of Object.values(getters)) await getToken();
  world.issuer.reset();
  // Each round's figure is the fastest of 5 batches of 60,000 calls (see fastestOf).
  const values = await interleave(15, ['sdk', 'openid-client', 'oauth4webapi'] as const, (side) => fastestOf(5, () => nanosecondsPerCall(getters[side], 60_000)));
  const { ratio, details } = sideBySide(values, 'ns', 'best peer');
  details.tokenRequestsWhileWarm = world.tokenRequests();
  return [{ id: 'peers.warmGetTokenRatio', label: 'warm cached getToken()', value: ratio, unit: 'x', ...atMost(ratio, 1), details }];
}

/** A fresh Node process that imports one side and gets one token: ms from process start to the token. */
export async function peerFresh(world: BenchWorld): Promise<BenchResult[]> {
  const directory = await mkdtemp(join(tmpdir(), 'skyporten-bench-peers-'));
  try {
    const keyFile = join(directory, 'key.pem');
    await writeFile(keyFile, world.config.privateKeyPem, { mode: 0o600 });
    const { privateKeyPem: _omitted, ...config } = world.config;
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SKYPORTEN_BENCH_PEER: JSON.stringify({ ...config, keyFile }) };
    const child = fileURLToPath(new URL('../peers/first-token.mjs', import.meta.url));
    // Each round's figure is the faster of 2 processes (see fastestOf).
    const values = await interleave(11, SIDES, (side) =>
      fastestOf(2, async () => {
        world.issuer.reset();
        const { stdout } = await run(process.execPath, [child, side], { env, encoding: 'utf8' });
        return Number(stdout);
      }),
    );
    const { ratio, details } = sideBySide(values, 'ms', 'best peer');
    return [{ id: 'peers.freshProcessFirstTokenRatio', label: 'fresh process -> first token', value: ratio, unit: 'x', ...atMost(ratio, 1.2), details }];
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** `await import(<package>)` timed inside a fresh Node process, resolved the way this bench resolves it. */
export async function peerImport(): Promise<BenchResult[]> {
  const urls = { sdk: import.meta.resolve('@skyporten/core'), 'openid-client': import.meta.resolve('openid-client'), oauth4webapi: import.meta.resolve('oauth4webapi') };
  // Each round's figure is the faster of 2 processes (see fastestOf).
  const values = await interleave(9, ['sdk', 'openid-client', 'oauth4webapi'] as const, (side) =>
    fastestOf(2, async () => {
      const script = `const started = performance.now(); await import(${JSON.stringify(urls[side])}); process.stdout.write(String(performance.now() - started));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script], { encoding: 'utf8' });
      return Number(stdout);
    }),
  );
  const { ratio, details } = sideBySide(values, 'ms', 'openid-client');
  details.resolved = Object.fromEntries(Object.entries(urls).map(([side, url]) => [side, fileURLToPath(url)]));
  return [{ id: 'peers.importRatio', label: 'import in a fresh process', value: ratio, unit: 'x', ...atMost(ratio, 1.5), details }];
}

/** 10,000 concurrent getToken() on a cold client or cache: token requests that reach the issuer. */
export async function peerStampede(world: BenchWorld): Promise<BenchResult[]> {
  const values = await interleave(3, ['sdk', 'openid-client', 'oauth4webapi'] as const, async (side) => {
    world.issuer.reset();
    const getToken = sources[side](world.config);
    await Promise.all(Array.from({ length: CONCURRENT_CALLERS }, () => getToken()));
    return world.tokenRequests();
  });
  const { ratio, details } = sideBySide(values, 'count', 'best peer');
  const worst = Math.max(...values.sdk);
  return [{ id: 'peers.stampedeTokenRequests', label: `${CONCURRENT_CALLERS.toLocaleString('en-US')}-caller stampede -> token requests`, value: worst, unit: 'count', ...exactly(worst, 1), details }];
}
