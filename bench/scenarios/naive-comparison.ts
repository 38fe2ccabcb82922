// The approach of the public Skyporten examples — sign a grant and POST it on every call (bench/peers/naive.mjs)
// — against the SDK's cached getToken(), on the same mock issuer in the same run. Target: the SDK serves at
// least 1000 times as many calls per second.
import { callsPerSecond, compare, round } from '../measure.ts';
import { atLeast, type BenchResult } from '../result.ts';
import { createTokenSource as createNaive } from '../peers/naive.mjs';
import type { BenchWorld } from '../world.ts';

export async function naiveComparison(world: BenchWorld): Promise<BenchResult[]> {
  const { issuer } = world;
  const naiveGetToken = createNaive(world.config);
  const client = world.client();
  await client.getToken();

  const comparison = await compare(5, async (side) => {
    issuer.reset(); // drops recorded requests and used jtis, so the mock does not grow
    return callsPerSecond(side === 'subject' ? () => client.getAccessToken() : naiveGetToken, 400);
  });
  const ratio = round(comparison.ratio);
  return [
    { id: 'naiveCallsPerSecond', label: 'naive (sign + POST per call): calls/s', value: round(comparison.baseline), unit: 'calls/s' },
    { id: 'sdkCallsPerSecond', label: 'SDK getAccessToken(): calls/s', value: round(comparison.subject), unit: 'calls/s' },
    {
      id: 'sdkVsNaiveRatio',
      label: 'SDK vs naive: calls/s ratio',
      value: ratio,
      unit: 'x',
      ...atLeast(ratio, 1000),
      details: { rounds: comparison.rounds.map((value) => round(value)) },
    },
  ];
}
