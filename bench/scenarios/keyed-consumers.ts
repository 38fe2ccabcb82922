// A supplier (leverandør) acting for many consumer organisations holds one client and one key:
// client.with({ consumerOrg }) per consumer. 1,000 consumers -> 1,000 token requests, then none while the tokens
// are valid; and what each extra key costs in memory.
import { exactly, type BenchResult } from '../result.ts';
import { SCOPE, type BenchWorld } from '../world.ts';
import { createSdkClient } from '../peers/sdk.mjs';

export const CONSUMERS = 1_000;

/** The first `count` valid Norwegian organisation numbers (mod 11) from 910000000 on. */
export function organisationNumbers(count: number): string[] {
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const numbers: string[] = [];
  for (let base = 91_000_000; numbers.length < count; base++) {
    const digits = String(base).split('').map(Number);
    const rest = digits.reduce((sum, digit, index) => sum + digit * weights[index]!, 0) % 11;
    const check = rest === 0 ? 0 : 11 - rest;
    if (check !== 10) numbers.push(`${base}${check}`);
  }
  return numbers;
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function keyedConsumers(world: BenchWorld): Promise<BenchResult[]> {
  const consumers = organisationNumbers(CONSUMERS);
  const supplier = await world.issuer.registerClient({
    scopes: [SCOPE],
    delegations: consumers.map((consumerOrg) => ({ consumerOrg, scopes: [SCOPE] })),
  });
  const config = { ...world.config, clientId: supplier.clientId, kid: supplier.kid, privateKeyPem: supplier.privateKey };
  // 100 callers at a time: the connection pool (and its memory) stays the same size in both rounds below.
  const round = async (client: ReturnType<typeof createSdkClient>) => {
    for (let start = 0; start < consumers.length; start += 100) {
      await Promise.all(consumers.slice(start, start + 100).map((consumerOrg) => client.with({ consumerOrg }).getToken()));
    }
  };
  // The mock issuer runs in this process and keeps state per request (used jti, ...): a throwaway client's
  // round, then dropped, measures that; the measured client's round minus it is the SDK's own cost per key.
  await round(createSdkClient(config));
  world.issuer.reset();
  const baseline = heapUsed();
  const client = createSdkClient(config);
  await round(client);
  const first = world.tokenRequests();
  world.issuer.reset();
  const perKey = Math.max(0, (heapUsed() - baseline) / CONSUMERS);
  await round(client);
  const second = world.tokenRequests();
  return [
    {
      id: 'keyedConsumersFirstRound',
      label: `supplier for ${CONSUMERS} consumer orgs, one client: token requests, first round`,
      value: first,
      unit: 'count',
      ...exactly(first, CONSUMERS),
    },
    {
      id: 'keyedConsumersSecondRound',
      label: `supplier for ${CONSUMERS} consumer orgs: token requests while valid`,
      value: second,
      unit: 'count',
      ...exactly(second, 0),
    },
    {
      id: 'keyedConsumersBytesPerKey',
      label: 'supplier: memory per extra consumer key (upper bound: includes the in-process mock)',
      value: Math.round(perKey),
      unit: 'bytes',
      details: { gc: typeof (globalThis as { gc?: unknown }).gc === 'function' },
    },
  ];
}
