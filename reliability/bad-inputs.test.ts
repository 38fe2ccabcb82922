// A corpus of bad keys, certificates and configuration: each must end in a typed SkyportenError naming the
// field at fault — never a TypeError, never a hang, never a network call.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJwtGrant, createMaskinportenClient, type MaskinportenClientOptions } from '@skyporten/core';
import { failureOf, fixture, fixtureBytes, RESOURCE, SCOPE } from './world.ts';

// Nothing listens on port 9 (discard): a case that reached the network would fail with NETWORK_ERROR, not
// with the expected field.
const unreachable = 'http://127.0.0.1:9';
const pkcs8 = fixture('rsa-2048.pkcs8.pem');
const chain = fixture('chain.pem');
const certificates = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const rsaJwk = JSON.parse(fixture('rsa-2048.jwk.json')) as Record<string, unknown>;
const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = rsaJwk;

const valid: MaskinportenClientOptions = {
  issuer: unreachable,
  tokenEndpoint: `${unreachable}/token`,
  clientId: 'reliability-client',
  scope: SCOPE,
  resource: RESOURCE,
  key: { privateKey: pkcs8, kid: 'fixture-kid' },
  retry: false,
  timeout: 1000,
  env: false,
};

interface Case {
  name: string;
  field: string;
  code?: string;
  /** Options merged over `valid`; `undefined` values delete the option. */
  options?: Record<string, unknown>;
  /** Instead of options: any call that must fail. */
  run?: () => unknown;
}

const key = (overrides: Record<string, unknown>) => ({ options: { key: { privateKey: pkcs8, kid: 'fixture-kid', ...overrides } } });

const keyCases: Case[] = [
  { name: 'garbage text as the key', field: 'key.privateKey', code: 'KEY_INVALID', ...key({ privateKey: 'not a key at all' }) },
  { name: 'empty key', field: 'key.privateKey', ...key({ privateKey: '' }) },
  { name: 'a public key instead of the private one', field: 'key.privateKey', ...key({ privateKey: fixture('rsa-2048.public.pem') }) },
  { name: 'a certificate instead of the private key', field: 'key.privateKey', ...key({ privateKey: certificates[0] }) },
  { name: 'an EC P-256 key for RS256', field: 'key.privateKey', ...key({ privateKey: fixture('ec-p256.pkcs8.pem') }) },
  { name: 'a 1024-bit RSA key', field: 'key.privateKey', ...key({ privateKey: fixture('rsa-1024.pkcs8.pem') }) },
  { name: 'an encrypted key without passphrase', field: 'key.privateKey', ...key({ privateKey: fixture('rsa-2048.encrypted.pem') }) },
  { name: 'an encrypted key with the wrong passphrase', field: 'key.passphrase', ...key({ privateKey: fixture('rsa-2048.encrypted.pem'), passphrase: 'wrong horse' }) },
  { name: 'a PEM cut in half', field: 'key.privateKey', ...key({ privateKey: pkcs8.slice(0, pkcs8.length / 2) }) },
  { name: 'a PEM with a corrupted body', field: 'key.privateKey', ...key({ privateKey: pkcs8.replace(/[A-Za-z]{20}/, 'A'.repeat(20)) }) },
  { name: 'an EC JWK', field: 'key.privateKey', ...key({ privateKey: ecJwk }) },
  { name: 'a public RSA JWK (no d)', field: 'key.privateKey', ...key({ privateKey: publicJwk }) },
  { name: 'broken JWK JSON', field: 'key.privateKey', ...key({ privateKey: '{"kty":"RSA",' }) },
  { name: 'a number as the key', field: 'key.privateKey', ...key({ privateKey: 42 }) },
  { name: 'neither kid nor certificate chain', field: 'key.kid', options: { key: { privateKey: pkcs8 } } },
  { name: 'an empty kid', field: 'key.kid', ...key({ kid: '' }) },
  { name: 'a kid with surrounding spaces', field: 'key.kid', ...key({ kid: ' fixture-kid ' }) },
  { name: 'algorithm HS256', field: 'key.algorithm', ...key({ algorithm: 'HS256' }) },
  { name: 'algorithm ES256', field: 'key.algorithm', ...key({ algorithm: 'ES256' }) },
  { name: 'an empty key object', field: 'key', options: { key: {} } },
  { name: 'key null', field: 'key', options: { key: null } },
  { name: 'key as a bare string', field: 'key', options: { key: pkcs8 } },
  { name: 'an empty PKCS#12 file', field: 'key.pkcs12', options: { key: { pkcs12: new Uint8Array(), passphrase: 'p12 secret' } } },
  { name: 'a PKCS#12 file that is garbage', field: 'key.pkcs12', options: { key: { pkcs12: new TextEncoder().encode('garbage'.repeat(20)), passphrase: 'x' } } },
  { name: 'a PKCS#12 file with the wrong passphrase', field: 'key.passphrase', options: { key: { pkcs12: fixtureBytes('business.p12'), passphrase: 'wrong' } } },
  { name: 'a remote signer returning nothing', field: 'key.sign', options: { key: { kid: 'kms-key', sign: async () => new Uint8Array() } } },
  { name: 'a remote signer returning a string', field: 'key.sign', options: { key: { kid: 'kms-key', sign: async () => 'signature' } } },
];

