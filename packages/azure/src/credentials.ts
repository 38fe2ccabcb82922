import { ClientAssertionCredential, type AccessToken, type ClientAssertionCredentialOptions, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { isLoopbackHost, type Environment, type MaskinportenClient } from '@skyporten/core';
import { checkNumber, ConfigError, createKeyedCache, environmentOf, isRetryable, logEvent, presentedTokens, resolveMaskinportenClient } from '@skyporten/core/adapter';
import { systemClock, withFreshTokenOnExpiry, type AdapterOptions, CloudExchangeError, type Expiring, type LoadContext } from '@skyporten/core/adapter';
import { failureOf, recordFailures, translateEntraError, type EntraFailure } from './errors.js';

/** The public Azure cloud's Entra ID, the default `authorityHost`. @public */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Options of {@link skyportenCredentials}; `ClientAssertionCredential`'s own options are passed on. @public */
export interface SkyportenCredentialsOptions extends Omit<ClientAssertionCredentialOptions, 'authorityHost'>, AdapterOptions {
  /** The Entra ID tenant (directory) id, a GUID, or a verified domain. @default `AZURE_TENANT_ID` */
  tenantId?: string | undefined;
  /** The client id (not the principal id) of the managed identity or app registration. @default `AZURE_CLIENT_ID` */
  clientId?: string | undefined;
  /** Entra ID's host, for sovereign clouds or a local mock; https only. @default `AZURE_AUTHORITY_HOST`, else {@link DEFAULT_AUTHORITY_HOST} */
  authorityHost?: string | undefined;
  /** Skip MSAL's instance discovery (a request to Microsoft). @default true for a loopback `authorityHost`, else false */
  disableInstanceDiscovery?: boolean;
  /** After a retryable failure, keep the last token until this many seconds before expiry (see the README). @default 60 */
  safetyMarginSeconds?: number | undefined;
}

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
  const presented = presentedTokens(maskinporten, 'Entra ID');
  return async () => (await presented()).token;
}

type CachedToken = Expiring & { token: AccessToken; issuedAt: Date }; // issuedAt: when this token was first seen
const GUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z\d]([a-z\d-]{0,61}[a-z\d])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT = /^(common|organizations|consumers)$/i;
const isExpiredAssertion = (error: unknown) => CloudExchangeError.isInstance(error) && error.cloudCode === 'AADSTS700024';

function check(ok: boolean, field: string, message: string, hint?: string): void {
  if (!ok) throw new ConfigError(field, message, { hint });
}

/** The option's value, else its environment variable's (trimmed), with the name a ConfigError blames. */
function setting(value: string | undefined, option: string, env: Environment, variable: string): [string | undefined, string] {
  if (value !== undefined || env[variable] === undefined) return [value?.trim(), option];
  return [env[variable].trim(), variable];
}

