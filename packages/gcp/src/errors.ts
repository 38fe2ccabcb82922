import { CloudExchangeError, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core';
import type { ResolvedFederation } from './options.js';

/** What the adapter knows when a GCP call fails; never a token. @internal */
export interface ExchangeContext {
  federation: ResolvedFederation;
  /** The claims of the last Skyporten token presented, when one was fetched. */
  subject: DecodedSkyportenToken | undefined;
}

interface HttpFailure {
  status: number | undefined;
  url: string | undefined;
  body: unknown;
  /** Node / gaxios error code, e.g. `ECONNREFUSED`. */
  code: string | undefined;
  message: string;
}

/** Reads status, URL and body out of a GaxiosError, or of the plain Error that google-auth-library wraps STS errors in. */
function unwrap(error: unknown): HttpFailure {
  const value = (typeof error === 'object' && error !== null ? error : {}) as {
    response?: { status?: unknown; data?: unknown; config?: { url?: unknown } };
    config?: { url?: unknown };
    status?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const status = typeof value.response?.status === 'number' ? value.response.status : typeof value.status === 'number' ? value.status : undefined;
  const rawUrl = value.config?.url ?? value.response?.config?.url;
  let body = value.response?.data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // keep the text
    }
  }
  return {
    status,
    url: rawUrl === undefined ? undefined : String(rawUrl),
    body,
    code: typeof value.code === 'string' ? value.code : undefined,
    message: typeof value.message === 'string' ? value.message : String(error),
  };
}

/**
 * The member to grant `roles/iam.workloadIdentityUser` (or bucket roles) for this consumer and scope, per
 * Skyporten's attribute mapping `attribute.clientaccess = "client::" + consumer.ID + "::" + scope`.
 *
 * @example
 * ```ts
 * clientAccessPrincipalSet({ projectNumber: '123456789012', poolId: 'skyporten' }, '0192:991825827', 'entur:skyporten.demo');
 * // 'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::0192:991825827::entur:skyporten.demo'
 * ```
 * @public
 */
export function clientAccessPrincipalSet(
  pool: { projectNumber: string; poolId: string },
  consumerId: string,
  scope: string,
): string {
  return `principalSet://iam.googleapis.com/projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}/attribute.clientaccess/client::${consumerId}::${scope}`;
}

function memberFor(context: ExchangeContext): string {
  const { consumerId, scope } = context.subject ?? {};
  return clientAccessPrincipalSet(context.federation.provider, consumerId ?? '0192:<ORGANISATION NUMBER>', scope ?? '<SCOPE>');
}

function stsHint(error: string | undefined, description: string, context: ExchangeContext): string | undefined {
  const { federation, subject } = context;
  const lower = description.toLowerCase();
  if (error === 'invalid_target') {
    return `GCP found no active pool provider ${federation.audience}: check the project NUMBER, pool id and provider id in the audience option with the data provider, and that the pool and provider are enabled.`;
  }
  if (error === 'invalid_grant' && lower.includes('audience')) {
    const aud = subject?.audience.join(', ') ?? 'unknown';
    return `The provider's allowed audiences must contain the token's aud (${aud}): set resource (SKYPORTEN_RESOURCE) to the value the data provider configured, and check that audience names the right pool and provider.`;
  }
  if (error === 'invalid_grant' && lower.includes('issuer')) {
    return `The provider's issuer-uri must be the token's iss (${subject?.issuer ?? 'unknown'}) exactly, with no trailing slash for Skyporten; use the Skyporten issuer (not plain Maskinporten) of the environment the provider trusts.`;
  }
  if (error === 'invalid_grant' && (lower.includes('expired') || lower.includes('stale'))) {
    return 'GCP STS considers the Skyporten token expired: check this machine\'s clock (NTP); a token is valid for about 120 seconds.';
  }
  if (error === 'unauthorized_client') {
    return `The provider's attribute condition rejects ${subject?.consumerId ?? 'this consumer'} with scope ${subject?.scope ?? 'unknown'}: ask the data provider to include your organisation and scope.`;
  }
  if (error === 'invalid_grant') {
    return 'GCP STS rejected the Skyporten token: the provider must trust the issuer\'s JWKS and map google.subject=assertion.consumer.ID.';
  }
  return undefined;
}

