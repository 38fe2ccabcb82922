import { randomBytes } from 'node:crypto';
import { fromWebToken } from '@aws-sdk/credential-providers';
import {
  ConfigError,
  CloudExchangeError,
  createRefreshingCache,
  logEvent,
  requireAudience,
  resolveMaskinportenClient,
  systemClock,
  type Clock,
  type DecodedSkyportenToken,
  type Environment,
  type Logger,
  type MaskinportenClient,
  type MaskinportenClientOrOptions,
} from '@skyporten/core';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DeferredConfigError, toCloudExchangeError } from './errors.js';

/**
 * Settings of the STS client that makes the `AssumeRoleWithWebIdentity` call. Anything else given here is
 * passed on to the STS client's configuration as is.
 *
 * @public
 */
export interface StsClientConfig {
  /**
   * The STS region.
   * @default `AWS_REGION`, else the region of the AWS SDK client that asks for credentials, else `'eu-north-1'`
   */
  region?: string;
  /**
   * The STS endpoint URL, e.g. a VPC endpoint or a local mock.
   * @default `AWS_ENDPOINT_URL_STS`, else the regional endpoint `https://sts.<region>.amazonaws.com`
   */
  endpoint?: string;
  /**
   * Attempts per STS call for throttling, 5xx and network failures (the STS client's own retry; the same
   * Skyporten token is reused, so no new token is minted per attempt).
   * @default 3
   */
  maxAttempts?: number;
  [option: string]: unknown;
}

/**
 * Options of {@link skyportenCredentials}.
 *
 * @public
 */
export interface SkyportenCredentialsOptions {
  /**
   * The Maskinporten client, or options to create one (see `createMaskinportenClient`; left-out options come
   * from the environment). Its `resource` must be an audience in the AWS OIDC provider's client ID list.
   * @default a client configured from the environment (`SKYPORTEN_ENV`, `MASKINPORTEN_CLIENT_ID`, …)
   */
  maskinporten?: MaskinportenClientOrOptions;
  /**
   * The IAM role to assume, shared with you by the data provider: `arn:aws:iam::<account>:role/<name>`.
   * @default `AWS_ROLE_ARN`
   */
  roleArn?: string;
  /**
   * The session name, visible in the data provider's CloudTrail: 2-64 characters from `[\w+=,.@-]`.
   * @default `AWS_ROLE_SESSION_NAME`, else `skyporten-<12 random hex digits>` (one per provider)
   */
  roleSessionName?: string;
  /**
   * Lifetime of the AWS credentials asked for, 900-43200 seconds; at most the role's maximum session duration.
   * @default 3600
   */
  durationSeconds?: number;
  /** Settings of the STS client (region, endpoint, retries). */
  clientConfig?: StsClientConfig;
  /**
   * Start refreshing the AWS credentials in the background this long before they expire (capped at a
   * quarter of their lifetime).
   * @default 600
   */
  refreshWindowSeconds?: number;
  /**
   * Never hand out credentials this close to expiry: callers wait for new ones instead. Capped at a tenth of
   * the credentials' lifetime, so the default 300 s holds for `durationSeconds` of 3000 and more; with 900 the
   * margin is 90 s (and the refresh window, capped at a quarter of the lifetime, 225 s).
   *
   * The AWS SDK (`memoizeIdentityProvider` of `@smithy/core`, which every client wraps a credentials function
   * in) treats credentials within 5 minutes of their `expiration` as expired: from then on the client calls
   * this provider again before each request and signs with what it returns, even the same credentials. With
   * `durationSeconds` of 1200 and more the default refresh window starts at least 300 s before expiry, so new
   * credentials normally arrive before that. With less (900: the refresh starts 225 s before expiry) the client
   * calls the provider on every request from 300 s to 225 s before expiry; the calls are answered from the
   * cache, without an STS call or a wait. The same happens with any duration while background refreshes fail,
   * until this margin, when callers wait for a new STS call (and get its error if it fails).
   * @default 300
   */
  safetyMarginSeconds?: number;
  /** Receives debug/info/warn events; never a token or a secret. */
  logger?: Logger;
  /** Current time in ms, for the credential cache (and the Maskinporten client when created here). @default Date.now */
  clock?: Clock;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Environment | false;
}

/** Identity properties the AWS SDK passes to a credential provider, plus `forceRefresh`. @public */
export interface SkyportenIdentityProperties {
  /** Skip the credential cache and call STS again (the Skyporten token is reused while valid; concurrent callers share the call). @default false */
  forceRefresh?: boolean;
  /** The configuration of the AWS SDK client asking; its region is the STS region's fallback. */
  callerClientConfig?: {
    /** The asking client's region, or the SDK's function that resolves it. */
    region?: string | (() => Promise<string>);
    [option: string]: unknown;
  };
  [property: string]: unknown;
}

interface CachedCredentials {
  credentials: AwsCredentialIdentity;
  expiresAt: Date;
  issuedAt: Date;
}

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const DEFAULT_REGION = 'eu-north-1';

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
  const client = resolveMaskinportenClient(maskinporten);
  return async (options = {}) => {
    const token = await client.getAccessToken(options);
    requireAudience(token, 'AWS STS');
    return token;
  };
}

