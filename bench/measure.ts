// Timing helpers shared by the bench scenarios. Every figure the bench reports is a ratio or a count taken in
// one run, so the machine's speed (shared, noisy) cancels out; each ratio is the median of several rounds in
// which the two sides run interleaved.

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Nanoseconds per call of `operation`, awaited one after the other `iterations` times. */
export async function nanosecondsPerCall(operation: () => Promise<unknown>, iterations: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) await operation();
  return Number(process.hrtime.bigint() - started) / iterations;
}

/** Calls per second of `operation`, awaited one after the other for about `durationMs`. */
export async function callsPerSecond(operation: () => Promise<unknown>, durationMs: number): Promise<number> {
  const started = performance.now();
  let calls = 0;
  let elapsed = 0;
  while (elapsed < durationMs) {
    await operation();
    calls++;
    elapsed = performance.now() - started;
  }
  return (calls * 1000) / elapsed;
}

export interface Comparison {
  /** Median over rounds of subject / baseline. */
  ratio: number;
  /** The per-round ratios, for the record. */
  rounds: number[];
  /** Median of the subject's and the baseline's own measures. */
  subject: number;
  baseline: number;
}

/**
 * Runs `measure` on the subject and the baseline in alternating order for `rounds` rounds (after one
 * discarded warm-up round) and returns the median of the per-round ratios subject / baseline.
 */
export async function compare(
  rounds: number,
  measure: (side: 'subject' | 'baseline') => Promise<number>,
): Promise<Comparison> {
  await measure('baseline');
  await measure('subject');
  const ratios: number[] = [];
  const subjects: number[] = [];
  const baselines: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: Array<'subject' | 'baseline'> = round % 2 === 0 ? ['baseline', 'subject'] : ['subject', 'baseline'];
    const values: Record<'subject' | 'baseline', number> = { subject: 0, baseline: 0 };
    for (const side of order) values[side] = await measure(side);
    ratios.push(values.subject / values.baseline);
    subjects.push(values.subject);
    baselines.push(values.baseline);
  }
  return { ratio: median(ratios), rounds: ratios, subject: median(subjects), baseline: median(baselines) };
}

/** Rounds to a few significant digits for the table and the JSON. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}
