import { CloudExchangeError, isTransientStatus, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import type { ResolvedFederation } from './options.js';

/** What the adapter knows when a GCP call fails; never a token. @internal */
export interface ExchangeContext {
  federation: ResolvedFederation;
  /** The delegation chain (`projects/-/serviceAccounts/<EMAIL>`), empty for none. */
  delegates: readonly string[];
  /** The claims of the last Skyporten token presented, when one was fetched. */
  subject: DecodedSkyportenToken | undefined;
}

/** The shape of a GaxiosError, or of the plain Error google-auth-library wraps STS errors in. */
interface GaxiosLike {
  response?: { status?: unknown; data?: unknown; config?: { url?: unknown } };
  config?: { url?: unknown };
  status?: unknown;
  code?: unknown;
  message?: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Status, URL and codes of a failure; STS answers OAuth errors, its front end and IAM Credentials Google's error JSON. */
function unwrap(error: unknown) {
  const value = Object(error) as GaxiosLike;
  const status = [value.response?.status, value.status].find((candidate) => typeof candidate === 'number') as number | undefined;
  let body = value.response?.data;
  try {
    body = typeof body === 'string' ? JSON.parse(body) : body;
  } catch {
    // not JSON: no codes to read
  }
  const { error: oauthError, error_description } = Object(body) as { error?: unknown; error_description?: unknown };
  const google = Object(oauthError) as { status?: unknown; message?: unknown };
  const oauth = typeof oauthError === 'string';
  const url = value.config?.url ?? value.response?.config?.url;
  return {
    status,
    oauth,
    url: url === undefined ? undefined : String(url),
    cloudCode: text(oauth ? oauthError : google.status),
    detail: text(oauth ? error_description : google.message),
    code: text(value.code),
    message: text(value.message) ?? String(error),
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
export function clientAccessPrincipalSet(pool: { projectNumber: string; poolId: string }, consumerId: string, scope: string): string {
  return `principalSet://iam.googleapis.com/projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}/attribute.clientaccess/client::${consumerId}::${scope}`;
}

/** STS hints, matched in order against `<cloudCode> <detail>`. */
const STS_HINTS: readonly (readonly [RegExp, (context: ExchangeContext) => string])[] = [
  [
    /^invalid_target /,
    ({ federation }) => `GCP found no active pool provider ${federation.audience}: check the project NUMBER, pool id and provider id in the audience option with the data provider, and that the pool and provider are enabled.`,
  ],
  [
    /^unauthorized_client /,
    ({ subject }) => `The provider's attribute condition rejects ${subject?.consumerId ?? 'this consumer'} with scope ${subject?.scope ?? 'unknown'}: ask the data provider to include your organisation and scope.`,
  ],
  [
    /^invalid_grant .*audience/is,
    ({ subject }) =>
      `The provider's allowed audiences must contain the token's aud (${subject?.audience.join(', ') ?? 'unknown'}): set resource (SKYPORTEN_RESOURCE) to the value the data provider configured, and check that audience names the right pool and provider.`,
  ],
  [
    /^invalid_grant .*issuer/is,
    ({ subject }) => `The provider's issuer-uri must be the token's iss (${subject?.issuer ?? 'unknown'}) exactly, with no trailing slash for Skyporten; use the Skyporten issuer (not plain Maskinporten) of the environment the provider trusts.`,
  ],
  [/^invalid_grant .*(expired|stale)/is, () => 'GCP STS considers the Skyporten token expired: check this machine\'s clock (NTP); a token is valid for about 120 seconds.'],
  [/^invalid_grant /, () => 'GCP STS rejected the Skyporten token: the provider must trust the issuer\'s JWKS and map google.subject=assertion.consumer.ID.'],
];

/** IAM Credentials hints by HTTP status. */
const IAM_HINTS: Readonly<Record<number, (context: ExchangeContext) => string>> = {
  401: () => 'IAM Credentials did not accept the federated token from STS; it may have expired, try again.',
  403: ({ federation, subject, delegates }) => {
    const account = federation.serviceAccountEmail ?? 'the service account';
    const member = clientAccessPrincipalSet(federation.provider, subject?.consumerId ?? '0192:<ORGANISATION NUMBER>', subject?.scope ?? '<SCOPE>');
    const chain = delegates.map((name) => name.replace('projects/-/serviceAccounts/', ''));
    if (chain.length === 0) return `Grant roles/iam.workloadIdentityUser on ${account} to ${member} (the data provider does this), and check serviceAccountEmail.`;
    const hops = chain.map((from, index) => `on ${chain[index + 1] ?? account} to serviceAccount:${from}`);
    return `Every hop must be granted (the data provider does this): roles/iam.workloadIdentityUser on ${chain[0] ?? ''} to ${member}, then roles/iam.serviceAccountTokenCreator ${hops.join(', ')}; check delegates and serviceAccountEmail.`;
  },
  404: ({ federation }) => `The service account ${federation.serviceAccountEmail ?? ''} does not exist: check serviceAccountEmail with the data provider.`,
};

/** What google-auth-library throws, as a `CloudExchangeError('gcp', ...)` with a hint; SkyportenErrors pass through. @internal */
export function toCloudExchangeError(error: unknown, context: ExchangeContext): SkyportenError {
  if (SkyportenError.isInstance(error)) return error;
  const { status, oauth, url, cloudCode, detail, code, message: reason } = unwrap(error);
  const { tokenUrl, serviceAccountImpersonationUrl: iamUrl, serviceAccountEmail } = context.federation;
  const fromSts = oauth || url === tokenUrl;
  const fromIam = url !== undefined && url === iamUrl;
  const service = fromIam ? 'IAM Credentials' : fromSts ? 'GCP STS' : 'GCP';
  if (status === undefined) {
    const hint = `Check network access to ${fromIam ? iamUrl : tokenUrl} (and HTTPS_PROXY).`;
    return new CloudExchangeError('gcp', `${service} could not be reached: ${code ?? reason}.`, { cloudCode: code, isRetryable: true, hint, cause: error });
  }
  const isRetryable = isTransientStatus(status);
  const what = fromSts ? 'GCP STS refused the token exchange' : `${service} failed${fromIam ? ` to impersonate ${serviceAccountEmail ?? 'the service account'}` : ''}`;
  const stsHint = STS_HINTS.find(([pattern]) => pattern.test(`${cloudCode} ${detail ?? ''}`))?.[1];
  const hint = isRetryable ? () => `${service} is unavailable; try again later.` : fromSts ? stsHint : fromIam ? IAM_HINTS[status] : undefined;
  const message = `${what} (HTTP ${status}${cloudCode ? `, ${cloudCode}` : ''})${detail ? `: ${detail}` : '.'}`;
  return new CloudExchangeError('gcp', message, { status, cloudCode, isRetryable, hint: hint?.(context), cause: error });
}

/** True when STS said the subject token had expired, so a fresh Skyporten token may succeed. @internal */
export function isExpiredSubjectToken(error: unknown): boolean {
  return CloudExchangeError.isInstance(error) && error.cloudCode === 'invalid_grant' && /expired|stale/i.test(error.message);
}