const certificateCases: Case[] = [
  { name: 'an expired business certificate', field: 'key.certificateChain', code: 'CERTIFICATE_INVALID', options: { key: { privateKey: pkcs8, certificateChain: fixture('expired.pem') } } },
  { name: 'a certificate for another key', field: 'key.certificateChain', code: 'CERTIFICATE_INVALID', options: { key: { privateKey: pkcs8, certificateChain: fixture('other-key.pem') } } },
  { name: 'the chain in the wrong order', field: 'key.certificateChain', code: 'CERTIFICATE_INVALID', options: { key: { privateKey: pkcs8, certificateChain: [...certificates].reverse() } } },
  { name: 'a chain with an unrelated second certificate', field: 'key.certificateChain', options: { key: { privateKey: pkcs8, certificateChain: [certificates[0]!, fixture('other-key.pem')] } } },
  { name: 'a chain with no PEM certificate', field: 'key.certificateChain', options: { key: { privateKey: pkcs8, certificateChain: 'MIIB...' } } },
  { name: 'a chain with a corrupted certificate', field: 'key.certificateChain', options: { key: { privateKey: pkcs8, certificateChain: certificates[0]!.replace(/[A-Za-z]{30}/, 'B'.repeat(30)) } } },
];

const configurationCases: Case[] = [
  { name: 'an empty scope', field: 'scope', code: 'CONFIG_INVALID', options: { scope: '' } },
  { name: 'a blank scope', field: 'scope', options: { scope: '   ' } },
  { name: 'an empty scope list', field: 'scope', options: { scope: [] } },
  { name: 'a space inside a scope list item', field: 'scope', options: { scope: ['entur:skyporten.demo entur:other'] } },
  { name: 'a scope without a prefix', field: 'scope', options: { scope: 'skyporten' } },
  { name: 'a number in the scope list', field: 'scope', options: { scope: [42] } },
  { name: 'an organisation number with a bad check digit', field: 'consumerOrg', options: { consumerOrg: '991825828' } },
  { name: 'a short organisation number', field: 'consumerOrg', options: { consumerOrg: '12345' } },
  { name: 'letters as organisation number', field: 'consumerOrg', options: { consumerOrg: 'abcdefghi' } },
  { name: 'an http:// issuer that is not loopback', field: 'issuer', options: { issuer: 'http://sky.example.org' } },
  { name: 'the Skyporten issuer with a trailing slash', field: 'issuer', options: { issuer: 'https://test.sky.maskinporten.no/' } },
  { name: 'plain Maskinporten without its trailing slash', field: 'issuer', options: { issuer: 'https://test.maskinporten.no' } },
  { name: 'an issuer that is not a URL', field: 'issuer', options: { issuer: 'test.sky.maskinporten.no' } },
  { name: 'an issuer with a query', field: 'issuer', options: { issuer: 'https://test.sky.maskinporten.no?x=1' } },
  { name: 'an unknown environment', field: 'environment', options: { environment: 'staging', issuer: undefined } },
  { name: 'environment and issuer both', field: 'environment', options: { environment: 'test' } },
  { name: 'no issuer and no environment', field: 'environment', options: { issuer: undefined } },
  { name: 'SKYPORTEN_ENV unknown', field: 'SKYPORTEN_ENV', options: { issuer: undefined, env: { SKYPORTEN_ENV: 'staging' } } },
  { name: 'MASKINPORTEN_PRIVATE_KEY_FILE missing', field: 'MASKINPORTEN_PRIVATE_KEY_FILE', options: { key: undefined, env: { MASKINPORTEN_PRIVATE_KEY_FILE: '/nonexistent/key.pem', MASKINPORTEN_KID: 'k' } } },
  { name: 'a resource that is not a URI', field: 'resource', options: { resource: 'skyporten.example.org' } },
  { name: 'an empty resource', field: 'resource', options: { resource: '' } },
  { name: 'an empty resource list', field: 'resource', options: { resource: [] } },
  { name: 'a resource with a space', field: 'resource', options: { resource: 'https://sky porten.example.org' } },
  { name: 'an empty clientId', field: 'clientId', options: { clientId: '' } },
  { name: 'a clientId with a space', field: 'clientId', options: { clientId: 'my client' } },
  { name: 'no clientId', field: 'clientId', options: { clientId: undefined } },
  { name: 'an http:// token endpoint that is not loopback', field: 'tokenEndpoint', options: { tokenEndpoint: 'http://evil.example.org/token' } },
  { name: 'timeout 0', field: 'timeout', options: { timeout: 0 } },
  { name: 'timeout as a string', field: 'timeout', options: { timeout: '5s' } },
  { name: 'retry 11 times', field: 'retry', options: { retry: 11 } },
  { name: 'a negative retry limit', field: 'retry.limit', options: { retry: { limit: -1 } } },
  { name: 'a grant lifetime over 120 s', field: 'grantLifetimeSeconds', options: { grantLifetimeSeconds: 121 } },
  { name: 'a fractional grant lifetime', field: 'grantLifetimeSeconds', options: { grantLifetimeSeconds: 1.5 } },
  { name: 'a negative refresh window', field: 'refreshAheadSeconds', options: { refreshAheadSeconds: -1 } },
  { name: 'a negative refresh window (old name)', field: 'refreshWindowSeconds', options: { refreshWindowSeconds: -1 } },
  { name: 'a huge safety margin', field: 'safetyMarginSeconds', options: { safetyMarginSeconds: 1e9 } },
  { name: 'fetch that is not a function', field: 'fetch', options: { fetch: 'fetch' } },
  { name: 'clock that is not a function', field: 'clock', options: { clock: 42 } },
  { name: 'options null', field: 'options', run: () => createMaskinportenClient(null as never) },
  { name: 'createJwtGrant with a trailing-slash Skyporten issuer', field: 'issuer', run: () => createJwtGrant({ ...grantOptions(), issuer: 'https://sky.maskinporten.no/' }) },
  { name: 'createJwtGrant with lifetime 0', field: 'lifetimeSeconds', run: () => createJwtGrant({ ...grantOptions(), lifetimeSeconds: 0 }) },
  { name: 'createJwtGrant without key', field: 'key', run: () => createJwtGrant({ ...grantOptions(), key: undefined as never }) },
];

