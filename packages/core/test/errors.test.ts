import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, redact, SkyportenError, TokenRequestError } from '@skyporten/core';
import { fixture } from './helpers.ts';

const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('SkyportenError', () => {
  it('is recognised by isInstance, also across copies of the package', () => {
    const error = new ConfigError('scope', 'scope is empty');
    expect(SkyportenError.isInstance(error)).toBe(true);
    const foreign = Object.assign(new Error('x'), { [Symbol.for('skyporten.error')]: true });
    expect(SkyportenError.isInstance(foreign)).toBe(true);
    expect(SkyportenError.isInstance(new Error('x'))).toBe(false);
    expect(SkyportenError.isInstance(null)).toBe(false);
  });

  it('carries code, field, hint and isRetryable, and serialises without the cause', () => {
    const error = new TokenRequestError('TOKEN_REQUEST_FAILED', 'boom', { status: 503, isRetryable: true, hint: 'wait', cause: new Error(`inner ${jwt}`) });
    expect(error.code).toBe('TOKEN_REQUEST_FAILED');
    expect(error.isRetryable).toBe(true);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ name: 'TokenRequestError', code: 'TOKEN_REQUEST_FAILED', status: 503, hint: 'wait' });
    expect(String(error)).toBe('TokenRequestError [TOKEN_REQUEST_FAILED]: boom');
    expect(inspect(error)).toContain('Hint: wait');
  });

  it('has a subclass-aware isInstance on every class, also for errors marked by another copy', async () => {
    const { DiscoveryError, KeyError } = await import('@skyporten/core');
    const config = new ConfigError('scope', 'scope is empty');
    expect(ConfigError.isInstance(config)).toBe(true);
    expect(TokenRequestError.isInstance(config)).toBe(false);
    expect(DiscoveryError.isInstance(new DiscoveryError('x'))).toBe(true);
    expect(KeyError.isInstance(new DiscoveryError('x'))).toBe(false);
    const foreign = Object.assign(new Error('x'), { [Symbol.for('skyporten.error')]: true, [Symbol.for('skyporten.error.kinds')]: ['TokenRequestError', 'SkyportenError'] });
    expect(TokenRequestError.isInstance(foreign)).toBe(true);
    expect(ConfigError.isInstance(foreign)).toBe(false);
  });

  it('never shows a JWT or PEM in message, String, JSON or inspect, also through the cause', () => {
    const pem = fixture('rsa-2048.pkcs8.pem');
    const error = new SkyportenError('TOKEN_INVALID', `bad token ${jwt} and key ${pem}`, { cause: new Error(`cause ${jwt} ${pem}`), hint: `hint ${jwt}` });
    for (const text of [error.message, String(error), JSON.stringify(error), inspect(error), inspect(error, { depth: 10, showHidden: true }), String(error.cause)]) {
      expect(text).not.toContain(jwt);
      expect(text).not.toContain('MII');
    }
  });

  it('keeps only name, message and code of foreign causes (no request objects holding the grant)', () => {
    const cause = Object.assign(new Error('failed'), { code: 'ECONNRESET', options: { body: `assertion=${jwt}` } });
    const error = new SkyportenError('NETWORK_ERROR', 'x', { cause });
    expect(error.cause).toMatchObject({ message: 'failed', code: 'ECONNRESET' });
    expect(JSON.stringify(error.cause)).not.toContain(jwt);
    expect(inspect(error.cause, { depth: 5 })).not.toContain(jwt);
  });
});

describe('redact', () => {
  it('replaces JWTs, PEM blocks and private JWK members', () => {
    expect(redact(`a ${jwt} b`)).toBe('a [redacted JWT] b');
    expect(redact('x -----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY----- y')).toBe('x [redacted PEM] y');
    expect(redact('{"kty":"RSA","d":"secretvalue","n":"x"}')).toBe('{"kty":"RSA","d":"[redacted]","n":"x"}');
  });
});
