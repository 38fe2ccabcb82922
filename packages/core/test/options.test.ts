import { describe, expect, it } from 'vitest';
import {
  CLIENT_OPTION_DEFAULTS,
  CLIENT_OPTION_VARIABLES,
  ENVIRONMENT_VARIABLES,
  resolveClientOptions,
  SKYPORTEN_PROD_ISSUER,
  SKYPORTEN_TEST_ISSUER,
} from '../src/index.ts';
import { fixture, thrownBy } from './helpers.ts';

const KEY = new URL('./fixtures/rsa-2048.pkcs8.pem', import.meta.url).pathname;
const CHAIN = new URL('./fixtures/chain.pem', import.meta.url).pathname;
const P12 = new URL('./fixtures/business.p12', import.meta.url).pathname;

describe('resolveClientOptions: one name, one variable, one default, and the source of each', () => {
  it('takes options over the environment over the config file over the default, and says which', () => {
    const env = { MASKINPORTEN_CLIENT_ID: 'from-env', MASKINPORTEN_SCOPE: 'entur:env', SKYPORTEN_ENV: 'prod' };
    const { values, sources } = resolveClientOptions(
      { clientId: 'from-option', env },
      { configFile: { clientId: 'from-file', scope: 'entur:file', consumerOrg: '910753614', environment: 'test', timeout: 5000 } },
    );
    expect(values.clientId).toBe('from-option');
    expect(sources.clientId).toEqual({ source: 'option', from: 'clientId' });
    expect(values.scope).toBe('entur:env');
    expect(sources.scope).toEqual({ source: 'env', from: 'MASKINPORTEN_SCOPE' });
    expect(values.issuer).toBe(SKYPORTEN_PROD_ISSUER);
    expect(sources.issuer).toEqual({ source: 'env', from: 'SKYPORTEN_ENV' });
    expect(values.consumerOrg).toBe('910753614');
    expect(sources.consumerOrg).toEqual({ source: 'config-file', from: 'consumerOrg' });
    expect(values.timeout).toBe(5000);
    expect(sources.timeout).toEqual({ source: 'config-file', from: 'timeout' });
    expect(values.grantLifetimeSeconds).toBe(CLIENT_OPTION_DEFAULTS.grantLifetimeSeconds);
    expect(sources.grantLifetimeSeconds).toEqual({ source: 'default', from: 'default' });
    expect(sources.resource).toBeUndefined();
  });

  it('env: false reads nothing from the environment', () => {
    const { values, sources } = resolveClientOptions({ env: false }, { configFile: { environment: 'test' } });
    expect(values.issuer).toBe(SKYPORTEN_TEST_ISSUER);
    expect(sources.issuer).toEqual({ source: 'config-file', from: 'environment' });
    expect(values.clientId).toBeUndefined();
  });

  it('ignores a token endpoint from the environment when the issuer comes from elsewhere', () => {
    const env = { SKYPORTEN_TOKEN_ENDPOINT: 'https://test.sky.maskinporten.no/token' };
    expect(resolveClientOptions({ environment: 'prod', env }).values.tokenEndpoint).toBeUndefined();
    const fromEnv = resolveClientOptions({ env: { ...env, SKYPORTEN_ENV: 'test' } });
    expect(fromEnv.values.tokenEndpoint).toBe('https://test.sky.maskinporten.no/token');
    expect(fromEnv.sources.tokenEndpoint).toEqual({ source: 'env', from: 'SKYPORTEN_TOKEN_ENDPOINT' });
  });

  it('does not read or check variables of options given explicitly (no key file opened for a key given)', () => {
    const env = { MASKINPORTEN_PRIVATE_KEY_FILE: '/does/not/exist.pem', MASKINPORTEN_CLIENT_ID: ' ' };
    const key = { sign: async () => new Uint8Array(), kid: 'k' };
    const { sources } = resolveClientOptions({ key, env });
    expect(sources.key).toEqual({ source: 'option', from: 'key' });
    expect(thrownBy(() => resolveClientOptions({ env })).field).toBe('MASKINPORTEN_PRIVATE_KEY_FILE');
  });

  it('names the layer of a conflicting issuer pair', () => {
    expect(thrownBy(() => resolveClientOptions({ env: false }, { configFile: { environment: 'test', issuer: 'https://x.example' } })).message).toContain(
      'in the config file',
    );
  });

  it('describes every option variable, and only those', () => {
    expect(Object.keys(ENVIRONMENT_VARIABLES).sort()).toEqual(Object.values(CLIENT_OPTION_VARIABLES).sort());
  });

  it('names the options given as the caller spells them (the CLI: its flags)', () => {
    const optionLabel = (option: string) => `--${option.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    const conflict = thrownBy(() => resolveClientOptions({ env: false, environment: 'test', issuer: 'https://x.example' }, { optionLabel }));
    expect(conflict.message).toBe('Give --environment or --issuer, not both.');
    expect(conflict.field).toBe('--environment');
  });
});

describe('resolveClientOptions: a key given in parts', () => {
  it('takes each part from its own highest layer, and says which', () => {
    const env = { MASKINPORTEN_KID: 'kid-from-env', MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: ' spaced ' };
    const { values, sources } = resolveClientOptions({ keyFile: KEY, env }, { configFile: { kid: 'kid-from-file', certificateFile: CHAIN, keyFile: '/not/read.pem' } });
    expect(values.keyParts).toEqual({ keyFile: KEY, kid: 'kid-from-env', keyPassphrase: ' spaced ', certificateFile: CHAIN });
    expect(sources.key).toEqual({ source: 'option', from: 'keyFile' });
    expect(sources.keyFile).toEqual({ source: 'option', from: 'keyFile' });
    expect(sources.kid).toEqual({ source: 'env', from: 'MASKINPORTEN_KID' });
    expect(sources.keyPassphrase).toEqual({ source: 'env', from: 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE' });
    expect(sources.certificateFile).toEqual({ source: 'config-file', from: 'certificateFile' });
    expect(values.key).toEqual({ privateKey: fixture('rsa-2048.pkcs8.pem'), kid: 'kid-from-env', passphrase: ' spaced ', certificateChain: fixture('chain.pem') });
    // Listed in the order of the options, the key's material first: doctor prints them so.
    expect(Object.keys(sources).slice(0, 5)).toEqual(['keyFile', 'key', 'kid', 'keyPassphrase', 'certificateFile']);
    expect(Object.keys(resolveClientOptions({ env: false, kid: 'k', keyFile: KEY, clientId: 'c', issuer: 'https://x.example' }).sources).slice(0, 4)).toEqual(['issuer', 'clientId', 'keyFile', 'key']);
  });

  it("lets the environment's key text beat the config file's key file, and an option's key file drop the environment's", () => {
    const pem = fixture('rsa-2048.pkcs8.pem');
    const env = { MASKINPORTEN_PRIVATE_KEY: pem.replace(/\n/g, '\\n') };
    const fromEnv = resolveClientOptions({ env }, { configFile: { keyFile: '/not/read.pem', kid: 'k' } });
    expect(fromEnv.sources.key).toEqual({ source: 'env', from: 'MASKINPORTEN_PRIVATE_KEY' });
    expect(fromEnv.values.key).toEqual({ privateKey: pem, kid: 'k' });
    expect(fromEnv.values.keyParts.keyFile).toBeUndefined();
    // Both key variables would be a conflict, but the option's key file means neither is read.
    const both = { ...env, MASKINPORTEN_PRIVATE_KEY_FILE: '/not/read.pem' };
    expect(resolveClientOptions({ env: both, keyFile: P12 }, { readKeyFiles: false }).values.keyParts).toEqual({ keyFile: P12 });
    expect(thrownBy(() => resolveClientOptions({ env: both }, { readKeyFiles: false })).field).toBe('MASKINPORTEN_PRIVATE_KEY_FILE');
  });

  it('with readKeyFiles: false opens no file; readKey() does, naming the part as its layer spells it', () => {
    const resolution = resolveClientOptions(
      { env: { MASKINPORTEN_CERTIFICATE_FILE: '/missing/chain.pem' }, keyFile: KEY, kid: 'k' },
      { readKeyFiles: false, optionLabel: (option) => (option === 'keyFile' ? '--key-file' : option) },
    );
    expect(resolution.values.key).toBeUndefined();
    expect(resolution.values.keyParts.certificateFile).toBe('/missing/chain.pem');
    const error = thrownBy(() => resolution.readKey());
    expect(error.field).toBe('MASKINPORTEN_CERTIFICATE_FILE');
    expect(error.message).toBe('MASKINPORTEN_CERTIFICATE_FILE "/missing/chain.pem" cannot be read (ENOENT).');
    const missingKey = resolveClientOptions({ env: false, keyFile: '/missing/key.pem' }, { readKeyFiles: false, optionLabel: (option) => `--${option}` });
    expect(thrownBy(() => missingKey.readKey()).message).toBe('--keyFile "/missing/key.pem" cannot be read (ENOENT).');
    const fromFile = resolveClientOptions({ env: false }, { readKeyFiles: false, configFile: { keyFile: '/missing/key.pem' } });
    expect(thrownBy(() => fromFile.readKey()).message).toBe(`the config file's keyFile "/missing/key.pem" cannot be read (ENOENT).`);
  });

  it('reads a PKCS#12 file as pkcs12 bytes, and a whole key over every part', () => {
    const { values } = resolveClientOptions({ env: { MASKINPORTEN_PRIVATE_KEY_FILE: P12, MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'p12 secret' } });
    expect(values.key).toMatchObject({ passphrase: 'p12 secret' });
    expect(values.key).toHaveProperty('pkcs12');
    const whole = { privateKey: 'pem', kid: 'given' };
    const { values: given, sources } = resolveClientOptions({ env: false }, { configFile: { key: whole, kid: 'ignored' } });
    expect(given.key).toBe(whole);
    expect(sources.key).toEqual({ source: 'config-file', from: 'key' });
    expect(sources.kid).toBeUndefined();
    expect(thrownBy(() => resolveClientOptions({ env: false, key: whole, keyFile: KEY })).message).toBe('Give key or keyFile, not both.');
  });

  it('takes relative key and certificate paths from cwd', () => {
    const fixtures = new URL('./fixtures/', import.meta.url).pathname;
    const { values } = resolveClientOptions({ env: { MASKINPORTEN_CERTIFICATE_FILE: 'chain.pem' }, keyFile: 'rsa-2048.pkcs8.pem', kid: 'k' }, { cwd: fixtures });
    expect(values.keyParts).toMatchObject({ keyFile: KEY, certificateFile: CHAIN });
    expect(values.key).toMatchObject({ privateKey: fixture('rsa-2048.pkcs8.pem') });
  });

  it('rejects a kid or certificate without a key when it reads the key', () => {
    const error = thrownBy(() => resolveClientOptions({ env: { MASKINPORTEN_KID: 'k' } }));
    expect(error.field).toBe('key');
    expect(error.message).toContain('MASKINPORTEN_KID is set but there is no key');
    expect(resolveClientOptions({ env: { MASKINPORTEN_KID: 'k' } }, { readKeyFiles: false }).values.keyParts).toEqual({ kid: 'k' });
  });
});

describe('refreshAheadSeconds (renamed from refreshWindowSeconds)', () => {
  it('takes the new name, and the old one with one DeprecationWarning', async () => {
    expect(resolveClientOptions({ env: false, refreshAheadSeconds: 20 }).values.refreshAheadSeconds).toBe(20);
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on('warning', listener);
    try {
      const { values, sources } = resolveClientOptions({ env: false, refreshWindowSeconds: 15 });
      resolveClientOptions({ env: false, refreshWindowSeconds: 16 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(values.refreshAheadSeconds).toBe(15);
      expect(sources.refreshAheadSeconds).toEqual({ source: 'option', from: 'refreshWindowSeconds' });
      expect(warnings.filter((warning) => warning.name === 'DeprecationWarning' && warning.message.includes('refreshAheadSeconds'))).toHaveLength(1);
    } finally {
      process.off('warning', listener);
    }
  });
});
