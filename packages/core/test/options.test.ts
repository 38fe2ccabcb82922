import { describe, expect, it } from 'vitest';
import { CLIENT_OPTION_DEFAULTS, resolveClientOptions, SKYPORTEN_PROD_ISSUER, SKYPORTEN_TEST_ISSUER } from '../src/index.ts';
import { thrownBy } from './helpers.ts';

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
});