function grantOptions() {
  return { issuer: 'https://test.sky.maskinporten.no', clientId: 'reliability-client', scope: SCOPE, key: { privateKey: pkcs8, kid: 'fixture-kid' } };
}

function optionsFor(overrides: Record<string, unknown>): MaskinportenClientOptions {
  const merged: Record<string, unknown> = { ...valid, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete merged[name];
  return merged as MaskinportenClientOptions;
}

/** Creates the client and asks for a token: whichever fails first (keys in PKCS#12 or remote signers fail on use). */
function attempt(testCase: Case): () => unknown {
  if (testCase.run) return testCase.run;
  return () => createMaskinportenClient(optionsFor(testCase.options ?? {})).getToken();
}

const awsCases: Case[] = [
  { name: 'AWS durationSeconds 899', field: 'durationSeconds', options: { durationSeconds: 899 } },
  { name: 'AWS durationSeconds 43201', field: 'durationSeconds', options: { durationSeconds: 43_201 } },
  { name: 'AWS durationSeconds fractional', field: 'durationSeconds', options: { durationSeconds: 1000.5 } },
  { name: 'AWS roleArn that is not an ARN', field: 'roleArn', options: { roleArn: 'skyporten-reader' } },
  { name: 'AWS roleArn missing', field: 'roleArn', options: { roleArn: undefined } },
  { name: 'AWS roleSessionName of one character', field: 'roleSessionName', options: { roleSessionName: 'x' } },
];

describe('bad inputs: each a typed SkyportenError naming the field', () => {
  const corpus = [...keyCases, ...certificateCases, ...configurationCases];

  it('the corpus has at least 40 core cases', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });

  it.each(corpus)('$name -> $field', async (testCase) => {
    const error = await failureOf(attempt(testCase), 3000);
    expect(error.name).not.toBe('TypeError');
    expect(error.field).toBe(testCase.field);
    if (testCase.code) expect(error.code).toBe(testCase.code);
    expect(['CONFIG_INVALID', 'KEY_INVALID', 'CERTIFICATE_INVALID']).toContain(error.code);
    expect(error.message).toContain(testCase.field.split('.').pop()!);
  });
});

describe('bad inputs to the AWS adapter', async () => {
  const aws = await import('@skyporten/aws').catch(() => undefined);
  it.skipIf(aws === undefined).each(awsCases)('$name -> $field', async (testCase) => {
    const options: Record<string, unknown> = {
      roleArn: 'arn:aws:iam::123456789012:role/skyporten-reader',
      maskinporten: createMaskinportenClient(valid),
      env: false,
      ...testCase.options,
    };
    for (const [name, value] of Object.entries(testCase.options ?? {})) if (value === undefined) delete options[name];
    // Lazy failure (decision 0015): the provider is built, and rejects when credentials are first asked for.
    const error = await failureOf(() => aws!.skyportenCredentials(options as never)(), 3000);
    expect(error.name).toBe('CredentialsProviderError');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe(testCase.field);
  });
});
