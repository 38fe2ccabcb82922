import { CloudExchangeError, SkyportenError, type ConfigError, type DecodedSkyportenToken } from '@skyporten/core';
import { CredentialsProviderError } from '@smithy/property-provider';

/** What the error translation knows about the failed exchange. @internal */
export interface ExchangeContext {
  roleArn: string;
  /** The presented token, decoded (its claims are not secret; the token itself is never shown). */
  token: DecodedSkyportenToken;
}

/** STS error codes that mean "slow down" (the SDK retries them before they reach us). */
const THROTTLING_CODES = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']);

/**
 * The IAM OIDC identity provider "URL" for an issuer: host and path without the scheme, e.g.
 * `test.sky.maskinporten.no`. It prefixes the trust policy's condition keys (`<host>:sub`, `<host>:aud`).
 *
 * @internal
 */
export function oidcProviderHost(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/**
 * Turns what the STS client threw into a {@link CloudExchangeError} with `cloud: 'aws'`, the STS error code
 * in `cloudCode`, the HTTP status, `isRetryable`, and a hint naming the setting to check.
 *
 * @internal
 */
export function toCloudExchangeError(error: unknown, context: ExchangeContext): SkyportenError {
  if (SkyportenError.isInstance(error)) return error;
  const details = error as { name?: unknown; Code?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = details.$metadata?.httpStatusCode;
  const stsCode = typeof details.Code === 'string' ? details.Code : typeof details.name === 'string' && status !== undefined ? details.name : undefined;
  const stsMessage = typeof details.message === 'string' ? details.message : String(error);
  const host = oidcProviderHost(context.token.issuer);
  const audience = context.token.audience.join(', ');
  const subject = context.token.subject ?? '(the token has no sub)';
  const what = `AWS STS AssumeRoleWithWebIdentity for ${context.roleArn}`;

  if (stsCode === undefined) {
    const networkCode = typeof details.code === 'string' ? ` (${details.code})` : '';
    return new CloudExchangeError('aws', `${what} got no answer: ${stsMessage}${networkCode}.`, {
      cause: error,
      isRetryable: true,
      hint: 'Check the network path to STS, and clientConfig.endpoint / AWS_ENDPOINT_URL_STS if you set one.',
    });
  }

  const base = { status, cloudCode: stsCode, cause: error };
  const message = `${what} failed: ${stsCode}: ${stsMessage}`;
  switch (stsCode) {
    case 'InvalidIdentityToken':
      if (/audience/i.test(stsMessage)) {
        return new CloudExchangeError('aws', message, {
          ...base,
          hint: `The IAM OIDC identity provider for ${host} must list this token's audience (${audience}) in its client ID list (audiences). Ask the data provider to add it, or set resource (SKYPORTEN_RESOURCE) to the audience they configured.`,
        });
      }
      if (/no openid ?connect provider/i.test(stsMessage)) {
        return new CloudExchangeError('aws', message, {
          ...base,
          hint: `The AWS account of ${context.roleArn} has no IAM OIDC identity provider for ${context.token.issuer}. The data provider must create one with URL https://${host}; check that you use the Skyporten environment (test or prod) they trust.`,
        });
      }
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: `AWS could not validate the token against the keys of ${context.token.issuer}. Check that the IAM OIDC identity provider for ${host} points at the right issuer, and that the token comes from it.`,
      });
    case 'AccessDenied':
    case 'AccessDeniedException':
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: `The trust policy of ${context.roleArn} must allow sts:AssumeRoleWithWebIdentity for the federated principal oidc-provider/${host} with the condition StringEquals "${host}:sub": "${subject}" (this token's sub: your organisation number and scope). Check the role ARN, the organisation number and the scope with the data provider.`,
      });
    case 'ExpiredTokenException':
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: `AWS considers the Skyporten token (exp ${context.token.expiresAt?.toISOString() ?? 'unknown'}) expired even after a fresh one was fetched: check this machine's clock (NTP).`,
      });
    case 'IDPRejectedClaim':
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: `The identity provider configuration of ${context.roleArn} rejected a claim of the token (sub "${subject}", aud "${audience}"). Compare them with the role's trust policy conditions.`,
      });
    case 'IDPCommunicationError':
      return new CloudExchangeError('aws', message, {
        ...base,
        isRetryable: true,
        hint: `AWS could not reach ${context.token.issuer} to fetch its keys. Try again later.`,
      });
    case 'RegionDisabledException':
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: 'STS is not activated in this region for the account: set clientConfig.region (or AWS_REGION) to an activated region.',
      });
    case 'ValidationError':
      return new CloudExchangeError('aws', message, {
        ...base,
        hint: /duration/i.test(stsMessage)
          ? 'Lower durationSeconds to at most the role\'s maximum session duration (ask the data provider what it is).'
          : 'Check roleArn and roleSessionName.',
      });
    default: {
      const retryable = (status !== undefined && status >= 500) || THROTTLING_CODES.has(stsCode) || details.$retryable !== undefined;
      return new CloudExchangeError('aws', message, {
        ...base,
        isRetryable: retryable,
        ...(retryable ? { hint: 'STS is throttling or unavailable, also after the STS client\'s own retries: try again later.' } : {}),
      });
    }
  }
}

/**
 * A configuration problem found when `skyportenCredentials()` was called, thrown when credentials are first
 * asked for (decision 0015): an AWS SDK `CredentialsProviderError` with `tryNextLink`, so `chain()` and
 * `createCredentialChain()` try their next provider, that carries the `ConfigError`'s message, `hint`, `field`
 * and `code: 'CONFIG_INVALID'`. It is branded like every SDK error, so `SkyportenError.isInstance` and
 * `ConfigError.isInstance` recognise it.
 *
 * @internal
 */
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
    Object.defineProperty(this, Symbol.for('skyporten.error'), { value: true });
    Object.defineProperty(this, Symbol.for('skyporten.error.kinds'), { value: Object.freeze(['ConfigError', 'SkyportenError']) });
  }

  /** `CredentialsProviderError [CONFIG_INVALID]: message`, one line, without the hint (as every SDK error). */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}
