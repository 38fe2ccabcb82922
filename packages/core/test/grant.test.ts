import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, X509Certificate } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtGrant, KeyError, SKYPORTEN_TEST_ISSUER, type KeyInput } from '@skyporten/core';
import { fixture, fixtureBytes, manualClock, rejectionOf } from './helpers.ts';

const pkcs8 = fixture('rsa-2048.pkcs8.pem');
const publicKey = createPublicKey(pkcs8);
const base = {
  issuer: SKYPORTEN_TEST_ISSUER,
  clientId: 'client-123',
  scope: 'entur:skyporten.demo',
};

describe('createJwtGrant claims', () => {
  it('sets aud, iss, scope, iat, exp and jti exactly as the protocol says', async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1, 0, 0, 0, 900));
    const grant = await createJwtGrant({ ...base, key: { privateKey: pkcs8, kid: 'kid-1' }, clock, generateId: () => 'jti-1' });
    const { payload, protectedHeader } = await jwtVerify(grant, publicKey, { currentDate: new Date(clock()) });
    expect(payload).toEqual({
      aud: SKYPORTEN_TEST_ISSUER,
      iss: 'client-123',
      scope: 'entur:skyporten.demo',
      iat: Date.UTC(2026, 0, 1) / 1000,
      exp: Date.UTC(2026, 0, 1) / 1000 + 60,
      jti: 'jti-1',
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: 'kid-1', typ: 'JWT' });
  });

  it('joins scope arrays with spaces and carries resource and consumer_org', async () => {
    const grant = await createJwtGrant({
      ...base,
      scope: ['entur:skyporten.demo', 'entur:other'],
      resource: ['https://a.example.org', 'https://b.example.org'],
      consumerOrg: '0192:991825827',
      key: { privateKey: pkcs8, kid: 'k' },
    });
    const claims = decodeJwt(grant);
    expect(claims.scope).toBe('entur:skyporten.demo entur:other');
    expect(claims.resource).toEqual(['https://a.example.org', 'https://b.example.org']);
    expect(claims.consumer_org).toBe('991825827');
  });

  it('makes a new random jti for every grant', async () => {
    const key = { privateKey: pkcs8, kid: 'k' };
    const ids = new Set<string>();
    for (let index = 0; index < 20; index++) ids.add(String(decodeJwt(await createJwtGrant({ ...base, key })).jti));
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('honours lifetimeSeconds up to 120 and refuses more', async () => {
    const grant = await createJwtGrant({ ...base, lifetimeSeconds: 120, key: { privateKey: pkcs8, kid: 'k' } });
    const { iat, exp } = decodeJwt(grant);
    expect(exp! - iat!).toBe(120);
    const error = await rejectionOf(createJwtGrant({ ...base, lifetimeSeconds: 121, key: { privateKey: pkcs8, kid: 'k' } }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe('lifetimeSeconds');
  });

  it.each(['RS256', 'RS384', 'RS512'] as const)('signs with %s', async (algorithm) => {
    const grant = await createJwtGrant({ ...base, key: { privateKey: pkcs8, kid: 'k', algorithm } });
    const { protectedHeader } = await compactVerify(grant, publicKey, { algorithms: [algorithm] });
    expect(protectedHeader.alg).toBe(algorithm);
  });
});

describe('createJwtGrant keys', () => {
  const variants: [string, KeyInput][] = [
    ['PKCS#8 PEM', { privateKey: pkcs8, kid: 'k' }],
    ['PKCS#1 PEM', { privateKey: fixture('rsa-2048.pkcs1.pem'), kid: 'k' }],
    ['encrypted PEM', { privateKey: fixture('rsa-2048.encrypted.pem'), passphrase: 'correct horse', kid: 'k' }],
    ['JWK string', { privateKey: fixture('rsa-2048.jwk.json'), kid: 'k' }],
    ['JWK object', { privateKey: JSON.parse(fixture('rsa-2048.jwk.json')), kid: 'k' }],
    ['KeyObject', { privateKey: createPrivateKey(pkcs8), kid: 'k' }],
  ];
  it.each(variants)('accepts a %s', async (_name, key) => {
    const grant = await createJwtGrant({ ...base, key });
    await expect(compactVerify(grant, publicKey)).resolves.toBeTruthy();
  });

  it('takes kid from a JWK when none is given', async () => {
    const grant = await createJwtGrant({ ...base, key: { privateKey: JSON.parse(fixture('rsa-2048.jwk.json')) } });
    expect(decodeProtectedHeader(grant).kid).toBe('fixture-kid');
  });

  it('sends a certificate chain as an x5c array of base64 DER, leaf first', async () => {
    const chain = fixture('chain.pem');
    const grant = await createJwtGrant({ ...base, key: { privateKey: pkcs8, certificateChain: chain } });
    const header = decodeProtectedHeader(grant);
    expect(header.kid).toBeUndefined();
    expect(Array.isArray(header.x5c)).toBe(true);
    expect(header.x5c).toHaveLength(2);
    const leaf = new X509Certificate(Buffer.from(header.x5c![0]!, 'base64'));
    expect(leaf.checkPrivateKey(createPrivateKey(pkcs8))).toBe(true);
  });

  it('reads key and chain from a PKCS#12 file and orders the chain leaf first', async () => {
    const grant = await createJwtGrant({ ...base, key: { pkcs12: fixtureBytes('business.p12'), passphrase: 'p12 secret' } });
    await expect(compactVerify(grant, publicKey)).resolves.toBeTruthy();
    const header = decodeProtectedHeader(grant);
    expect(header.x5c).toHaveLength(2);
    const [leaf, ca] = header.x5c!.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
    expect(leaf!.checkIssued(ca!)).toBe(true);
  });

  it('uses a remote signer with the exact JWS signing input', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const inputs: string[] = [];
    const grant = await createJwtGrant({
      ...base,
      key: {
        kid: 'kms-key',
        async sign(signingInput) {
          inputs.push(new TextDecoder().decode(signingInput));
          return nodeSign('sha256', signingInput, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
        },
      },
    });
    expect(inputs).toEqual([grant.split('.').slice(0, 2).join('.')]);
    await expect(compactVerify(grant, createPublicKey(privateKey))).resolves.toBeTruthy();
  });
});

describe('createJwtGrant key errors', () => {
  const cases: [string, KeyInput, string, string][] = [
    ['garbage', { privateKey: 'not a key', kid: 'k' }, 'KEY_INVALID', 'key.privateKey'],
    ['a public key', { privateKey: fixture('rsa-2048.public.pem'), kid: 'k' }, 'KEY_INVALID', 'key.privateKey'],
    ['an EC key', { privateKey: fixture('ec-p256.pkcs8.pem'), kid: 'k' }, 'KEY_INVALID', 'key.privateKey'],
    ['a 1024-bit key', { privateKey: fixture('rsa-1024.pkcs8.pem'), kid: 'k' }, 'KEY_INVALID', 'key.privateKey'],
    ['an encrypted key without passphrase', { privateKey: fixture('rsa-2048.encrypted.pem'), kid: 'k' }, 'KEY_INVALID', 'key.privateKey'],
    ['a wrong passphrase', { privateKey: fixture('rsa-2048.encrypted.pem'), passphrase: 'wrong', kid: 'k' }, 'KEY_INVALID', 'key.passphrase'],
    ['a certificate of another key', { privateKey: pkcs8, certificateChain: fixture('other-key.pem') }, 'CERTIFICATE_INVALID', 'key.certificateChain'],
    ['an expired certificate', { privateKey: pkcs8, certificateChain: fixture('expired.pem') }, 'CERTIFICATE_INVALID', 'key.certificateChain'],
    ['a chain in the wrong order', { privateKey: pkcs8, certificateChain: reverseChain(fixture('chain.pem')) }, 'CERTIFICATE_INVALID', 'key.certificateChain'],
    ['a chain that is not PEM', { privateKey: pkcs8, certificateChain: 'nope' }, 'CERTIFICATE_INVALID', 'key.certificateChain'],
    ['neither kid nor certificate', { privateKey: pkcs8 }, 'KEY_INVALID', 'key.kid'],
    ['an unsupported algorithm', { privateKey: pkcs8, kid: 'k', algorithm: 'ES256' as never }, 'KEY_INVALID', 'key.algorithm'],
    ['a wrong PKCS#12 passphrase', { pkcs12: fixtureBytes('business.p12'), passphrase: 'wrong' }, 'KEY_INVALID', 'key.passphrase'],
    ['a PKCS#12 that is not one', { pkcs12: new Uint8Array([1, 2, 3]) }, 'KEY_INVALID', 'key.pkcs12'],
  ];
  it.each(cases)('rejects %s with a KeyError naming the field', async (_name, key, code, field) => {
    const error = await rejectionOf(createJwtGrant({ ...base, key }));
    expect(KeyError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(KeyError);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field.split('.').pop());
    expect(String(error)).not.toMatch(/-----BEGIN/);
  });

  it('says which certificate is the leaf when the chain is reversed', async () => {
    const error = await rejectionOf(createJwtGrant({ ...base, key: { privateKey: pkcs8, certificateChain: reverseChain(fixture('chain.pem')) } }));
    expect(error.message).toMatch(/wrong order/);
  });
});

function reverseChain(pem: string): string {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.reverse().join('\n');
}
