// The SDK side: a Maskinporten client from @skyporten/core's built dist, with the token endpoint given (no
// discovery) and the environment ignored, as every bench scenario uses it.
import { createMaskinportenClient } from '@skyporten/core';

/**
 * @param {import('./types.ts').PeerConfig} config
 * @param {Partial<import('@skyporten/core').MaskinportenClientOptions>} [overrides]
 */
export function createSdkClient(config, overrides = {}) {
  return createMaskinportenClient({
    issuer: config.issuer,
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
    scope: config.scope,
    resource: config.resource,
    key: { privateKey: config.privateKeyPem, kid: config.kid },
    env: false,
    ...overrides,
  });
}

/** @type {import('./types.ts').CreateTokenSource} */
export function createTokenSource(config) {
  const client = createSdkClient(config);
  return () => client.getToken();
}
