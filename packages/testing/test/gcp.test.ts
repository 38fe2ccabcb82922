import { createMockGcp, createMockSkyporten } from '@skyporten/testing';
import type { MockGcp, MockGcpOptions, MockSkyporten } from '@skyporten/testing';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const RESOURCE = 'https://skyporten.example.org';
const SCOPE = 'entur:skyporten.demo';
const CONSUMER = '0192:991825827';
const EMAIL = 'reader@data-provider.iam.gserviceaccount.com';
const POOL = 'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten';
const CLIENT_ACCESS = `${POOL}/attribute.clientaccess/client::${CONSUMER}::${SCOPE}`;

let issuer: MockSkyporten;
let otherIssuer: MockSkyporten;
const started: MockGcp[] = [];

beforeAll(async () => {
  issuer = await createMockSkyporten();
  otherIssuer = await createMockSkyporten();
});
afterAll(async () => {
  await issuer.close();
  await otherIssuer.close();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((gcp) => gcp.close()));
});

async function start(options: Partial<MockGcpOptions> = {}): Promise<MockGcp> {
  const gcp = await createMockGcp({
    issuer,
    allowedAudiences: [RESOURCE],
    bindings: [
      { serviceAccountEmail: EMAIL, principalSet: CLIENT_ACCESS },
      { bucket: 'open-to-federated', principalSet: `${POOL}/attribute.maskinportenscope/${SCOPE}` },
    ],
    buckets: { 'open-to-federated': { 'check.txt': '123456789' }, private: { 'a.txt': 'a', 'b.txt': 'b' } },
    ...options,
  });
  started.push(gcp);
  return gcp;
}

function skyportenToken(claims: Record<string, unknown> = {}, options: { expiresInSeconds?: number } = {}, from: MockSkyporten = issuer): Promise<string> {
  return from.signAccessToken(
    { aud: RESOURCE, sub: `${CONSUMER};${SCOPE}`, scope: SCOPE, consumer: { authority: 'iso6523-actorid-upis', ID: CONSUMER }, ...claims },
    options,
  );
}

