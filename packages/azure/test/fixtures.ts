import tls from 'node:tls';
import { createMaskinportenClient, type MaskinportenClient } from '@skyporten/core';
import {
  createLocalTlsCertificate,
  createMockEntraId,
  createMockSkyporten,
  type MockEntraId,
  type MockEntraIdOptions,
  type MockFederatedCredential,
  type MockSkyporten,
  type RegisteredClient,
} from '@skyporten/testing';
import { skyportenCredentials, type SkyportenCredentialsOptions, type SkyportenTokenCredential } from '@skyporten/azure';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORG = '991825827';
export const SUBJECT = `0192:${ORG};${SCOPE}`;
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
export const CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
export const PRINCIPAL_ID = 'c2a9e4f1-7b3d-4e8a-b5c6-1d2e3f4a5b6c';

export interface AzureWorld {
  issuer: MockSkyporten;
  entra: MockEntraId;
  registered: RegisteredClient;
  /** A Maskinporten client for `registered` (resource RESOURCE unless `null`), counting getAccessToken calls. */
  maskinporten(resource?: string | null): MaskinportenClient & { assertionCalls: number };
  /** skyportenCredentials against the mock Entra ID, with env reading off. */
  credential(overrides?: SkyportenCredentialsOptions): SkyportenTokenCredential;
  /** Requests that reached the Skyporten token endpoint. */
  maskinportenTokenRequests(): number;
  close(): Promise<void>;
}

/**
 * One TLS certificate for every local HTTPS server of this test file (mock Entra ID, Azurite), trusted once
 * for every TLS client that does not set its own `ca` (the Azure SDKs' HTTP clients included). Node caches
 * its default trust store at the first TLS connection, so trust must be set before it, and only once.
 * Needs Node 22.19+ / 24.5+ (`tls.setDefaultCACertificates`).
 */
export const TEST_TLS = createLocalTlsCertificate();
tls.setDefaultCACertificates([...tls.getCACertificates('default'), TEST_TLS.cert]);

/**
 * A mock Skyporten issuer and a mock Entra ID whose application CLIENT_ID has a federated credential for
 * SUBJECT / RESOURCE from that issuer (`federatedCredential` overrides fields; as a function it gets the issuer).
 */
export async function startAzureWorld(
  entraOptions: Partial<Omit<MockEntraIdOptions, 'issuer' | 'applications'>> = {},
  federatedCredential: Partial<MockFederatedCredential> | ((issuer: string) => Partial<MockFederatedCredential>) = {},
): Promise<AzureWorld> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const entra = await createMockEntraId({
    issuer,
    tls: TEST_TLS,
    applications: [
      {
        clientId: CLIENT_ID,
        principalId: PRINCIPAL_ID,
        federatedCredentials: [{ issuer: issuer.issuer, subject: SUBJECT, audiences: [RESOURCE], ...(typeof federatedCredential === 'function' ? federatedCredential(issuer.issuer) : federatedCredential) }],
      },
    ],
    ...entraOptions,
  });
  function maskinporten(resource: string | null = RESOURCE): MaskinportenClient & { assertionCalls: number } {
    const client = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      ...(resource === null ? {} : { resource }),
      key: { privateKey: registered.privateKey, kid: registered.kid },
      retry: false,
      env: false,
    });
    const counted = {
      ...client,
      assertionCalls: 0,
      getAccessToken(options?: Parameters<MaskinportenClient['getAccessToken']>[0]) {
        counted.assertionCalls++;
        return client.getAccessToken(options);
      },
    };
    return counted;
  }
  return {
    issuer,
    entra,
    registered,
    maskinporten,
    credential: (overrides = {}) =>
      skyportenCredentials({
        tenantId: entra.tenantId,
        clientId: CLIENT_ID,
        authorityHost: entra.authorityHost,
        disableInstanceDiscovery: true,
        maskinporten: maskinporten(),
        env: false,
        ...overrides,
      }),
    maskinportenTokenRequests: () => issuer.requests.length,
    async close() {
      await entra.close();
      await issuer.close();
    },
  };
}
