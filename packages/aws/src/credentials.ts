import { fromWebToken } from '@aws-sdk/credential-providers';
import type { MaskinportenClient } from '@skyporten/core';
import {
  CloudExchangeError,
  ConfigError,
  createRefreshingCache,
  logEvent,
  requireAudience,
  resolveMaskinportenClient,
  type DecodedSkyportenToken,
  type GetOptions,
  type MaskinportenClientOrOptions,
} from '@skyporten/core/adapter';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { assumeChain, resolveChain, type ResolvedStsConfig } from './chain.js';
import { DeferredConfigError, stsCodeOf, toCloudExchangeError } from './errors.js';
import { callerRegion, resolveSettings, type SkyportenCredentialsOptions, type SkyportenIdentityProperties } from './options.js';

/** A Skyporten token and its claims. */
type Presented = { token: string; decoded: DecodedSkyportenToken };

/** The client's current token, checked to carry an audience; each token is decoded once, however often it is asked for. */
function audienceCheckedTokens(client: MaskinportenClient): (options?: GetOptions) => Promise<Presented> {
  let last: Presented | undefined;
  return async (options) => {
    const token = await client.getAccessToken(options);
    if (last?.token !== token) last = { token, decoded: requireAudience(token, 'AWS STS') };
    return last;
  };
}

/**
 * A source of Skyporten access tokens to present as AWS web identity tokens: each call returns the client's
 * current token (fetched or refreshed as needed), after checking that it carries an audience.
 *
 * @example
 * ```ts
 * import { fromWebToken } from '@aws-sdk/credential-providers';
 * const getToken = createWebIdentityTokenProvider({ environment: 'test', resource: 'https://skyporten.example.org' });
 * const credentials = fromWebToken({ roleArn, webIdentityToken: await getToken() });
 * ```
 * @throws ConfigError naming `resource` when the token has no `aud`.
 * @public
 */
export function createWebIdentityTokenProvider(maskinporten?: MaskinportenClientOrOptions): (options?: { forceRefresh?: boolean; signal?: AbortSignal }) => Promise<string> {
  const tokens = audienceCheckedTokens(resolveMaskinportenClient(maskinporten));
  return async (options) => (await tokens(options)).token;
}

