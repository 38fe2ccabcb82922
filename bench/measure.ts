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
 * Runs `measure` once on every side (a discarded warm-up), then `rounds` rounds in which every side runs once,
 * the order rotated each round (A B C, B C A, C A B, ...), so that drift in the machine's load falls on all
 * sides alike. Returns each side's measures, one per round.
 */
export async function interleave<Side extends string>(
  rounds: number,
  sides: readonly Side[],
  measure: (side: Side) => Promise<number>,
): Promise<Record<Side, number[]>> {
  for (const side of sides) await measure(side);
  const values = Object.fromEntries(sides.map((side) => [side, [] as number[]])) as Record<Side, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < sides.length; index++) {
      const side = sides[(round + index) % sides.length]!;
      values[side].push(await measure(side));
    }
  }
  return values;
}

/**
 * Runs `measure` on the subject and the baseline in alternating order for `rounds` rounds (after one
 * discarded warm-up round) and returns the median of the per-round ratios subject / baseline.
 */
export async function compare(
  rounds: number,
  measure: (side: 'subject' | 'baseline') => Promise<number>,
): Promise<Comparison> {
  const values = await interleave(rounds, ['baseline', 'subject'], measure);
  const ratios = values.subject.map((subject, round) => subject / values.baseline[round]!);
  return { ratio: median(ratios), rounds: ratios, subject: median(values.subject), baseline: median(values.baseline) };
}

/**
 * The lowest of `times` runs of `measure`: on a shared machine a preempted run is slower, never faster, so the
 * fastest run is the least disturbed one.
 */
export async function fastestOf(times: number, measure: () => Promise<number>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < times; run++) fastest = Math.min(fastest, await measure());
  return fastest;
}

/** Median, minimum and maximum of a list of measures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * For each peer, the per-round ratios subject / that peer (same round, so the same load), and their median; the
 * best peer is the one the subject compares worst with (the highest median ratio). For measures where lower is
 * better. (Dividing by the lower of the peers in each round instead would favour the peers on a noisy machine:
 * the minimum of two noisy figures is biased low.)
 */
export function versusBestPeer<Side extends string>(
  values: Record<Side, number[]>,
  subject: Side,
  peers: readonly Side[],
): { ratio: Spread; rounds: number[]; bestPeer: Side } {
  const perPeer = peers.map((peer) => {
    const rounds = values[subject].map((value, round) => value / values[peer][round]!);
    return { peer, rounds, ratio: spread(rounds) };
  });
  const best = perPeer.reduce((worst, candidate) => (candidate.ratio.median > worst.ratio.median ? candidate : worst));
  return { ratio: best.ratio, rounds: best.rounds, bestPeer: best.peer };
}

/** Rounds to a few significant digits for the table and the JSON. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}
