// A mock Skyporten issuer with one registered client, and Maskinporten clients pointed at it: what every
// scenario that talks to a token endpoint starts from. Loopback only.
import type { MaskinportenClient, MaskinportenClientOptions } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type MockSkyportenOptions, type RegisteredClient } from '@skyporten/testing';
import { createSdkClient } from './peers/sdk.mjs';
import type { PeerConfig } from './peers/types.ts';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORGANISATION_NUMBER = '991825827';

export interface BenchWorld {
  issuer: MockSkyporten;
  registered: RegisteredClient;
  /** Issuer, token endpoint, client id, key, scope and resource: what the SDK and every peer are given. */
  config: PeerConfig;
  /** A new client (empty cache) for the registered integration; `overrides` win. */
  client(overrides?: Partial<MaskinportenClientOptions>): MaskinportenClient;
  /** POSTs that reached the token endpoint since the last `issuer.reset()`. */
  tokenRequests(): number;
  close(): Promise<void>;
}

export async function startWorld(issuerOptions: MockSkyportenOptions = {}): Promise<BenchWorld> {
  const issuer = await createMockSkyporten(issuerOptions);
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const config: PeerConfig = {
    issuer: issuer.issuer,
    tokenEndpoint: issuer.tokenEndpoint,
    clientId: registered.clientId,
    kid: registered.kid,
    privateKeyPem: registered.privateKey,
    scope: SCOPE,
    resource: RESOURCE,
  };
  return {
    issuer,
    registered,
    config,
    client: (overrides = {}) => createSdkClient(config, overrides),
    tokenRequests: () => issuer.requests.filter((request) => request.method === 'POST').length,
    close: () => issuer.close(),
  };
}
