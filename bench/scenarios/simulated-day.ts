// A simulated day on fake time: one getToken() per simulated second for 24 h, against a mock issuer on the
// same fake clock that issues 120-s tokens. Counts the token requests made against the fewest possible
// (24 h / usable lifetime) and the tokens handed out past their expiry, for the default refresh policy
// (refresh-ahead, nobody waits) and for refresh-on-demand (refresh window = safety margin).
import { decodeSkyportenToken, type MaskinportenClient, type SkyportenToken } from '@skyporten/core';
import { round } from '../measure.ts';
import { exactly, type BenchResult } from '../result.ts';
import { startWorld } from '../world.ts';

const DAY_SECONDS = 24 * 60 * 60;
const TOKEN_LIFETIME_SECONDS = 120;
const DEFAULT_SAFETY_MARGIN_SECONDS = 10;

interface DayOutcome {
  tokenRequests: number;
  pastExpiry: number;
  callsThatWaited: number;
  calls: number;
}

/** Lets a background refresh (real loopback HTTP, fake time standing still) finish before time moves on. */
async function settle(client: MaskinportenClient, before: SkyportenToken): Promise<void> {
  for (let spins = 0; spins < 100_000 && client.peekToken() === before; spins++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function simulateDay(policy: { refreshAheadSeconds?: number }): Promise<DayOutcome> {
  let now = Date.UTC(2026, 0, 5, 0, 0, 0);
  const clock = () => now;
  const world = await startWorld({ clock, tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS });
  // The cache logs, synchronously, when it starts a background refresh: the cue to let it finish.
  let backgroundRefreshStarted = false;
  const logger = {
    debug(message: string) {
      if (message.includes('in the background')) backgroundRefreshStarted = true;
    },
  };
  const client = world.client({ clock, logger, ...policy });
  const outcome: DayOutcome = { tokenRequests: 0, pastExpiry: 0, callsThatWaited: 0, calls: 0 };
  try {
    const end = now + DAY_SECONDS * 1000;
    for (; now < end; now += 1000) {
      const before = client.peekToken();
      const token = await client.getToken();
      outcome.calls++;
      if (token !== before && before !== undefined) outcome.callsThatWaited++;
      const exp = decodeSkyportenToken(token.accessToken).expiresAt?.getTime() ?? 0;
      if (token.expiresAt.getTime() <= now || exp <= now) outcome.pastExpiry++;
      if (backgroundRefreshStarted) {
        backgroundRefreshStarted = false;
        await settle(client, token);
      }
    }
    outcome.tokenRequests = world.tokenRequests();
  } finally {
    await world.close();
  }
  return outcome;
}

export async function simulatedDay(): Promise<BenchResult[]> {
  const usableLifetime = TOKEN_LIFETIME_SECONDS - DEFAULT_SAFETY_MARGIN_SECONDS;
  const minimum = Math.ceil(DAY_SECONDS / usableLifetime);
  const ahead = await simulateDay({});
  const onDemand = await simulateDay({ refreshAheadSeconds: DEFAULT_SAFETY_MARGIN_SECONDS });
  return [
    {
      id: 'simulatedDayTokenRequestsRatio',
      label: `24 h, 120-s tokens, default policy: token requests vs minimum (${minimum})`,
      value: round(ahead.tokenRequests / minimum),
      unit: 'x',
      details: { ...ahead, minimum, usableLifetimeSeconds: usableLifetime },
    },
    {
      id: 'simulatedDayPastExpiry',
      label: '24 h, default policy: tokens handed out past expiry',
      value: ahead.pastExpiry,
      unit: 'count',
      ...exactly(ahead.pastExpiry, 0),
    },
    {
      id: 'simulatedDayCallsThatWaited',
      label: '24 h, default policy: calls that waited for a refresh',
      value: ahead.callsThatWaited,
      unit: 'count',
    },
    {
      id: 'simulatedDayOnDemandTokenRequestsRatio',
      label: '24 h, refresh window = safety margin: token requests vs minimum',
      value: round(onDemand.tokenRequests / minimum),
      unit: 'x',
      details: { ...onDemand, minimum },
    },
    {
      id: 'simulatedDayOnDemandPastExpiry',
      label: '24 h, refresh window = safety margin: tokens past expiry',
      value: onDemand.pastExpiry,
      unit: 'count',
      ...exactly(onDemand.pastExpiry, 0),
    },
  ];
}
