import { randomBytes } from 'node:crypto';
import type { Environment, MaskinportenClient } from '@skyporten/core';
import { ConfigError, resolveMaskinportenClient, systemClock, type Clock, type Logger, type MaskinportenClientOrOptions } from '@skyporten/core/adapter';

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

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/**
 * The options of `skyportenCredentials`, validated (a {@link ConfigError} names the option at fault), with the
 * environment and the defaults filled in.
 */
export function resolveSettings(options: SkyportenCredentialsOptions) {
  const env: Environment = options.env === false ? {} : (options.env ?? process.env);
  const roleArn = options.roleArn ?? env.AWS_ROLE_ARN;
  if (roleArn === undefined || roleArn === '') {
    throw new ConfigError('roleArn', 'roleArn is missing: set the roleArn option or AWS_ROLE_ARN to the IAM role the data provider shared with you, e.g. "arn:aws:iam::123456789012:role/skyporten-reader".');
  }
  if (!ROLE_ARN.test(roleArn)) {
    throw new ConfigError('roleArn', `roleArn (or AWS_ROLE_ARN) "${roleArn}" is not an IAM role ARN: it must look like "arn:aws:iam::123456789012:role/skyporten-reader".`);
  }
  const roleSessionName = options.roleSessionName ?? env.AWS_ROLE_SESSION_NAME;
  if (roleSessionName !== undefined && roleSessionName !== '' && !SESSION_NAME.test(roleSessionName)) {
    throw new ConfigError('roleSessionName', `roleSessionName (or AWS_ROLE_SESSION_NAME) must be 2-64 characters of letters, digits and _+=,.@-; got ${roleSessionName.length} characters.`);
  }
  const { durationSeconds = 3600 } = options;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43200) {
    throw new ConfigError('durationSeconds', `durationSeconds must be a whole number from 900 to 43200 (15 minutes to 12 hours); got ${durationSeconds}.`);
  }
  const { region = env.AWS_REGION, endpoint = env.AWS_ENDPOINT_URL_STS, ...rest } = options.clientConfig ?? {};
  const { clock = systemClock, logger } = options;
  const stsConfig: StsClientConfig = { ...rest, ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) };
  return {
    roleArn,
    roleSessionName: roleSessionName || `skyporten-${randomBytes(6).toString('hex')}`,
    durationSeconds,
    stsConfig,
    client: resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger }),
    clock,
    logger,
    /** When the credential cache refreshes (core's rule caps both by the credentials' lifetime). */
    refresh: { refreshWindowSeconds: options.refreshWindowSeconds ?? 600, safetyMarginSeconds: options.safetyMarginSeconds ?? 300 },
  };
}

/** The STS region when neither `clientConfig.region` nor `AWS_REGION` is set: the asking client's, else eu-north-1. */
export async function callerRegion(callerClientConfig: SkyportenIdentityProperties['callerClientConfig']): Promise<string> {
  const region = callerClientConfig?.region;
  const value = typeof region === 'function' ? await region() : region;
  return typeof value === 'string' && value !== '' ? value : 'eu-north-1';
}