/**
 * AWS SDK v3 credentials from Skyporten: a Maskinporten access token is exchanged for temporary credentials
 * of `roleArn` with STS `AssumeRoleWithWebIdentity`.
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
 * Configuration problems (`roleArn` missing, an invalid `roleSessionName` or `durationSeconds`, Maskinporten
 * options that cannot make a client) do not throw here: the returned provider rejects each call with an AWS SDK
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
  const env: Environment = options.env === false ? {} : (options.env ?? process.env);
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const roleArn = resolveRoleArn(options.roleArn ?? env.AWS_ROLE_ARN);
  const roleSessionName = resolveSessionName(options.roleSessionName ?? env.AWS_ROLE_SESSION_NAME);
  const durationSeconds = resolveDuration(options.durationSeconds);
  const { region: explicitRegion, endpoint: explicitEndpoint, ...stsOptions } = options.clientConfig ?? {};
  const region = explicitRegion ?? env.AWS_REGION;
  const endpoint = explicitEndpoint ?? env.AWS_ENDPOINT_URL_STS;
  const client = resolveClient(options);

  async function exchange(token: string, decoded: DecodedSkyportenToken, properties: SkyportenIdentityProperties): Promise<AwsCredentialIdentity> {
    const provider = fromWebToken({
      roleArn,
      roleSessionName,
      durationSeconds,
      webIdentityToken: token,
      clientConfig: {
        ...stsOptions,
        region: region ?? (() => resolveCallerRegion(properties.callerClientConfig)),
        ...(endpoint === undefined ? {} : { endpoint }),
      },
    });
    logEvent(logger, 'debug', 'calling AWS STS AssumeRoleWithWebIdentity', { roleArn, roleSessionName, subject: decoded.subject });
    // The SDK's own type wants the resolved (function) form of callerClientConfig; ours also takes a string region.
    return provider(properties as Parameters<typeof provider>[0]);
  }

  async function load(properties: SkyportenIdentityProperties): Promise<CachedCredentials> {
    let token = await client.getAccessToken();
    let decoded = requireAudience(token, 'AWS STS');
    let credentials: AwsCredentialIdentity;
    try {
      credentials = await exchange(token, decoded, properties);
    } catch (error) {
      if (readStsCode(error) !== 'ExpiredTokenException') throw toCloudExchangeError(error, { roleArn, token: decoded });
      logEvent(logger, 'info', 'AWS STS found the Skyporten token expired; retrying once with a fresh token');
      client.invalidate();
      token = await client.getAccessToken({ forceRefresh: true });
      decoded = requireAudience(token, 'AWS STS');
      try {
        credentials = await exchange(token, decoded, properties);
      } catch (retryError) {
        throw toCloudExchangeError(retryError, { roleArn, token: decoded });
      }
    }
    if (!(credentials.expiration instanceof Date)) {
      throw new CloudExchangeError('aws', `AWS STS answered AssumeRoleWithWebIdentity for ${roleArn} without an expiration.`);
    }
    logEvent(logger, 'info', 'AWS credentials obtained with Skyporten', { roleArn, expiration: credentials.expiration.toISOString() });
    return { credentials, expiresAt: credentials.expiration, issuedAt: new Date(clock()) };
  }

  // The properties of the call that starts a load (the cache's loader takes no arguments).
  let latestProperties: SkyportenIdentityProperties = {};
  const cache = createRefreshingCache(() => load(latestProperties), {
    clock,
    logger,
    name: 'AWS credentials',
    refreshWindowSeconds: options.refreshWindowSeconds ?? 600,
    safetyMarginSeconds: options.safetyMarginSeconds ?? 300,
  });

  return async (identityProperties?: Record<string, unknown>) => {
    const properties = (identityProperties ?? {}) as SkyportenIdentityProperties;
    latestProperties = properties;
    const { credentials } = await cache.get({ forceRefresh: properties.forceRefresh === true });
    return credentials;
  };
}

function resolveClient(options: SkyportenCredentialsOptions): MaskinportenClient {
  return resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger });
}

async function resolveCallerRegion(callerClientConfig: SkyportenIdentityProperties['callerClientConfig'] | undefined): Promise<string> {
  const region = callerClientConfig?.region;
  const value = typeof region === 'function' ? await region() : region;
  return typeof value === 'string' && value !== '' ? value : DEFAULT_REGION;
}

function resolveRoleArn(value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new ConfigError('roleArn', 'roleArn is missing: set the roleArn option or AWS_ROLE_ARN to the IAM role the data provider shared with you, e.g. "arn:aws:iam::123456789012:role/skyporten-reader".');
  }
  if (!ROLE_ARN.test(value)) {
    throw new ConfigError('roleArn', `roleArn (or AWS_ROLE_ARN) "${value}" is not an IAM role ARN: it must look like "arn:aws:iam::123456789012:role/skyporten-reader".`);
  }
  return value;
}

function resolveSessionName(value: string | undefined): string {
  if (value === undefined || value === '') return `skyporten-${randomBytes(6).toString('hex')}`;
  if (!SESSION_NAME.test(value)) {
    throw new ConfigError('roleSessionName', `roleSessionName (or AWS_ROLE_SESSION_NAME) must be 2-64 characters of letters, digits and _+=,.@-; got ${value.length} characters.`);
  }
  return value;
}

function resolveDuration(value: number | undefined): number {
  if (value === undefined) return 3600;
  if (!Number.isInteger(value) || value < 900 || value > 43200) {
    throw new ConfigError('durationSeconds', `durationSeconds must be a whole number from 900 to 43200 (15 minutes to 12 hours); got ${value}.`);
  }
  return value;
}

function readStsCode(error: unknown): string | undefined {
  const details = error as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  return details?.$metadata?.httpStatusCode !== undefined && typeof details.name === 'string' ? details.name : undefined;
}

