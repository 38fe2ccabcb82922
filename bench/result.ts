/** One line of the bench table and of bench/results.json. */
export interface BenchResult {
  /** Stable key in results.json. */
  id: string;
  /** What was measured, for the table. */
  label: string;
  value: number;
  /** `x` for ratios, `count`, `calls/s`, `ms`, `bytes`, `packages`. */
  unit: string;
  /** The target as text, e.g. `<= 3`; absent for figures reported without one. */
  target?: string;
  /** Whether `value` meets `target`. */
  met?: boolean;
  /** Extra figures behind the value (per-round ratios, both sides' own measures). */
  details?: Record<string, unknown>;
}

export function atMost(value: number, limit: number): Pick<BenchResult, 'target' | 'met'> {
  return { target: `<= ${limit}`, met: value <= limit };
}

export function exactly(value: number, expected: number): Pick<BenchResult, 'target' | 'met'> {
  return { target: `= ${expected}`, met: value === expected };
}

export function atLeast(value: number, limit: number): Pick<BenchResult, 'target' | 'met'> {
  return { target: `>= ${limit}`, met: value >= limit };
}
