import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';
import type { MockAws, MockSkyporten } from '@skyporten/testing';
import { RESOURCE, SCOPE } from './helpers.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
const SUBJECT = `0192:991825827;${SCOPE}`;

let issuer: MockSkyporten;
let aws: MockAws;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: [SUBJECT, '0192:974760673;other:scope'] }, maxSessionDurationSeconds: 7200 }],
    buckets: { data: { 'a.txt': 'A', 'b/c.txt': 'C', 'b/d.txt': 'D' } },
  });
});
afterAll(async () => {
  await aws.close();
  await issuer.close();
});
beforeEach(() => aws.reset());

function token(claims: Record<string, unknown> = {}, options: { expiresInSeconds?: number } = {}): Promise<string> {
  return issuer.signAccessToken({ aud: RESOURCE, sub: SUBJECT, scope: SCOPE, consumer: { authority: 'iso6523-actorid-upis', ID: '0192:991825827' }, ...claims }, options);
}

async function assumeRole(parameters: Record<string, string>): Promise<{ status: number; body: string; code: string | undefined }> {
  const response = await fetch(aws.stsEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: ROLE_ARN, RoleSessionName: 'test-session', ...parameters }),
  });
  const body = await response.text();
  return { status: response.status, body, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] };
}

function element(body: string, name: string): string {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1] ?? '';
}

describe('STS AssumeRoleWithWebIdentity', () => {
  test('answers in the STS XML wire format with temporary credentials', async () => {
    const answer = await assumeRole({ WebIdentityToken: await token(), DurationSeconds: '900' });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(element(answer.body, 'AccessKeyId')).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(element(answer.body, 'SubjectFromWebIdentityToken')).toBe(SUBJECT);
    expect(element(answer.body, 'Audience')).toBe(RESOURCE);
    expect(element(answer.body, 'Arn')).toBe('arn:aws:sts::123456789012:assumed-role/skyporten-reader/test-session');
    const expiresIn = Date.parse(element(answer.body, 'Expiration')) - Date.now();
    expect(expiresIn).toBeGreaterThan(890_000);
    expect(expiresIn).toBeLessThanOrEqual(900_000);
    expect(aws.requests[0]).toMatchObject({ service: 'sts', action: 'AssumeRoleWithWebIdentity', status: 200, roleArn: ROLE_ARN, subject: SUBJECT });
    expect(JSON.stringify(aws.requests)).not.toContain('eyJ');
  });

  test.each([
    ['a wrong audience', { aud: 'https://other.example.org' }, 400, 'InvalidIdentityToken', 'Incorrect token audience'],
    ['no audience', { aud: undefined }, 400, 'InvalidIdentityToken', 'Incorrect token audience'],
    ['a sub the trust policy does not name', { sub: '0192:991825827;entur:other' }, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'],
    ['another issuer', { iss: 'https://test.sky.maskinporten.no' }, 400, 'InvalidIdentityToken', 'No OpenIDConnect provider found in your account for https://test.sky.maskinporten.no'],
  ])('refuses %s', async (_, claims, status, code, message) => {
    const answer = await assumeRole({ WebIdentityToken: await token(claims) });
    expect(answer).toMatchObject({ status, code });
    expect(answer.body).toContain(`<Message>${message}</Message>`);
    expect(answer.body).toContain(`<Type>Sender</Type>`);
  });

  test('refuses an expired token with ExpiredTokenException', async () => {
    const answer = await assumeRole({ WebIdentityToken: await token({ iat: Math.floor(Date.now() / 1000) - 300, exp: Math.floor(Date.now() / 1000) - 180 }) });
    expect(answer).toMatchObject({ status: 400, code: 'ExpiredTokenException' });
  });

  test('refuses a token signed by a key outside the issuer JWKS', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ aud: RESOURCE, sub: SUBJECT })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.jwks().keys[0]?.kid ?? 'x' })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(privateKey);
    expect(await assumeRole({ WebIdentityToken: forged })).toMatchObject({ status: 400, code: 'InvalidIdentityToken' });
    expect(await assumeRole({ WebIdentityToken: 'not-a-jwt' })).toMatchObject({ status: 400, code: 'InvalidIdentityToken' });
  });

  test('accepts any sub in the trust policy list, and an unknown role is AccessDenied', async () => {
    expect((await assumeRole({ WebIdentityToken: await token({ sub: '0192:974760673;other:scope' }) })).status).toBe(200);
    expect(await assumeRole({ WebIdentityToken: await token(), RoleArn: 'arn:aws:iam::123456789012:role/nobody' })).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  test.each([
    [{ DurationSeconds: '899' }, 'durationSeconds'],
    [{ DurationSeconds: '43201' }, 'durationSeconds'],
    [{ RoleSessionName: 'a' }, 'roleSessionName'],
    [{ RoleSessionName: 'no spaces' }, 'roleSessionName'],
  ])('validates parameters: %j', async (parameters, field) => {
    const answer = await assumeRole({ WebIdentityToken: await token(), ...parameters });
    expect(answer).toMatchObject({ status: 400, code: 'ValidationError' });
    expect(answer.body).toContain(`at '${field}'`);
  });

  test('refuses DurationSeconds above the role maximum', async () => {
    const answer = await assumeRole({ WebIdentityToken: await token(), DurationSeconds: '7201' });
    expect(answer).toMatchObject({ status: 400, code: 'ValidationError' });
    expect(answer.body).toContain('MaxSessionDuration');
  });

  test('failNext answers Throttling / 5xx, then recovers; stsCalls counts every attempt', async () => {
    aws.failNext({ status: 400, code: 'Throttling' });
    aws.failNext({ status: 503 });
    const webIdentityToken = await token();
    expect(await assumeRole({ WebIdentityToken: webIdentityToken })).toMatchObject({ status: 400, code: 'Throttling' });
    const unavailable = await assumeRole({ WebIdentityToken: webIdentityToken });
    expect(unavailable).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
    expect(unavailable.body).toContain('<Type>Receiver</Type>');
    expect((await assumeRole({ WebIdentityToken: webIdentityToken })).status).toBe(200);
    expect(aws.stsCalls).toBe(3);
  });

  test('rejects other actions and versions', async () => {
    expect(await assumeRole({ WebIdentityToken: await token(), Action: 'GetCallerIdentity' })).toMatchObject({ status: 400, code: 'InvalidAction' });
    expect(await assumeRole({ WebIdentityToken: await token(), Version: '2010-01-01' })).toMatchObject({ status: 400, code: 'InvalidParameterValue' });
  });
});

