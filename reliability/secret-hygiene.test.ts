// Secret hygiene: everything the SDK emits — log lines at every level, errors (message, hint, String, JSON,
// inspect, cause), clients and tokens (String, JSON, inspect) — is recorded, and no private key, grant or
// access token may appear in it. The setup file applies the same check after every file of the suite.
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { counts, recordEmission, rememberSecret, takeLeaks } from './emissions.ts';
import { failureOf, fixture, startWorld, type World } from './world.ts';

let world: World | undefined;
afterAll(async () => {
  await world?.close();
});

describe('secret hygiene', () => {
  it('the net catches a leak (self-test)', () => {
    rememberSecret('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWxmLXRlc3QtdG9rZW4ifQ.c2VsZi10ZXN0LXNpZ25hdHVyZS1ieXRlcw');
    recordEmission('oops: eyJzdWIiOiJzZWxmLXRlc3QtdG9rZW4ifQ was logged');
    expect(takeLeaks()).toHaveLength(1);
    rememberSecret(fixture('rsa-2048.pkcs8.pem'));
    recordEmission(fixture('rsa-2048.pkcs8.pem').split('\n').slice(3, 4).join(''));
    expect(takeLeaks()).toHaveLength(1);
  });

  it('a full run — tokens, refreshes, retries, rejections, timeouts — emits no secret', async () => {
    world = await startWorld({ tokenLifetimeSeconds: 2 });
    const { issuer } = world;
    const client = world.client({ retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 5 }, timeout: 300 });

    const token = await client.getToken();
    for (const value of [token, client, { token }, [client, token]]) recordEmission(value);
    expect(String(token)).not.toContain(token.accessToken);
    expect(JSON.stringify(token)).toContain('[redacted]');
    expect(inspect(client)).toContain('MaskinportenClient');

    issuer.failNext({ count: 2, status: 503 });
    recordEmission(await client.getToken({ forceRefresh: true })); // retried twice, logged as warnings

    issuer.failNext({ count: 3, status: 502, body: `<html>upstream said: ${token.accessToken}</html>` });
    recordEmission(await failureOf(() => client.getToken({ forceRefresh: true }))); // a body echoing the token

    issuer.failNext({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: `bad assertion ${token.accessToken}` }) });
    const rejected = await failureOf(() => client.getToken({ forceRefresh: true }));
    expect(rejected.code).toBe('TOKEN_REQUEST_REJECTED');

    issuer.hang(3);
    expect((await failureOf(() => client.getToken({ forceRefresh: true }))).code).toBe('TIMEOUT');

    issuer.setClockOffset(60);
    expect((await failureOf(() => client.getToken({ forceRefresh: true }))).code).toBe('TOKEN_REQUEST_REJECTED');
    issuer.setClockOffset(0);

    // Background refreshes of 2-s tokens, logged at debug/info.
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      recordEmission(await client.getToken());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const checked = counts();
    expect(checked.secrets).toBeGreaterThan(10);
    expect(checked.emissions).toBeGreaterThan(50);
    expect(takeLeaks()).toEqual([]);
  });

  it('key errors never quote the key, even for a key that is almost right', async () => {
    const pem = fixture('rsa-2048.pkcs8.pem');
    const { createMaskinportenClient } = await import('@skyporten/core');
    for (const privateKey of [pem.slice(0, 900), pem.replace('PRIVATE KEY', 'PUBLIC KEY'), `${pem}garbage`, pem.replaceAll('\n', ' ')]) {
      rememberSecret(privateKey.includes('\n') ? privateKey : pem);
      try {
        createMaskinportenClient({ issuer: 'https://test.sky.maskinporten.no', clientId: 'c', scope: 'entur:skyporten.demo', key: { privateKey, kid: 'k' }, env: false });
      } catch (error) {
        recordEmission(error);
      }
    }
    expect(takeLeaks()).toEqual([]);
  });
});
