import { ConfigError } from '@skyporten/core/adapter';
import type { AuthClient, IdentityPoolClient } from 'google-auth-library';
import { EMAIL_PATTERN, type ResolvedFederation } from './options.js';

/** A Google access token as google-auth-library's external-account client returns it. @internal */
export type GoogleToken = Awaited<ReturnType<IdentityPoolClient['refreshAccessTokenAsync']>>;

const DELEGATE_PREFIX = 'projects/-/serviceAccounts/';
/** google-auth-library's lifetime of impersonated tokens when none is configured. */
const DEFAULT_LIFETIME_SECONDS = 3600;

/**
 * Checks the `delegates` option and writes each as IAM Credentials wants it, `projects/-/serviceAccounts/<EMAIL>`.
 *
 * @throws ConfigError naming `delegates` when it is not a list of service accounts, or is given without impersonation.
 * @internal
 */
export function resolveDelegates(value: unknown, federation: ResolvedFederation): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ConfigError('delegates', 'delegates must be an array of service accounts, e.g. ["hop@provider.iam.gserviceaccount.com"].');
  }
  const delegates = value.map((item: unknown, index) => {
    const email = typeof item === 'string' ? item.trim().replace(DELEGATE_PREFIX, '') : '';
    if (!EMAIL_PATTERN.test(email)) {
      throw new ConfigError('delegates', `delegates[${index}] "${String(item)}" is not a service account: give its email or projects/-/serviceAccounts/<EMAIL>.`, {
        hint: 'Service accounts look like name@project-id.iam.gserviceaccount.com; the data provider names the chain.',
      });
    }
    return `${DELEGATE_PREFIX}${email}`;
  });
  if (delegates.length > 0 && federation.serviceAccountImpersonationUrl === undefined) {
    throw new ConfigError('delegates', 'delegates applies only to service account impersonation: set serviceAccountEmail too.');
  }
  return delegates;
}

/** What {@link impersonateThroughChain} asks IAM Credentials for. @internal */
export interface ChainRequest {
  /** The full `generateAccessToken` URL of the target service account. */
  url: string;
  /** `projects/-/serviceAccounts/<EMAIL>`, first hop first. */
  delegates: readonly string[];
  /** OAuth scopes of the target's token. */
  scopes: readonly string[];
  /** Asked lifetime in seconds. @default 3600 */
  lifetimeSeconds: number | undefined;
}

/** A federated-only client and what it asks IAM Credentials for through it. @internal */
export interface DelegationChain {
  /** Sends the request with its federated token, exchanging the Skyporten token when it is due. */
  source: AuthClient;
  /** The target, the chain, the scopes and the lifetime. */
  request: ChainRequest;
}

/**
 * `generateAccessToken` with a delegation chain. google-auth-library's external-account client cannot send
 * `delegates` (its `service_account_impersonation` config has only `token_lifetime_seconds`), so this sends the
 * body its `Impersonated` client sends, `{ delegates, scope, lifetime }`, through the chain's federated-only client.
 * `Impersonated` itself is not used because its constructor prints a warning about unvalidated credential
 * configuration for every client (google-auth-library 11.3); these options are validated.
 *
 * @internal
 */
export async function impersonateThroughChain(
  { source, request }: DelegationChain,
  retry: Parameters<AuthClient['request']>[0],
): Promise<GoogleToken & { access_token: string | null; expiry_date: number }> {
  const response = await source.request<{ accessToken?: unknown; expireTime?: unknown }>({
    ...retry,
    url: request.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    data: { delegates: request.delegates, scope: request.scopes, lifetime: `${request.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS}s` },
    responseType: 'json',
  });
  const { accessToken, expireTime } = response.data;
  return { access_token: typeof accessToken === 'string' ? accessToken : null, expiry_date: Date.parse(String(expireTime)), res: response };
}