async function exchange(gcp: MockGcp, subjectToken: string, overrides: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(gcp.stsTokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: gcp.audience,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      ...overrides,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function federatedToken(gcp: MockGcp, claims: Record<string, unknown> = {}): Promise<string> {
  const { body } = await exchange(gcp, await skyportenToken(claims));
  return String(body.access_token);
}

async function impersonate(gcp: MockGcp, bearer: string | undefined, body: unknown = { scope: ['https://www.googleapis.com/auth/cloud-platform'] }, email = EMAIL) {
  const response = await fetch(gcp.serviceAccountImpersonationUrl(email), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function get(gcp: MockGcp, path: string, bearer?: string): Promise<Response> {
  return fetch(`${gcp.storageEndpoint}${path}`, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });
}

describe('STS token exchange', () => {
  it('exchanges a valid Skyporten token for a federated token that lives as long as the subject token', async () => {
    const gcp = await start();
    const { status, body } = await exchange(gcp, await skyportenToken({}, { expiresInSeconds: 120 }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', access_token: expect.any(String) });
    expect(body.expires_in).toBeGreaterThan(110);
    expect(body.expires_in).toBeLessThanOrEqual(120);
    expect(gcp.requests[0]?.details).toMatchObject({ principal: `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/subject/${CONSUMER}` });
    expect(gcp.requests[0]?.details).not.toHaveProperty('subject_token');
  });

  it('accepts a JSON body', async () => {
    const gcp = await start();
    const response = await fetch(gcp.stsTokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: gcp.audience,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: await skyportenToken(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['an audience not in allowedAudiences', { aud: 'https://other.example.org' }, 'invalid_grant', /audience in ID Token \[https:\/\/other\.example\.org\] does not match/],
    ['a token without consumer', { consumer: undefined }, 'invalid_grant', /google\.subject must not be empty/],
  ])('rejects %s', async (_, claims, error, description) => {
    const gcp = await start();
    const { status, body } = await exchange(gcp, await skyportenToken(claims));
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    expect(body.error_description).toMatch(description);
  });

  it('rejects an expired token', async () => {
    const gcp = await start();
    const { body } = await exchange(gcp, await skyportenToken({}, { expiresInSeconds: -60 }));
    expect(body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/expired/) });
  });

  it('rejects a token from another issuer, and one that claims this issuer but is signed by another key', async () => {
    const gcp = await start();
    expect((await exchange(gcp, await skyportenToken({}, {}, otherIssuer))).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/issuer/) });
    const forged = await skyportenToken({ iss: issuer.issuer }, {}, otherIssuer);
    expect((await exchange(gcp, forged)).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/signature/) });
    expect((await exchange(gcp, 'not-a-jwt')).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers invalid_target for another pool or provider', async () => {
    const gcp = await start();
    const { status, body } = await exchange(gcp, await skyportenToken(), { audience: gcp.audience.replace('maskinporten', 'other') });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_target');
  });

  it('checks grant_type, requested_token_type and subject_token_type', async () => {
    const gcp = await start();
    const token = await skyportenToken();
    expect((await exchange(gcp, token, { grant_type: 'client_credentials' })).body.error).toBe('invalid_request');
    expect((await exchange(gcp, token, { requested_token_type: 'urn:ietf:params:oauth:token-type:jwt' })).body.error).toBe('invalid_request');
    expect((await exchange(gcp, token, { subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request' })).body.error).toBe('invalid_request');
  });

  it('applies the attribute condition to the mapped attributes', async () => {
    const seen: Record<string, string>[] = [];
    const gcp = await start({
      attributeCondition: (attributes) => {
        seen.push(attributes);
        return attributes['attribute.maskinportenscope'] === 'entur:other';
      },
    });
    const { body } = await exchange(gcp, await skyportenToken());
    expect(body).toMatchObject({ error: 'unauthorized_client', error_description: 'The given credential is rejected by the attribute condition.' });
    expect(seen[0]).toEqual({
      'google.subject': CONSUMER,
      'attribute.maskinportenscope': SCOPE,
      'attribute.clientaccess': `client::${CONSUMER}::${SCOPE}`,
    });
  });

  it('answers queued faults and counts every call', async () => {
    const gcp = await start();
    gcp.failNext({ service: 'sts', status: 503 });
    const first = await exchange(gcp, await skyportenToken());
    expect(first.status).toBe(503);
    expect((await exchange(gcp, await skyportenToken())).status).toBe(200);
    expect(gcp.counters.stsCalls).toBe(2);
    gcp.reset();
    expect(gcp.counters.stsCalls).toBe(0);
    expect(gcp.requests).toHaveLength(0);
  });
});

describe('wiring in one spread', () => {
  it('credentialOptions and storageOptions carry the mock URLs; asyncDispose closes the server', async () => {
    const gcp = await start();
    expect(gcp.credentialOptions(EMAIL)).toEqual({ audience: gcp.audience, tokenUrl: gcp.stsTokenUrl, serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(EMAIL) });
    expect(gcp.credentialOptions()).toEqual({ audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    expect(gcp.storageOptions()).toEqual({ apiEndpoint: gcp.storageEndpoint, useAuthWithCustomEndpoint: true });
    const { body } = await exchange(gcp, await skyportenToken(), { audience: gcp.credentialOptions().audience });
    expect(body.access_token).toEqual(expect.any(String));
    await gcp[Symbol.asyncDispose]();
    await expect(fetch(gcp.stsTokenUrl, { method: 'POST' })).rejects.toThrow();
  });
});

describe('IAM Credentials generateAccessToken', () => {
  it('lets a bound principal impersonate the service account', async () => {
    const gcp = await start();
    const { status, body } = await impersonate(gcp, await federatedToken(gcp), { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '1800s' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ accessToken: expect.any(String), expireTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const lifetime = (Date.parse(String(body.expireTime)) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(1790);
    expect(lifetime).toBeLessThanOrEqual(1800);
  });

  it('denies a principal that is not bound, with Google\'s 403', async () => {
    const gcp = await start();
    const { status, body } = await impersonate(gcp, await federatedToken(gcp, { scope: 'entur:other', consumer: { authority: 'iso6523-actorid-upis', ID: CONSUMER } }));
    expect(status).toBe(403);
    expect(body).toEqual({
      error: { code: 403, message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", status: 'PERMISSION_DENIED' },
    });
  });

  it('denies an unknown service account the same way, and answers 401 without a valid bearer token', async () => {
    const gcp = await start();
    expect((await impersonate(gcp, await federatedToken(gcp), undefined, 'nobody@x.iam.gserviceaccount.com')).status).toBe(403);
    expect((await impersonate(gcp, undefined)).status).toBe(401);
    expect((await impersonate(gcp, 'made-up')).status).toBe(401);
  });

  it('does not let a service account token impersonate', async () => {
    const gcp = await start();
    const saToken = String((await impersonate(gcp, await federatedToken(gcp))).body.accessToken);
    expect((await impersonate(gcp, saToken)).status).toBe(403);
  });

  it('requires a scope and caps the lifetime at 3600 s', async () => {
    const gcp = await start();
    const token = await federatedToken(gcp);
    expect((await impersonate(gcp, token, {})).status).toBe(400);
    expect((await impersonate(gcp, token, { scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '7200s' })).status).toBe(400);
  });

  it('honours delegates: each hop must be granted to the one before it', async () => {
    const HOP = 'hop@data-provider.iam.gserviceaccount.com';
    const gcp = await start({
      bindings: [
        { serviceAccountEmail: HOP, principalSet: CLIENT_ACCESS },
        { serviceAccountEmail: EMAIL, principalSet: `serviceAccount:${HOP}` },
      ],
    });
    const token = await federatedToken(gcp);
    const scope = ['https://www.googleapis.com/auth/cloud-platform'];
    expect((await impersonate(gcp, token, { scope })).status).toBe(403);
    const chained = await impersonate(gcp, token, { scope, delegates: [`projects/-/serviceAccounts/${HOP}`], lifetime: '600s' });
    expect(chained.status).toBe(200);
    const lifetime = (Date.parse(String(chained.body.expireTime)) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(590);
    expect(lifetime).toBeLessThanOrEqual(600);
    expect(gcp.requests.at(-1)?.details).toMatchObject({ delegates: [`projects/-/serviceAccounts/${HOP}`] });
    expect((await impersonate(gcp, token, { scope, delegates: [`projects/-/serviceAccounts/${EMAIL}`] })).status).toBe(403);
    expect((await impersonate(gcp, token, { scope, delegates: ['not-a-name'] })).status).toBe(400);
    // An unknown service account in the middle of the chain: nobody granted it, and it was granted nothing.
    const ghost = await impersonate(gcp, token, { scope, delegates: [`projects/-/serviceAccounts/${HOP}`, 'projects/-/serviceAccounts/ghost@data-provider.iam.gserviceaccount.com'] });
    expect(ghost).toMatchObject({ status: 403, body: { error: { status: 'PERMISSION_DENIED' } } });
  });

  it('binds a principal:// subject member too', async () => {
    const gcp = await start({
      bindings: [{ serviceAccountEmail: EMAIL, principalSet: `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/subject/${CONSUMER}` }],
    });
    expect((await impersonate(gcp, await federatedToken(gcp))).status).toBe(200);
  });
});

describe('tokeninfo', () => {
  const PUBSUB = 'https://www.googleapis.com/auth/pubsub';

  it('names the service account and the scopes of a token it issued, by GET, POST form and Bearer header (google-auth-library getTokenInfo)', async () => {
    const HOP = 'hop@data-provider.iam.gserviceaccount.com';
    const gcp = await start({ bindings: [{ serviceAccountEmail: HOP, principalSet: CLIENT_ACCESS }, { serviceAccountEmail: EMAIL, principalSet: `serviceAccount:${HOP}` }] });
    const { body } = await impersonate(gcp, await federatedToken(gcp), { scope: [PUBSUB, 'openid'], delegates: [`projects/-/serviceAccounts/${HOP}`], lifetime: '900s' });
    const token = String(body.accessToken);
    const viaGet = await fetch(`${gcp.tokenInfoUrl}?access_token=${encodeURIComponent(token)}`);
    expect(viaGet.status).toBe(200);
    const info = (await viaGet.json()) as Record<string, string>;
    // The target of the chain, not the delegate.
    expect(info).toMatchObject({ email: EMAIL, email_verified: 'true', scope: `${PUBSUB} openid`, access_type: 'online' });
    expect(info.azp).toMatch(/^1\d{20}$/);
    expect(info.aud).toBe(info.azp);
    expect(Number(info.expires_in)).toBeGreaterThan(890);
    expect(Number(info.expires_in)).toBeLessThanOrEqual(900);
    expect(Number(info.exp) * 1000).toBeCloseTo(Date.now() + 900_000, -4);

    const viaForm = await fetch(gcp.tokenInfoUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: token }) });
    expect(await viaForm.json()).toMatchObject({ email: EMAIL, azp: info.azp });
    const viaLibrary = await new OAuth2Client({ endpoints: { tokenInfoUrl: gcp.tokenInfoUrl } }).getTokenInfo(token);
    expect(viaLibrary).toMatchObject({ email: EMAIL, scopes: [PUBSUB, 'openid'] });
    expect(gcp.counters.tokenInfoCalls).toBe(3);
    // The token is never logged, not even from the query string.
    expect(JSON.stringify(gcp.requests)).not.toContain(token);
    expect(gcp.requests.find((request) => request.service === 'tokeninfo')?.path).toBe('/tokeninfo?access_token=redacted');
  });

  it('describes a federated token by its principal and STS scope, without an email', async () => {
    const gcp = await start();
    const token = await federatedToken(gcp);
    const info = (await (await fetch(`${gcp.tokenInfoUrl}?access_token=${token}`)).json()) as Record<string, string>;
    expect(info).toEqual({ sub: `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/subject/${CONSUMER}`, scope: 'https://www.googleapis.com/auth/cloud-platform', exp: expect.any(String), expires_in: expect.any(String) });
  });

  it('answers 400 invalid_token for an unknown, missing or expired token', async () => {
    const gcp = await start();
    const token = String((await impersonate(gcp, await federatedToken(gcp))).body.accessToken);
    for (const query of ['?access_token=made-up', '']) {
      const response = await fetch(`${gcp.tokenInfoUrl}${query}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'Invalid Value' });
    }
    gcp.setClockOffset(3601);
    expect((await fetch(`${gcp.tokenInfoUrl}?access_token=${token}`)).status).toBe(400);
  });
});

describe('Storage JSON API', () => {
  it('serves media with x-goog-hash to service account tokens, and metadata and listings', async () => {
    const gcp = await start();
    const saToken = String((await impersonate(gcp, await federatedToken(gcp))).body.accessToken);
    const media = await get(gcp, '/storage/v1/b/open-to-federated/o/check.txt?alt=media', saToken);
    expect(media.status).toBe(200);
    expect(await media.text()).toBe('123456789');
    // CRC32C("123456789") = 0xE3069283, the standard check value.
    expect(media.headers.get('x-goog-hash')).toBe('crc32c=4waSgw==,md5=JfnnlDI7RTiF9RgfG2JNCw==');
    const metadata = (await (await get(gcp, '/storage/v1/b/private/o/a.txt', saToken)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ kind: 'storage#object', name: 'a.txt', bucket: 'private', size: '1' });
    const listing = (await (await get(gcp, '/storage/v1/b/private/o?prefix=b', saToken)).json()) as { items: { name: string }[] };
    expect(listing.items.map((item) => item.name)).toEqual(['b.txt']);
  });

  it('serves a federated token only where a bucket binding names its principal', async () => {
    const gcp = await start();
    const token = await federatedToken(gcp);
    expect((await get(gcp, '/storage/v1/b/open-to-federated/o/check.txt?alt=media', token)).status).toBe(200);
    expect((await get(gcp, '/storage/v1/b/private/o/a.txt?alt=media', token)).status).toBe(403);
  });

  it('answers 401 without a token the mock issued, and 404 for missing objects', async () => {
    const gcp = await start();
    expect((await get(gcp, '/storage/v1/b/private/o/a.txt?alt=media')).status).toBe(401);
    expect((await get(gcp, '/storage/v1/b/private/o/a.txt?alt=media', 'ya29.made-up')).status).toBe(401);
    const saToken = String((await impersonate(gcp, await federatedToken(gcp))).body.accessToken);
    const missing = await get(gcp, '/storage/v1/b/private/o/missing.txt?alt=media', saToken);
    expect(missing.status).toBe(404);
    gcp.putObject('private', 'missing.txt', 'now here');
    expect(await (await get(gcp, '/storage/v1/b/private/o/missing.txt?alt=media', saToken)).text()).toBe('now here');
  });

  it('stops accepting tokens after they expire on its clock', async () => {
    const gcp = await start();
    const saToken = String((await impersonate(gcp, await federatedToken(gcp))).body.accessToken);
    gcp.setClockOffset(3601);
    expect((await get(gcp, '/storage/v1/b/private/o/a.txt?alt=media', saToken)).status).toBe(401);
  });
});

describe('createMockGcp options', () => {
  it('rejects an empty allowedAudiences and a non-numeric project', async () => {
    await expect(createMockGcp({ issuer, allowedAudiences: [] })).rejects.toThrow(/allowedAudiences/);
    await expect(createMockGcp({ issuer, allowedAudiences: [RESOURCE], projectNumber: 'my-project' })).rejects.toThrow(/projectNumber/);
  });
});
