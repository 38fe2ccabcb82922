import { fromTemporaryCredentials, fromWebToken } from '@aws-sdk/credential-providers';
import { CloudExchangeError, ConfigError, createRefreshingCache, logEvent, presentedTokens, resolveMaskinportenClient, withFreshTokenOnExpiry } from '@skyporten/core/adapter';
import type { MaskinportenClientOrOptions } from '@skyporten/core/adapter';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { DeferredConfigError, stsCodeOf, throwCloudExchangeError } from './errors.js';
import { resolveSettings, type SkyportenCredentialsOptions, type SkyportenIdentityProperties } from './options.js';

export { type ChainedRole, type SkyportenCredentialsOptions, type SkyportenIdentityProperties, type StsClientConfig } from './options.js';

/** The client configuration type of `fromTemporaryCredentials` (ours has a `maxAttempts` that may be `undefined`). */
type TemporaryConfig = NonNullable<Parameters<typeof fromTemporaryCredentials>[0]['clientConfig']>;

/**
 * Skyporten access tokens to present as AWS web identity tokens (e.g. to `fromWebToken`): the client's current one, checked to carry an audience.
 * @throws ConfigError naming `resource` when the token has no `aud`.
 * @public
 */
export function createWebIdentityTokenProvider(maskinporten?: MaskinportenClientOrOptions): (options?: { forceRefresh?: boolean; signal?: AbortSignal }) => Promise<string> {
  const tokens = presentedTokens(resolveMaskinportenClient(maskinporten), 'AWS STS');
  return async (options) => (await tokens(options)).token;
}

/**
 * AWS SDK v3 credentials from Skyporten: a Maskinporten token exchanged with STS for `roleArn` (then each `chain` role), cached and
 * refreshed; failures are `CloudExchangeError`s with a `hint`, bad options reject each call as a `ConfigError` (README: details).
 * @example
 * ```ts
 * const s3 = new S3Client({ region: 'eu-north-1', credentials: skyportenCredentials({ roleArn: 'arn:aws:iam::123456789012:role/skyporten-reader' }) });
 * ```
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): AwsCredentialIdentityProvider {
  let resolved: ReturnType<typeof resolveSettings>;
  try {
    resolved = resolveSettings(options);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    // Decision 0015: surface it when credentials are asked for, the AWS SDK's convention, so chain() can move on.
    return () => Promise.reject(new DeferredConfigError(error));
  }
  const { roleArn, chain, durationSeconds, client, clock, logger, ...settings } = resolved;
  const tokens = presentedTokens(client, 'AWS STS');
  // The latest call's properties, read by the load it starts: core's LoadContext lacks them on a background refresh.
  let properties: SkyportenIdentityProperties = {};

  async function load() {
    const call = properties;
    const clientConfig = settings.stsConfig(call.callerClientConfig);
    let presented = await tokens();
    const roleSessionName = settings.sessionName(presented.decoded);
    const assume = async () => {
      presented = await tokens();
      const provider = fromWebToken({ roleArn, roleSessionName, durationSeconds, webIdentityToken: presented.token, clientConfig });
      logEvent(logger, 'debug', 'calling AWS STS AssumeRoleWithWebIdentity', { roleArn, roleSessionName, subject: presented.decoded.subject });
      // The SDK's own type wants the resolved (function) form of callerClientConfig; ours also takes a string region.
      return provider(call as Parameters<typeof provider>[0]);
    };
    let credentials = await withFreshTokenOnExpiry(client, 'AWS STS', (error) => stsCodeOf(error) === 'ExpiredTokenException', logger, assume)
      .catch((error: unknown) => throwCloudExchangeError(error, { roleArn, token: presented.decoded }));
    let via = roleArn;
    for (const link of chain) {
      const params = { RoleArn: link.roleArn, RoleSessionName: link.roleSessionName || roleSessionName, DurationSeconds: link.durationSeconds, ExternalId: link.externalId };
      logEvent(logger, 'debug', 'calling AWS STS AssumeRole (role chaining)', { roleArn: link.roleArn, via, roleSessionName: params.RoleSessionName });
      const provider = fromTemporaryCredentials({ params, masterCredentials: credentials, clientConfig: clientConfig as TemporaryConfig });
      credentials = await provider({ callerClientConfig: call.callerClientConfig } as Parameters<typeof provider>[0])
        .catch((error: unknown) => throwCloudExchangeError(error, { roleArn: link.roleArn, token: presented.decoded, via }));
      via = link.roleArn;
    }
    if (!(credentials.expiration instanceof Date)) {
      throw new CloudExchangeError('aws', `AWS STS answered ${chain.length === 0 ? 'AssumeRoleWithWebIdentity' : 'AssumeRole'} for ${via} without an expiration.`);
    }
    logEvent(logger, 'info', 'AWS credentials obtained with Skyporten', { roleArn: via, expiration: credentials.expiration.toISOString() });
    return { credentials, expiresAt: credentials.expiration, issuedAt: new Date(clock()) };
  }

  const cache = createRefreshingCache(load, { ...settings.refresh, clock, logger, name: 'AWS credentials' });
  return async (identityProperties?: Record<string, unknown>) => {
    properties = identityProperties ?? {};
    // Called without options, the cache answers a hit on its fast path.
    return (await cache.get(properties.forceRefresh === true ? { forceRefresh: true } : undefined)).credentials;
  };
}
