import type { AccessToken, GetTokenOptions } from '@azure/identity';
import { createKeyedCache, type Clock, type Expiring, type Logger } from '@skyporten/core/adapter';

/** An Entra ID token for `scopes`: MSAL's cached one, or a new one from Entra ID. */
export type EntraTokenSource = (scopes: string[], options: GetTokenOptions) => Promise<AccessToken>;

/** An Entra ID token as core's cache keeps it; `issuedAt` is when this token was first seen. */
interface CachedToken extends Expiring {
  token: AccessToken;
  issuedAt: Date;
}

interface TokenKey {
  scopes: string[];
  options: GetTokenOptions;
}

/**
 * The adapter's layer over MSAL's own cache: one core cache per scopes/tenant key. Every `getToken` asks
 * `source` (MSAL decides when to go to Entra ID), concurrent callers sharing one call. After a retryable failure
 * the last token stays in use, with a warning, while core's cache would still hand it out: until
 * min(safetyMarginSeconds, 10 % of its lifetime) before it expires (`keepOnRetryableFailure`). Other failures
 * are thrown at once.
 */
export function createEntraTokenCache(source: EntraTokenSource, settings: { clock: Clock; logger: Logger | undefined; safetyMarginSeconds: number }) {
  const { clock } = settings;
  const tokens = createKeyedCache(
    async ({ scopes, options }: TokenKey, { current }): Promise<CachedToken> => {
      const token = await source(scopes, options);
      const last = current as CachedToken | undefined;
      return { token, expiresAt: new Date(token.expiresOnTimestamp), issuedAt: last?.token.token === token.token ? last.issuedAt : new Date(clock()) };
    },
    {
      ...settings,
      name: 'Entra ID token',
      // No refresh ahead: MSAL decides when to ask Entra ID. The safety margin is core's rule.
      refreshWindowSeconds: 0,
      keepOnRetryableFailure: true,
      keyOf: ({ scopes, options }) => JSON.stringify([scopes, options.tenantId ?? '', options.claims ?? '', options.enableCae === true]),
    },
  );

  return {
    async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
      // The caller's abort signal only stops its own wait; the shared call goes on for the others.
      const { abortSignal, ...shared } = options;
      const signal = abortSignal as AbortSignal | undefined;
      const key = { scopes: (Array.isArray(scopes) ? scopes : [scopes]).slice().sort(), options: shared };
      return (await tokens.get(key, { forceRefresh: true, ...(signal === undefined ? {} : { signal }) })).token;
    },
  };
}