function isTransient(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/**
 * Turns what google-auth-library throws during the token exchange or impersonation into a
 * `CloudExchangeError('gcp', ...)` with a hint. SkyportenErrors (from the Maskinporten client) pass through.
 *
 * @internal
 */
export function toCloudExchangeError(error: unknown, context: ExchangeContext): SkyportenError {
  if (SkyportenError.isInstance(error)) return error;
  const failure = unwrap(error);
  const { federation } = context;
  const fromSts = failure.url === federation.tokenUrl || (failure.url === undefined && isOauthError(failure.body));
  const fromIam = failure.url !== undefined && federation.serviceAccountImpersonationUrl !== undefined && failure.url === federation.serviceAccountImpersonationUrl;

  if (failure.status === undefined) {
    const where = fromIam ? 'IAM Credentials' : fromSts ? 'GCP STS' : 'GCP';
    return new CloudExchangeError('gcp', `${where} could not be reached: ${failure.code ?? failure.message}.`, {
      cloudCode: failure.code,
      isRetryable: true,
      hint: `Check network access to ${fromIam ? federation.serviceAccountImpersonationUrl : federation.tokenUrl} (and HTTPS_PROXY).`,
      cause: error,
    });
  }

  if (isOauthError(failure.body) || fromSts) {
    // STS answers OAuth errors; its front end answers Google's error JSON (e.g. a 503 with status UNAVAILABLE).
    const googleError = isOauthError(failure.body) ? undefined : readGoogleError(failure.body);
    const body = isOauthError(failure.body) ? failure.body : { error: googleError?.status, error_description: googleError?.message };
    const description = body.error_description ?? '';
    const retryable = isTransient(failure.status);
    return new CloudExchangeError(
      'gcp',
      `GCP STS refused the token exchange (HTTP ${failure.status}${body.error ? `, ${body.error}` : ''})${description ? `: ${description}` : '.'}`,
      {
        status: failure.status,
        cloudCode: body.error,
        isRetryable: retryable,
        hint: retryable ? 'GCP STS is unavailable; try again later.' : stsHint(body.error, description, context),
        cause: error,
      },
    );
  }

  const googleError = readGoogleError(failure.body);
  const service = fromIam ? 'IAM Credentials' : 'GCP';
  const retryable = isTransient(failure.status);
  let hint: string | undefined;
  if (retryable) hint = `${service} is unavailable; try again later.`;
  else if (fromIam && failure.status === 403) {
    hint = `Grant roles/iam.workloadIdentityUser on ${federation.serviceAccountEmail ?? 'the service account'} to ${memberFor(context)} (the data provider does this), and check serviceAccountEmail.`;
  } else if (fromIam && failure.status === 404) {
    hint = `The service account ${federation.serviceAccountEmail ?? ''} does not exist: check serviceAccountEmail with the data provider.`;
  } else if (fromIam && failure.status === 401) {
    hint = 'IAM Credentials did not accept the federated token from STS; it may have expired, try again.';
  }
  return new CloudExchangeError(
    'gcp',
    `${service} failed${fromIam ? ` to impersonate ${federation.serviceAccountEmail ?? 'the service account'}` : ''} (HTTP ${failure.status}${googleError.status ? `, ${googleError.status}` : ''})${googleError.message ? `: ${googleError.message}` : '.'}`,
    { status: failure.status, cloudCode: googleError.status, isRetryable: retryable, hint, cause: error },
  );
}

function isOauthError(body: unknown): body is { error: string; error_description?: string } {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}

function readGoogleError(body: unknown): { status: string | undefined; message: string | undefined } {
  const inner = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof inner !== 'object' || inner === null) return { status: undefined, message: undefined };
  const { status, message } = inner as { status?: unknown; message?: unknown };
  return {
    status: typeof status === 'string' ? status : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

/** True when STS said the subject token had expired, so a fresh Skyporten token may succeed. @internal */
export function isExpiredSubjectToken(error: unknown): boolean {
  if (!SkyportenError.isInstance(error) || error.code !== 'CLOUD_EXCHANGE_FAILED') return false;
  return (error as CloudExchangeError).cloudCode === 'invalid_grant' && /expired|stale/i.test(error.message);
}
