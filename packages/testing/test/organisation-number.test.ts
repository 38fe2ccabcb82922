import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMockSkyporten, isValidOrganisationNumber } from '@skyporten/testing';
import type { MockSkyporten } from '@skyporten/testing';
import { ORG_BRREG, ORG_CONSUMER, ORG_DIGDIR, SCOPE, requestToken, signGrant } from './helpers.js';

describe('isValidOrganisationNumber', () => {
  test.each([ORG_DIGDIR, ORG_BRREG, ORG_CONSUMER])('%s is valid', (value) => {
    expect(isValidOrganisationNumber(value)).toBe(true);
  });

  test.each(['123456789', '991825826', '99182582', '9918258270', 'abcdefghi', '0192:991825827'])('%s is not', (value) => {
    expect(isValidOrganisationNumber(value)).toBe(false);
  });
});

describe('registerClient key forms', () => {
  let issuer: MockSkyporten;
  beforeAll(async () => {
    issuer = await createMockSkyporten();
  });
  afterAll(() => issuer.close());

  test('accepts a PEM public key, a PEM private key (keeps the public half) and a KeyObject', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    for (const publicKey of [publicPem, privatePem, createPublicKey(privateKey)]) {
      const client = await issuer.registerClient({ scopes: [SCOPE], publicKey });
      expect(client.publicJwk).not.toHaveProperty('d');
      const grant = await signGrant({ client, audience: issuer.issuer, signingKey: privatePem });
      expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
    }
  });

  test('rejects a non-RSA key', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(issuer.registerClient({ scopes: [SCOPE], publicKey })).rejects.toThrow(/RSA/);
  });
});
