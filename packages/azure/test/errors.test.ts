import { CloudExchangeError, ConfigError, SkyportenError } from '@skyporten/core';
import { ENTRA_ERROR_HINTS } from '@skyporten/azure';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_ID, ORG, PRINCIPAL_ID, RESOURCE, SCOPE, STORAGE_SCOPE, SUBJECT, startAzureWorld, type AzureWorld } from './fixtures.ts';

let world: AzureWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function start(...args: Parameters<typeof startAzureWorld>): Promise<AzureWorld> {
  world = await startAzureWorld(...args);
  return world;
}

async function failure(promise: Promise<unknown>): Promise<CloudExchangeError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(SkyportenError.isInstance(error)).toBe(true);
  expect(error).toBeInstanceOf(CloudExchangeError);
  return error as CloudExchangeError;
}

describe('Entra ID refusals become CloudExchangeError with the AADSTS code and a hint', () => {
  it.each([
    ['a different subject', () => ({ subject: `0192:${ORG};${SCOPE}.other` })],
    ['the issuer with a trailing slash', (issuer: string) => ({ issuer: `${issuer}/` })],
    ['another audience', () => ({ audiences: ['https://other.example.org'] })],
  ])('AADSTS70021 when the federated credential has %s', async (_name, federatedCredential) => {
    const w = await start({}, federatedCredential);
    const error = await failure(w.credential().getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'azure', cloudCode: 'AADSTS70021', status: 400, isRetryable: false });
    expect(error.hint).toContain(ENTRA_ERROR_HINTS.AADSTS70021);
    // The token's iss, sub and aud (not secret) are shown, to compare with the federated credential.
    expect(error.hint).toContain(`iss "${w.issuer.issuer}"`);
    expect(error.hint).toContain(`sub "${SUBJECT}"`);
    expect(error.hint).toContain(`aud "${RESOURCE}"`);
  });

  it('never puts the Skyporten token in the error or the log', async () => {
    const w = await start({}, { subject: 'someone-else' });
    const maskinporten = w.maskinporten();
    const logged: unknown[] = [];
    const record = (...entry: unknown[]) => void logged.push(entry);
    const logger = { debug: record, info: record, warn: record, error: record };
    const error = await failure(w.credential({ maskinporten, logger }).getToken(STORAGE_SCOPE));
    expect(logged.length).toBeGreaterThan(0);
    const token = await maskinporten.getAccessToken();
    const everything = `${String(error)} ${JSON.stringify(error)} ${error.stack ?? ''} ${JSON.stringify(logged)}`;
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[1]!);
  });

  it('AADSTS700016 when the principal (object) id is used as client id', async () => {
    const w = await start();
    const error = await failure(w.credential({ clientId: PRINCIPAL_ID }).getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ cloudCode: 'AADSTS700016', status: 400, isRetryable: false });
    expect(error.hint).toMatch(/not its principal \(object\) id/);
  });

  it('AADSTS700024 when the Skyporten token is expired by Entra ID\'s clock, after one retry with a fresh token', async () => {
    const w = await start({ clock: () => Date.now() + 60 * 60 * 1000 });
    const error = await failure(w.credential().getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ cloudCode: 'AADSTS700024', status: 400, isRetryable: false });
    expect(error.hint).toMatch(/clock/);
    expect(w.entra.counters.tokenRequests).toBe(2);
    expect(w.maskinportenTokenRequests()).toBe(2);
  });

  it('an AADSTS700024 once is healed by one retry with a fresh Skyporten token', async () => {
    const w = await start();
    w.entra.failNext({ status: 400, code: 'invalid_client', message: 'AADSTS700024: Client assertion is not within its valid time range.' });
    await expect(w.credential().getToken(STORAGE_SCOPE)).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(w.entra.counters.tokenRequests).toBe(2);
    expect(w.maskinportenTokenRequests()).toBe(2);
  });

  it('AADSTS90002 when the tenant does not exist (read from the failed tenant discovery)', async () => {
    const w = await start();
    const error = await failure(w.credential({ tenantId: '0f0e0d0c-0b0a-4909-8807-060504030201' }).getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ cloudCode: 'AADSTS90002', status: 400 });
    expect(w.entra.counters.tokenRequests).toBe(0);
  });

  it('a missing resource fails with ConfigError before Entra ID is called', async () => {
    const w = await start();
    const error: unknown = await w.credential({ maskinporten: w.maskinporten(null) }).getToken(STORAGE_SCOPE).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'resource' });
    expect(w.entra.counters.tokenRequests).toBe(0);
    expect(w.entra.counters.metadataRequests).toBe(0);
  });

  it('a Maskinporten failure keeps its own error', async () => {
    const w = await start();
    w.issuer.failNext({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT claim aud (MP-110)' } });
    const error: unknown = await w.credential().getToken(STORAGE_SCOPE).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'TOKEN_REQUEST_REJECTED' });
    expect(w.entra.counters.tokenRequests).toBe(0);
  });
});

describe('transient Entra ID failures', () => {
  it('a 503 is retried by @azure/identity\'s pipeline and then succeeds', async () => {
    const w = await start();
    w.entra.failNext({ status: 503 });
    const token = await w.credential({ retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 } }).getToken(STORAGE_SCOPE);
    expect(token.token).toMatch(/^ey/);
    expect(w.entra.counters.tokenRequests).toBe(2);
    expect(w.maskinportenTokenRequests()).toBe(1);
  });

  it('503s past the retries end in a retryable CloudExchangeError with the status', async () => {
    const w = await start();
    w.entra.failNext({ count: 10, status: 503 });
    const error = await failure(w.credential({ retryOptions: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 } }).getToken(STORAGE_SCOPE));
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', status: 503, isRetryable: true, cloudCode: 'AADSTS90033' });
    expect(w.entra.counters.tokenRequests).toBe(3);
  });

  it('a refused connection to Entra ID (MSAL\'s network_error) is a retryable CloudExchangeError', async () => {
    const w = await start();
    const credential = w.credential({ retryOptions: { maxRetries: 0 } });
    await credential.getToken(STORAGE_SCOPE); // MSAL now has the tenant's metadata; the next token request fails to connect
    await w.entra.close();
    const error = await failure(credential.getToken('https://vault.azure.net/.default'));
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'azure', isRetryable: true, status: undefined });
    expect(error.hint).toMatch(/network failed/);
  });

  it('a failed request is not cached: the next getToken tries again', async () => {
    const w = await start();
    w.entra.failNext({ status: 400, message: 'AADSTS700016: Application not found.' });
    const credential = w.credential();
    await failure(credential.getToken(STORAGE_SCOPE));
    await expect(credential.getToken(STORAGE_SCOPE)).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(CLIENT_ID).toBeDefined();
  });
});
