// loadSettings in-process: the flags, the environment and the config file go through core's resolveClientOptions.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKYPORTEN_TEST_ISSUER } from '@skyporten/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions, loadSettings, settingsAsConfigFile } from '../src/config.ts';

let directory: string;
let configDirectory: string;
const PEM = '-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n';

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'skyporten-cli-config-'));
  configDirectory = join(directory, 'conf');
  await mkdir(configDirectory);
  await writeFile(join(directory, 'flag.pem'), PEM);
  await writeFile(join(configDirectory, 'file.pem'), PEM);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

async function config(json: object): Promise<string> {
  const path = join(configDirectory, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(json));
  return path;
}

describe('loadSettings: flags over environment over config file, through core', () => {
  it('takes each option from its highest layer and reports the source core gives it', async () => {
    const path = await config({ environment: 'test', clientId: 'from-file', scope: 'entur:file', consumerOrg: '910753614', kid: 'kid-from-file' });
    const { maskinporten } = loadSettings(
      { config: path, clientId: 'from-flag', keyFile: 'flag.pem', resource: ['https://a.example.org'] },
      { MASKINPORTEN_SCOPE: 'entur:env', MASKINPORTEN_KID: 'kid-from-env', MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: ' pass ' },
      directory,
    );
    expect(maskinporten).toMatchObject({
      issuer: SKYPORTEN_TEST_ISSUER,
      clientId: 'from-flag',
      scope: 'entur:env',
      resource: 'https://a.example.org',
      consumerOrg: '910753614',
      kid: 'kid-from-env',
      passphrase: ' pass ',
      keyFile: join(directory, 'flag.pem'),
    });
    expect(maskinporten.sources).toMatchObject({
      issuer: { source: 'config-file', from: 'environment' },
      clientId: { source: 'option', from: 'clientId' },
      scope: { source: 'env', from: 'MASKINPORTEN_SCOPE' },
      consumerOrg: { source: 'config-file', from: 'consumerOrg' },
      key: { source: 'option', from: 'keyFile' },
      kid: { source: 'env', from: 'MASKINPORTEN_KID' },
      keyPassphrase: { source: 'env', from: 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE' },
    });
    expect(maskinporten.describe(maskinporten.sources.key!)).toBe('--key-file');
    expect(maskinporten.readKey()).toEqual({ privateKey: PEM, kid: 'kid-from-env', passphrase: ' pass ' });
  });

  it("takes the config file's paths from its directory, and the flags' and variables' from the working directory", async () => {
    const path = await config({ keyFile: 'file.pem', certificateFile: 'chain.pem' });
    const fromFile = loadSettings({ config: path }, {}, directory).maskinporten;
    expect(fromFile.keyFile).toBe(join(configDirectory, 'file.pem'));
    expect(fromFile.certificateFile).toBe(join(configDirectory, 'chain.pem'));
    const fromEnv = loadSettings({ config: path }, { MASKINPORTEN_PRIVATE_KEY_FILE: 'flag.pem', MASKINPORTEN_CERTIFICATE_FILE: 'c.pem' }, directory).maskinporten;
    expect(fromEnv.keyFile).toBe(join(directory, 'flag.pem'));
    expect(fromEnv.certificateFile).toBe(join(directory, 'c.pem'));
  });

  it('opens no key file while loading; reading one names it as the user gave it', async () => {
    const flag = loadSettings({ keyFile: '/nonexistent/key.pem', kid: 'k' }, {}, directory).maskinporten;
    expect(() => flag.readKey()).toThrow('--key-file "/nonexistent/key.pem" cannot be read (ENOENT).');
    const env = loadSettings({}, { MASKINPORTEN_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }, directory).maskinporten;
    expect(() => env.readKey()).toThrow('MASKINPORTEN_PRIVATE_KEY_FILE "/nonexistent/key.pem" cannot be read (ENOENT).');
    const file = loadSettings({ config: await config({ keyFile: '/nonexistent/key.pem' }) }, {}, directory).maskinporten;
    expect(() => file.readKey()).toThrow(`the config file's keyFile "/nonexistent/key.pem" cannot be read (ENOENT).`);
  });

  it('lets a --key-file flag win over both key variables without calling them a conflict, and takes an inline key with \\n', () => {
    const both = { MASKINPORTEN_PRIVATE_KEY: 'x', MASKINPORTEN_PRIVATE_KEY_FILE: '/x' };
    expect(loadSettings({ keyFile: 'flag.pem' }, both, directory).maskinporten.inlineKey).toBeUndefined();
    expect(() => loadSettings({}, both, directory)).toThrow('Set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE, not both.');
    const inline = loadSettings({}, { MASKINPORTEN_PRIVATE_KEY: PEM.replace(/\n/g, '\\n') }, directory).maskinporten;
    expect(inline.inlineKey).toBe(PEM);
    expect(inline.sources.key).toEqual({ source: 'env', from: 'MASKINPORTEN_PRIVATE_KEY' });
  });

  it('names the flags in a conflict and in a bad value', () => {
    expect(() => loadSettings({ env: 'test', issuer: 'https://x.example' }, {}, directory)).toThrow('Give --env or --issuer, not both.');
    expect(() => loadSettings({ env: 'staging' }, {}, directory)).toThrow('--env "staging" is unknown: use "test" or "prod".');
  });

  it("uses the environment's token endpoint only with the environment's issuer (core's rule)", () => {
    const env = { SKYPORTEN_TOKEN_ENDPOINT: 'https://test.sky.maskinporten.no/token' };
    expect(loadSettings({ env: 'prod' }, env, directory).maskinporten.tokenEndpoint).toBeUndefined();
    expect(loadSettings({}, { ...env, SKYPORTEN_ENV: 'test' }, directory).maskinporten.tokenEndpoint).toBe(env.SKYPORTEN_TOKEN_ENDPOINT);
  });

  it('hands the client explicit options and writes the merged settings as a config file', async () => {
    const path = await config({ issuer: SKYPORTEN_TEST_ISSUER, scope: ['entur:a', 'entur:b'], resource: ['https://a.example.org', 'https://b.example.org'] });
    const { maskinporten } = loadSettings({ config: path, clientId: 'c', keyFile: 'flag.pem', kid: 'k' }, {}, directory);
    const options = clientOptions(maskinporten);
    expect(options).toMatchObject({ env: false, issuer: SKYPORTEN_TEST_ISSUER, clientId: 'c', scope: 'entur:a entur:b', key: { privateKey: PEM, kid: 'k' } });
    expect(options.resource).toEqual(['https://a.example.org', 'https://b.example.org']);
    expect(settingsAsConfigFile(maskinporten, '/tmp/key.pem')).toEqual({
      issuer: SKYPORTEN_TEST_ISSUER,
      clientId: 'c',
      scope: 'entur:a entur:b',
      resource: ['https://a.example.org', 'https://b.example.org'],
      kid: 'k',
      keyFile: '/tmp/key.pem',
    });
    expect(() => clientOptions(loadSettings({ clientId: 'c', scope: 'entur:a', env: 'test' }, {}, directory).maskinporten)).toThrow('No private key is configured.');
  });
});
