import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createMockSkyporten } from '@skyporten/testing';
import type { MockSkyporten, RegisteredClient } from '@skyporten/testing';
import { JWT_BEARER, RESOURCE, SCOPE, postToken, requestToken, signGrant } from './helpers.js';

let issuer: MockSkyporten;
let client: RegisteredClient;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  client = await issuer.registerClient({ scopes: [SCOPE, 'entur:other'] });
});
afterAll(() => issuer.close());
beforeEach(() => issuer.reset());

describe('discovery', () => {
  test('URLs follow the issuer without a trailing slash', () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(issuer.tokenEndpoint).toBe(`${issuer.issuer}/token`);
    expect(issuer.jwksUri).toBe(`${issuer.issuer}/jwk`);
    expect(issuer.metadataUrl).toBe(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(issuer.url.href).toBe(`${issuer.issuer}/`);
  });

  test('serves the metadata document in Skyporten shape, with a Date header', async () => {
    const response = await fetch(issuer.metadataUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(Date.parse(response.headers.get('date') ?? '')).not.toBeNaN();
    expect(await response.json()).toEqual({
      issuer: issuer.issuer,
      token_endpoint: issuer.tokenEndpoint,
      jwks_uri: issuer.jwksUri,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      grant_types_supported: [JWT_BEARER],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512'],
    });
  });

  test('serves the JWKS with the signing kid', async () => {
    const response = await fetch(issuer.jwksUri);
    const jwks = (await response.json()) as { keys: { kid: string; kty: string; alg: string }[] };
    expect(jwks).toEqual(issuer.jwks());
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  test('unknown paths answer 404 and POST to metadata 405', async () => {
    expect((await fetch(`${issuer.issuer}/nope`)).status).toBe(404);
    const response = await fetch(issuer.metadataUrl, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('request format', () => {
  test('GET /token is 405 and recorded', async () => {
    const response = await postToken(issuer.tokenEndpoint, {}, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.body['error']).toBe('invalid_request');
    expect(issuer.requests).toHaveLength(1);
    expect(issuer.requests[0]).toMatchObject({ method: 'GET', status: 405, error: 'invalid_request' });
  });

  test('JSON body is invalid_request', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer });
    const response = await postToken(issuer.tokenEndpoint, { grant_type: JWT_BEARER, assertion: grant }, { contentType: 'application/json' });
    expect(response.status).toBe(400);
    expect(response.body['error']).toBe('invalid_request');
    expect(response.body['error_description']).toMatch(/application\/x-www-form-urlencoded/);
  });

  test('a charset parameter on the form content type is accepted', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer });
    const response = await postToken(
      issuer.tokenEndpoint,
      { grant_type: JWT_BEARER, assertion: grant },
      { contentType: 'application/x-www-form-urlencoded; charset=UTF-8' },
    );
    expect(response.status).toBe(200);
  });

  test('wrong grant_type is unsupported_grant_type', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer });
    const response = await postToken(issuer.tokenEndpoint, { grant_type: 'client_credentials', assertion: grant });
    expect(response.status).toBe(400);
    expect(response.body['error']).toBe('unsupported_grant_type');
  });

  test('missing grant_type is invalid_request', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer });
    const response = await postToken(issuer.tokenEndpoint, { assertion: grant });
    expect(response.body['error']).toBe('invalid_request');
    expect(response.body['error_description']).toMatch(/grant_type/);
  });

  test('missing assertion is invalid_request', async () => {
    const response = await postToken(issuer.tokenEndpoint, { grant_type: JWT_BEARER });
    expect(response.status).toBe(400);
    expect(response.body['error']).toBe('invalid_request');
    expect(response.body['error_description']).toMatch(/assertion/);
  });

  test('an assertion that is not a JWT is invalid_request, recorded with null grant', async () => {
    const response = await requestToken(issuer.tokenEndpoint, 'not-a-jwt');
    expect(response.body['error']).toBe('invalid_request');
    expect(issuer.requests[0]).toMatchObject({ grantHeader: null, grantClaims: null, status: 400, error: 'invalid_request' });
  });

  test('error descriptions carry a trace id', async () => {
    const response = await postToken(issuer.tokenEndpoint, { grant_type: JWT_BEARER });
    expect(response.body['error_description']).toMatch(/\[trace: [0-9a-f]{32}\]$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});

describe('success', () => {
  test('answers the OAuth token response', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, claims: { resource: RESOURCE } });
    const response = await requestToken(issuer.tokenEndpoint, grant);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 120, scope: SCOPE });
  });

  test('the access token has exactly the documented claims', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, claims: { resource: RESOURCE } });
    const { body } = await requestToken(issuer.tokenEndpoint, grant);
    const token = body['access_token'] as string;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: issuer.jwks().keys[0]?.kid });
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual(
      ['aud', 'sub', 'scope', 'iss', 'client_amr', 'token_type', 'exp', 'iat', 'client_id', 'jti', 'consumer'].sort(),
    );
    expect(claims).toMatchObject({
      aud: RESOURCE,
      sub: `0192:${client.orgNo};${SCOPE}`,
      scope: SCOPE,
      iss: issuer.issuer,
      client_amr: 'private_key_jwt',
      token_type: 'Bearer',
      client_id: client.clientId,
      consumer: { authority: 'iso6523-actorid-upis', ID: client.consumerId },
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    await expect(issuer.verifyAccessToken(token, { audience: RESOURCE })).resolves.toMatchObject({ aud: RESOURCE });
    await expect(issuer.verifyAccessToken(token, { audience: 'https://other.example' })).rejects.toThrow(/aud/);
  });

  test('no resource: the token has no aud', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer });
    const { body } = await requestToken(issuer.tokenEndpoint, grant);
    expect(decodeJwt(body['access_token'] as string)).not.toHaveProperty('aud');
  });

  test('several resources become an aud array; several scopes are kept in order', async () => {
    const grant = await signGrant({
      client,
      audience: issuer.issuer,
      claims: { resource: [RESOURCE, 'https://second.example.org'], scope: `${SCOPE} entur:other` },
    });
    const { body } = await requestToken(issuer.tokenEndpoint, grant);
    const claims = decodeJwt(body['access_token'] as string);
    expect(claims.aud).toEqual([RESOURCE, 'https://second.example.org']);
    expect(claims['scope']).toBe(`${SCOPE} entur:other`);
    expect(claims.sub).toBe(`${client.consumerId};${SCOPE} entur:other`);
    expect(body['scope']).toBe(`${SCOPE} entur:other`);
  });

  test('RS384 and RS512 grants are accepted', async () => {
    for (const alg of ['RS384', 'RS512']) {
      const grant = await signGrant({ client, audience: issuer.issuer, header: { alg, kid: client.kid } });
      expect((await requestToken(issuer.tokenEndpoint, grant)).status).toBe(200);
    }
  });

  test('requests are recorded with the decoded grant and the answer', async () => {
    const grant = await signGrant({ client, audience: issuer.issuer, claims: { resource: RESOURCE } });
    const { body } = await requestToken(issuer.tokenEndpoint, grant);
    expect(issuer.requests).toHaveLength(1);
    const [record] = issuer.requests;
    expect(record).toMatchObject({
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      parameters: { grant_type: JWT_BEARER, assertion: grant },
      grantHeader: { alg: 'RS256', kid: client.kid },
      grantClaims: { iss: client.clientId, aud: issuer.issuer, resource: RESOURCE },
      status: 200,
      error: null,
      mpCode: null,
      fault: null,
      accessToken: body['access_token'],
    });
    expect(record?.receivedAt).toBeInstanceOf(Date);
  });
});