/**
 * AWS SDK v3 credentials from Skyporten: a Maskinporten access token is exchanged for temporary credentials
 * of `roleArn` with STS `AssumeRoleWithWebIdentity` (session name `skyporten-<organisation number>-<random>`
 * unless set), then, with `chain`, for each next role with `AssumeRole` (role chaining).
 *
 * - The credentials are cached and refreshed ahead of their `expiration` (by default 10 minutes before,
 *   at most a quarter of their lifetime before);
 *   concurrent callers share one exchange, failures are not cached. A Skyporten token is fetched only when
 *   STS must be called.
 * - Throttling, 5xx and network failures are retried by the STS client with the same token; an
 *   `ExpiredTokenException` is retried once with a fresh token.
 * - Failures are `CloudExchangeError`s (`code: 'CLOUD_EXCHANGE_FAILED'`, `cloudCode` = the STS code) with
 *   a `hint`: the OIDC provider's client ID list for a wrong audience, the trust policy's `<host>:sub` (and this
 *   token's sub) for `AccessDenied`.
 *
 * @example
 * ```ts
 * import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
 * import { skyportenCredentials } from '@skyporten/aws';
 *
 * const s3 = new S3Client({
 *   region: 'eu-north-1',
 *   credentials: skyportenCredentials({
 *     roleArn: 'arn:aws:iam::123456789012:role/skyporten-reader',
 *     maskinporten: { environment: 'test', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org' },
 *   }),
 * });
 * const object = await s3.send(new GetObjectCommand({ Bucket: 'shared-data', Key: 'hello.txt' }));
 * ```
 * Configuration problems (`roleArn` missing, an invalid `roleSessionName`, `durationSeconds` or `chain` entry,
 * Maskinporten options that cannot make a client) do not throw here: the returned provider rejects each call with an AWS SDK
 * `CredentialsProviderError` (so a `chain()` of providers tries the next one) that carries the same message,
 * `hint`, `field` and `code: 'CONFIG_INVALID'` and passes `ConfigError.isInstance`. `await provider()` at
 * startup fails fast if you want that.
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): AwsCredentialIdentityProvider {
  try {
    return createProvider(options);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    // Decision 0015: surface it when credentials are asked for, the AWS SDK's convention, so chain() can move on.
    return async () => {
      throw new DeferredConfigError(error);
    };
  }
}

function createProvider(options: SkyportenCredentialsOptions): AwsCredentialIdentityProvider {
  const settings = resolveSettings(options);
  const { roleArn, durationSeconds, client, clock, logger } = settings;
  const chain = resolveChain(options.chain, settings.customEndpoint);
  const finalRoleArn = chain.at(-1)?.roleArn ?? roleArn;
  const tokens = audienceCheckedTokens(client);
  // The properties of the latest call: the load it starts reads them. Core's LoadContext would give only the
  // starting call's get options, and a background refresh none, so the caller's region would be lost there.
  let properties: SkyportenIdentityProperties = {};

  async function assume({ token, decoded }: Presented, roleSessionName: string, call: SkyportenIdentityProperties, clientConfig: ResolvedStsConfig) {
    const provider = fromWebToken({ roleArn, roleSessionName, durationSeconds, webIdentityToken: token, clientConfig });
    logEvent(logger, 'debug', 'calling AWS STS AssumeRoleWithWebIdentity', { roleArn, roleSessionName, subject: decoded.subject });
    // The SDK's own type wants the resolved (function) form of callerClientConfig; ours also takes a string region.
    return provider(call as Parameters<typeof provider>[0]);
  }

  async function load() {
    const call = properties;
    const { callerClientConfig } = call;
    const clientConfig = { ...settings.stsConfig, region: settings.stsConfig.region ?? (() => callerRegion(callerClientConfig)) };
    let presented = await tokens();
    const roleSessionName = settings.sessionName(presented.decoded);
    const first = await assume(presented, roleSessionName, call, clientConfig)
      .catch(async (error: unknown) => {
        if (stsCodeOf(error) !== 'ExpiredTokenException') throw error;
        logEvent(logger, 'info', 'AWS STS found the Skyporten token expired; retrying once with a fresh token');
        client.invalidate();
        presented = await tokens({ forceRefresh: true });
        return assume(presented, roleSessionName, call, clientConfig);
      })
      .catch((error: unknown) => {
        throw toCloudExchangeError(error, { roleArn, token: presented.decoded });
      });
    const context = { roleArn, roleSessionName, clientConfig, callerClientConfig, token: presented.decoded, logger };
    const credentials = await assumeChain(chain, first, context);
    if (!(credentials.expiration instanceof Date)) {
      const action = chain.length === 0 ? 'AssumeRoleWithWebIdentity' : 'AssumeRole';
      throw new CloudExchangeError('aws', `AWS STS answered ${action} for ${finalRoleArn} without an expiration.`);
    }
    logEvent(logger, 'info', 'AWS credentials obtained with Skyporten', { roleArn: finalRoleArn, expiration: credentials.expiration.toISOString() });
    return { credentials, expiresAt: credentials.expiration, issuedAt: new Date(clock()) };
  }

  const cache = createRefreshingCache(load, { ...settings.refresh, clock, logger, name: 'AWS credentials' });
  return async (identityProperties?: Record<string, unknown>) => {
    properties = identityProperties ?? {};
    // Called without options, the cache answers a hit on its fast path.
    return (await cache.get(properties.forceRefresh === true ? { forceRefresh: true } : undefined)).credentials;
  };
}
