// Import cost of @skyporten/core (its built ESM entry) against importing jose alone: each import in a fresh
// Node process, timed inside it, alternating, median of several runs.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compare, round } from '../measure.ts';
import type { BenchResult } from '../result.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function importMilliseconds(specifier: string): number {
  const script = `const started = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - started));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '--eval', script], { cwd: root, encoding: 'utf8' });
  return Number(output);
}

export async function importCost(): Promise<BenchResult[]> {
  const comparison = await compare(15, async (side) => importMilliseconds(side === 'subject' ? '@skyporten/core' : 'jose'));
  return [
    { id: 'importCoreMs', label: 'import @skyporten/core (fresh process)', value: round(comparison.subject), unit: 'ms' },
    { id: 'importJoseMs', label: 'import jose alone (fresh process)', value: round(comparison.baseline), unit: 'ms' },
    {
      id: 'importCostRatio',
      label: 'import cost: @skyporten/core vs jose alone',
      value: round(comparison.ratio),
      unit: 'x',
      details: { rounds: comparison.rounds.map((value) => round(value)) },
    },
  ];
}
