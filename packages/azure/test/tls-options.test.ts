// This file trusts nothing globally (it does not import ./fixtures.ts): it shows that `tlsOptions.ca`
// alone is enough for the credential to reach a local Entra ID with a self-signed certificate.
import { CloudExchangeError } from '@skyporten/core';
import { skyportenCredentials } from '@skyporten/azure';
import { createMockEntraId, createMockSkyporten, type MockEntraId, type MockSkyporten } from '@skyporten/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
let issuer: MockSkyporten;
let entra: MockEntraId;
let maskinporten: { issuer: string; clientId: string; scope: string; resource: string; key: { privateKey: string; kid: string }; env: false };

beforeAll(async () => {
  issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'], orgNo: '991825827' });
  entra = await createMockEntraId({
    issuer,
    applications: [
      { clientId: CLIENT_ID, federatedCredentials: [{ issuer: issuer.issuer, subject: '0192:991825827;entur:skyporten.demo', audiences: ['https://skyporten.example.org'] }] },
    ],
  });
  maskinporten = {
    issuer: issuer.issuer,
    clientId: registered.clientId,
    scope: 'entur:skyporten.demo',
    resource: 'https://skyporten.example.org',
    key: { privateKey: registered.privateKey, kid: registered.kid },
    env: false,
  };
});
afterAll(async () => {
  await entra?.close();
  await issuer?.close();
});

it('without trust in the certificate, the TLS failure surfaces as a CloudExchangeError', async () => {
  const credential = skyportenCredentials({ tenantId: entra.tenantId, clientId: CLIENT_ID, authorityHost: entra.authorityHost, disableInstanceDiscovery: true, maskinporten, env: false });
  const error: unknown = await credential.getToken('https://storage.azure.com/.default').catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(CloudExchangeError);
  expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'azure' });
  expect((error as CloudExchangeError).hint).toMatch(/TLS certificate is trusted/);
  expect(entra.counters.tokenRequests).toBe(0);
});

it('with tlsOptions.ca it gets a token (and, on a loopback authority host, needs no disableInstanceDiscovery)', async () => {
  const credential = skyportenCredentials({
    tenantId: entra.tenantId,
    clientId: CLIENT_ID,
    authorityHost: entra.authorityHost,
    tlsOptions: { ca: entra.certificate },
    maskinporten,
    env: false,
  });
  await expect(credential.getToken('https://storage.azure.com/.default')).resolves.toMatchObject({ tokenType: 'Bearer' });
  expect(entra.counters.tokenRequests).toBe(1);
});
