import { Storage } from '@google-cloud/storage';
import { createMaskinportenClient, SkyportenError } from '@skyporten/core';
import { skyportenCredentials } from '@skyporten/gcp';
import type { AuthClient } from 'google-auth-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET, CONTENT, OBJECT, SERVICE_ACCOUNT, issuedTokens, setup, type Setup } from './fixtures.js';

let current: Setup | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start(...parameters: Parameters<typeof setup>): Promise<Setup> {
  current = await setup(...parameters);
  return current;
}

function storageFor(authClient: AuthClient, gcp: Setup['gcp']): Storage {
  return new Storage({ authClient, apiEndpoint: gcp.storageEndpoint, useAuthWithCustomEndpoint: true, projectId: 'data-provider' });
}

describe('skyportenCredentials with @google-cloud/storage', () => {
  it('downloads an object through STS and service account impersonation', async () => {
    const { gcp, issuer, maskinporten } = await start();
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
    });
    const [content] = await storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT).download();
    expect(content.toString('utf8')).toBe(CONTENT);
    expect(gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 1 });
    expect(issuedTokens(issuer)).toBe(1);
    const sts = gcp.requests.find((request) => request.service === 'sts');
    expect(sts?.details).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: gcp.audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      principal: `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/subject/0192:991825827`,
    });
    expect(sts?.details).not.toHaveProperty('subject_token');
  });

  it('makes 1 Maskinporten token, 1 STS exchange and 1 impersonation for 200 concurrent downloads on a cold client', async () => {
    const { gcp, issuer, maskinporten } = await start();
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
    });
    const file = storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT);
    const contents = await Promise.all(Array.from({ length: 200 }, () => file.download()));
    expect(contents.every(([content]) => content.toString('utf8') === CONTENT)).toBe(true);
    expect(issuedTokens(issuer)).toBe(1);
    expect(gcp.counters.stsCalls).toBe(1);
    expect(gcp.counters.generateAccessTokenCalls).toBe(1);
    expect(gcp.counters.storageCalls).toBe(200);
  });

  it('reads with the federated token directly when the bucket grants the principal (no impersonation)', async () => {
    const { gcp, issuer, maskinporten } = await start({ bindings: (clientAccess) => [{ bucket: BUCKET, principalSet: clientAccess }] });
    const warnings: string[] = [];
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      logger: { warn: (message) => warnings.push(message) },
    });
    const [content] = await storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT).download();
    expect(content.toString('utf8')).toBe(CONTENT);
    expect(gcp.counters).toMatchObject({ stsCalls: 1, generateAccessTokenCalls: 0 });
    expect(issuedTokens(issuer)).toBe(1);
    expect(warnings.join('\n')).toMatch(/No serviceAccountEmail.*120/);
    const sts = gcp.requests.find((request) => request.service === 'sts');
    expect(sts?.details?.scope).toBe('https://www.googleapis.com/auth/cloud-platform');
  });

  it('reuses the short-lived federated token across sequential reads without impersonation', async () => {
    const { gcp, issuer, maskinporten } = await start({ bindings: (clientAccess) => [{ bucket: BUCKET, principalSet: clientAccess }] });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const file = storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT);
    for (let read = 0; read < 5; read += 1) await file.download();
    expect(gcp.counters.stsCalls).toBe(1);
    expect(issuedTokens(issuer)).toBe(1);
  });

  it('shares one Maskinporten client between credentials and reuses its cached token', async () => {
    const { gcp, issuer, maskinporten } = await start();
    const client = createMaskinportenClient(maskinporten());
    const options = {
      maskinporten: client,
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
    };
    await skyportenCredentials(options).getAccessToken();
    await skyportenCredentials(options).getAccessToken();
    expect(issuedTokens(issuer)).toBe(1);
    expect(gcp.counters.stsCalls).toBe(2);
  });
});

