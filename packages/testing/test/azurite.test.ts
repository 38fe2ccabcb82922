import { generateKeyPairSync } from 'node:crypto';
import { request } from 'node:https';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_ACCOUNT_NAME, createLocalTlsCertificate, createMockEntraId, createMockSkyporten, startAzurite } from '@skyporten/testing';
import type { LocalTlsCertificate, MockEntraId, MockSkyporten, RunningAzurite } from '@skyporten/testing';

const CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
const SUBJECT = '0192:991825827;entur:skyporten.demo';
const AUDIENCE = 'https://skyporten.example.org';

/** Lists containers with a Bearer token; answers the HTTP status. */
function listContainers(azurite: RunningAzurite, certificate: string, bearer: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${azurite.blobEndpoint}?comp=list`,
      { ca: certificate, headers: { authorization: `Bearer ${bearer}`, 'x-ms-version': '2025-01-05', 'x-ms-date': new Date().toUTCString() } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('startAzurite', () => {
  let tls: LocalTlsCertificate;
  let issuer: MockSkyporten;
  let entra: MockEntraId;
  let azurite: RunningAzurite;

  beforeAll(async () => {
    tls = createLocalTlsCertificate();
    issuer = await createMockSkyporten();
    entra = await createMockEntraId({
      issuer,
      tls,
      applications: [{ clientId: CLIENT_ID, federatedCredentials: [{ issuer: issuer.issuer, subject: SUBJECT, audiences: [AUDIENCE] }] }],
    });
    azurite = await startAzurite({ tls });
  });
  afterAll(async () => {
    await azurite?.stop();
    await entra?.close();
    await issuer?.close();
  });

  async function entraToken(): Promise<string> {
    const assertion = await issuer.signAccessToken({ aud: AUDIENCE, sub: SUBJECT });
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      scope: 'https://storage.azure.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }).toString();
    return new Promise((resolve, reject) => {
      const outgoing = request(
        `${entra.authorityHost}/${entra.tenantId}/oauth2/v2.0/token`,
        { method: 'POST', ca: tls.cert, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { access_token: string }).access_token));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  async function otherToken(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: 'https://storage.azure.com', iss: `https://sts.windows.net/${entra.tenantId}/`, ...claims })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 600)
      .sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  }

  it('serves the development account over HTTPS on 127.0.0.1', () => {
    expect(azurite.blobEndpoint).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT_NAME}$`));
    expect(azurite.accountName).toBe(AZURITE_ACCOUNT_NAME);
  });

  it('accepts a Bearer token from the mock Entra ID', async () => {
    expect(await listContainers(azurite, tls.cert, await entraToken())).toBe(200);
  });

  it('refuses a token for another audience or from another issuer (its --oauth basic checks)', async () => {
    expect(await listContainers(azurite, tls.cert, await otherToken({ aud: 'https://vault.azure.net' }))).toBe(403);
    expect(await listContainers(azurite, tls.cert, await otherToken({ iss: 'https://example.org/' }))).toBe(403);
  });

  it('stops, and a second stop is harmless', async () => {
    const second = await startAzurite({ tls });
    await second.stop();
    await second.stop();
    await expect(listContainers(second, tls.cert, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
