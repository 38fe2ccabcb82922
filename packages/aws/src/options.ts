import { randomBytes } from 'node:crypto';
import type { Environment } from '@skyporten/core';
import { ConfigError, resolveMaskinportenClient, systemClock, type Clock, type DecodedSkyportenToken, type Logger, type MaskinportenClientOrOptions } from '@skyporten/core/adapter';
import type { ChainedRole } from './chain.js';

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
  region?: string | undefined;
  /**
   * The STS endpoint URL, e.g. a VPC endpoint or a local mock.
   * @default `AWS_ENDPOINT_URL_STS`, else the regional endpoint `https://sts.<region>.amazonaws.com`
   */
  endpoint?: string | undefined;
  /**
   * Attempts per STS call for throttling, 5xx and network failures (the STS client's own retry; the same
   * Skyporten token is reused, so no new token is minted per attempt).
   * @default 3
   */
  maxAttempts?: number | undefined;
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
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /**
   * The IAM role to assume, shared with you by the data provider: `arn:aws:iam::<account>:role/<name>`. With a
   * custom STS endpoint (MinIO, Ceph) any `arn:<partition>:iam::<account, may be empty>:role/<name>`.
   * @default `AWS_ROLE_ARN`
   */
  roleArn?: string | undefined;
  /**
   * The session name, visible in the data provider's CloudTrail: 2-64 characters from `[\w+=,.@-]`.
   * @default `AWS_ROLE_SESSION_NAME`, else `skyporten-<organisation number>-<8 random hex digits>` (the
   * organisation of the Skyporten token's `consumer`; the random part is one per provider)
   */
  roleSessionName?: string | undefined;
  /**
   * Lifetime of the AWS credentials asked for, 900-43200 seconds; at most the role's maximum session duration.
   * @default 3600
   */
  durationSeconds?: number | undefined;
  /**
   * Roles to assume one after the other with STS `AssumeRole` after `roleArn` (role chaining): each with the
   * credentials of the one before. The last role's credentials are returned, cached and refreshed (the whole
   * chain again).
   * @default [] (no chaining)
   */
  chain?: readonly ChainedRole[] | undefined;
  /** Settings of the STS client (region, endpoint, retries). */
  clientConfig?: StsClientConfig | undefined;
  /**
   * Start refreshing the AWS credentials in the background this long before they expire (capped at a
   * quarter of their lifetime).
   * @default 600
   */
  credentialRefreshAheadSeconds?: number | undefined;
  /** @deprecated Use `credentialRefreshAheadSeconds` (same meaning); this name stops working in the next minor version. */
  refreshWindowSeconds?: number | undefined;
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
  safetyMarginSeconds?: number | undefined;
  /** Receives debug/info/warn events; never a token or a secret. */
  logger?: Logger | undefined;
  /** Current time in ms, for the credential cache (and the Maskinporten client when created here). @default Date.now */
  clock?: Clock | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Environment | false | undefined;
}

/** Identity properties the AWS SDK passes to a credential provider, plus `forceRefresh`. @public */
export interface SkyportenIdentityProperties {
  /** Skip the credential cache and call STS again (the Skyporten token is reused while valid; concurrent callers share the call). @default false */
  forceRefresh?: boolean | undefined;
  /** The configuration of the AWS SDK client asking; its region is the STS region's fallback. */
  callerClientConfig?:
    | {
        /** The asking client's region, or the SDK's function that resolves it. */
        region?: string | (() => Promise<string>) | undefined;
        [option: string]: unknown;
      }
    | undefined;
  [property: string]: unknown;
}

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** With a custom STS endpoint: MinIO's `arn:minio:iam:::role/<id>`, Ceph's `arn:aws:iam:::role/<name>` (no account). */
const CUSTOM_ROLE_ARN = /^arn:[a-z][\w-]*:iam::[\w-]*:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** Checks a role ARN option (`field`, named `label` in messages) against the pattern for the STS in use. @internal */
export function checkRoleArn(roleArn: string, field: string, label: string, customEndpoint: boolean): void {
  if ((customEndpoint ? CUSTOM_ROLE_ARN : ROLE_ARN).test(roleArn)) return;
  throw new ConfigError(field, `${label} "${roleArn}" is not an IAM role ARN: it must look like "arn:aws:iam::123456789012:role/skyporten-reader"${customEndpoint ? ' (with a custom STS endpoint: "arn:<partition>:iam::<account, may be empty>:role/<name>")' : ''}.`);
}

