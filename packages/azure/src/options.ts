import type { ClientAssertionCredentialOptions } from '@azure/identity';
import { checkNumber, ConfigError, type Clock, type Logger, type MaskinportenClientOrOptions } from '@skyporten/core/adapter';

/** The public Azure cloud's Entra ID, the default `authorityHost`. @public */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** Options of {@link skyportenCredentials}; `ClientAssertionCredential`'s own options are passed on. @public */
export interface SkyportenCredentialsOptions extends Omit<ClientAssertionCredentialOptions, 'authorityHost'> {
  /** A Maskinporten client, or options for one (`resource` is required). @default options from the environment */
  maskinporten?: MaskinportenClientOrOptions | undefined;
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
  /** Receives debug and warn events; never a token. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the safety margin. @default Date.now */
  clock?: Clock | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Record<string, string | undefined> | false;
}

const GUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z\d]([a-z\d-]{0,61}[a-z\d])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT = /^(common|organizations|consumers)$/i;

function check(ok: boolean, field: string, message: string, hint?: string): void {
  if (!ok) throw new ConfigError(field, message, { hint });
}

/** Validates the options; a `ConfigError` names the option, or the `AZURE_*` variable a left-out option came from. */
export function resolveEntraSettings(options: SkyportenCredentialsOptions) {
  check(typeof options === 'object' && options !== null, 'options', 'skyportenCredentials takes an options object.');
  const { maskinporten: _m, logger: _l, clock: _c, env: envOption, safetyMarginSeconds = 60, ...rest } = options;
  const { tenantId: tenantOption, clientId: clientOption, authorityHost: hostOption, ...identityOptions } = rest;
  checkNumber(safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  const env = envOption === false ? {} : (envOption ?? process.env);
  /** The option, else the environment variable, trimmed, with the name to blame. */
  const read = (value: string | undefined, name: string, variable: string) =>
    value === undefined && env[variable] !== undefined ? { value: env[variable].trim(), field: variable } : { value: value?.trim(), field: name };

  const { value: tenantId = '', field: tenantField } = read(tenantOption, 'tenantId', 'AZURE_TENANT_ID');
  check(tenantId !== '', tenantField, 'tenantId is required (or AZURE_TENANT_ID): the directory (tenant) id of the data provider\'s Entra ID, a GUID.');
  check(!MULTI_TENANT.test(tenantId), tenantField, `tenantId "${tenantId}" is not a tenant: a federated credential lives in one tenant, so give its GUID.`);
  const example = 'e.g. "72f988bf-86f1-41af-91ab-2d7cd011db47"';
  check(GUID.test(tenantId) || DOMAIN.test(tenantId), tenantField, `tenantId "${tenantId}" is neither a GUID nor a domain name: use the directory (tenant) id, ${example}.`);

  const { value: clientId = '', field: clientField } = read(clientOption, 'clientId', 'AZURE_CLIENT_ID');
  const what = 'the client id of the managed identity or app registration that has the federated credential';
  check(clientId !== '', clientField, `clientId is required (or AZURE_CLIENT_ID): ${what}.`);
  check(GUID.test(clientId), clientField, `clientId "${clientId}" is not a GUID: use the managed identity's client id (a GUID), not its name or resource id.`);

  const { value: authorityHost = DEFAULT_AUTHORITY_HOST, field: hostField } = read(hostOption, 'authorityHost', 'AZURE_AUTHORITY_HOST');
  check(URL.canParse(authorityHost), hostField, `authorityHost "${authorityHost}" is not a URL: use e.g. "${DEFAULT_AUTHORITY_HOST}".`);
  const hint = 'For a local mock, serve it over https and trust its certificate (see the @skyporten/azure README).';
  check(new URL(authorityHost).protocol === 'https:', hostField, `authorityHost must use https (got "${authorityHost}"): @azure/identity refuses anything else.`, hint);
  return { tenantId, clientId, authorityHost: authorityHost.replace(/\/+$/, ''), safetyMarginSeconds, identityOptions };
}