describe('S3 access control', () => {
  async function session() {
    const answer = await assumeRole({ WebIdentityToken: await token() });
    return { accessKeyId: element(answer.body, 'AccessKeyId'), sessionToken: element(answer.body, 'SessionToken').replace(/&amp;/g, '&') };
  }

  async function s3Get(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${aws.s3Endpoint}${path}`, { headers });
    const body = await response.text();
    return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] };
  }

  function authorization(accessKeyId: string): string {
    return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260105/eu-north-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
  }

  test('an unsigned request is AccessDenied', async () => {
    expect(await s3Get('/data/a.txt')).toEqual({ status: 403, code: 'AccessDenied' });
  });

  test('an access key the mock did not issue is InvalidAccessKeyId', async () => {
    expect(await s3Get('/data/a.txt', { authorization: authorization('AKIAIOSFODNN7EXAMPLE') })).toEqual({ status: 403, code: 'InvalidAccessKeyId' });
  });

  test('a missing or wrong session token is InvalidToken', async () => {
    const { accessKeyId } = await session();
    expect(await s3Get('/data/a.txt', { authorization: authorization(accessKeyId) })).toEqual({ status: 400, code: 'InvalidToken' });
    expect(await s3Get('/data/a.txt', { authorization: authorization(accessKeyId), 'x-amz-security-token': 'forged' })).toEqual({ status: 400, code: 'InvalidToken' });
  });

  test('a wrong signature with the right session is SignatureDoesNotMatch', async () => {
    const { accessKeyId, sessionToken } = await session();
    const headers = { authorization: authorization(accessKeyId), 'x-amz-security-token': sessionToken, 'x-amz-date': '20260105T080000Z' };
    expect(await s3Get('/data/a.txt', headers)).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(aws.requests.at(-1)).toMatchObject({ service: 's3', action: 'GetObject', accessKeyId, errorCode: 'SignatureDoesNotMatch' });
  });
});

describe('S3 with credentials past their expiry', () => {
  test('is ExpiredToken', async () => {
    let now = Date.now();
    const shortLived = await createMockAws({
      issuer,
      clientIds: [RESOURCE],
      roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }],
      buckets: { data: { 'a.txt': 'A' } },
      credentialLifetimeSeconds: 60,
      clock: () => now,
      verifySignatures: false,
    });
    try {
      const response = await fetch(shortLived.stsEndpoint, {
        method: 'POST',
        body: new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: ROLE_ARN, RoleSessionName: 'short', WebIdentityToken: await token() }),
      });
      const body = await response.text();
      const headers = {
        authorization: `AWS4-HMAC-SHA256 Credential=${element(body, 'AccessKeyId')}/20260105/eu-north-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
        'x-amz-security-token': element(body, 'SessionToken').replace(/&amp;/g, '&'),
      };
      expect((await fetch(`${shortLived.s3Endpoint}/data/a.txt`, { headers })).status).toBe(200);
      now += 60_000;
      const expired = await fetch(`${shortLived.s3Endpoint}/data/a.txt`, { headers });
      expect(expired.status).toBe(400);
      expect(await expired.text()).toContain('<Code>ExpiredToken</Code>');
    } finally {
      await shortLived.close();
    }
  });
});
