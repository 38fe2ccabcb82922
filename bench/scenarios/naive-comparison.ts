// The approach of the public Skyporten examples — sign a grant and POST it on every call — against the SDK's
// cached getToken(), on the same mock issuer in the same run.
import { createPrivateKey } from 'node:crypto';
import { callsPerSecond, compare, round } from '../measure.ts';
import type { BenchResult } from '../result.ts';
import { handSignedGrant } from '../hand-signed-grant.ts';
import type { BenchWorld } from '../world.ts';

export async function naiveComparison(world: BenchWorld): Promise<BenchResult[]> {
  const { issuer, registered } = world;
  const keyObject = createPrivateKey(registered.privateKey);
  const input = { issuer: issuer.issuer, clientId: registered.clientId, kid: registered.kid, privateKey: keyObject, lifetimeSeconds: 120 };

  const naiveGetToken = async (): Promise<string> => {
    const grant = handSignedGrant(input);
    const response = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: grant }),
    });
    if (!response.ok) throw new Error(`naive token request failed: HTTP ${response.status}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  const client = world.client();
  await client.getToken();

  const comparison = await compare(5, async (side) => {
    issuer.reset(); // drops recorded requests and used jtis, so the mock does not grow
    return callsPerSecond(side === 'subject' ? () => client.getAccessToken() : naiveGetToken, 400);
  });
  return [
    { id: 'naiveCallsPerSecond', label: 'naive (sign + POST per call): calls/s', value: round(comparison.baseline), unit: 'calls/s' },
    { id: 'sdkCallsPerSecond', label: 'SDK getAccessToken(): calls/s', value: round(comparison.subject), unit: 'calls/s' },
    {
      id: 'sdkVsNaiveRatio',
      label: 'SDK vs naive: calls/s ratio',
      value: round(comparison.ratio),
      unit: 'x',
      details: { rounds: comparison.rounds.map((value) => round(value)) },
    },
  ];
}
