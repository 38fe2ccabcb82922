// Peer: openid-client v6 with the minimal cache. The grant is signed with node:crypto (openid-client's
// private_key_jwt signs a client_assertion; Maskinporten wants the jwt-bearer grant's `assertion`).
import { createPrivateKey } from 'node:crypto';
import * as client from 'openid-client';
import { grantSigner, JWT_BEARER } from './grant.mjs';
import { minimalCache } from './minimal-cache.mjs';

/** @type {import('./types.ts').CreateTokenSource} */
export function createTokenSource(config) {
  const signGrant = grantSigner(config, createPrivateKey(config.privateKeyPem));
  const configuration = new client.Configuration({ issuer: config.issuer, token_endpoint: config.tokenEndpoint }, config.clientId, undefined, client.None());
  if (new URL(config.tokenEndpoint).protocol === 'http:') client.allowInsecureRequests(configuration); // the loopback mock
  return minimalCache(async () => {
    const response = await client.genericGrantRequest(configuration, JWT_BEARER, { assertion: signGrant() });
    return { accessToken: response.access_token, expiresAt: Date.now() + (response.expires_in ?? 0) * 1000 };
  });
}
