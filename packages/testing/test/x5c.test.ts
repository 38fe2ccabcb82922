import { X509Certificate } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { certificateToX5c, createMockSkyporten, createTestCertificate } from '@skyporten/testing';
import type { MockSkyporten, RegisteredClient } from '@skyporten/testing';
import { ORG_BRREG, ORG_DIGDIR, SCOPE, mpCode, requestToken, signGrant } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
let issuer: MockSkyporten;
let privateKey: CryptoKey;
let certificate: string;
let client: RegisteredClient;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  ({ privateKey } = await generateKeyPair('RS256', { extractable: true }));
  certificate = createTestCertificate({ privateKey, orgNo: ORG_DIGDIR });
  client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG_DIGDIR, certificate });
});
afterAll(() => issuer.close());
beforeEach(() => issuer.reset());

async function sendWithX5c(x5c: unknown, key: CryptoKey = privateKey): Promise<{ status: number; body: Record<string, unknown> }> {
  const grant = await signGrant({ client, audience: issuer.issuer, signingKey: key, header: { alg: 'RS256', x5c: x5c as string[] } });
  return requestToken(issuer.tokenEndpoint, grant);
}

describe('createTestCertificate', () => {
  test('puts the org number in serialNumber and organizationIdentifier', () => {
    const parsed = new X509Certificate(certificate);
    expect(parsed.subject).toContain(`serialNumber=${ORG_DIGDIR}`);
    expect(parsed.subject).toContain(`NTRNO-${ORG_DIGDIR}`);
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.verify(parsed.publicKey)).toBe(true);
  });

  test('with issuerName, returns a chain signed by a generated CA', () => {
    const chain = createTestCertificate({ privateKey, orgNo: ORG_DIGDIR, issuerName: 'TEST CA' });
    const [leaf, ca] = certificateToX5c(chain).map((der) => new X509Certificate(Buffer.from(der, 'base64')));
    expect(ca?.subject).toContain('CN=TEST CA');
    expect(leaf && ca && leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
  });

  test('rejects an invalid org number', () => {
    expect(() => createTestCertificate({ orgNo: '123456789' })).toThrow(/orgNo/);
  });

  test('certificateToX5c strips armour and rejects text without a certificate', () => {
    const [der] = certificateToX5c(certificate);
    expect(der).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(() => certificateToX5c('nothing here')).toThrow(/BEGIN CERTIFICATE/);
  });
});

describe('x5c grants', () => {
  test('the registered certificate authenticates; client_amr is virksomhetssertifikat', async () => {
    const { status, body } = await sendWithX5c(certificateToX5c(certificate));
    expect(status).toBe(200);
    const claims = await issuer.verifyAccessToken(body['access_token'] as string);
    expect(claims).toMatchObject({ client_amr: 'virksomhetssertifikat', consumer: { ID: `0192:${ORG_DIGDIR}` } });
  });

  test('a chain (leaf first) is accepted', async () => {
    const chain = createTestCertificate({ privateKey, orgNo: ORG_DIGDIR, issuerName: 'TEST CA' });
    const chained = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG_DIGDIR, certificate: chain });
    const grant = await signGrant({
      client: chained,
      audience: issuer.issuer,
      signingKey: privateKey,
      header: { alg: 'RS256', x5c: certificateToX5c(chain) },
    });
    expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
  });

  test('x5c as a string is MP-123', async () => {
    const { body } = await sendWithX5c(certificateToX5c(certificate)[0]);
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-123');
  });

  test('x5c with PEM armour is MP-123', async () => {
    const { body } = await sendWithX5c([certificate]);
    expect(mpCode(body)).toBe('MP-123');
  });

  test('x5c empty or not a certificate is MP-123', async () => {
    expect(mpCode((await sendWithX5c([])).body)).toBe('MP-123');
    expect(mpCode((await sendWithX5c(['AAAA'])).body)).toBe('MP-123');
  });

  test('a certificate for another org is MP-122', async () => {
    const foreign = createTestCertificate({ privateKey, orgNo: ORG_BRREG });
    const { body } = await sendWithX5c(certificateToX5c(foreign));
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-122');
  });

  test('a certificate of the right org that is not the registered one is MP-120', async () => {
    const { privateKey: otherKey } = await generateKeyPair('RS256', { extractable: true });
    const other = createTestCertificate({ privateKey: otherKey, orgNo: ORG_DIGDIR });
    const { body } = await sendWithX5c(certificateToX5c(other), otherKey);
    expect(mpCode(body)).toBe('MP-120');
  });

  test('a client without a registered certificate rejects x5c with MP-120', async () => {
    const keyOnly = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG_DIGDIR });
    const grant = await signGrant({ client: keyOnly, audience: issuer.issuer, signingKey: privateKey, header: { alg: 'RS256', x5c: certificateToX5c(certificate) } });
    expect(mpCode((await requestToken(issuer.tokenEndpoint, grant)).body)).toBe('MP-120');
  });

  test('an expired certificate is MP-121', async () => {
    const expired = createTestCertificate({ privateKey, orgNo: ORG_DIGDIR, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    const expiredClient = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG_DIGDIR, certificate: expired });
    const grant = await signGrant({ client: expiredClient, audience: issuer.issuer, signingKey: privateKey, header: { alg: 'RS256', x5c: certificateToX5c(expired) } });
    expect(mpCode((await requestToken(issuer.tokenEndpoint, grant)).body)).toBe('MP-121');
  });

  test('a grant not signed by the certificate key is MP-124', async () => {
    const { privateKey: wrongKey } = await generateKeyPair('RS256');
    const { body } = await sendWithX5c(certificateToX5c(certificate), wrongKey);
    expect(body['error']).toBe('invalid_grant');
    expect(mpCode(body)).toBe('MP-124');
  });

  test('the certificate key also works with kid', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, signingKey: privateKey });
    expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
  });
});
