import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMaskinportenClient, maskinportenOptionsFromEnv, SKYPORTEN_PROD_ISSUER } from '@skyporten/core';
import { fixture, thrownBy } from './helpers.ts';

const pem = fixture('rsa-2048.pkcs8.pem');

describe('maskinportenOptionsFromEnv', () => {
  it('reads every variable', () => {
    const options = maskinportenOptionsFromEnv({
      SKYPORTEN_ENV: 'prod',
      MASKINPORTEN_CLIENT_ID: 'abc',
      MASKINPORTEN_SCOPE: 'entur:a  entur:b',
      SKYPORTEN_RESOURCE: 'https://a.example.org, https://b.example.org',
      MASKINPORTEN_CONSUMER_ORG: '991825827',
      MASKINPORTEN_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
      MASKINPORTEN_KID: 'kid-1',
    });
    expect(options.issuer).toBe(SKYPORTEN_PROD_ISSUER);
    expect(options.clientId).toBe('abc');
    expect(options.scope).toBe('entur:a entur:b');
    expect(options.resource).toEqual(['https://a.example.org', 'https://b.example.org']);
    expect(options.consumerOrg).toBe('991825827');
    expect(options.key).toMatchObject({ kid: 'kid-1' });
    expect((options.key as { privateKey: string }).privateKey).toContain('\n');
  });

  it('reads key files, PKCS#12 by extension, and certificate files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skyporten-env-'));
    writeFileSync(join(dir, 'key.pem'), pem);
    writeFileSync(join(dir, 'chain.pem'), fixture('chain.pem'));
    const fromPem = maskinportenOptionsFromEnv({ MASKINPORTEN_PRIVATE_KEY_FILE: join(dir, 'key.pem'), MASKINPORTEN_CERTIFICATE_FILE: join(dir, 'chain.pem') });
    expect(fromPem.key).toMatchObject({ privateKey: pem });
    expect((fromPem.key as { certificateChain: string }).certificateChain).toContain('BEGIN CERTIFICATE');
    const p12 = new URL('./fixtures/business.p12', import.meta.url).pathname;
    const fromP12 = maskinportenOptionsFromEnv({ MASKINPORTEN_PRIVATE_KEY_FILE: p12, MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'p12 secret' });
    expect(fromP12.key).toHaveProperty('pkcs12');
  });

  const cases: [string, Record<string, string>, string][] = [
    ['an unknown SKYPORTEN_ENV', { SKYPORTEN_ENV: 'staging' }, 'SKYPORTEN_ENV'],
    ['a Skyporten issuer with a slash', { SKYPORTEN_ISSUER: 'https://sky.maskinporten.no/' }, 'SKYPORTEN_ISSUER'],
    ['a bad consumer org', { MASKINPORTEN_CONSUMER_ORG: '12' }, 'MASKINPORTEN_CONSUMER_ORG'],
    ['a bad resource', { SKYPORTEN_RESOURCE: 'not a uri' }, 'SKYPORTEN_RESOURCE'],
    ['a bad scope', { MASKINPORTEN_SCOPE: 'noprefix' }, 'MASKINPORTEN_SCOPE'],
    ['an unreadable key file', { MASKINPORTEN_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }, 'MASKINPORTEN_PRIVATE_KEY_FILE'],
    ['both key variables', { MASKINPORTEN_PRIVATE_KEY: pem, MASKINPORTEN_PRIVATE_KEY_FILE: '/x' }, 'MASKINPORTEN_PRIVATE_KEY_FILE'],
    ['a kid without key', { MASKINPORTEN_KID: 'k' }, 'MASKINPORTEN_PRIVATE_KEY'],
  ];
  it.each(cases)('names the variable for %s', (_name, env, variable) => {
    const error = thrownBy(() => maskinportenOptionsFromEnv(env));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('lets createMaskinportenClient fall back to the environment, options first', () => {
    const env = { SKYPORTEN_ENV: 'test', MASKINPORTEN_CLIENT_ID: 'from-env', MASKINPORTEN_SCOPE: 'entur:a', MASKINPORTEN_PRIVATE_KEY: pem, MASKINPORTEN_KID: 'k' };
    const client = createMaskinportenClient({ env, clientId: 'from-options' });
    expect(client.clientId).toBe('from-options');
    expect(client.scope).toBe('entur:a');
    const error = thrownBy(() => createMaskinportenClient({ env: { ...env, MASKINPORTEN_CLIENT_ID: '' } }));
    expect(error.message).toContain('MASKINPORTEN_CLIENT_ID');
  });
});

describe('explicit options win over the environment without reading it', () => {
  const pem = fixture('rsa-2048.pkcs8.pem');
  const explicit = {
    environment: 'prod' as const,
    clientId: 'explicit',
    scope: 'entur:a',
    key: { privateKey: pem, kid: 'k' },
  };

  it('ignores broken variables for options that are given', () => {
    const env = {
      SKYPORTEN_ENV: 'staging',
      SKYPORTEN_ISSUER: 'https://sky.maskinporten.no/',
      MASKINPORTEN_PRIVATE_KEY_FILE: '/gone/key.pem',
      MASKINPORTEN_KID: 'k2',
      MASKINPORTEN_CLIENT_ID: 'has space',
      MASKINPORTEN_SCOPE: 'noprefix',
    };
    const client = createMaskinportenClient({ ...explicit, env });
    expect(client.clientId).toBe('explicit');
    expect(client.issuer).toBe(SKYPORTEN_PROD_ISSUER);
  });

  it('never combines an environment token endpoint with an issuer given in options', async () => {
    const client = createMaskinportenClient({ ...explicit, env: { SKYPORTEN_TOKEN_ENDPOINT: 'https://test.sky.maskinporten.no/token' } });
    const seen: string[] = [];
    const probing = createMaskinportenClient({
      ...explicit,
      env: { SKYPORTEN_TOKEN_ENDPOINT: 'https://test.sky.maskinporten.no/token' },
      fetch: async (input) => {
        seen.push(input instanceof Request ? input.url : String(input));
        throw new TypeError('offline');
      },
      retry: false,
    });
    await probing.getTokenEndpoint().catch(() => undefined);
    expect(seen).toEqual(['https://sky.maskinporten.no/.well-known/openid-configuration']);
    expect(client.issuer).toBe(SKYPORTEN_PROD_ISSUER);
  });

  it('names the variable for a malformed client id or token endpoint', () => {
    expect(thrownBy(() => maskinportenOptionsFromEnv({ MASKINPORTEN_CLIENT_ID: 'a b' })).field).toBe('MASKINPORTEN_CLIENT_ID');
    expect(thrownBy(() => maskinportenOptionsFromEnv({ SKYPORTEN_TOKEN_ENDPOINT: 'http://example.org/token' })).field).toBe('SKYPORTEN_TOKEN_ENDPOINT');
  });
});