/** A `TokenCredential` for any `@azure/*` client, signing in to Entra ID with the Skyporten token (see the README). @public */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenTokenCredential {
  check(typeof options === 'object' && options !== null, 'options', 'skyportenCredentials takes an options object.');
  const { maskinporten: maskinportenOption, logger, clock = systemClock, env: envOption, safetyMarginSeconds = 60, ...rest } = options;
  const { tenantId: tenantOption, clientId: clientOption, authorityHost: hostOption, ...identityOptions } = rest;
  checkNumber(safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  const env = environmentOf(envOption);
  const [tenantId = '', tenantField] = setting(tenantOption, 'tenantId', env, 'AZURE_TENANT_ID');
  check(tenantId !== '', tenantField, 'tenantId is required (or AZURE_TENANT_ID): the directory (tenant) id of the data provider\'s Entra ID, a GUID.');
  check(!MULTI_TENANT.test(tenantId), tenantField, `tenantId "${tenantId}" is not a tenant: a federated credential lives in one tenant, so give its GUID.`);
  const example = 'e.g. "72f988bf-86f1-41af-91ab-2d7cd011db47"';
  check(GUID.test(tenantId) || DOMAIN.test(tenantId), tenantField, `tenantId "${tenantId}" is neither a GUID nor a domain name: use the directory (tenant) id, ${example}.`);
  const [clientId = '', clientField] = setting(clientOption, 'clientId', env, 'AZURE_CLIENT_ID');
  check(clientId !== '', clientField, 'clientId is required (or AZURE_CLIENT_ID): the client id of the managed identity or app registration that has the federated credential.');
  check(GUID.test(clientId), clientField, `clientId "${clientId}" is not a GUID: use the managed identity's client id (a GUID), not its name or resource id.`);
  const [host = DEFAULT_AUTHORITY_HOST, hostField] = setting(hostOption, 'authorityHost', env, 'AZURE_AUTHORITY_HOST');
  check(URL.canParse(host), hostField, `authorityHost "${host}" is not a URL: use e.g. "${DEFAULT_AUTHORITY_HOST}".`);
  const hint = 'For a local mock, serve it over https and trust its certificate (see the @skyporten/azure README).';
  check(new URL(host).protocol === 'https:', hostField, `authorityHost must use https (got "${host}"): @azure/identity refuses anything else.`, hint);
  const authorityHost = host.replace(/\/+$/, '');
  const maskinporten = resolveMaskinportenClient(maskinportenOption, { env: envOption, clock, logger });
  const presented = presentedTokens(maskinporten, 'Entra ID');
  const failures: EntraFailure[] = [];
  const inner = new ClientAssertionCredential(tenantId, clientId, async () => (await presented()).token, {
    ...identityOptions,
    disableInstanceDiscovery: identityOptions.disableInstanceDiscovery ?? isLoopbackHost(new URL(authorityHost).hostname),
    authorityHost,
    additionalPolicies: [...(identityOptions.additionalPolicies ?? []), recordFailures(failures)],
  });
  async function attempt(scopes: string[], getTokenOptions: GetTokenOptions): Promise<AccessToken> {
    const after = failures.at(-1)?.sequence ?? -1;
    const { decoded } = await presented(); // first: its errors keep their type, and no `resource` fails before Entra ID is called
    return inner.getToken(scopes, getTokenOptions).catch((error: unknown) => {
      throw translateEntraError(error, { tenantId, clientId, assertion: decoded, ...failureOf(failures, error, after) });
    });
  }
  async function load({ scopes, shared }: { scopes: string[]; shared: GetTokenOptions }, { current }: LoadContext): Promise<CachedToken> {
    const token = await withFreshTokenOnExpiry(maskinporten, 'Entra ID', isExpiredAssertion, logger, () => attempt(scopes, shared)).catch((error: unknown) => {
      const { code, cloudCode } = error as Partial<CloudExchangeError>;
      logEvent(logger, 'warn', 'Entra ID token request failed', { code, cloudCode, isRetryable: isRetryable(error) });
      throw error;
    });
    logEvent(logger, 'debug', 'Entra ID token ready', { tenantId, clientId, scopes, expiresOn: new Date(token.expiresOnTimestamp).toISOString() });
    const last = current as CachedToken | undefined;
    return { token, expiresAt: new Date(token.expiresOnTimestamp), issuedAt: last?.token.token === token.token ? last.issuedAt : new Date(clock()) };
  }
  const keyOf = ({ scopes, shared }: Parameters<typeof load>[0]) => JSON.stringify([scopes, shared.tenantId ?? '', shared.claims ?? '', shared.enableCae === true]);
  // No refresh ahead (MSAL decides when to ask Entra ID); the kept token after a retryable failure is core's rule.
  const tokens = createKeyedCache(load, { clock, logger, safetyMarginSeconds, name: 'Entra ID token', refreshWindowSeconds: 0, keepOnRetryableFailure: true, keyOf });
  async function getToken(scopes: string | string[], getTokenOptions: GetTokenOptions = {}): Promise<AccessToken> {
    const { abortSignal, ...shared } = getTokenOptions; // the caller's signal stops its own wait; the shared call goes on
    return (await tokens.get({ scopes: [scopes].flat().sort(), shared }, { forceRefresh: true, signal: abortSignal as AbortSignal | undefined })).token;
  }
  return { tenantId, clientId, authorityHost, maskinporten, getToken };
}
