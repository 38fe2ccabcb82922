// The approach of the public Skyporten examples: sign a grant and POST it on every call, no cache.
import { createPrivateKey } from 'node:crypto';
import { grantSigner, JWT_BEARER } from './grant.mjs';

/** @type {import('./types.ts').CreateTokenSource} */
export function createTokenSource(config) {
  const signGrant = grantSigner(config, createPrivateKey(config.privateKeyPem));
  return async () => {
    const response = await fetch(config.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: signGrant() }),
    });
    if (!response.ok) throw new Error(`naive token request failed: HTTP ${response.status}`);
    return { accessToken: /** @type {{ access_token: string }} */ (await response.json()).access_token };
  };
}
