// A JWT grant built and signed with node:crypto alone, as a hand-written script (or the public Skyporten
// examples) would: the baseline the SDK's grant and token path are compared with.
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { RESOURCE, SCOPE } from './world.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

export interface HandSignedGrantInput {
  issuer: string;
  clientId: string;
  kid: string;
  privateKey: KeyObject;
  lifetimeSeconds: number;
}

/** The same header and claims `createJwtGrant` signs for this world's scope and resource, with a fresh jti. */
export function handSignedGrant(input: HandSignedGrantInput): string {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { aud: input.issuer, iss: input.clientId, scope: SCOPE, iat, exp: iat + input.lifetimeSeconds, jti: randomUUID(), resource: RESOURCE };
  const signingInput = `${base64url(JSON.stringify({ alg: 'RS256', kid: input.kid, typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), input.privateKey).toString('base64url')}`;
}
