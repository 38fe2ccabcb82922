import {
  ClientAssertionCredential,
  type AccessToken,
  type ClientAssertionCredentialOptions,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import {
  CloudExchangeError,
  ConfigError,
  SkyportenError,
  isLoopbackHost,
  logEvent,
  requireAudience,
  resolveMaskinportenClient,
  systemClock,
  waitWithSignal,
  type Clock,
  type DecodedSkyportenToken,
  type Logger,
  type MaskinportenClient,
  type MaskinportenClientOrOptions,
} from '@skyporten/core';
import { correlationIdOf, translateEntraError } from './errors.js';
import { createFailureRecorder } from './failure-recorder.js';

/**
 * The public Azure cloud's Entra ID, the default `authorityHost`.
 *
 * @example
 * ```ts
 * skyportenCredentials({ authorityHost: process.env.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST });
 * ```
 * @public
 */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Default of `safetyMarginSeconds`. */
const DEFAULT_SAFETY_MARGIN_SECONDS = 60;

/**
 * Options of {@link skyportenCredentials}. Besides its own, it takes every option of `@azure/identity`'s
 * `ClientAssertionCredential` (`disableInstanceDiscovery`, `additionallyAllowedTenants`, `httpClient`,
 * `additionalPolicies`, `tlsOptions`, `retryOptions`, `proxyOptions`, `loggingOptions`, ...) and passes them on.
 *
 * @example
 * ```ts
 * const options: SkyportenCredentialsOptions = { tenantId, clientId, maskinporten: sharedMaskinportenClient };
 * ```
 * @public
 */
export interface SkyportenCredentialsOptions extends Omit<ClientAssertionCredentialOptions, 'authorityHost'> {
  /**
   * A Maskinporten client, or options for one (`resource` is required: the audience in the federated
   * credential). @default options from the environment (SKYPORTEN_ENV, MASKINPORTEN_CLIENT_ID, ...)
   */
  maskinporten?: MaskinportenClientOrOptions;
  /** The Entra ID tenant (directory) id, a GUID, or a verified domain. @default `AZURE_TENANT_ID` */
  tenantId?: string;
  /**
   * The client id of the user-assigned managed identity or app registration that carries the federated
   * identity credential (not its principal/object id).
   * @default `AZURE_CLIENT_ID`
   */
  clientId?: string;
  /**
   * Entra ID's host, for sovereign clouds or a local mock; must be https.
   * @default `AZURE_AUTHORITY_HOST`, else "https://login.microsoftonline.com"
   */
  authorityHost?: string;
  /**
   * Skip MSAL's instance discovery (a request to Microsoft that validates the authority host).
   * @default true when `authorityHost` is a loopback address (a local mock), else false
   */
  disableInstanceDiscovery?: boolean;
  /**
   * When getting a token fails with a retryable error (Entra ID or Maskinporten unavailable, or MSAL replaying
   * such a failure), keep handing out the last Entra ID token for the same scopes and tenant, with a warning,
   * until this many seconds before it expires; closer to expiry the error is thrown. Capped at a tenth of the
   * token's lifetime. MSAL refreshes 5 minutes before expiry, so this bridges an outage in that window.
   * Non-retryable errors are thrown at once.
   * @default 60
   */
  safetyMarginSeconds?: number;
  /** Receives debug and warn events; never a token. */
  logger?: Logger;
  /** Current time in milliseconds, for the safety margin. @default Date.now */
  clock?: Clock;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Record<string, string | undefined> | false;
}

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

const GUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z\d]([a-z\d-]{0,61}[a-z\d])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

function validateTenantId(value: string | undefined, source: string): string {
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(source, 'tenantId is required (or AZURE_TENANT_ID): the directory (tenant) id of the data provider\'s Entra ID, a GUID.');
  }
  const tenantId = value.trim();
  if (MULTI_TENANT.has(tenantId.toLowerCase())) {
    throw new ConfigError(source, `tenantId "${tenantId}" is not a tenant: a federated credential lives in one tenant, so give its GUID.`);
  }
  if (!GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
    throw new ConfigError(source, `tenantId "${tenantId}" is neither a GUID nor a domain name: use the directory (tenant) id, e.g. "72f988bf-86f1-41af-91ab-2d7cd011db47".`);
  }
  return tenantId;
}

