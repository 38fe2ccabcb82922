import { randomBytes } from 'node:crypto';
import { checkNumber, ConfigError, environmentOf, resolveMaskinportenClient, systemClock, type AdapterOptions, type DecodedSkyportenToken } from '@skyporten/core/adapter';

/** Settings of the STS client; anything else given here is passed on to the STS client's configuration as is. @public */
export interface StsClientConfig {
  /** The STS region. @default `AWS_REGION`, else the region of the AWS SDK client that asks for credentials, else `'eu-north-1'` */
  region?: string | undefined;
  /** The STS endpoint URL, e.g. a VPC endpoint or a local mock. @default `AWS_ENDPOINT_URL_STS`, else `https://sts.<region>.amazonaws.com` */
  endpoint?: string | undefined;
  /** Attempts per STS call for throttling, 5xx and network failures (the STS client's own retry, with the same Skyporten token). @default 3 */
  maxAttempts?: number | undefined;
  [option: string]: unknown;
}

/** One role of `chain`: assumed with STS `AssumeRole` with the credentials of the role before it. @public */
export interface ChainedRole {
  /** The role to assume: its trust policy must allow `sts:AssumeRole` for the role before it. */
  roleArn: string;
  /** The session name, 2-64 characters from `[\w+=,.@-]`. @default the session name of the web identity call */
  roleSessionName?: string | undefined;
  /** Lifetime of this role's credentials, 900-3600 seconds: AWS limits a chained session to one hour. @default 3600 */
  durationSeconds?: number | undefined;
  /** The external ID the role's trust policy asks for (`sts:ExternalId`), 2-1224 characters from `[\w+=,.@:/-]`. */
  externalId?: string | undefined;
}

/** Options of {@link skyportenCredentials}; the package README explains each one at length. @public */
export interface SkyportenCredentialsOptions extends AdapterOptions {
  /** The IAM role to assume, `arn:aws:iam::<account>:role/<name>` (with a custom STS endpoint any partition, account may be empty). @default `AWS_ROLE_ARN` */
  roleArn?: string | undefined;
  /** The session name, visible in the data provider's CloudTrail: 2-64 characters from `[\w+=,.@-]`. @default `AWS_ROLE_SESSION_NAME`, else `skyporten-<organisation number>-<8 hex digits>` */
  roleSessionName?: string | undefined;
  /** Lifetime of the AWS credentials asked for, 900-43200 seconds; at most the role's maximum session duration. @default 3600 */
  durationSeconds?: number | undefined;
  /** Roles to assume one after the other with STS `AssumeRole` after `roleArn` (role chaining); the last one's credentials are returned. @default [] */
  chain?: readonly ChainedRole[] | undefined;
  /** Settings of the STS client (region, endpoint, retries). */
  clientConfig?: StsClientConfig | undefined;
  /** Start refreshing the credentials in the background this long before they expire (at most a quarter of their lifetime). @default 600 */
  credentialRefreshAheadSeconds?: number | undefined;
  /** @deprecated Use `credentialRefreshAheadSeconds` (same meaning); this name stops working in the next minor version. */
  refreshWindowSeconds?: number | undefined;
  /** Never hand out credentials this close to expiry (at most a tenth of their lifetime; see the README's "Caching and refresh"). @default 300 */
  safetyMarginSeconds?: number | undefined;
}

/** Identity properties the AWS SDK passes to a credential provider, plus `forceRefresh`. @public */
export interface SkyportenIdentityProperties {
  /** Skip the credential cache and call STS again (the Skyporten token is reused while valid; concurrent callers share the call). @default false */
  forceRefresh?: boolean | undefined;
  /** The configuration of the AWS SDK client asking; its region is the STS region's fallback. */
  callerClientConfig?: {
    /** The asking client's region, or the SDK's function that resolves it. */
    region?: string | (() => Promise<string>) | undefined;
    [option: string]: unknown;
  } | undefined;
  [property: string]: unknown;
}

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** With a custom STS endpoint: MinIO's `arn:minio:iam:::role/<id>`, Ceph's `arn:aws:iam:::role/<name>` (no account). */
const CUSTOM_ROLE_ARN = /^arn:[a-z][\w-]*:iam::[\w-]*:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const SESSION_NAME = { pattern: /^[\w+=,.@-]{2,64}$/, rule: '2-64 characters of letters, digits and _+=,.@-' };
const EXTERNAL_ID = { pattern: /^[\w+=,.@:/-]{2,1224}$/, rule: '2-1224 characters of letters, digits and _+=,.@:/-' };

/** Checks a required role ARN option (`field`, named `label` in messages) against the pattern for the STS in use. */
function checkRoleArn(roleArn: unknown, field: string, label: string, customEndpoint: boolean, missing: string): asserts roleArn is string {
  if (typeof roleArn !== 'string' || roleArn === '') throw new ConfigError(field, `${field} is missing: ${missing}`);
  if ((customEndpoint ? CUSTOM_ROLE_ARN : ROLE_ARN).test(roleArn)) return;
  throw new ConfigError(field, `${label} "${roleArn}" is not an IAM role ARN: it must look like "arn:aws:iam::123456789012:role/skyporten-reader"${customEndpoint ? ' (with a custom STS endpoint: "arn:<partition>:iam::<account, may be empty>:role/<name>")' : ''}.`);
}

