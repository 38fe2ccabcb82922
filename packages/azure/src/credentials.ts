import { ClientAssertionCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { isLoopbackHost, type MaskinportenClient } from '@skyporten/core';
import { CloudExchangeError, createKeyedCache, decodeSkyportenToken, isRetryable, logEvent } from '@skyporten/core/adapter';
import { requireAudience, resolveMaskinportenClient, systemClock, type Expiring } from '@skyporten/core/adapter';
import { createFailureRecorder, translateEntraError } from './errors.js';
import { resolveEntraSettings, type SkyportenCredentialsOptions } from './options.js';

/** A `TokenCredential` that signs in to Entra ID with a Skyporten token, for any `@azure/*` client. @public */
export interface SkyportenTokenCredential extends TokenCredential {
  /** An Entra ID access token for `scopes` (e.g. `https://storage.azure.com/.default`). */
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken>;
  /** The tenant, validated (from the option or `AZURE_TENANT_ID`). */
  readonly tenantId: string;
  /** The managed identity's or app registration's client id, validated (from the option or `AZURE_CLIENT_ID`). */
  readonly clientId: string;
  /** Entra ID's host, without a trailing slash. */
  readonly authorityHost: string;
  /** The Maskinporten client whose cached token is the client assertion. */
  readonly maskinporten: MaskinportenClient;
}

/** The `getAssertion` callback for `ClientAssertionCredential`: the client's cached Skyporten token, checked to have an `aud`. @public */
export function createAssertionSupplier(maskinporten: MaskinportenClient): () => Promise<string> {
  let checked: string | undefined; // the last token found to have an audience: each token is decoded once
  return async () => {
    const accessToken = await maskinporten.getAccessToken();
    if (accessToken !== checked) {
      requireAudience(accessToken, 'Entra ID');
      checked = accessToken;
    }
    return accessToken;
  };
}

/** An Entra ID token as core's cache keeps it; `issuedAt` is when this token was first seen. */
type CachedToken = Expiring & { token: AccessToken; issuedAt: Date };

/** A `TokenCredential` for any `@azure/*` client, signing in to Entra ID with the Skyporten token (see the README). @public */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenTokenCredential {
  const { tenantId, clientId, authorityHost, safetyMarginSeconds, identityOptions } = resolveEntraSettings(options);
  const { logger, clock = systemClock, env } = options;
  const maskinporten = resolveMaskinportenClient(options.maskinporten, { env, clock, logger });
  const supplyAssertion = createAssertionSupplier(maskinporten);
  const recorder = createFailureRecorder();
  const inner = new ClientAssertionCredential(tenantId, clientId, supplyAssertion, {
    ...identityOptions,
    // A local mock cannot answer instance discovery, which MSAL would otherwise send to Microsoft.
    disableInstanceDiscovery: identityOptions.disableInstanceDiscovery ?? isLoopbackHost(new URL(authorityHost).hostname),
    authorityHost,
    additionalPolicies: [...(identityOptions.additionalPolicies ?? []), recorder.policy],
  });

  async function attempt(scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    const since = recorder.nextSequence();
    // The Skyporten token first: its errors keep their type, and a missing resource fails before Entra ID is called.
    const assertion = await supplyAssertion();
    return inner.getToken(scopes, getTokenOptions).catch((error: unknown) => {
      throw translateEntraError(error, { tenantId, clientId, assertion: decodeSkyportenToken(assertion), ...recorder.failureOf(error, since) });
    });
  }

  // One core cache per scopes/tenant: concurrent callers share one call to MSAL, which decides when to ask Entra ID.
  const tokens = createKeyedCache(
    async ({ scopes, shared }: { scopes: string[]; shared: GetTokenOptions }, { current }): Promise<CachedToken> => {
      const token = await attempt(scopes, shared).catch((error: unknown) => {
        if (!CloudExchangeError.isInstance(error) || error.cloudCode !== 'AADSTS700024') throw error;
        logEvent(logger, 'warn', 'Entra ID found the Skyporten token outside its valid time range; retrying once with a fresh token', { cloudCode: error.cloudCode });
        maskinporten.invalidate();
        return attempt(scopes, shared);
      }).catch((error: unknown) => {
        const { code, cloudCode } = error as Partial<CloudExchangeError>;
        logEvent(logger, 'warn', 'Entra ID token request failed', { code, cloudCode, isRetryable: isRetryable(error) });
        throw error;
      });
      logEvent(logger, 'debug', 'Entra ID token ready', { tenantId, clientId, scopes, expiresOn: new Date(token.expiresOnTimestamp).toISOString() });
      const last = current as CachedToken | undefined;
      return { token, expiresAt: new Date(token.expiresOnTimestamp), issuedAt: last?.token.token === token.token ? last.issuedAt : new Date(clock()) };
    },
    {
      clock,
      logger,
      safetyMarginSeconds,
      name: 'Entra ID token',
      refreshWindowSeconds: 0,
      keepOnRetryableFailure: true,
      keyOf: ({ scopes, shared }) => JSON.stringify([scopes, shared.tenantId ?? '', shared.claims ?? '', shared.enableCae === true]),
    },
  );

  async function getToken(scopes: string | string[], getTokenOptions: GetTokenOptions = {}): Promise<AccessToken> {
    // The caller's abort signal only stops its own wait; the shared call goes on for the others.
    const { abortSignal, ...shared } = getTokenOptions;
    const signal = abortSignal as AbortSignal | undefined;
    return (await tokens.get({ scopes: [scopes].flat().sort(), shared }, { forceRefresh: true, signal })).token;
  }
  return { tenantId, clientId, authorityHost, maskinporten, getToken };
}