function validateClientId(value: string | undefined, source: string): string {
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(
      source,
      'clientId is required (or AZURE_CLIENT_ID): the client id of the managed identity or app registration that has the federated credential.',
    );
  }
  const clientId = value.trim();
  if (!GUID.test(clientId)) {
    throw new ConfigError(source, `clientId "${clientId}" is not a GUID: use the managed identity's client id (a GUID), not its name or resource id.`);
  }
  return clientId;
}

function validateAuthorityHost(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(source, `authorityHost "${value}" is not a URL: use e.g. "${DEFAULT_AUTHORITY_HOST}".`);
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(source, `authorityHost must use https (got "${value}"): @azure/identity refuses anything else.`, {
      hint: 'For a local mock, serve it over https and trust its certificate (see the @skyporten/azure README).',
    });
  }
  return value.replace(/\/+$/, '');
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
  return async () => {
    const accessToken = await maskinporten.getAccessToken();
    requireAudience(accessToken, 'Entra ID');
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
  const {
    maskinporten: maskinportenOption,
    tenantId: tenantOption,
    clientId: clientOption,
    authorityHost: hostOption,
    safetyMarginSeconds = DEFAULT_SAFETY_MARGIN_SECONDS,
    logger,
    clock = systemClock,
    env: envOption,
    ...identityOptions
  } = options;
  if (typeof safetyMarginSeconds !== 'number' || !Number.isFinite(safetyMarginSeconds) || safetyMarginSeconds < 0) {
    throw new ConfigError('safetyMarginSeconds', `safetyMarginSeconds must be a number of seconds, 0 or more, got ${String(safetyMarginSeconds)}.`);
  }
  const env = envOption === false ? {} : (envOption ?? process.env);
  const tenantId = validateTenantId(tenantOption ?? env.AZURE_TENANT_ID, tenantOption === undefined && env.AZURE_TENANT_ID !== undefined ? 'AZURE_TENANT_ID' : 'tenantId');
  const clientId = validateClientId(clientOption ?? env.AZURE_CLIENT_ID, clientOption === undefined && env.AZURE_CLIENT_ID !== undefined ? 'AZURE_CLIENT_ID' : 'clientId');
  const authorityHost = validateAuthorityHost(
    hostOption ?? env.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST,
    hostOption === undefined && env.AZURE_AUTHORITY_HOST !== undefined ? 'AZURE_AUTHORITY_HOST' : 'authorityHost',
  );
  const maskinporten = resolveMaskinportenClient(maskinportenOption, { env: envOption, clock, logger });
  const supplyAssertion = createAssertionSupplier(maskinporten);
  const recorder = createFailureRecorder();
  const inner = new ClientAssertionCredential(tenantId, clientId, supplyAssertion, {
    ...identityOptions,
    // A local mock cannot answer instance discovery, which MSAL would otherwise send to Microsoft.
    disableInstanceDiscovery: identityOptions.disableInstanceDiscovery ?? isLoopbackHost(new URL(authorityHost).hostname),
    authorityHost,
    additionalPolicies: [...(identityOptions.additionalPolicies ?? []), recorder.policy],
  });
  const pending = new Map<string, Promise<AccessToken>>();
  /** The last token per scopes/tenant key, and when it was first seen (for its lifetime). */
  const lastTokens = new Map<string, { token: AccessToken; obtainedAt: number }>();

  async function attempt(scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    const since = recorder.nextSequence();
    // Get (and check) the Skyporten token first: its errors then keep their type, and a missing resource
    // fails before Entra ID is called. MSAL asks again right after, which the client's cache answers.
    let assertion: DecodedSkyportenToken | undefined;
    try {
      assertion = requireAudience(await maskinporten.getAccessToken(), 'Entra ID');
      const token = await inner.getToken(scopes, getTokenOptions);
      logEvent(logger, 'debug', 'Entra ID token ready', { tenantId, clientId, scopes, expiresOn: new Date(token.expiresOnTimestamp).toISOString() });
      return token;
    } catch (error) {
      const failure = recorder.find(since, correlationIdOf(error));
      // No request failed during this call, yet Entra ID's answer came back: MSAL's throttling replayed an earlier 429/5xx.
      const replayed = failure === undefined ? recorder.replayed(error instanceof Error ? error.message : String(error)) : undefined;
      throw translateEntraError(error, { tenantId, clientId, assertion, failure: failure ?? replayed, throttled: replayed !== undefined });
    }
  }

  async function requestToken(scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    try {
      return await attempt(scopes, getTokenOptions);
    } catch (error) {
      if (!(error instanceof CloudExchangeError) || error.cloudCode !== 'AADSTS700024') throw logFailure(error);
      // Entra ID found the cached Skyporten token expired (clock skew, or a token held too long): drop it and
      // try once more with a fresh one.
      logEvent(logger, 'warn', 'Entra ID found the Skyporten token outside its valid time range; retrying once with a fresh token', { cloudCode: error.cloudCode });
      maskinporten.invalidate();
      try {
        return await attempt(scopes, getTokenOptions);
      } catch (retryError) {
        throw logFailure(retryError);
      }
    }
  }

  async function requestOrKeep(key: string, scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    try {
      const token = await requestToken(scopes, getTokenOptions);
      if (lastTokens.get(key)?.token.token !== token.token) lastTokens.set(key, { token, obtainedAt: clock() });
      return token;
    } catch (error) {
      const kept = keptThrough(lastTokens.get(key), error);
      if (kept === undefined) throw error;
      return kept;
    }
  }

  /** The last token, when `error` is retryable and that token is still valid beyond the safety margin. */
  function keptThrough(last: { token: AccessToken; obtainedAt: number } | undefined, error: unknown): AccessToken | undefined {
    if (last === undefined || !SkyportenError.isInstance(error) || !error.isRetryable) return undefined;
    const expiresAt = last.token.expiresOnTimestamp;
    const now = clock();
    const margin = Math.min(safetyMarginSeconds * 1000, (expiresAt - last.obtainedAt) * 0.1);
    if (now >= expiresAt - margin) return undefined;
    logEvent(logger, 'warn', 'the Entra ID token could not be refreshed; the current one stays in use until its safety margin', {
      code: error.code,
      cloudCode: error instanceof CloudExchangeError ? error.cloudCode : undefined,
      expiresOn: new Date(expiresAt).toISOString(),
      usableForSeconds: Math.floor((expiresAt - margin - now) / 1000),
    });
    return last.token;
  }

  function logFailure(error: unknown): unknown {
    logEvent(logger, 'warn', 'Entra ID token request failed', {
      code: SkyportenError.isInstance(error) ? error.code : undefined,
      cloudCode: error instanceof CloudExchangeError ? error.cloudCode : undefined,
      isRetryable: SkyportenError.isInstance(error) ? error.isRetryable : undefined,
    });
    return error;
  }

  return {
    tenantId,
    clientId,
    authorityHost,
    maskinporten,
    getToken(scopes, getTokenOptions = {}) {
      const scopeList = (Array.isArray(scopes) ? scopes : [scopes]).slice().sort();
      const key = JSON.stringify([scopeList, getTokenOptions.tenantId ?? '', getTokenOptions.claims ?? '', getTokenOptions.enableCae === true]);
      let shared = pending.get(key);
      if (shared === undefined) {
        // The caller's abort signal only stops its own wait; the shared request goes on for the others.
        const { abortSignal: _abortSignal, ...sharedOptions } = getTokenOptions;
        const request: Promise<AccessToken> = requestOrKeep(key, scopeList, sharedOptions).finally(() => {
          if (pending.get(key) === request) pending.delete(key);
        });
        shared = request;
        pending.set(key, request);
      }
      return waitWithSignal(shared, getTokenOptions.abortSignal as AbortSignal | undefined);
    },
  };
}
