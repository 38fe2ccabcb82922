// A mock Skyporten issuer with one registered client, and Maskinporten clients pointed at it: what every
// scenario that talks to a token endpoint starts from. Loopback only.
import { createMaskinportenClient, type MaskinportenClient, type MaskinportenClientOptions } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type MockSkyportenOptions, type RegisteredClient } from '@skyporten/testing';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORGANISATION_NUMBER = '991825827';

export interface BenchWorld {
  issuer: MockSkyporten;
  registered: RegisteredClient;
  /** A new client (empty cache) for the registered integration; `overrides` win. */
  client(overrides?: Partial<MaskinportenClientOptions>): MaskinportenClient;
  /** POSTs that reached the token endpoint since the last `issuer.reset()`. */
  tokenRequests(): number;
  close(): Promise<void>;
}

export async function startWorld(issuerOptions: MockSkyportenOptions = {}): Promise<BenchWorld> {
  const issuer = await createMockSkyporten(issuerOptions);
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  return {
    issuer,
    registered,
    client: (overrides = {}) =>
      createMaskinportenClient({
        issuer: issuer.issuer,
        tokenEndpoint: issuer.tokenEndpoint,
        clientId: registered.clientId,
        scope: SCOPE,
        resource: RESOURCE,
        key: { privateKey: registered.privateKey, kid: registered.kid },
        env: false,
        ...overrides,
      }),
    tokenRequests: () => issuer.requests.filter((request) => request.method === 'POST').length,
    close: () => issuer.close(),
  };
}
