// `npm run bench`: runs every scenario against loopback mocks, prints a table and writes bench/results.json.
// Needs the built packages (`npm run build`), because Node resolves @skyporten/* to their dist/.
// Run with the repository's Node 24: `npx node bench/run.ts` (optionally scenario ids to run only those).
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { BenchResult } from './result.ts';
import { awsStampede } from './scenarios/aws-stampede.ts';
import { cachedGetToken } from './scenarios/cached-get-token.ts';
import { cliCache } from './scenarios/cli-cache.ts';
import { cliStartup } from './scenarios/cli-startup.ts';
import { importCost } from './scenarios/import-cost.ts';
import { installFootprint } from './scenarios/install-footprint.ts';
import { jwtGrant } from './scenarios/jwt-grant.ts';
import { naiveComparison } from './scenarios/naive-comparison.ts';
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
  { id: 'day', run: () => simulatedDay() },
  { id: 'naive', run: naiveComparison },
  { id: 'import', run: () => importCost() },
  { id: 'install', run: () => installFootprint() },
  { id: 'cli-cache', run: () => cliCache() },
  { id: 'cli-startup', run: () => cliStartup() },
];

function formatValue(result: BenchResult): string {
  if (result.unit === 'x') return `${result.value}x`;
  if (result.unit === 'bytes') return `${(result.value / 1024).toFixed(result.value < 1024 * 1024 ? 1 : 0)} KiB`;
  if (result.unit === 'count' || result.unit === 'packages') return String(result.value);
  return `${result.value.toLocaleString('en-US')} ${result.unit}`;
}

function printTable(results: BenchResult[]): void {
  const rows = results.map((result) => [
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

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const selected = only.length > 0 ? scenarios.filter((scenario) => only.includes(scenario.id)) : scenarios;
  const started = performance.now();
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
  const missed = results.filter((result) => result.met === false);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n${results.filter((result) => result.met !== undefined).length - missed.length} of ${results.filter((result) => result.met !== undefined).length} targets met` +
      `${failures.length > 0 ? `, ${failures.length} scenario(s) failed` : ''}; ${seconds.toFixed(0)} s on Node ${process.versions.node}.`,
  );
  if (only.length === 0) {
    const report = {
      date: new Date().toISOString(),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      durationSeconds: Math.round(seconds),
      results,
      failures,
    };
    writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  }
  if (missed.length > 0 || failures.length > 0) process.exitCode = 1;
}

await main();
