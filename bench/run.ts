// `npm run bench`: runs every scenario against loopback mocks, prints a table and writes bench/results.json.
// Needs the built packages (`npm run build`), because Node resolves @skyporten/* to their dist/.
// Run with the repository's Node 24: `npx node bench/run.ts` (optionally scenario ids to run only those).
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import type { BenchResult } from './result.ts';
import { awsStampede } from './scenarios/aws-stampede.ts';
import { cachedGetToken } from './scenarios/cached-get-token.ts';
import { cliCache } from './scenarios/cli-cache.ts';
import { cliStartup } from './scenarios/cli-startup.ts';
import { importCost } from './scenarios/import-cost.ts';
import { installFootprint } from './scenarios/install-footprint.ts';
import { jwtGrant } from './scenarios/jwt-grant.ts';
import { keyedConsumers } from './scenarios/keyed-consumers.ts';
import { naiveComparison } from './scenarios/naive-comparison.ts';
import { peerInstall } from './scenarios/peer-install.ts';
import { PEERS, SIDES, peerCold, peerFresh, peerImport, peerStampede, peerWarm, type Side, type SideBySide } from './scenarios/peers.ts';
import { simulatedDay } from './scenarios/simulated-day.ts';
import { coldStampede } from './scenarios/stampede.ts';
import { startWorld, type BenchWorld } from './world.ts';

interface Scenario {
  id: string;
  run(world: BenchWorld): Promise<BenchResult[]>;
}

const scenarios: Scenario[] = [
  { id: 'cached', run: cachedGetToken },
  { id: 'grant', run: jwtGrant },
  { id: 'stampede', run: coldStampede },
  { id: 'aws', run: awsStampede },
  { id: 'keyed', run: keyedConsumers },
  { id: 'day', run: () => simulatedDay() },
  { id: 'naive', run: naiveComparison },
  { id: 'import', run: () => importCost() },
  { id: 'install', run: () => installFootprint() },
  { id: 'cli-cache', run: () => cliCache() },
  { id: 'cli-startup', run: () => cliStartup() },
  { id: 'peer-cold', run: peerCold },
  { id: 'peer-warm', run: peerWarm },
  { id: 'peer-fresh', run: peerFresh },
  { id: 'peer-import', run: () => peerImport() },
  { id: 'peer-stampede', run: peerStampede },
  { id: 'peer-install', run: () => peerInstall() },
];

function formatValue(result: BenchResult): string {
  if (result.unit === 'x') return `${result.value}x`;
  if (result.unit === 'bytes') return `${(result.value / 1024).toFixed(result.value < 1024 * 1024 ? 1 : 0)} KiB`;
  if (result.unit === 'count' || result.unit === 'packages') return String(result.value);
  return `${result.value.toLocaleString('en-US')} ${result.unit}`;
}

/** Every row except the peer rows, which printSideBySide shows with each side's figure. */
function printTable(results: BenchResult[]): void {
  const rows = results.filter((result) => !result.id.startsWith('peers.')).map((result) => [
    result.label,
    formatValue(result),
    result.target ?? '',
    result.met === undefined ? '' : result.met ? 'met' : 'MISSED',
  ]);
  const header = ['measure', 'value', 'target', ''];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 1 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

const SIDE_TITLES: Record<Side, string> = { sdk: 'SDK', 'openid-client': 'openid-client + cache', oauth4webapi: 'oauth4webapi + cache', naive: 'naive script' };

function formatSide(value: number | undefined, unit: string, details: SideBySide, side: Side): string {
  if (value === undefined) return '-';
  if (unit === 'ns') return `${Math.round(value)} ns`;
  if (unit === 'ms') return `${value.toFixed(1)} ms`;
  if (unit === 'bytes') {
    const counts = details['packageCounts'] as Partial<Record<Side, number>> | undefined;
    return `${(value / 1024 / 1024).toFixed(2)} MiB, ${counts?.[side] ?? '?'} pkg`;
  }
  return value.toLocaleString('en-US');
}

/** The peer rows: each side's median, and the median (range) of the per-round ratio SDK / best peer. */
function printSideBySide(results: BenchResult[]): void {
  const rows = results.filter((result) => result.id.startsWith('peers.') && result.details !== undefined);
  if (rows.length === 0) return;
  const header = ['row (median of interleaved rounds)', ...SIDES.map((side) => SIDE_TITLES[side]), 'SDK / peer (range)', 'goal', ''];
  const cells = rows.map((result) => {
    const details = result.details as unknown as SideBySide;
    const versus = details.versus === 'best peer' ? `best: ${details.bestPeer}` : details.versus;
    const explained = typeof details['explainedBy'] === 'string' && details.ratio > 3 ? ` (${details['explainedBy']})` : '';
    return [
      result.label,
      ...SIDES.map((side) => formatSide(details.sides[side]?.median, details.sideUnit, details, side)),
      `${details.ratio}x vs ${versus} (${details.ratioSpread.min}-${details.ratioSpread.max})`,
      result.target === undefined ? '' : result.id === 'peers.stampedeTokenRequests' ? `SDK ${result.target}` : `ratio ${result.target}`,
      result.met === undefined ? '' : result.met ? `met${explained}` : 'NOT MET',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(`\nSide by side (peers: ${PEERS.join(', ')}, each with the minimal cache; same mock issuer, same run):`);
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of cells) console.log(line(row));
}

function machine() {
  return {
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const selected = only.length > 0 ? scenarios.filter((scenario) => only.includes(scenario.id)) : scenarios;
  const started = performance.now();
  const before = machine();
  console.log(`Node ${before.node} (${before.platform}), ${before.cpus} CPUs (${before.cpuModel}), load average ${before.loadAverage.join(' ')}`);
  const world = await startWorld();
  const results: BenchResult[] = [];
  const failures: Array<{ scenario: string; error: string }> = [];
  try {
    for (const scenario of selected) {
      const scenarioStarted = performance.now();
      process.stderr.write(`bench: ${scenario.id} ... `);
      try {
        results.push(...(await scenario.run(world)));
        process.stderr.write(`${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s\n`);
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        failures.push({ scenario: scenario.id, error: message });
        process.stderr.write(`failed: ${message}\n`);
      }
    }
  } finally {
    await world.close();
  }
  printTable(results);
  printSideBySide(results);
  const after = machine();
  const missed = results.filter((result) => result.met === false);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n${results.filter((result) => result.met !== undefined).length - missed.length} of ${results.filter((result) => result.met !== undefined).length} targets met` +
      `${failures.length > 0 ? `, ${failures.length} scenario(s) failed` : ''}; ${seconds.toFixed(0)} s on Node ${process.versions.node}, ` +
      `${after.cpus} CPUs, load average ${before.loadAverage.join(' ')} at start, ${after.loadAverage.join(' ')} at the end.`,
  );
  if (only.length === 0) {
    const report = {
      date: new Date().toISOString(),
      ...before,
      loadAverage: { start: before.loadAverage, end: after.loadAverage },
      durationSeconds: Math.round(seconds),
      results,
      failures,
    };
    writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  }
  if (missed.length > 0 || failures.length > 0) process.exitCode = 1;
}

await main();