describe('failures', () => {
  it('names the allowed audiences when the token aud is not one of them', async () => {
    const { gcp, maskinporten } = await start({ allowedAudiences: ['https://other.example.org'] });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(SkyportenError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'gcp', status: 400, cloudCode: 'invalid_grant', isRetryable: false });
    expect((error as SkyportenError).hint).toMatch(/allowed audiences must contain the token's aud \(https:\/\/skyporten\.example\.org\)/);
  });

  it('says the pool or provider is not found when the audience names another provider', async () => {
    const { gcp, maskinporten } = await start();
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience.replace('/providers/maskinporten', '/providers/wrong-provider'),
      tokenUrl: gcp.stsTokenUrl,
    });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'invalid_target', status: 400, isRetryable: false });
    expect((error as SkyportenError).hint).toMatch(/no active pool provider .*wrong-provider/);
  });

  it('gives the principalSet to bind when impersonation is denied', async () => {
    const { gcp, maskinporten, clientAccess } = await start({ bindings: () => [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: 'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:974760673::entur:skyporten.demo' }] });
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
    });
    const error = await storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT).download().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'gcp', status: 403, cloudCode: 'PERMISSION_DENIED', isRetryable: false });
    expect((error as SkyportenError).hint).toContain(`Grant roles/iam.workloadIdentityUser on ${SERVICE_ACCOUNT} to ${clientAccess}`);
    expect(gcp.counters.storageCalls).toBe(0);
  });

  it('retries once with a fresh Skyporten token when STS says the token expired, then reports the clock', async () => {
    const { gcp, issuer, maskinporten } = await start();
    gcp.setClockOffset(600);
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'invalid_grant', isRetryable: false });
    expect((error as SkyportenError).hint).toMatch(/clock/);
    expect(gcp.counters.stsCalls).toBe(2);
    expect(issuedTokens(issuer)).toBe(2);
  });

  it('recovers when STS rejects a token as expired once', async () => {
    const { gcp, issuer, maskinporten } = await start();
    gcp.failNext({ service: 'sts', status: 400, body: { error: 'invalid_grant', error_description: 'ID Token expired at 1700000000.' } });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ token: expect.any(String) });
    expect(gcp.counters.stsCalls).toBe(2);
    expect(issuedTokens(issuer)).toBe(2);
  });

  it('throws ConfigError naming resource before calling STS when the token has no audience', async () => {
    const { gcp, maskinporten } = await start();
    const { resource: _resource, ...withoutResource } = maskinporten();
    const credentials = skyportenCredentials({ maskinporten: withoutResource, audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'resource' });
    expect(gcp.counters.stsCalls).toBe(0);
  });

  it('retries STS 503 with the same Skyporten token', async () => {
    const { gcp, issuer, maskinporten } = await start();
    gcp.failNext({ service: 'sts', count: 2, status: 503 });
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
    });
    const [content] = await storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT).download();
    expect(content.toString('utf8')).toBe(CONTENT);
    expect(gcp.counters.stsCalls).toBe(3);
    expect(issuedTokens(issuer)).toBe(1);
  });

  it('reports a retryable error when STS keeps failing', async () => {
    const { gcp, issuer, maskinporten } = await start();
    gcp.failNext({ service: 'sts', count: 10, status: 503 });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', status: 503, isRetryable: true });
    expect(gcp.counters.stsCalls).toBe(4);
    expect(issuedTokens(issuer)).toBe(1);
  });

  it('lets Maskinporten errors through unchanged', async () => {
    const { gcp, maskinporten } = await start();
    const credentials = skyportenCredentials({ maskinporten: maskinporten({ scope: 'entur:not-registered', retry: false }), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'TOKEN_REQUEST_REJECTED' });
    expect(gcp.counters.stsCalls).toBe(0);
  });

  it('never puts the token in the error', async () => {
    const { gcp, issuer, maskinporten } = await start({ allowedAudiences: ['https://other.example.org'] });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    const token = issuer.requests[0]?.accessToken ?? 'no token issued';
    expect(JSON.stringify(error)).not.toContain(token);
    expect(String(error)).not.toContain(token);
    expect((error as Error).message).not.toContain(token);
  });

  it('logs no token on success or failure', async () => {
    const { gcp, issuer, maskinporten } = await start();
    const lines: string[] = [];
    const record = (message: string, details?: Record<string, unknown>) => lines.push(`${message} ${JSON.stringify(details ?? {})}`);
    const logger = { debug: record, info: record, warn: record, error: record };
    gcp.failNext({ service: 'sts', status: 400, body: { error: 'invalid_grant', error_description: 'ID Token expired at 1700000000.' } });
    const credentials = skyportenCredentials({
      maskinporten: maskinporten({ logger }),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
      logger,
    });
    const [content] = await storageFor(credentials, gcp).bucket(BUCKET).file(OBJECT).download();
    expect(content.toString('utf8')).toBe(CONTENT);
    expect(lines.some((line) => line.includes('retrying once'))).toBe(true);
    const tokens = issuer.requests.map((request) => request.accessToken).filter((token): token is string => token !== null);
    expect(tokens).toHaveLength(2);
    for (const token of tokens) expect(lines.join('\n')).not.toContain(token);
  });
});
