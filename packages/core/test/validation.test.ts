import { describe, expect, it } from 'vitest';
import { createMaskinportenClient, isValidOrganisationNumber, type MaskinportenClientOptions } from '@skyporten/core';
import { fixture, thrownBy } from './helpers.ts';

const valid: MaskinportenClientOptions = {
  environment: 'test',
  clientId: 'client',
  scope: 'entur:skyporten.demo',
  key: { privateKey: fixture('rsa-2048.pkcs8.pem'), kid: 'k' },
  env: false,
};

const { environment: _environment, ...withoutEnvironment } = valid;

describe('organisation numbers', () => {
  it.each(['991825827', '974760673', '123456785'])('accepts %s', (value) => expect(isValidOrganisationNumber(value)).toBe(true));
  it.each(['991825828', '12345678', '1234567890', 'abcdefghi', '', '123456789'])('rejects %s', (value) =>
    expect(isValidOrganisationNumber(value)).toBe(false),
  );
});

describe('createMaskinportenClient validates options once, naming the field', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no issuer at all', { environment: undefined }, 'environment'],
    ['an unknown environment', { environment: 'staging' as never }, 'environment'],
    ['environment and issuer together', { issuer: 'https://sky.maskinporten.no' }, 'environment'],
    ['a Skyporten issuer with a trailing slash', { environment: undefined, issuer: 'https://test.sky.maskinporten.no/' }, 'issuer'],
    ['a Maskinporten issuer without its slash', { environment: undefined, issuer: 'https://maskinporten.no' }, 'issuer'],
    ['an http issuer that is not loopback', { environment: undefined, issuer: 'http://sky.example.org' }, 'issuer'],
    ['an issuer that is not a URL', { environment: undefined, issuer: 'sky.maskinporten.no' }, 'issuer'],
    ['an http token endpoint', { tokenEndpoint: 'http://example.org/token' }, 'tokenEndpoint'],
    ['a missing clientId', { clientId: undefined }, 'clientId'],
    ['a clientId with spaces', { clientId: 'a b' }, 'clientId'],
    ['a missing scope', { scope: undefined }, 'scope'],
    ['an empty scope', { scope: '' }, 'scope'],
    ['an empty scope list', { scope: [] }, 'scope'],
    ['a scope item with a space', { scope: ['entur:a entur:b'] }, 'scope'],
    ['a scope without prefix', { scope: 'skyporten' }, 'scope'],
    ['a resource that is not a URI', { resource: 'skyporten.example.org' }, 'resource'],
    ['a resource with spaces', { resource: 'https://a b' }, 'resource'],
    ['an empty resource list', { resource: [] }, 'resource'],
    ['a bad consumer org', { consumerOrg: '123456789' }, 'consumerOrg'],
    ['a missing key', { key: undefined }, 'key'],
    ['a negative timeout', { timeout: -1 }, 'timeout'],
    ['a fractional timeout', { timeout: 1.5 }, 'timeout'],
    ['too many retries', { retry: 50 }, 'retry'],
    ['a grant lifetime above 120 s', { grantLifetimeSeconds: 121 }, 'grantLifetimeSeconds'],
    ['a negative refresh window', { refreshAheadSeconds: -5 }, 'refreshAheadSeconds'],
    ['a negative refresh window (old name)', { refreshWindowSeconds: -5 }, 'refreshWindowSeconds'],
    ['a fetch that is not a function', { fetch: 'yes' as never }, 'fetch'],
  ];
  it.each(cases)('%s', (_name, override, field) => {
    const error = thrownBy(() => createMaskinportenClient({ ...valid, ...override } as MaskinportenClientOptions));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.name).toBe('ConfigError');
  });

  it('explains the trailing slash', () => {
    const error = thrownBy(() => createMaskinportenClient({ ...withoutEnvironment, issuer: 'https://test.sky.maskinporten.no/' }));
    expect(error.message).toMatch(/trailing slash/);
    expect(error.message).toContain('"https://test.sky.maskinporten.no"');
  });

  it('accepts plain Maskinporten with its slash, and its token endpoint (which has no slash)', () => {
    const client = createMaskinportenClient({ ...withoutEnvironment, issuer: 'https://test.maskinporten.no/', tokenEndpoint: 'https://test.maskinporten.no/token' });
    expect(client.issuer).toBe('https://test.maskinporten.no/');
  });

  it('accepts loopback http issuers for tests', () => {
    for (const issuer of ['http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:9']) {
      expect(createMaskinportenClient({ ...withoutEnvironment, issuer }).issuer).toBe(issuer);
    }
  });

  it('rejects a key object without any key material', () => {
    const error = thrownBy(() => createMaskinportenClient({ ...valid, key: { kid: 'k' } as never }));
    expect(error.code).toBe('KEY_INVALID');
    expect(error.field).toBe('key');
  });

  it('rejects a bad key where the client is created, not on first use', () => {
    const error = thrownBy(() => createMaskinportenClient({ ...valid, key: { privateKey: fixture('rsa-1024.pkcs8.pem'), kid: 'k' } }));
    expect(error.code).toBe('KEY_INVALID');
  });
});
