// 10,000 concurrent getToken() calls on a cold client: how many token requests reach the issuer, and how long
// callers wait (from their own call to their answer).
import { median, percentile, round } from '../measure.ts';
import { exactly, type BenchResult } from '../result.ts';
import type { BenchWorld } from '../world.ts';

export const CONCURRENT_CALLERS = 10_000;

/** Starts `count` concurrent calls and returns each caller's wait in ms. */
export async function concurrentWaits(count: number, call: () => Promise<unknown>): Promise<number[]> {
  const waits = new Array<number>(count);
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const started = performance.now();
      await call();
      waits[index] = performance.now() - started;
    }),
  );
  return waits;
}

export async function coldStampede(world: BenchWorld): Promise<BenchResult[]> {
  const rounds = 5;
  const requests: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (let index = 0; index < rounds; index++) {
    world.issuer.reset();
    const client = world.client();
    const waits = await concurrentWaits(CONCURRENT_CALLERS, () => client.getToken());
    requests.push(world.tokenRequests());
    p50.push(percentile(waits, 50));
    p99.push(percentile(waits, 99));
  }
  const worst = Math.max(...requests);
  return [
    {
      id: 'coldStampedeTokenRequests',
      label: `cold stampede: ${CONCURRENT_CALLERS} concurrent getToken() -> token requests`,
      value: worst,
      unit: 'count',
      ...exactly(worst, 1),
      details: { perRound: requests },
    },
    {
      id: 'coldStampedeWaitP50Ms',
      label: 'cold stampede: wait p50 (one token request, loopback)',
      value: round(median(p50)),
      unit: 'ms',
      details: { perRound: p50.map((value) => round(value)) },
    },
    {
      id: 'coldStampedeWaitP99Ms',
      label: 'cold stampede: wait p99',
      value: round(median(p99)),
      unit: 'ms',
      details: { perRound: p99.map((value) => round(value)) },
    },
  ];
}
