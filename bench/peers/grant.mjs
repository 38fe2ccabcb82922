// A JWT grant (RFC 7523, as Maskinporten wants it) built and signed with node:crypto alone, as a hand-written
// script or the public Skyporten examples would: what the naive script and both peers send, and the baseline
// the SDK's grant signing is compared with.
import { randomUUID, sign } from 'node:crypto';

/** @param {string} text */
const base64url = (text) => Buffer.from(text).toString('base64url');

/**
 * The header and claims `createJwtGrant` signs (aud = issuer, iss = client id, scope, resource), fresh jti.
 * @param {{ issuer: string, clientId: string, kid: string, privateKey: import('node:crypto').KeyObject, scope: string, resource: string, lifetimeSeconds: number }} input
 * @returns {string}
 */
export function handSignedGrant(input) {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { aud: input.issuer, iss: input.clientId, scope: input.scope, iat, exp: iat + input.lifetimeSeconds, jti: randomUUID(), resource: input.resource };
  const signingInput = `${base64url(JSON.stringify({ alg: 'RS256', kid: input.kid, typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), input.privateKey).toString('base64url')}`;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * A function that signs a new grant for `config` on every call (key parsed once).
 * @param {import('./types.ts').PeerConfig} config
 * @param {import('node:crypto').KeyObject} privateKey
 */
export function grantSigner(config, privateKey) {
  return () => handSignedGrant({ issuer: config.issuer, clientId: config.clientId, kid: config.kid, privateKey, scope: config.scope, resource: config.resource, lifetimeSeconds: 60 });
}