/** Checks an optional string option against `expected.pattern`. */
function checkChars(value: string | undefined, field: string, label: string, expected: typeof SESSION_NAME): void {
  if (value !== undefined && !expected.pattern.test(value)) throw new ConfigError(field, `${label} must be ${expected.rule}; got ${value.length} characters.`);
}

const DEPRECATED = 'The skyportenCredentials option refreshWindowSeconds is deprecated: use credentialRefreshAheadSeconds (same meaning). refreshWindowSeconds stops working in the next minor version.';
let warnedRefreshWindow = false;
/** `credentialRefreshAheadSeconds`, or the deprecated `refreshWindowSeconds` with one DeprecationWarning per process. */
function refreshAheadSeconds({ credentialRefreshAheadSeconds: seconds, refreshWindowSeconds: deprecated }: SkyportenCredentialsOptions): number {
  if (seconds !== undefined || deprecated === undefined) return seconds ?? 600;
  if (!warnedRefreshWindow) process.emitWarning(DEPRECATED, { type: 'DeprecationWarning', code: 'SKYPORTEN_DEP_AWS_REFRESHWINDOWSECONDS' });
  warnedRefreshWindow = true;
  return deprecated;
}

/** The options of `skyportenCredentials`, validated (a {@link ConfigError} names the option at fault), with the environment and defaults filled in. */
export function resolveSettings(options: SkyportenCredentialsOptions) {
  const env = environmentOf(options.env);
  const { region = env.AWS_REGION, endpoint = env.AWS_ENDPOINT_URL_STS, ...rest } = options.clientConfig ?? {};
  const customEndpoint = endpoint !== undefined && endpoint !== '';
  const roleArn = options.roleArn ?? env.AWS_ROLE_ARN;
  checkRoleArn(roleArn, 'roleArn', 'roleArn (or AWS_ROLE_ARN)', customEndpoint, 'set the roleArn option or AWS_ROLE_ARN to the IAM role the data provider shared with you, e.g. "arn:aws:iam::123456789012:role/skyporten-reader".');
  const roleSessionName = options.roleSessionName ?? env.AWS_ROLE_SESSION_NAME;
  checkChars(roleSessionName || undefined, 'roleSessionName', 'roleSessionName (or AWS_ROLE_SESSION_NAME)', SESSION_NAME);
  checkNumber(options.durationSeconds, 'durationSeconds', { min: 900, max: 43200, integer: true });
  checkNumber(options.credentialRefreshAheadSeconds, 'credentialRefreshAheadSeconds', { min: 0, max: Infinity });
  checkNumber(options.safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  if (options.chain !== undefined && !Array.isArray(options.chain)) throw new ConfigError('chain', 'chain must be an array of { roleArn, roleSessionName?, durationSeconds?, externalId? }.');
  const chain = (options.chain ?? []).map((link: ChainedRole, index): ChainedRole => {
    const field = `chain[${index}]`;
    checkRoleArn(link?.roleArn, `${field}.roleArn`, `${field}.roleArn`, customEndpoint, 'each chained role needs the ARN of the role to assume with the credentials of the one before.');
    checkChars(link.roleSessionName || undefined, `${field}.roleSessionName`, `${field}.roleSessionName`, SESSION_NAME);
    checkNumber(link.durationSeconds, `${field}.durationSeconds`, { min: 900, max: 3600, integer: true });
    checkChars(link.externalId, `${field}.externalId`, `${field}.externalId`, EXTERNAL_ID);
    return { ...link };
  });
  const suffix = randomBytes(4).toString('hex');
  return {
    roleArn,
    chain,
    /** The explicit session name, else `skyporten-<org>-<suffix>`, the token's consumer organisation cut to fit 64 characters. */
    sessionName: ({ consumerOrg }: DecodedSkyportenToken): string => {
      const org = (consumerOrg ?? '').replace(/[^\w+=,.@-]/g, '').slice(0, 64 - 'skyporten--'.length - suffix.length);
      return roleSessionName || (org === '' ? `skyporten-${suffix}` : `skyporten-${org}-${suffix}`);
    },
    durationSeconds: options.durationSeconds ?? 3600,
    /** The STS client's configuration for one call: without a region set, the asking client's, else eu-north-1. */
    stsConfig: (caller: SkyportenIdentityProperties['callerClientConfig']) => {
      const callerRegion = async () => (typeof caller?.region === 'function' ? await caller.region() : caller?.region) || 'eu-north-1';
      return { ...rest, ...(endpoint === undefined ? {} : { endpoint }), region: region ?? callerRegion };
    },
    client: resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger }),
    clock: options.clock ?? systemClock,
    logger: options.logger,
    /** When the credential cache refreshes (core's rule caps both by the credentials' lifetime). */
    refresh: { refreshWindowSeconds: refreshAheadSeconds(options), safetyMarginSeconds: options.safetyMarginSeconds ?? 300 },
  };
}
