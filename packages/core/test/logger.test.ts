import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient, logEvent, type Logger } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';

let issuer: MockSkyporten;
let registered: RegisteredClient;
beforeAll(async () => {
  issuer = await createMockSkyporten();
  registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
});
afterAll(() => issuer.close());

function client(logger: Logger, scope = 'entur:skyporten.demo') {
  return createMaskinportenClient({
    issuer: issuer.issuer,
    clientId: registered.clientId,
    scope,
    key: { privateKey: registered.privateKey, kid: registered.kid },
    retry: { limit: 1, baseDelayMs: 1 },
    logger,
    env: false,
  });
}

describe('logger events', () => {
  it('emits token requested, received, retry with reason, and error with the code, and nothing on a cache hit — console style', async () => {
    const events: [string, string, Record<string, unknown> | undefined][] = [];
    const logger: Logger = {
      debug: (message, details) => events.push(['debug', message, details]),
      info: (message, details) => events.push(['info', message, details]),
      warn: (message, details) => events.push(['warn', message, details]),
      error: (message, details) => events.push(['error', message, details]),
    };
    issuer.failNext({ status: 503 });
    const working = client(logger);
    await working.getToken();
    const before = events.length;
    await working.getToken();
    // A cache hit logs nothing: the hit path must cost nothing.
    expect(events.length).toBe(before);
    await client(logger, 'entur:unregistered').getToken().catch(() => undefined);
    const lines = events.map(([level, message]) => `${level} ${message}`);
    expect(lines).toContain('debug [skyporten] requesting token');
    expect(lines).toContain('warn [skyporten] retrying token request');
    expect(lines).toContain('info [skyporten] token received');
    expect(events.find(([, message]) => message.includes('retrying'))?.[2]).toMatchObject({ reason: 'HTTP 503' });
    expect(events.find(([level]) => level === 'error')?.[2]).toMatchObject({ code: 'TOKEN_REQUEST_REJECTED', mpCode: 'MP-201' });
  });

  it('passes details first to pino, so they land in the JSON record', async () => {
    const records: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        records.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, stream);
    await client(logger).getToken();
    const received = records.find((record) => record.msg === '[skyporten] token received');
    expect(received).toMatchObject({ scope: 'entur:skyporten.demo' });
    expect(typeof received?.expiresAt).toBe('string');
  });

  it('never lets a throwing logger break token acquisition', async () => {
    const throwing: Logger = { info: () => { throw new Error('logger down'); }, debug: () => { throw new Error('logger down'); } };
    expect((await client(throwing).getToken()).scope).toBe('entur:skyporten.demo');
    expect(() => logEvent(throwing, 'info', 'x', { a: 1 })).not.toThrow();
  });
});
