import type { ClientAssertionCredentialOptions } from '@azure/identity';
import { CloudExchangeError, isTransientStatus, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core/adapter';

const MISMATCH =
  'No federated identity credential on the managed identity or app registration matches the Skyporten token: its issuer, subject and audience must equal the token\'s iss, sub and aud exactly (case-sensitive, trailing slash included).';

/** What to do about the Entra ID (AADSTS) errors a Skyporten credential meets, keyed by AADSTS code. @public */
export const ENTRA_ERROR_HINTS: Readonly<Record<string, string>> = Object.freeze({
  AADSTS70021: MISMATCH,
  AADSTS700211: `${MISMATCH} Here the issuer differs.`,
  AADSTS700212: `${MISMATCH} Here the audience differs: it must be the resource (SKYPORTEN_RESOURCE) you ask Skyporten for.`,
  AADSTS700213: `${MISMATCH} Here the subject differs: it is "0192:<organisation number>;<scope>".`,
  AADSTS7002137: `${MISMATCH} Here the subject differs (matching is case-sensitive).`,
  AADSTS7002138: `${MISMATCH} Here the subject differs (matching is case-sensitive).`,
  AADSTS700024: 'The Skyporten token was outside its valid time range (exp/nbf) when Entra ID checked it: check this machine\'s clock (NTP), and do not hand out a token cached past its expiry.',
  AADSTS700016: 'Entra ID has no application with this client id in the tenant: use the managed identity\'s client id (AZURE_CLIENT_ID), not its principal (object) id, and check tenantId.',
  AADSTS90002: 'The tenant was not found: check tenantId (AZURE_TENANT_ID) and authorityHost (AZURE_AUTHORITY_HOST, for sovereign clouds).',
  AADSTS900023: 'The tenant id is malformed: use the directory (tenant) GUID or a verified domain.',
  AADSTS50013: 'Entra ID could not verify the Skyporten token\'s signature with the issuer\'s published keys: check that the federated credential\'s issuer is the Skyporten issuer you use (test or prod).',
  AADSTS50027: 'Entra ID could not read the assertion as a JWT.',
  AADSTS1002012: 'The scope must be a resource followed by "/.default", e.g. "https://storage.azure.com/.default".',
  AADSTS70011: 'The scope is not valid: use "<resource>/.default", e.g. "https://storage.azure.com/.default".',
  AADSTS500011: 'The resource in the scope is not known in the tenant: check the scope (e.g. "https://storage.azure.com/.default").',
});

const NETWORK_CODE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;
const firstLine = (text: string) => text.split(/\s+Trace ID:|\r?\n/)[0]!.trim();
const aadstsCode = (text: string | undefined) => (text === undefined ? undefined : /\bAADSTS\d+/.exec(text)?.[0]);
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** What Entra ID answered to a failed request, read before MSAL reduces it to a message. @public */
export interface EntraFailure {
  /** Increases with every failure recorded, so a call can pick only the failures that happened during it. */
  sequence: number;
  /** The HTTP status, e.g. 400 or 429. */
  status: number;
  /** The path of the request, e.g. `/{tenant}/oauth2/v2.0/token`. */
  path: string;
  /** OAuth `error`, e.g. `invalid_request`. */
  error: string | undefined;
  /** The first AADSTS number, e.g. `AADSTS70021`. */
  aadsts: string | undefined;
  /** `error_description`, as sent. */
  description: string | undefined;
  /** MSAL's `client-request-id`, which Entra ID echoes as "Correlation ID". */
  correlationId: string | undefined;
}

/** What is known when a token request fails, for {@link translateEntraError}. @public */
export interface EntraFailureContext {
  /** The tenant the request went to, named in hints. */
  tenantId: string;
  /** The managed identity's or app registration's client id, named in hints. */
  clientId: string;
  /** The recorded failed response of this call. @default none: the code is read from the error's message */
  failure?: EntraFailure | undefined;
  /** The Skyporten token presented, decoded (its iss/sub/aud are not secret), shown in mismatch hints. @default none */
  assertion?: DecodedSkyportenToken | undefined;
  /** True when MSAL refused locally, replaying `failure` (a 429/5xx) during its throttle period. @default false */
  throttled?: boolean | undefined;
}

/** Turns what `@azure/identity` throws into a `CloudExchangeError` with `cloudCode`, `status` and a hint; a `SkyportenError` passes through. @public */
export function translateEntraError(error: unknown, context: EntraFailureContext): SkyportenError {
  if (SkyportenError.isInstance(error)) return error;
  const thrown = error as { name?: string; message?: string; statusCode?: number; code?: string; errorResponse?: { errorDescription?: string } };
  const message = stringOrUndefined(thrown.message) ?? String(error);
  const description = context.failure?.description ?? thrown.errorResponse?.errorDescription;
  const cloudCode = context.failure?.aadsts ?? aadstsCode(description) ?? aadstsCode(message);
  const status = context.failure?.status ?? (typeof thrown.statusCode === 'number' ? thrown.statusCode : undefined);
  const networkCode = NETWORK_CODE.test(String(thrown.code)) ? thrown.code : undefined;
  // MSAL reports a failed connection to Entra ID as `network_error`, without the transport's code.
  const isRetryable = networkCode !== undefined || /\bnetwork_error\b/.test(message) || (status !== undefined && isTransientStatus(status));
  let hint = ENTRA_ERROR_HINTS[cloudCode ?? ''];
  if (hint?.startsWith(MISMATCH) && context.assertion !== undefined) hint += ` The token has iss "${context.assertion.issuer}", sub "${context.assertion.subject ?? ''}", aud "${context.assertion.audience.join('", "')}".`;
  if (context.throttled === true) hint = `After Entra ID answered ${status ?? '429/5xx'}, MSAL repeats that answer without asking Entra ID again for a while (60 s by default); try again after that.`;
  if (hint === undefined && isRetryable) hint = 'Entra ID or the network failed; trying again later may succeed.';
  if (hint === undefined && /endpoints_resolution_error/.test(message)) {
    hint = 'Entra ID\'s metadata could not be fetched: check authorityHost, the network and proxy settings, and that its TLS certificate is trusted. Against anything but Microsoft\'s hosts, set disableInstanceDiscovery: true.';
  }
  const reason = description !== undefined ? firstLine(description) : networkCode !== undefined ? `${networkCode} (${message})` : `${thrown.name ?? 'Error'}: ${firstLine(message)}`;
  const where = `client id ${context.clientId} in tenant ${context.tenantId}${status === undefined ? '' : ` (HTTP ${status})`}`;
  return new CloudExchangeError('azure', `Entra ID did not issue a token for ${where}: ${reason}`, { status, cloudCode, hint, cause: error, isRetryable });
}

/** A pipeline policy adding the {@link EntraFailure} of each failed (4xx/5xx) response to `failures` (see the README on why). */
export function recordFailures(failures: EntraFailure[]): NonNullable<ClientAssertionCredentialOptions['additionalPolicies']>[number] {
  return {
    position: 'perRetry',
    policy: {
      name: 'skyportenEntraFailureRecorder',
      async sendRequest(request, next) {
        const response = await next(request);
        if (response.status < 400) return response;
        let body: Record<string, unknown> = {};
        try {
          body = Object(JSON.parse(response.bodyAsText ?? '')) as Record<string, unknown>;
        } catch {}
        const description = stringOrUndefined(body.error_description);
        const aadsts = aadstsCode(description) ?? (Array.isArray(body.error_codes) && typeof body.error_codes[0] === 'number' ? `AADSTS${body.error_codes[0]}` : undefined);
        const sequence = (failures.at(-1)?.sequence ?? -1) + 1;
        failures.push({ sequence, status: response.status, path: new URL(request.url).pathname, error: stringOrUndefined(body.error), aadsts, description, correlationId: request.headers.get('client-request-id') });
        if (failures.length > 20) failures.shift();
        return response;
      },
    },
  };
}

/** The failure behind `error`: the newest after `after` (by MSAL's correlation id if it has one), else a 429/5xx MSAL's throttle replays. */
export function failureOf(failures: readonly EntraFailure[], error: unknown, after: number): { failure: EntraFailure | undefined; throttled: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  const correlationId = /Correlation ID: ([\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12})/i.exec(message)?.[1];
  const recent = failures.filter((failure) => failure.sequence > after);
  const found = recent.findLast((failure) => correlationId !== undefined && failure.correlationId === correlationId) ?? recent.at(-1);
  if (found !== undefined) return { failure: found, throttled: false };
  const replayed = failures.findLast((failure) => (failure.status === 429 || failure.status >= 500) && failure.description !== undefined && message.includes(failure.description));
  return { failure: replayed, throttled: replayed !== undefined };
}
