import { CloudExchangeError, SkyportenError, type ConfigError, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import { CredentialsProviderError } from '@smithy/property-provider';

/** What a hint may name: the role (chaining: and `via`, the role whose credentials asked), the token's claims (never the token), what STS said, and `host`: the issuer without the scheme, as the IAM OIDC provider's URL and `<host>:sub` name it. */
type Facts = { roleArn: string; via?: string | undefined; token: DecodedSkyportenToken; host: string; audience: string; subject: string; stsMessage: string };

/** STS error codes that mean "slow down" (the SDK retries them before they reach us). */
const THROTTLING_CODES = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']);

const accessDenied = ({ roleArn, host, subject }: Facts) =>
  `The trust policy of ${roleArn} must allow sts:AssumeRoleWithWebIdentity for the federated principal oidc-provider/${host} with the condition StringEquals "${host}:sub": "${subject}" (this token's sub: your organisation number and scope). Check the role ARN, the organisation number and the scope with the data provider.`;
const regionDisabled = () => 'STS is not activated in this region for the account: set clientConfig.region (or AWS_REGION) to an activated region.';

/** The hint for each STS error code that has a fixed cause, naming the setting to check. */
const HINTS: Record<string, (facts: Facts) => string> = {
  InvalidIdentityToken: ({ roleArn, token, host, audience, stsMessage }) => {
    if (/audience/i.test(stsMessage)) return `The IAM OIDC identity provider for ${host} must list this token's audience (${audience}) in its client ID list (audiences). Ask the data provider to add it, or set resource (SKYPORTEN_RESOURCE) to the audience they configured.`;
    if (/no openid ?connect provider/i.test(stsMessage)) return `The AWS account of ${roleArn} has no IAM OIDC identity provider for ${token.issuer}. The data provider must create one with URL https://${host}; check that you use the Skyporten environment (test or prod) they trust.`;
    return `AWS could not validate the token against the keys of ${token.issuer}. Check that the IAM OIDC identity provider for ${host} points at the right issuer, and that the token comes from it.`;
  },
  AccessDenied: accessDenied,
  AccessDeniedException: accessDenied,
  ExpiredTokenException: ({ token }) => `AWS considers the Skyporten token (exp ${token.expiresAt?.toISOString() ?? 'unknown'}) expired even after a fresh one was fetched: check this machine's clock (NTP).`,
  IDPRejectedClaim: ({ roleArn, subject, audience }) => `The identity provider configuration of ${roleArn} rejected a claim of the token (sub "${subject}", aud "${audience}"). Compare them with the role's trust policy conditions.`,
  IDPCommunicationError: ({ token }) => `AWS could not reach ${token.issuer} to fetch its keys. Try again later.`,
  RegionDisabledException: regionDisabled,
  ValidationError: ({ stsMessage }) => /duration/i.test(stsMessage) ? 'Lower durationSeconds to at most the role\'s maximum session duration (ask the data provider what it is).' : 'Check roleArn and roleSessionName.',
};

/** The hints for a chained `AssumeRole`, made with the credentials of the role before (`via`). */
const CHAIN_HINTS: Record<string, (facts: Facts) => string> = {
  AccessDenied: ({ roleArn, via }) =>
    `The trust policy of ${roleArn} must allow sts:AssumeRole for the principal ${via} ("Principal": { "AWS": "${via}" }), and the permissions of ${via} must allow sts:AssumeRole on ${roleArn}. If the trust policy asks for an external ID, set externalId on that chain entry. Check both role ARNs with the data provider.`,
  ValidationError: ({ stsMessage }) => /duration/i.test(stsMessage) ? 'A session assumed by role chaining lasts at most one hour: lower durationSeconds of that chain entry to at most 3600 (and the role\'s maximum).' : 'Check roleArn, roleSessionName and externalId of that chain entry.',
  RegionDisabledException: regionDisabled,
};

type StsError = { name?: unknown; Code?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | null | undefined;

/** The STS error code of what the STS client threw (`undefined` when STS did not answer). @internal */
export function stsCodeOf(error: unknown): string | undefined {
  const details = error as StsError;
  if (typeof details?.Code === 'string') return details.Code;
  return details?.$metadata?.httpStatusCode !== undefined && typeof details.name === 'string' ? details.name : undefined;
}

/** Throws what the STS client threw as a {@link CloudExchangeError}: STS code in `cloudCode`, status, `isRetryable`, a hint. @internal */
export function throwCloudExchangeError(error: unknown, context: Pick<Facts, 'roleArn' | 'token' | 'via'>): never {
  if (SkyportenError.isInstance(error)) throw error;
  const details = error as NonNullable<StsError>;
  const status = details.$metadata?.httpStatusCode;
  const stsCode = stsCodeOf(error);
  const stsMessage = typeof details.message === 'string' ? details.message : String(error);
  const [what, hints] = context.via === undefined ? [`AWS STS AssumeRoleWithWebIdentity for ${context.roleArn}`, HINTS] : [`AWS STS AssumeRole for ${context.roleArn} (role chaining, with the credentials of ${context.via})`, CHAIN_HINTS];
  if (stsCode === undefined) {
    const networkCode = typeof details.code === 'string' ? ` (${details.code})` : '';
    throw new CloudExchangeError('aws', `${what} got no answer: ${stsMessage}${networkCode}.`, { cause: error, isRetryable: true, hint: 'Check the network path to STS, and clientConfig.endpoint / AWS_ENDPOINT_URL_STS if you set one.' });
  }
  const hint = Object.hasOwn(hints, stsCode) ? hints[stsCode] : undefined;
  // A code with a fixed cause is final but for IDPCommunicationError; any other is retryable when STS says it is transient.
  const isRetryable = hint ? stsCode === 'IDPCommunicationError' : (status !== undefined && status >= 500) || THROTTLING_CODES.has(stsCode) || details.$retryable !== undefined;
  const host = context.token.issuer.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const facts: Facts = { ...context, host, audience: context.token.audience.join(', '), subject: context.token.subject ?? '(the token has no sub)', stsMessage };
  const retryHint = 'STS is throttling or unavailable, also after the STS client\'s own retries: try again later.';
  throw new CloudExchangeError('aws', `${what} failed: ${stsCode}: ${stsMessage}`, { status, cloudCode: stsCode, cause: error, isRetryable, hint: hint ? hint(facts) : isRetryable ? retryHint : undefined });
}

/** A `ConfigError` as the `CredentialsProviderError` with `tryNextLink` (so `chain()` moves on) the first credentials call rejects with (decision 0015). @internal */
export class DeferredConfigError extends CredentialsProviderError {
  readonly code = 'CONFIG_INVALID';
  readonly field: string;
  readonly hint: string | undefined;
  readonly isRetryable = false;
  constructor(error: ConfigError) {
    super(error.message, { tryNextLink: true });
    // ProviderError's constructor pins the prototype to CredentialsProviderError's; put this class's back.
    Object.setPrototypeOf(this, new.target.prototype);
    this.field = error.field;
    this.hint = error.hint;
    // The registered symbols `SkyportenError.isInstance` reads (kinds: this class chain as core sees it).
    Object.defineProperties(this, { [Symbol.for('skyporten.error')]: { value: true }, [Symbol.for('skyporten.error.kinds')]: { value: Object.freeze(['ConfigError', 'SkyportenError']) } });
  }
  /** `CredentialsProviderError [CONFIG_INVALID]: message`, one line, without the hint (as every SDK error). */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}