/** Checks a session name option; `undefined` and `''` mean the default. @internal */
export function checkSessionName(name: string | undefined, field: string, label: string): void {
  if (name !== undefined && name !== '' && !SESSION_NAME.test(name)) {
    throw new ConfigError(field, `${label} must be 2-64 characters of letters, digits and _+=,.@-; got ${name.length} characters.`);
  }
}

let warnedRefreshWindow = false;
/** `credentialRefreshAheadSeconds`, or the deprecated `refreshWindowSeconds` with one DeprecationWarning per process. */
function refreshAheadSeconds(options: SkyportenCredentialsOptions): number {
  if (options.credentialRefreshAheadSeconds !== undefined || options.refreshWindowSeconds === undefined) return options.credentialRefreshAheadSeconds ?? 600;
  if (!warnedRefreshWindow) {
    warnedRefreshWindow = true;
    process.emitWarning('The skyportenCredentials option refreshWindowSeconds is deprecated: use credentialRefreshAheadSeconds (same meaning). refreshWindowSeconds stops working in the next minor version.', {
      type: 'DeprecationWarning',
      code: 'SKYPORTEN_DEP_AWS_REFRESHWINDOWSECONDS',
    });
  }
  return options.refreshWindowSeconds;
}

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
  const { region = env.AWS_REGION, endpoint = env.AWS_ENDPOINT_URL_STS, ...rest } = options.clientConfig ?? {};
  const customEndpoint = endpoint !== undefined && endpoint !== '';
  checkRoleArn(roleArn, 'roleArn', 'roleArn (or AWS_ROLE_ARN)', customEndpoint);
  const roleSessionName = options.roleSessionName ?? env.AWS_ROLE_SESSION_NAME;
  checkSessionName(roleSessionName, 'roleSessionName', 'roleSessionName (or AWS_ROLE_SESSION_NAME)');
  const { durationSeconds = 3600 } = options;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43200) {
    throw new ConfigError('durationSeconds', `durationSeconds must be a whole number from 900 to 43200 (15 minutes to 12 hours); got ${durationSeconds}.`);
  }
  const { clock = systemClock, logger } = options;
  const stsConfig: StsClientConfig = { ...rest, ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) };
  const suffix = randomBytes(4).toString('hex');
  return {
    roleArn,
    /** The session name: the explicit one, else `skyporten-<org>-<suffix>` from this token's consumer organisation. */
    sessionName: (token: DecodedSkyportenToken): string => (roleSessionName ? roleSessionName : defaultSessionName(token.consumerOrg, suffix)),
    durationSeconds,
    /** A custom STS endpoint is set (MinIO, Ceph, a VPC endpoint, a mock): role ARNs are checked less strictly. */
    customEndpoint,
    stsConfig,
    client: resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger }),
    clock,
    logger,
    /** When the credential cache refreshes (core's rule caps both by the credentials' lifetime). */
    refresh: { refreshWindowSeconds: refreshAheadSeconds(options), safetyMarginSeconds: options.safetyMarginSeconds ?? 300 },
  };
}

/** `skyporten-<org>-<suffix>`, the organisation reduced to session-name characters and cut to fit 64; without one `skyporten-<suffix>`. */
function defaultSessionName(consumerOrg: string | undefined, suffix: string): string {
  const org = (consumerOrg ?? '').replace(/[^\w+=,.@-]/g, '').slice(0, 64 - 'skyporten--'.length - suffix.length);
  return org === '' ? `skyporten-${suffix}` : `skyporten-${org}-${suffix}`;
}

/** The STS region when neither `clientConfig.region` nor `AWS_REGION` is set: the asking client's, else eu-north-1. */
export async function callerRegion(callerClientConfig: SkyportenIdentityProperties['callerClientConfig']): Promise<string> {
  const region = callerClientConfig?.region;
  const value = typeof region === 'function' ? await region() : region;
  return typeof value === 'string' && value !== '' ? value : 'eu-north-1';
}
