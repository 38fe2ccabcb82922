// Peer: oauth4webapi v3 with the minimal cache; the jwt-bearer grant signed with node:crypto.
import { createPrivateKey } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { grantSigner, JWT_BEARER } from './grant.mjs';
import { minimalCache } from './minimal-cache.mjs';

/** @type {import('./types.ts').CreateTokenSource} */
export function createTokenSource(config) {
  const signGrant = grantSigner(config, createPrivateKey(config.privateKeyPem));
  /** @type {oauth.AuthorizationServer} */
  const server = { issuer: config.issuer, token_endpoint: config.tokenEndpoint };
  /** @type {oauth.Client} */
  const registration = { client_id: config.clientId };
  const options = { [oauth.allowInsecureRequests]: new URL(config.tokenEndpoint).protocol === 'http:' }; // the loopback mock
  return minimalCache(async () => {
    const parameters = new URLSearchParams({ assertion: signGrant() });
    const response = await oauth.genericTokenEndpointRequest(server, registration, oauth.None(), JWT_BEARER, parameters, options);
    const body = await oauth.processGenericTokenEndpointResponse(server, registration, response);
    return { accessToken: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 0) * 1000 };
  });
}
