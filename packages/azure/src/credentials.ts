import { ClientAssertionCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { isLoopbackHost, type MaskinportenClient } from '@skyporten/core';
import {
  CloudExchangeError,
  ConfigError,
  decodeSkyportenToken,
  isRetryable,
  logEvent,
  requireAudience,
  resolveMaskinportenClient,
  systemClock,
} from '@skyporten/core/adapter';
import { errorFields, translateEntraError } from './errors.js';
import { createFailureRecorder } from './failure-recorder.js';
import { resolveEntraSettings, type SkyportenCredentialsOptions } from './options.js';
import { createEntraTokenCache } from './token-cache.js';

/**
 * A `TokenCredential` that signs in to Entra ID with a Skyporten token. Use it with any `@azure/*` client.
 *
 * @example
 * ```ts
 * const credential: SkyportenTokenCredential = skyportenCredentials();
 * const { token, expiresOnTimestamp } = await credential.getToken('https://storage.azure.com/.default');
 * ```
 * @public
 */
export interface SkyportenTokenCredential extends TokenCredential {
  /** An Entra ID access token for `scopes` (e.g. `https://storage.azure.com/.default`), cached by `@azure/identity`. */
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

/**
 * The `getAssertion` callback for `ClientAssertionCredential`: the current Skyporten access token from the
 * client's cache (fetched or refreshed only when needed), after checking it has an audience.
 * `@azure/identity` calls it on every `getToken`, even when its own cache answers, so it must be cheap.
 *
 * @example
 * ```ts
 * const credential = new ClientAssertionCredential(tenantId, clientId, createAssertionSupplier(maskinporten));
 * ```
 * @throws ConfigError naming `resource` when the token has no `aud`; the client's errors otherwise.
 * @public
 */
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

/**
 * Creates an `@azure/identity` `TokenCredential` that signs in to Entra ID as a user-assigned managed identity
 * (or app registration) through its federated identity credential, presenting the Skyporten token as the
 * client assertion (`ClientAssertionCredential`). Hand it to any `@azure/*` client.
 *
 * - Tokens: `@azure/identity` (MSAL) caches the Entra ID token and refreshes it 5 minutes before expiry; the
 *   Skyporten token comes from the Maskinporten client's cache, so a cached Entra token costs no
 *   Maskinporten request. When that refresh fails with a retryable error (an outage of Entra ID or
 *   Maskinporten) while the last token is still valid, callers keep getting it (a warning is logged) until
 *   `safetyMarginSeconds` before it expires.
 * - Concurrency: concurrent `getToken` calls for the same scopes share one request (MSAL alone would send
 *   one per caller on a cold cache).
 * - Errors: a `CloudExchangeError` with the AADSTS code as `cloudCode` and a hint; problems getting
 *   the Skyporten token keep their own error (e.g. `ConfigError` for a missing `resource`), thrown before
 *   Entra ID is called. When Entra ID finds the Skyporten token expired (AADSTS700024), the cached token is
 *   dropped and the request tried once more with a fresh one.
 *
 * Options are validated here; a `ConfigError` names the option.
 *
 * @example
 * ```ts
 * import { BlobServiceClient } from '@azure/storage-blob';
 * import { skyportenCredentials } from '@skyporten/azure';
 *
 * const credential = skyportenCredentials({
 *   tenantId: '00000000-0000-0000-0000-000000000000',
 *   clientId: '11111111-1111-1111-1111-111111111111', // the managed identity's client id
 *   maskinporten: { environment: 'test', clientId: 'my-integration', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org', key },
 * });
 * const blobs = new BlobServiceClient('https://account.blob.core.windows.net', credential);
 * ```
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenTokenCredential {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', 'skyportenCredentials takes an options object.');
  }
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
    // Get (and check) the Skyporten token first: its errors then keep their type, and a missing resource
    // fails before Entra ID is called. MSAL asks again right after, which the client's cache answers.
    let assertion: string | undefined;
    try {
      assertion = await supplyAssertion();
      const token = await inner.getToken(scopes, getTokenOptions);
      logEvent(logger, 'debug', 'Entra ID token ready', { tenantId, clientId, scopes, expiresOn: new Date(token.expiresOnTimestamp).toISOString() });
      return token;
    } catch (error) {
      // The token's iss, sub and aud (not secret) go into mismatch hints.
      const decoded = assertion === undefined ? undefined : decodeSkyportenToken(assertion);
      throw translateEntraError(error, { tenantId, clientId, assertion: decoded, ...recorder.failureOf(error, since) });
    }
  }

  /** MSAL's answer (its cache, or Entra ID); once more with a fresh Skyporten token if Entra ID found it expired. */
  async function requestToken(scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    try {
      return await attempt(scopes, getTokenOptions).catch((error: unknown) => {
        if (!CloudExchangeError.isInstance(error) || error.cloudCode !== 'AADSTS700024') throw error;
        logEvent(logger, 'warn', 'Entra ID found the Skyporten token outside its valid time range; retrying once with a fresh token', { cloudCode: error.cloudCode });
        maskinporten.invalidate();
        return attempt(scopes, getTokenOptions);
      });
    } catch (error) {
      logEvent(logger, 'warn', 'Entra ID token request failed', { ...errorFields(error), isRetryable: isRetryable(error) });
      throw error;
    }
  }

  const tokens = createEntraTokenCache(requestToken, { clock, logger, safetyMarginSeconds });
  return {
    tenantId,
    clientId,
    authorityHost,
    maskinporten,
    getToken: tokens.getToken,
  };
}
