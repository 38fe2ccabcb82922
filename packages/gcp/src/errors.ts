import { CloudExchangeError, isTransientStatus, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import type { ResolvedFederation } from './options.js';

/** What the adapter knows when a GCP call fails; never a token. @internal */
export interface ExchangeContext {
  federation: ResolvedFederation;
  /** The delegation chain to the service account (`projects/-/serviceAccounts/<EMAIL>`), if any. */
  delegates?: readonly string[];
  /** The claims of the last Skyporten token presented, when one was fetched. */
  subject: DecodedSkyportenToken | undefined;
}

/** What failed, read out of a GaxiosError or the plain Error that google-auth-library wraps STS errors in. */
interface HttpFailure {
  status: number | undefined;
  url: string | undefined;
  /** True for an OAuth error body (`{ error, error_description }`, as STS answers); else Google's error JSON. */
  oauth: boolean;
  /** The OAuth `error`, or the Google error's `status` (e.g. `PERMISSION_DENIED`). */
  cloudCode: string | undefined;
  /** The OAuth `error_description`, or the Google error's `message`. */
  detail: string | undefined;
  /** Node / gaxios error code, e.g. `ECONNREFUSED`. */
  code: string | undefined;
  message: string;
}

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
  const inner = typeof body === 'object' && body !== null ? (body as { error?: unknown; error_description?: unknown }) : {};
  const google = typeof inner.error === 'object' && inner.error !== null ? (inner.error as { status?: unknown; message?: unknown }) : {};
  const oauth = typeof inner.error === 'string';
  const [cloudCode, detail] = oauth ? [inner.error, inner.error_description] : [google.status, google.message];
  return {
    status,
    url: rawUrl === undefined ? undefined : String(rawUrl),
    oauth,
    cloudCode: typeof cloudCode === 'string' ? cloudCode : undefined,
    detail: typeof detail === 'string' && detail !== '' ? detail : undefined,
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

function stsHint({ cloudCode, detail = '' }: HttpFailure, { federation, subject }: ExchangeContext): string | undefined {
  const lower = detail.toLowerCase();
  if (cloudCode === 'invalid_target') {
    return `GCP found no active pool provider ${federation.audience}: check the project NUMBER, pool id and provider id in the audience option with the data provider, and that the pool and provider are enabled.`;
  }
  if (cloudCode === 'unauthorized_client') {
    return `The provider's attribute condition rejects ${subject?.consumerId ?? 'this consumer'} with scope ${subject?.scope ?? 'unknown'}: ask the data provider to include your organisation and scope.`;
  }
  if (cloudCode !== 'invalid_grant') return undefined;
  if (lower.includes('audience')) {
    return `The provider's allowed audiences must contain the token's aud (${subject?.audience.join(', ') ?? 'unknown'}): set resource (SKYPORTEN_RESOURCE) to the value the data provider configured, and check that audience names the right pool and provider.`;
  }
  if (lower.includes('issuer')) {
    return `The provider's issuer-uri must be the token's iss (${subject?.issuer ?? 'unknown'}) exactly, with no trailing slash for Skyporten; use the Skyporten issuer (not plain Maskinporten) of the environment the provider trusts.`;
  }
  if (lower.includes('expired') || lower.includes('stale')) {
    return 'GCP STS considers the Skyporten token expired: check this machine\'s clock (NTP); a token is valid for about 120 seconds.';
  }
  return 'GCP STS rejected the Skyporten token: the provider must trust the issuer\'s JWKS and map google.subject=assertion.consumer.ID.';
}

function iamHint(status: number, { federation, subject, delegates = [] }: ExchangeContext): string | undefined {
  const account = federation.serviceAccountEmail ?? 'the service account';
  if (status === 403) {
    const member = clientAccessPrincipalSet(federation.provider, subject?.consumerId ?? '0192:<ORGANISATION NUMBER>', subject?.scope ?? '<SCOPE>');
    const chain = delegates.map((name) => name.replace('projects/-/serviceAccounts/', ''));
    if (chain.length === 0) return `Grant roles/iam.workloadIdentityUser on ${account} to ${member} (the data provider does this), and check serviceAccountEmail.`;
    const hops = chain.map((from, index) => `on ${chain[index + 1] ?? account} to serviceAccount:${from}`);
    return `Every hop must be granted (the data provider does this): roles/iam.workloadIdentityUser on ${chain[0] ?? ''} to ${member}, then roles/iam.serviceAccountTokenCreator ${hops.join(', ')}; check delegates and serviceAccountEmail.`;
  }
  if (status === 404) return `The service account ${federation.serviceAccountEmail ?? ''} does not exist: check serviceAccountEmail with the data provider.`;
  if (status === 401) return 'IAM Credentials did not accept the federated token from STS; it may have expired, try again.';
  return undefined;
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
  const { status, cloudCode, detail } = failure;
  const { tokenUrl, serviceAccountImpersonationUrl: iamUrl, serviceAccountEmail } = context.federation;
  // STS answers OAuth errors; its front end answers Google's error JSON (e.g. a 503 with status UNAVAILABLE).
  const fromSts = failure.oauth || failure.url === tokenUrl;
  const fromIam = failure.url !== undefined && failure.url === iamUrl;
  const service = fromIam ? 'IAM Credentials' : fromSts ? 'GCP STS' : 'GCP';

  if (status === undefined) {
    return new CloudExchangeError('gcp', `${service} could not be reached: ${failure.code ?? failure.message}.`, {
      cloudCode: failure.code,
      isRetryable: true,
      hint: `Check network access to ${fromIam ? iamUrl : tokenUrl} (and HTTPS_PROXY).`,
      cause: error,
    });
  }
  const isRetryable = isTransientStatus(status);
  const what = fromSts ? 'GCP STS refused the token exchange' : `${service} failed${fromIam ? ` to impersonate ${serviceAccountEmail ?? 'the service account'}` : ''}`;
  const hint = isRetryable ? `${service} is unavailable; try again later.` : fromSts ? stsHint(failure, context) : fromIam ? iamHint(status, context) : undefined;
  return new CloudExchangeError('gcp', `${what} (HTTP ${status}${cloudCode ? `, ${cloudCode}` : ''})${detail ? `: ${detail}` : '.'}`, {
    status,
    cloudCode,
    isRetryable,
    hint,
    cause: error,
  });
}

/** True when STS said the subject token had expired, so a fresh Skyporten token may succeed. @internal */
export function isExpiredSubjectToken(error: unknown): boolean {
  return CloudExchangeError.isInstance(error) && error.cloudCode === 'invalid_grant' && /expired|stale/i.test(error.message);
}
