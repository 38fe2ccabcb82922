// Cost of createJwtGrant() against signing the same header and payload with node:crypto directly.
import { createPrivateKey } from 'node:crypto';
import { createJwtGrant } from '@skyporten/core';
import { compare, nanosecondsPerCall, round } from '../measure.ts';
import { atMost, type BenchResult } from '../result.ts';
import { handSignedGrant } from '../peers/grant.mjs';
import { RESOURCE, SCOPE, type BenchWorld } from '../world.ts';

export async function jwtGrant(world: BenchWorld): Promise<BenchResult[]> {
  const { registered, issuer } = world;
  const key = { privateKey: registered.privateKey, kid: registered.kid };
  const keyObject = createPrivateKey(registered.privateKey);
  const options = { issuer: issuer.issuer, clientId: registered.clientId, scope: SCOPE, resource: RESOURCE, key };

  const input = { issuer: issuer.issuer, clientId: registered.clientId, kid: registered.kid, privateKey: keyObject, scope: SCOPE, resource: RESOURCE, lifetimeSeconds: 60 };
  const byHand = async () => handSignedGrant(input);
  const sdk = () => createJwtGrant(options);

  const iterations = 150;
  const comparison = await compare(9, (side) => nanosecondsPerCall(side === 'subject' ? sdk : byHand, iterations));
  const ratio = round(comparison.ratio);
  return [
    {
      id: 'jwtGrantRatio',
      label: 'createJwtGrant() vs node:crypto RS256 of the same JWT',
      value: ratio,
      unit: 'x',
      ...atMost(ratio, 1.5),
      details: {
        createJwtGrantMicroseconds: round(comparison.subject / 1000),
        nodeCryptoMicroseconds: round(comparison.baseline / 1000),
        rounds: comparison.rounds.map((value) => round(value)),
      },
    },
  ];
}
