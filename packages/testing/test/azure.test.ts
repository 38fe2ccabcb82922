import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { request } from 'node:https';
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalTlsCertificate, createMockEntraId, createMockSkyporten } from '@skyporten/testing';
import type { MockEntraId, MockSkyporten } from '@skyporten/testing';

const CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
const PRINCIPAL_ID = 'c2a9e4f1-7b3d-4e8a-b5c6-1d2e3f4a5b6c';
const SUBJECT = '0192:991825827;entur:skyporten.demo';
const AUDIENCE = 'https://skyporten.example.org';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** An HTTPS request trusting only the mock's certificate. */
function send(entra: MockEntraId, method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const outgoing = request(
      `${entra.authorityHost}${path}`,
      { method, ca: entra.certificate, headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('createMockEntraId', () => {
  let issuer: MockSkyporten;
  let entra: MockEntraId;
  let assertion: string;

  function tokenRequest(overrides: Record<string, string | undefined> = {}, tenant = entra.tenantId): Promise<Answer> {
    const form: Record<string, string> = {};
    const fields = { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: 'https://storage.azure.com/.default', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, ...overrides };
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) form[name] = value;
    return send(entra, 'POST', `/${tenant}/oauth2/v2.0/token`, form);
  }

  function aadsts(answer: Answer): number | undefined {
    return (answer.body.error_codes as number[] | undefined)?.[0];
  }

  beforeAll(async () => {
    issuer = await createMockSkyporten();
    entra = await createMockEntraId({
      issuer,
      applications: [{ clientId: CLIENT_ID, principalId: PRINCIPAL_ID, federatedCredentials: [{ issuer: issuer.issuer, subject: SUBJECT, audiences: [AUDIENCE] }] }],
    });
    assertion = await issuer.signAccessToken({ aud: AUDIENCE, sub: SUBJECT, scope: 'entur:skyporten.demo' });
  });
  afterAll(async () => {
    await entra?.close();
    await issuer?.close();
  });
  afterEach(() => entra.reset());

  it('serves tenant discovery with the endpoints MSAL needs', async () => {
    const answer = await send(entra, 'GET', `/${entra.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      issuer: `${entra.authorityHost}/${entra.tenantId}/v2.0`,
      token_endpoint: `${entra.authorityHost}/${entra.tenantId}/oauth2/v2.0/token`,
      jwks_uri: `${entra.authorityHost}/${entra.tenantId}/discovery/v2.0/keys`,
    });
    expect(answer.body).toHaveProperty('authorization_endpoint');
    expect(entra.counters.metadataRequests).toBe(1);
  });

  it('answers AADSTS90002 for an unknown tenant', async () => {
    const other = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const discovery = await send(entra, 'GET', `/${other}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(400);
    expect(aadsts(discovery)).toBe(90002);
    expect(aadsts(await tokenRequest({}, other))).toBe(90002);
  });

  it('issues a token for the scope\'s resource that Azurite\'s basic OAuth check accepts, signed with its JWKS', async () => {
    const answer = await tokenRequest();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const token = answer.body.access_token as string;
    const { payload } = await jwtVerify(token, createLocalJWKSet(entra.jwks()), { audience: 'https://storage.azure.com' });
    expect(payload).toMatchObject({ iss: `https://sts.windows.net/${entra.tenantId}/`, appid: CLIENT_ID, oid: PRINCIPAL_ID, tid: entra.tenantId });
    expect(payload.nbf).toBeTypeOf('number');
    expect(entra.requests[0]).toMatchObject({ clientId: CLIENT_ID, status: 200, assertionClaims: { sub: SUBJECT } });
  });

  it.each([
    ['subject', { sub: `${SUBJECT}x` }],
    ['subject in another case', { sub: SUBJECT.toUpperCase() }],
    ['audience', { aud: 'https://other.example.org' }],
    ['issuer (trailing slash)', { iss: 'TRAILING' }],
  ])('answers AADSTS70021 when the %s does not match, naming the assertion\'s iss, sub and aud', async (_name, claims) => {
    const iss = (claims as { iss?: string }).iss === 'TRAILING' ? `${issuer.issuer}/` : undefined;
    assertion = await issuer.signAccessToken({ aud: AUDIENCE, sub: SUBJECT, ...claims, ...(iss ? { iss } : {}) });
    const answer = await tokenRequest();
    expect(answer.status).toBe(400);
    expect(aadsts(answer)).toBe(70021);
    expect(answer.body.error_description).toMatch(/^AADSTS70021: No matching federated identity record found for presented assertion\. Assertion Issuer: '[^']+'\. Assertion Subject: '[^']+'\. Assertion Audience: '[^']+'\./);
    expect(answer.body).toHaveProperty('trace_id');
    expect(answer.body).toHaveProperty('correlation_id');
    assertion = await issuer.signAccessToken({ aud: AUDIENCE, sub: SUBJECT });
  });

  it('accepts any matching audience when the token has several', async () => {
    const several = await issuer.signAccessToken({ aud: ['https://first.example.org', AUDIENCE], sub: SUBJECT });
    expect((await tokenRequest({ client_assertion: several })).status).toBe(200);
  });

  it('answers AADSTS700016 for an unknown client id, and says so when it is a principal id', async () => {
    const unknown = await tokenRequest({ client_id: '0f0e0d0c-0b0a-4909-8807-060504030201' });
    expect(unknown).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(aadsts(unknown)).toBe(700016);
    const principal = await tokenRequest({ client_id: PRINCIPAL_ID });
    expect(aadsts(principal)).toBe(700016);
    expect(principal.body.error_description).toContain('principal (object) id');
  });

  it('answers AADSTS700024 for an expired assertion', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.signAccessToken({ aud: AUDIENCE, sub: SUBJECT, iat: now - 600, exp: now - 300 });
    const answer = await tokenRequest({ client_assertion: expired });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_client' } });
    expect(aadsts(answer)).toBe(700024);
  });

  it('answers AADSTS50013 when the signature is not the issuer\'s', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ sub: SUBJECT, aud: AUDIENCE, iss: issuer.issuer })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.jwks().keys[0]?.kid ?? 'x' })
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(privateKey);
    const answer = await tokenRequest({ client_assertion: forged });
    expect(answer.status).toBe(401);
    expect(aadsts(answer)).toBe(50013);
  });

  it.each([
    ['a scope without /.default', { scope: 'https://storage.azure.com' }, 1002012],
    ['no client_assertion', { client_assertion: undefined }, 7000218],
    ['another grant type', { grant_type: 'password' }, 70003],
    ['no client_id', { client_id: undefined }, 900144],
    ['an assertion that is not a JWT', { client_assertion: 'not-a-jwt' }, 50027],
  ])('rejects %s', async (_name, overrides, code) => {
    expect(aadsts(await tokenRequest(overrides))).toBe(code);
  });

  it('failNext answers injected failures first, then behaves again', async () => {
    entra.failNext({ status: 503, retryAfterSeconds: 1 });
    const failed = await tokenRequest();
    expect(failed).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect((await tokenRequest()).status).toBe(200);
    expect(entra.counters.tokenRequests).toBe(2);
  });

  it('validates its options', async () => {
    await expect(createMockEntraId({ issuer, tenantId: 'not-a-guid', applications: [] })).rejects.toThrow(/tenantId/);
  });

  it('createLocalTlsCertificate gives a certificate for 127.0.0.1 and localhost', () => {
    const { cert, key } = createLocalTlsCertificate();
    const certificate = new X509Certificate(cert);
    expect(certificate.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(certificate.subjectAltName).toContain('DNS:localhost');
    expect(certificate.ca).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(key))).toBe(true);
  });
});
