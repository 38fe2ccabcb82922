import { describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { TokenRequestError } from '@skyporten/core';
import { processTokenResponse } from '../src/token-request.ts';
import { manualClock } from './helpers.ts';

const clock = manualClock();
const json = (body: unknown, status = 200, contentType = 'application/json;charset=UTF-8') => ({
  status,
  headers: new Headers({ 'content-type': contentType }),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const context = { clock, sentAt: clock(), requestedScope: 'entur:a' };
const good = { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 119, scope: 'entur:a' };

function failure(answer: ReturnType<typeof json>) {
  try {
    processTokenResponse(answer, context);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRequestError);
    return error as TokenRequestError;
  }
  throw new Error('expected an error');
}

describe('processTokenResponse', () => {
  it('computes expiresAt from expires_in, counted from when the request was sent', () => {
    const token = processTokenResponse(json(good), context);
    expect(token.accessToken).toBe('opaque-token');
    expect(token.expiresAt.getTime()).toBe(context.sentAt + 119_000);
    expect(token.scope).toBe('entur:a');
    expect(token.tokenType).toBe('Bearer');
  });

  it('caps the expiry by the JWT exp when that is earlier', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const exp = Math.floor(clock() / 1000) + 60;
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setExpirationTime(exp).sign(privateKey);
    const token = processTokenResponse(json({ ...good, access_token: jwt }), context);
    expect(token.expiresAt.getTime()).toBe(exp * 1000);
  });

  const malformed: [string, ReturnType<typeof json>][] = [
    ['an HTML page', json('<html><body>Welcome</body></html>', 200, 'text/html')],
    ['truncated JSON', json('{"access_token":"abc","tok', 200)],
    ['no access_token', json({ token_type: 'Bearer', expires_in: 120 })],
    ['an empty access_token', json({ ...good, access_token: '' })],
    ['a negative expires_in', json({ ...good, expires_in: -5 })],
    ['a zero expires_in', json({ ...good, expires_in: 0 })],
    ['an absurd expires_in', json({ ...good, expires_in: 10 ** 9 })],
    ['expires_in as a string', json({ ...good, expires_in: '120' })],
    ['token_type MAC', json({ ...good, token_type: 'MAC' })],
    ['a JSON body with text/plain', json(good, 200, 'text/plain')],
    ['a JSON array', json([good])],
  ];
  it.each(malformed)('rejects a 200 with %s as TOKEN_RESPONSE_INVALID', (_name, answer) => {
    const error = failure(answer);
    expect(error.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(error.isRetryable).toBe(false);
  });

  it('parses OAuth errors: error, description, MP code, trace id and a hint', () => {
    const error = failure(json({ error: 'invalid_grant', error_description: 'Invalid JWT claim aud (MP-110) [trace: 4f2a9c0d1e2b3c4d]' }, 400));
    expect(error.code).toBe('TOKEN_REQUEST_REJECTED');
    expect(error.error).toBe('invalid_grant');
    expect(error.mpCode).toBe('MP-110');
    expect(error.traceId).toBe('4f2a9c0d1e2b3c4d');
    expect(error.hint).toMatch(/trailing slash/);
    expect(error.isRetryable).toBe(false);
  });

  it('marks 5xx and 429 as retryable TOKEN_REQUEST_FAILED, also with an HTML body', () => {
    const error = failure(json('<html>502 Bad Gateway</html>', 502, 'text/html'));
    expect(error.code).toBe('TOKEN_REQUEST_FAILED');
    expect(error.isRetryable).toBe(true);
    expect(error.status).toBe(502);
    expect(failure(json({ error: 'slow_down' }, 429)).isRetryable).toBe(true);
  });
});
