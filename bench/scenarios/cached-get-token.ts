// Cost of a cache hit: `await client.getToken()` with a valid token cached, against the floor of any async
// cache, `await (async () => cachedObject)()`.
import { compare, nanosecondsPerCall, round } from '../measure.ts';
import { atMost, type BenchResult } from '../result.ts';
import type { BenchWorld } from '../world.ts';

export async function cachedGetToken(world: BenchWorld): Promise<BenchResult[]> {
  const client = world.client();
  const cachedObject = await client.getToken();
  const bare = async () => cachedObject;
  const iterations = 1_000_000;
  const comparison = await compare(21, (side) => nanosecondsPerCall(side === 'subject' ? () => client.getToken() : bare, iterations));
  const ratio = round(comparison.ratio);
  return [
    {
      id: 'cachedGetTokenRatio',
      label: 'cached getToken() vs async () => cachedObject',
      value: ratio,
      unit: 'x',
      ...atMost(ratio, 3),
      details: {
        getTokenNanoseconds: round(comparison.subject),
        bareNanoseconds: round(comparison.baseline),
        rounds: comparison.rounds.map((value) => round(value)),
        tokenRequests: world.tokenRequests(),
      },
    },
  ];
}
