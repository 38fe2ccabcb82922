import { describe, expect, it } from 'vitest';
import { createTokenExchange, TokenExchangeError, vault } from '../src/index.ts';
import { createMockVault, json, ORG, RESOURCE, SCOPE, serve, skyporten, type VaultRole } from './helpers.ts';

const SUBJECT = `0192:${ORG};${SCOPE}`;
const readerRole: VaultRole = { bound_audiences: [RESOURCE], bound_subject: SUBJECT, bound_claims: { '/consumer/ID': `0192:${ORG}`, scope: SCOPE }, token_ttl: 3600 };

async function setup(role: Partial<VaultRole> = {}, options: { mount?: string; namespace?: string; resource?: string } = {}) {
  const sky = await skyporten(options.resource === undefined ? {} : { resource: options.resource });
  const mock = await createMockVault({ issuer: sky.issuer.issuer, roles: { 'skyporten-reader': { ...readerRole, ...role } }, ...options });
  return { ...sky, mock };
}

async function failure(promise: Promise<unknown>): Promise<TokenExchangeError> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(TokenExchangeError.isInstance(error)).toBe(true);
  return error as TokenExchangeError;
}

describe('vault()', () => {
  it('logs in with the Skyporten token, which the mock verifies against the issuer JWKS, and caches the Vault token', async () => {
    const { mock, maskinporten, issuer } = await setup();
    const exchange = createTokenExchange({ ...vault({ address: mock.url, role: 'skyporten-reader' }), maskinporten });
    const [first, second] = await Promise.all([exchange.getToken(), exchange.getToken()]);
    expect(first?.accessToken).toMatch(/^hvs\.mock-1-/);
    expect(second?.accessToken).toBe(first?.accessToken);
    expect(mock.logins).toHaveLength(1);
    expect(mock.received[0]).toMatchObject({ method: 'POST', url: '/v1/auth/jwt/login' });
    // The JWT Vault got is the token the issuer issued, for the resource the role is bound to.
    const claims = await issuer.verifyAccessToken(mock.logins[0]?.jwt ?? '', { audience: RESOURCE });
    expect(claims.sub).toBe(SUBJECT);
    expect(first!.expiresAt.getTime() - first!.issuedAt.getTime()).toBe(3600_000);
    expect(JSON.stringify(first)).not.toContain(first!.accessToken);

    const secret = await exchange.fetch(`${mock.url}/v1/secret/data/shared`);
    expect(secret.status).toBe(200);
    expect(await secret.json()).toEqual({ data: { data: { greeting: 'hello from vault' } } });
  });

  it('uses another mount and a namespace', async () => {
    const { mock, maskinporten } = await setup({}, { mount: 'skyporten/test', namespace: 'team-a' });
    const exchange = createTokenExchange({ ...vault({ address: `${mock.url}/`, role: 'skyporten-reader', mount: '/skyporten/test/', namespace: 'team-a' }), maskinporten });
    await expect(exchange.getToken()).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(mock.received[0]?.url).toBe('/v1/auth/skyporten/test/login');
    expect(mock.received[0]?.headers['x-vault-namespace']).toBe('team-a');
  });

  it.each([
    ['a bound_subject that is not the token sub', { bound_subject: '0192:311111111;entur:skyporten.demo' }, {}, /bound_subject/],
    ['bound_audiences without the token aud', {}, { resource: 'https://other.example.org' }, /bound_audiences/],
    ['a bound claim that does not match', { bound_claims: { '/consumer/ID': '0192:311111111' } }, {}, /bound_claims/],
  ])('maps Vault errors to TokenExchangeError with a hint: %s; nothing is cached', async (_name, role, options, hint) => {
    const { mock, maskinporten } = await setup(role, options);
    const exchange = createTokenExchange({ ...vault({ address: mock.url, role: 'skyporten-reader' }), maskinporten });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await failure(exchange.getToken());
      expect(error.code).toBe('CLOUD_EXCHANGE_FAILED');
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^Vault refused the JWT login for role "skyporten-reader" \(400: .+\)\.$/);
      expect(error.hint).toMatch(hint);
      expect(error.isRetryable).toBe(false);
    }
    expect(mock.logins).toHaveLength(2);
  });

  it('names the role or the mount when Vault does not know them', async () => {
    const { mock, maskinporten } = await setup();
    const unknownRole = await failure(createTokenExchange({ ...vault({ address: mock.url, role: 'nope' }), maskinporten }).getToken());
    expect(unknownRole.message).toContain('role "nope" could not be found');
    expect(unknownRole.hint).toMatch(/vault list auth/);
    const wrongMount = await failure(createTokenExchange({ ...vault({ address: mock.url, role: 'skyporten-reader', mount: 'oidc' }), maskinporten }).getToken());
    expect(wrongMount.status).toBe(404);
    expect(wrongMount.hint).toMatch(/vault auth list/);
  });

  it('refuses a login answer without a positive lease_duration, and a sealed Vault is retryable', async () => {
    const { mock, maskinporten } = await setup({ token_ttl: 0 });
    const noLifetime = await failure(createTokenExchange({ ...vault({ address: mock.url, role: 'skyporten-reader' }), maskinporten }).getToken());
    expect(noLifetime.code).toBe('TOKEN_RESPONSE_INVALID');
    expect(noLifetime.message).toContain('auth.lease_duration');

    const sealed = await serve((_request, response) => json(response, 503, { errors: ['Vault is sealed'] }));
    const error = await failure(createTokenExchange({ ...vault({ address: sealed.url, role: 'skyporten-reader' }), maskinporten }).getToken());
    expect(error.isRetryable).toBe(true);
    expect(error.hint).toMatch(/sealed/);
  });

  it('checks its options', () => {
    expect(() => vault({ address: 'http://vault.example.org:8200', role: 'r' })).toThrow(/https/);
    expect(() => vault({ address: 'https://vault.example.org', role: ' ' })).toThrow(/role is required/);
    expect(() => vault({ address: 'https://vault.example.org', role: 'r', mount: 'a b' })).toThrow(/mount/);
    expect(vault({ address: 'https://vault.example.org:8200', role: 'r' }).tokenEndpoint).toBe('https://vault.example.org:8200/v1/auth/jwt/login');
  });
});
