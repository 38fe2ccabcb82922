import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, environmentOf, presentedTokens, withFreshTokenOnExpiry } from '@skyporten/core/adapter';
import { createMockSkyporten, type MockSkyporten } from '@skyporten/testing';
import { rejectionOf } from './helpers.ts';

let issuer: MockSkyporten;
beforeAll(async () => {
  issuer = await createMockSkyporten();
});
afterAll(() => issuer.close());

/** A client handing out `tokens` one after the other (the last one repeatedly), counting calls and invalidations. */
function clientOf(tokens: string[]) {
  let index = 0;
  const client = {
    getAccessToken: vi.fn(async () => tokens[Math.min(index, tokens.length - 1)]!),
    invalidate: vi.fn(() => {
      index += 1;
    }),
  };
  return client;
}

describe('presentedTokens', () => {
  it('decodes each token once, however often it is presented, and a new token again', async () => {
    const first = await issuer.signAccessToken({ aud: 'https://a.example.org', sub: '0192:991825827;entur:skyporten.demo' });
    const second = await issuer.signAccessToken({ aud: 'https://b.example.org' });
    const client = clientOf([first, second]);
    const tokens = presentedTokens(client, 'AWS STS');
    const [one, two] = [await tokens(), await tokens()];
    expect(one).toBe(two);
    expect(one.token).toBe(first);
    expect(one.decoded.audience).toEqual(['https://a.example.org']);
    client.invalidate();
    expect((await tokens()).decoded.audience).toEqual(['https://b.example.org']);
  });

  it('refuses a token without aud with a ConfigError naming resource and the cloud', async () => {
    const tokens = presentedTokens(clientOf([await issuer.signAccessToken({ aud: undefined })]), 'Entra ID');
    const error = await rejectionOf(tokens());
    expect(error).toSatisfy(ConfigError.isInstance);
    expect(error).toMatchObject({ field: 'resource', message: expect.stringContaining('Entra ID') });
  });
});

describe('withFreshTokenOnExpiry', () => {
  const expired = new Error('expired');
  it('retries once after invalidating the client when the cloud says the token expired', async () => {
    const client = clientOf(['a', 'b']);
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const exchange = vi.fn().mockRejectedValueOnce(expired).mockResolvedValueOnce('credentials');
    await expect(withFreshTokenOnExpiry(client, 'GCP STS', (error) => error === expired, logger, exchange)).resolves.toBe('credentials');
    expect(exchange).toHaveBeenCalledTimes(2);
    expect(client.invalidate).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('GCP STS found the Skyporten token expired'));
  });

  it('passes any other failure, and a second expiry, on without more attempts', async () => {
    const client = clientOf(['a']);
    const other = new Error('denied');
    await expect(withFreshTokenOnExpiry(client, 'AWS STS', (error) => error === expired, undefined, () => Promise.reject(other))).rejects.toBe(other);
    expect(client.invalidate).not.toHaveBeenCalled();
    const always = vi.fn().mockRejectedValue(expired);
    await expect(withFreshTokenOnExpiry(client, 'AWS STS', (error) => error === expired, undefined, always)).rejects.toBe(expired);
    expect(always).toHaveBeenCalledTimes(2);
  });
});

describe('environmentOf', () => {
  it('reads the given environment, nothing for false, else process.env', () => {
    expect(environmentOf({ A: '1' })).toEqual({ A: '1' });
    expect(environmentOf(false)).toEqual({});
    expect(environmentOf(undefined)).toBe(process.env);
  });
});
