import type { MaskinportenClientOptions } from '@skyporten/core';
import { createMockGcp, createMockSkyporten } from '@skyporten/testing';
import type { MockGcp, MockGcpBinding, MockGcpOptions, MockSkyporten, RegisteredClient } from '@skyporten/testing';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORG = '991825827';
export const SERVICE_ACCOUNT = 'skyporten-reader@data-provider.iam.gserviceaccount.com';
export const BUCKET = 'skyporten-demo';
export const OBJECT = 'greeting.txt';
export const CONTENT = 'Hei fra Skyporten!\n';

export interface Setup {
  issuer: MockSkyporten;
  gcp: MockGcp;
  client: RegisteredClient;
  /** Options for a Maskinporten client of the registered client, with `resource` unless overridden. */
  maskinporten(overrides?: Partial<MaskinportenClientOptions>): MaskinportenClientOptions;
  /** The `principalSet` Skyporten's attribute mapping gives this consumer and scope. */
  clientAccess: string;
  close(): Promise<void>;
}

/** A mock issuer, a registered client and a mock GCP project with one bucket. */
export async function setup(gcpOptions: Partial<Omit<MockGcpOptions, 'bindings'>> & { bindings?: (clientAccess: string) => MockGcpBinding[] } = {}): Promise<Setup> {
  const issuer = await createMockSkyporten();
  const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const projectNumber = '123456789012';
  const poolPrefix = `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/skyporten`;
  const clientAccess = `${poolPrefix}/attribute.clientaccess/client::0192:${ORG}::${SCOPE}`;
  const { bindings, ...rest } = gcpOptions;
  const gcp = await createMockGcp({
    issuer,
    projectNumber,
    poolId: 'skyporten',
    providerId: 'maskinporten',
    allowedAudiences: [RESOURCE],
    bindings: bindings?.(clientAccess) ?? [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: clientAccess }],
    buckets: { [BUCKET]: { [OBJECT]: CONTENT } },
    ...rest,
  });
  return {
    issuer,
    gcp,
    client,
    clientAccess,
    maskinporten: (overrides = {}) => ({
      issuer: issuer.issuer,
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: client.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: client.privateKey, kid: client.kid },
      env: false,
      ...overrides,
    }),
    async close() {
      await gcp.close();
      await issuer.close();
    },
  };
}

/** Maskinporten token requests the issuer answered with a token. */
export function issuedTokens(issuer: MockSkyporten): number {
  return issuer.requests.filter((request) => request.status === 200).length;
}
