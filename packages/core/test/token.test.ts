import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSkyportenToken, requireAudience, SkyportenError, verifySkyportenToken } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten } from '@skyporten/testing';
import { rejectionOf, thrownBy } from './helpers.ts';

let issuer: MockSkyporten;
const resource = 'https://skyporten.example.org';
const claims = () => ({
  aud: resource,
  sub: '0192:991825827;entur:skyporten.demo',
  scope: 'entur:skyporten.demo',
  consumer: { authority: 'iso6523-actorid-upis', ID: '0192:991825827' },
});

beforeAll(async () => {
  issuer = await createMockSkyporten();
});
afterAll(() => issuer.close());

describe('decodeSkyportenToken', () => {
  it('reads the claims people route on, without verifying', async () => {
    const token = await issuer.signAccessToken(claims());
    const decoded = decodeSkyportenToken(token);
    expect(decoded.issuer).toBe(issuer.issuer);
    expect(decoded.audience).toEqual([resource]);
    expect(decoded.subject).toBe('0192:991825827;entur:skyporten.demo');
    expect(decoded.consumerId).toBe('0192:991825827');
    expect(decoded.consumerOrg).toBe('991825827');
    expect(decoded.expiresAt).toBeInstanceOf(Date);
  });

  it.each(['', 'not-a-jwt', 'a.b.c', 'eyJhbGciOiJub25lIn0'])('refuses %j with TOKEN_INVALID', (value) => {
    const error = thrownBy(() => decodeSkyportenToken(value));
    expect(SkyportenError.isInstance(error)).toBe(true);
    expect(error.code).toBe('TOKEN_INVALID');
  });
});

describe('verifySkyportenToken', () => {
  it('verifies signature, issuer and audience against the JWKS', async () => {
    const token = await issuer.signAccessToken(claims());
    const verified = await verifySkyportenToken(token, { issuer: issuer.issuer, audience: resource });
    expect(verified.subject).toBe('0192:991825827;entur:skyporten.demo');
  });

  it('refuses another audience, another issuer, an expired token and a foreign signature', async () => {
    const token = await issuer.signAccessToken(claims());
    expect((await rejectionOf(verifySkyportenToken(token, { issuer: issuer.issuer, audience: 'https://other.example.org' }))).code).toBe('TOKEN_INVALID');
    expect((await rejectionOf(verifySkyportenToken(token, { issuer: 'https://sky.maskinporten.no', audience: resource, jwksUri: issuer.jwksUri }))).code).toBe('TOKEN_INVALID');
    const expired = await issuer.signAccessToken(claims(), { expiresInSeconds: -60 });
    const expiredError = await rejectionOf(verifySkyportenToken(expired, { issuer: issuer.issuer, audience: resource }));
    expect(expiredError.message).toMatch(/exp/);
    const other = await createMockSkyporten();
    try {
      const foreign = (await other.signAccessToken(claims())).split('.');
      const forged = [token.split('.')[0], foreign[1], foreign[2]].join('.');
      expect((await rejectionOf(verifySkyportenToken(forged, { issuer: issuer.issuer, audience: resource }))).code).toBe('TOKEN_INVALID');
    } finally {
      await other.close();
    }
  });
});

it('verifySkyportenToken refuses a token without exp', async () => {
  const token = await issuer.signAccessToken({ ...claims(), exp: undefined });
  expect(decodeSkyportenToken(token).expiresAt).toBeUndefined();
  const error = await rejectionOf(verifySkyportenToken(token, { issuer: issuer.issuer, audience: resource }));
  expect(error.code).toBe('TOKEN_INVALID');
  expect(error.message).toMatch(/exp/);
});

describe('requireAudience', () => {
  it('passes a token with aud and refuses one without, naming resource', async () => {
    expect(requireAudience(await issuer.signAccessToken(claims()), 'AWS STS').audience).toEqual([resource]);
    const { aud: _aud, ...withoutAudience } = claims();
    const token = await issuer.signAccessToken(withoutAudience);
    const error = thrownBy(() => requireAudience(token, 'AWS STS'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe('resource');
    expect(error.message).toContain('AWS STS');
  });
});
