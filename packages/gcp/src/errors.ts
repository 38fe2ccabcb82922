import { CloudExchangeError, isTransientStatus, SkyportenError, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import type { ResolvedFederation } from './options.js';

/** A GaxiosError, or the plain Error google-auth-library wraps STS errors in. */
type GaxiosLike = { response?: { status?: unknown; data?: unknown; config?: { url?: unknown } }; config?: { url?: unknown }; status?: unknown; code?: unknown; message?: unknown };

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The `principalSet` to grant for this consumer and scope, per Skyporten's `attribute.clientaccess` mapping (see the README). @public */
export function clientAccessPrincipalSet(pool: { projectNumber: string; poolId: string }, consumerId: string, scope: string): string {
  return `principalSet://iam.googleapis.com/projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}/attribute.clientaccess/client::${consumerId}::${scope}`;
}

/** Hints for non-retryable failures by `sts:<cloudCode> <detail>` or `iam:<status>:<direct|chain>`, first match wins. */
const HINTS: readonly (readonly [RegExp, string])[] = [
  [/^sts:invalid_target /, 'GCP found no active pool provider {audience}: check the project NUMBER, pool id and provider id in the audience option with the data provider, and that the pool and provider are enabled.'],
  [/^sts:unauthorized_client /, "The provider's attribute condition rejects {consumer} with scope {scope}: ask the data provider to include your organisation and scope."],
  [/^sts:invalid_grant .*audience/is, "The provider's allowed audiences must contain the token's aud ({aud}): set resource (SKYPORTEN_RESOURCE) to the value the data provider configured, and check that audience names the right pool and provider."],
  [/^sts:invalid_grant .*issuer/is, "The provider's issuer-uri must be the token's iss ({iss}) exactly, with no trailing slash for Skyporten; use the Skyporten issuer (not plain Maskinporten) of the environment the provider trusts."],
  [/^sts:invalid_grant .*(expired|stale)/is, "GCP STS considers the Skyporten token expired: check this machine's clock (NTP); a token is valid for about 120 seconds."],
  [/^sts:invalid_grant /, "GCP STS rejected the Skyporten token: the provider must trust the issuer's JWKS and map google.subject=assertion.consumer.ID."],
  [/^iam:401:/, 'IAM Credentials did not accept the federated token from STS; it may have expired, try again.'],
  [/^iam:403:direct/, 'Grant roles/iam.workloadIdentityUser on {account} to {member} (the data provider does this), and check serviceAccountEmail.'],
  [/^iam:403:chain/, 'Every hop must be granted (the data provider does this): roles/iam.workloadIdentityUser on {first} to {member}, then roles/iam.serviceAccountTokenCreator {hops}; check delegates and serviceAccountEmail.'],
  [/^iam:404:/, 'The service account {account} does not exist: check serviceAccountEmail with the data provider.'],
];

/** Throws what google-auth-library threw as a `CloudExchangeError('gcp', ...)` hinted from the client's settings and the last subject token's claims. @internal */
export function throwCloudExchangeError(error: unknown, { federation, delegates }: { federation: ResolvedFederation; delegates: readonly string[] }, subject?: DecodedSkyportenToken): never {
  if (SkyportenError.isInstance(error)) throw error;
  const value = Object(error) as GaxiosLike;
  const status = [value.response?.status, value.status].find((candidate) => typeof candidate === 'number') as number | undefined;
  // STS answers OAuth errors, its front end and IAM Credentials Google's error JSON, parsed already: every request here asks gaxios for JSON.
  const { error: oauthError, error_description } = Object(value.response?.data) as { error?: unknown; error_description?: unknown };
  const google = Object(oauthError) as { status?: unknown; message?: unknown };
  const oauth = typeof oauthError === 'string';
  const cloudCode = text(oauth ? oauthError : google.status);
  const detail = text(oauth ? error_description : google.message);
  const url = String(value.config?.url ?? value.response?.config?.url);
  const { tokenUrl, serviceAccountImpersonationUrl: iamUrl } = federation;
  const fromSts = oauth || url === tokenUrl;
  const fromIam = url === iamUrl;
  const service = fromIam ? 'IAM Credentials' : fromSts ? 'GCP STS' : 'GCP';
  if (status === undefined) {
    const hint = `Check network access to ${fromIam ? iamUrl : tokenUrl} (and HTTPS_PROXY).`;
    const code = text(value.code);
    throw new CloudExchangeError('gcp', `${service} could not be reached: ${code ?? text(value.message) ?? String(error)}.`, { cloudCode: code, isRetryable: true, hint, cause: error });
  }
  const account = federation.serviceAccountEmail ?? 'the service account';
  const chain = delegates.map((name) => name.replace('projects/-/serviceAccounts/', ''));
  const values: Record<string, string> = {
    audience: federation.audience,
    account,
    member: clientAccessPrincipalSet(federation.provider, subject?.consumerId ?? '0192:<ORGANISATION NUMBER>', subject?.scope ?? '<SCOPE>'),
    first: chain[0] ?? '',
    hops: chain.map((from, index) => `on ${chain[index + 1] ?? account} to serviceAccount:${from}`).join(', '),
    consumer: subject?.consumerId ?? 'this consumer',
    scope: subject?.scope ?? 'unknown',
    aud: subject?.audience.join(', ') ?? 'unknown',
    iss: subject?.issuer ?? 'unknown',
  };
  const key = fromSts ? `sts:${cloudCode ?? ''} ${detail ?? ''}` : `${fromIam ? 'iam' : 'gcp'}:${status}:${delegates.length > 0 ? 'chain' : 'direct'}`;
  const isRetryable = isTransientStatus(status);
  const hint = isRetryable ? `${service} is unavailable; try again later.` : HINTS.find(([pattern]) => pattern.test(key))?.[1].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
  const what = fromSts ? 'GCP STS refused the token exchange' : `${service} failed${fromIam ? ` to impersonate ${account}` : ''}`;
  const message = `${what} (HTTP ${status}${cloudCode ? `, ${cloudCode}` : ''})${detail ? `: ${detail}` : '.'}`;
  throw new CloudExchangeError('gcp', message, { status, cloudCode, isRetryable, hint, cause: error });
}
