import { CloudExchangeError, isTransientStatus, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import { aadstsCode, type EntraFailure } from './failure-recorder.js';

const MISMATCH =
  'No federated identity credential on the managed identity or app registration matches the Skyporten token: its issuer, subject and audience must equal the token\'s iss, sub and aud exactly (case-sensitive, trailing slash included).';

/**
 * What to do about the Entra ID (AADSTS) errors a Skyporten credential meets. Keys are the AADSTS codes.
 *
 * @example
 * ```ts
 * if (SkyportenError.isInstance(error) && error.code === 'CLOUD_EXCHANGE_FAILED') console.error(ENTRA_ERROR_HINTS[error.cloudCode ?? '']);
 * ```
 * @public
 */
export const ENTRA_ERROR_HINTS: Readonly<Record<string, string>> = Object.freeze({
  AADSTS70021: MISMATCH,
  AADSTS700211: `${MISMATCH} Here the issuer differs.`,
  AADSTS700212: `${MISMATCH} Here the audience differs: it must be the resource (SKYPORTEN_RESOURCE) you ask Skyporten for.`,
  AADSTS700213: `${MISMATCH} Here the subject differs: it is "0192:<organisation number>;<scope>".`,
  AADSTS7002137: `${MISMATCH} Here the subject differs (matching is case-sensitive).`,
  AADSTS7002138: `${MISMATCH} Here the subject differs (matching is case-sensitive).`,
  AADSTS700024:
    'The Skyporten token was outside its valid time range (exp/nbf) when Entra ID checked it: check this machine\'s clock (NTP), and do not hand out a token cached past its expiry.',
  AADSTS700016:
    'Entra ID has no application with this client id in the tenant: use the managed identity\'s client id (AZURE_CLIENT_ID), not its principal (object) id, and check tenantId.',
  AADSTS90002: 'The tenant was not found: check tenantId (AZURE_TENANT_ID) and authorityHost (AZURE_AUTHORITY_HOST, for sovereign clouds).',
  AADSTS900023: 'The tenant id is malformed: use the directory (tenant) GUID or a verified domain.',
  AADSTS50013: 'Entra ID could not verify the Skyporten token\'s signature with the issuer\'s published keys: check that the federated credential\'s issuer is the Skyporten issuer you use (test or prod).',
  AADSTS50027: 'Entra ID could not read the assertion as a JWT.',
  AADSTS1002012: 'The scope must be a resource followed by "/.default", e.g. "https://storage.azure.com/.default".',
  AADSTS70011: 'The scope is not valid: use "<resource>/.default", e.g. "https://storage.azure.com/.default".',
  AADSTS500011: 'The resource in the scope is not known in the tenant: check the scope (e.g. "https://storage.azure.com/.default").',
});

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * What is known when a token request fails, for {@link translateEntraError}.
 *
 * @public
 */
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

function firstSentences(description: string): string {
  return description.split(/\s+Trace ID:|\r?\n/)[0]!.trim();
}

function describeToken(assertion: DecodedSkyportenToken): string {
  return `The token has iss "${assertion.issuer}", sub "${assertion.subject ?? ''}", aud "${assertion.audience.join('", "')}".`;
}

/**
 * Turns what `@azure/identity` throws (`AuthenticationError`, `AuthenticationRequiredError`,
 * `CredentialUnavailableError`, network errors) into a `CloudExchangeError` with the AADSTS code as
 * `cloudCode`, the HTTP status (when known) and a hint. A `SkyportenError` (from getting the Skyporten
 * token) passes through unchanged. `skyportenCredentials` does this for you; use it with a
 * `ClientAssertionCredential` of your own.
 *
 * @example
 * ```ts
 * try {
 *   await credential.getToken('https://storage.azure.com/.default');
 * } catch (error) {
 *   throw translateEntraError(error, { tenantId, clientId });
 * }
 * ```
 * @public
 */
export function translateEntraError(error: unknown, context: EntraFailureContext): SkyportenError {
  if (SkyportenError.isInstance(error)) return error;
  const identityError = error as { name?: string; message?: string; statusCode?: number; code?: string; errorResponse?: { error?: string; errorDescription?: string } };
  const message = typeof identityError.message === 'string' ? identityError.message : String(error);
  const { failure } = context;
  const description = failure?.description ?? identityError.errorResponse?.errorDescription;
  const cloudCode = failure?.aadsts ?? aadstsCode(description) ?? aadstsCode(message);
  const status = failure?.status ?? (typeof identityError.statusCode === 'number' ? identityError.statusCode : undefined);
  const networkCode = typeof identityError.code === 'string' && NETWORK_CODES.has(identityError.code) ? identityError.code : undefined;
  // MSAL reports a failed connection to Entra ID as `network_error`, without the transport's code.
  const isRetryable = networkCode !== undefined || /\bnetwork_error\b/.test(message) || (status !== undefined && isTransientStatus(status));

  let hint = cloudCode === undefined ? undefined : ENTRA_ERROR_HINTS[cloudCode];
  if (hint !== undefined && context.assertion !== undefined && /^AADSTS(70021|70021\d|7002137|7002138)$/.test(cloudCode ?? '')) {
    hint = `${hint} ${describeToken(context.assertion)}`;
  }
  if (context.throttled === true) {
    hint = `After Entra ID answered ${status ?? '429/5xx'}, MSAL repeats that answer without asking Entra ID again for a while (60 s by default); try again after that.`;
  }
  if (hint === undefined && isRetryable) hint = 'Entra ID or the network failed; trying again later may succeed.';
  if (hint === undefined && /endpoints_resolution_error/.test(message)) {
    hint =
      'Entra ID\'s metadata could not be fetched: check authorityHost, the network and proxy settings, and that its TLS certificate is trusted. Against anything but Microsoft\'s hosts, set disableInstanceDiscovery: true.';
  }

  const reason =
    description !== undefined
      ? firstSentences(description)
      : networkCode !== undefined
        ? `${networkCode} (${message})`
        : `${identityError.name ?? 'Error'}: ${firstSentences(message)}`;
  return new CloudExchangeError(
    'azure',
    `Entra ID did not issue a token for client id ${context.clientId} in tenant ${context.tenantId}${status === undefined ? '' : ` (HTTP ${status})`}: ${reason}`,
    { status, cloudCode, hint, cause: error, isRetryable },
  );
}

/** The codes of an error, for log lines (never its message, which may quote a request). */
export function errorFields(error: unknown): { code: string | undefined; cloudCode: string | undefined } {
  return { code: SkyportenError.isInstance(error) ? error.code : undefined, cloudCode: CloudExchangeError.isInstance(error) ? error.cloudCode : undefined };
}
