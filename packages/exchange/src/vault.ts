import { ConfigError, isTransientStatus } from '@skyporten/core/adapter';
import { checkEndpoint, createExchangedToken, readJsonAnswer, targetText, TokenExchangeError, type ExchangeProtocol, type TokenExchangeOptions } from './index.js';

/** Options of {@link vault}. @public */
export interface VaultOptions {
  /** Vault's address, as in VAULT_ADDR: https, or http on a loopback host (a dev server or a mock). */
  address: string;
  /** The role on the JWT auth method that the Skyporten token logs in as. */
  role: string;
  /** Where the JWT auth method is mounted (`vault auth enable -path=<mount> jwt`). @default 'jwt' */
  mount?: string | undefined;
  /** A Vault Enterprise / HCP namespace, sent as X-Vault-Namespace (VAULT_NAMESPACE). @default none */
  namespace?: string | undefined;
}

/**
 * Hints for the errors Vault's JWT auth method answers with (`{"errors": [...]}`), matched on their text:
 * the role's bound audiences and subject, the auth method's discovery URL, the mount path.
 * @public
 */
export const VAULT_ERROR_HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/role .*could not be found|missing role/i, 'The role does not exist on this mount: check `role` (--role) and `mount` with the Vault operator (`vault list auth/<mount>/role`).'],
  [/bound subject/i, "The role's bound_subject must be the token's sub exactly: `0192:<orgno>;<scope>` (see `skyporten decode`)."],
  [/aud(ience)?\b|\baud claim/i, "The role's bound_audiences must contain the token's aud: the `resource` you ask Skyporten for (a token without resource has aud \"unspecified\")."],
  [/bound claim|claim .* does not match/i, "A bound_claims entry does not match the token's claims (e.g. consumer.ID, scope): compare the role with `skyporten decode`."],
  [/expired|not valid yet|\bnbf\b|\biat\b|clock/i, "The token is outside its validity window for Vault: check Vault's clock, and the role's clock_skew_leeway / expiration_leeway."],
  [/signature|verify|no known key|\biss\b|issuer|discovery|jwks/i, 'Vault could not verify the token: its JWT auth config needs oidc_discovery_url = the Skyporten issuer exactly (https://test.sky.maskinporten.no or https://sky.maskinporten.no, no trailing slash), reachable from Vault.'],
  [/no handler for route|unsupported path|permission denied|route entry not found/i, 'Nothing answers login at this path: check `mount` (`vault auth list`), the address, and the namespace (VAULT_NAMESPACE).'],
  [/sealed|standby|not active/i, 'Vault is sealed or this node is not active: retry later, or use the active node or the load balancer.'],
];

function vaultHint(errors: readonly string[], status: number): string | undefined {
  for (const message of errors) {
    for (const [pattern, hint] of VAULT_ERROR_HINTS) if (pattern.test(message)) return hint;
  }
  if (status === 404 || status === 405) return VAULT_ERROR_HINTS.find(([pattern]) => pattern.test('no handler for route'))?.[1];
  return undefined;
}

function vaultProtocol(role: string, namespace: string | undefined): ExchangeProtocol {
  return {
    name: 'Vault JWT login',
    buildRequest: (jwt) => ({
      body: JSON.stringify({ role, jwt }),
      headers: { 'content-type': 'application/json', 'x-vault-request': 'true', ...(namespace ? { 'x-vault-namespace': namespace } : {}) },
    }),
    parseResponse(answer, now) {
      const json = readJsonAnswer(answer);
      const { status } = answer;
      const errors = Array.isArray(json.errors) ? json.errors.filter((item): item is string => typeof item === 'string') : [];
      if (status < 200 || status >= 300 || errors.length > 0) {
        const text = errors.length > 0 ? `: ${errors.map(targetText).join('; ')}` : '';
        throw new TokenExchangeError('CLOUD_EXCHANGE_FAILED', `Vault refused the JWT login for role "${role}" (${status}${text}).`, {
          status,
          isRetryable: isTransientStatus(status),
          hint: vaultHint(errors, status),
        });
      }
      const auth = json.auth !== null && typeof json.auth === 'object' ? (json.auth as Record<string, unknown>) : {};
      if (typeof auth.client_token !== 'string' || auth.client_token === '') {
        throw new TokenExchangeError('TOKEN_RESPONSE_INVALID', `Vault answered ${status} without auth.client_token.`, {
          status,
          hint: 'Check that the address and mount point at a JWT auth method (`vault auth list`).',
        });
      }
      // Vault takes its tokens as `Authorization: Bearer` as well as `X-Vault-Token`.
      return createExchangedToken(auth.client_token, 'Bearer', auth.lease_duration, now, 'auth.lease_duration');
    },
  };
}

/**
 * HashiCorp Vault's JWT auth method: `POST <address>/v1/auth/<mount>/login` with `{"role", "jwt"}` (not RFC
 * 8693); the token is `auth.client_token`, living `auth.lease_duration` seconds. Vault's `{"errors": [...]}`
 * become a {@link TokenExchangeError} with a hint from {@link VAULT_ERROR_HINTS}.
 *
 * @example
 * ```ts
 * const exchange = createTokenExchange({ ...vault({ address: 'https://vault.example.org:8200', role: 'skyporten-reader' }), maskinporten });
 * const secret = await exchange.fetch('https://vault.example.org:8200/v1/secret/data/shared');
 * ```
 * @public
 */
export function vault(options: VaultOptions): Pick<TokenExchangeOptions, 'tokenEndpoint' | 'protocol'> {
  const address = checkEndpoint('address', options.address);
  const role = options.role?.trim() ?? '';
  if (role === '') throw new ConfigError('role', 'role is required: the JWT auth role the Skyporten token logs in as.');
  const mount = (options.mount ?? 'jwt').replace(/^\/+|\/+$/g, '');
  if (!/^[\w.-]+(\/[\w.-]+)*$/.test(mount)) throw new ConfigError('mount', `mount "${options.mount}" is not a Vault mount path (letters, digits, . _ - and /).`);
  const base = address.pathname.replace(/\/+$/, '');
  return {
    tokenEndpoint: new URL(`${base}/v1/auth/${mount}/login`, address).toString(),
    protocol: vaultProtocol(role, options.namespace?.trim() || undefined),
  };
}
