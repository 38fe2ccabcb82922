import type { ClientAssertionCredentialOptions } from '@azure/identity';
import { checkNumber, ConfigError, type Clock, type Logger, type MaskinportenClientOrOptions } from '@skyporten/core/adapter';

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
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /** The Entra ID tenant (directory) id, a GUID, or a verified domain. @default `AZURE_TENANT_ID` */
  tenantId?: string | undefined;
  /**
   * The client id of the user-assigned managed identity or app registration that carries the federated
   * identity credential (not its principal/object id).
   * @default `AZURE_CLIENT_ID`
   */
  clientId?: string | undefined;
  /**
   * Entra ID's host, for sovereign clouds or a local mock; must be https.
   * @default `AZURE_AUTHORITY_HOST`, else "https://login.microsoftonline.com"
   */
  authorityHost?: string | undefined;
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
  safetyMarginSeconds?: number | undefined;
  /** Receives debug and warn events; never a token. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the safety margin. @default Date.now */
  clock?: Clock | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Record<string, string | undefined> | false;
}

const GUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z\d]([a-z\d-]{0,61}[a-z\d])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

/**
 * Reads `tenantId`, `clientId` and `authorityHost` from the options, else from `AZURE_TENANT_ID`,
 * `AZURE_CLIENT_ID` and `AZURE_AUTHORITY_HOST`, and checks them and `safetyMarginSeconds`. A `ConfigError`
 * names the option, or the environment variable when the value came from there. `identityOptions` are the
 * options passed on to `ClientAssertionCredential`; `authorityHost` has no trailing slash.
 */
export function resolveEntraSettings(options: SkyportenCredentialsOptions) {
  const { maskinporten: _m, logger: _l, clock: _c, env: envOption, safetyMarginSeconds = 60, tenantId: tenantOption, clientId: clientOption, ...rest } = options;
  const { authorityHost: hostOption, ...identityOptions } = rest;
  checkNumber(safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  const env = envOption === false ? {} : (envOption ?? process.env);
  /** The option, else the environment variable, with the name to blame. */
  const read = (value: string | undefined, name: string, variable: string) =>
    value === undefined && env[variable] !== undefined ? { value: env[variable], field: variable } : { value, field: name };

  const tenant = read(tenantOption, 'tenantId', 'AZURE_TENANT_ID');
  const tenantId = tenant.value?.trim() ?? '';
  if (tenantId === '') {
    throw new ConfigError(tenant.field, 'tenantId is required (or AZURE_TENANT_ID): the directory (tenant) id of the data provider\'s Entra ID, a GUID.');
  }
  if (MULTI_TENANT.has(tenantId.toLowerCase())) {
    throw new ConfigError(tenant.field, `tenantId "${tenantId}" is not a tenant: a federated credential lives in one tenant, so give its GUID.`);
  }
  if (!GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
    throw new ConfigError(tenant.field, `tenantId "${tenantId}" is neither a GUID nor a domain name: use the directory (tenant) id, e.g. "72f988bf-86f1-41af-91ab-2d7cd011db47".`);
  }

  const client = read(clientOption, 'clientId', 'AZURE_CLIENT_ID');
  const clientId = client.value?.trim() ?? '';
  if (clientId === '') {
    throw new ConfigError(
      client.field,
      'clientId is required (or AZURE_CLIENT_ID): the client id of the managed identity or app registration that has the federated credential.',
    );
  }
  if (!GUID.test(clientId)) {
    throw new ConfigError(client.field, `clientId "${clientId}" is not a GUID: use the managed identity's client id (a GUID), not its name or resource id.`);
  }

  const host = read(hostOption, 'authorityHost', 'AZURE_AUTHORITY_HOST');
  const authorityHost = host.value ?? DEFAULT_AUTHORITY_HOST;
  if (!URL.canParse(authorityHost)) {
    throw new ConfigError(host.field, `authorityHost "${authorityHost}" is not a URL: use e.g. "${DEFAULT_AUTHORITY_HOST}".`);
  }
  if (new URL(authorityHost).protocol !== 'https:') {
    throw new ConfigError(host.field, `authorityHost must use https (got "${authorityHost}"): @azure/identity refuses anything else.`, {
      hint: 'For a local mock, serve it over https and trust its certificate (see the @skyporten/azure README).',
    });
  }

  return { tenantId, clientId, authorityHost: authorityHost.replace(/\/+$/, ''), safetyMarginSeconds, identityOptions };
}
