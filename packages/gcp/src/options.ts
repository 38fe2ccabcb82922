import { isLoopbackHost, type Environment } from '@skyporten/core';
import { ConfigError } from '@skyporten/core/adapter';

/**
 * The parts of a workload identity pool provider's resource name. Ask the data provider for them (or for the
 * full audience string).
 *
 * @public
 */
export interface WorkloadIdentityProvider {
  /** The project NUMBER (digits, not the project id) that owns the pool, e.g. `"123456789012"`. */
  projectNumber: string;
  /** The workload identity pool id, e.g. `"skyporten"`. */
  poolId: string;
  /** The OIDC provider id in the pool, e.g. `"maskinporten"`. */
  providerId: string;
}

/**
 * Options shared by {@link skyportenCredentials} and {@link gcpCredentialConfig}: where the workload identity
 * federation lives on the data provider's side.
 *
 * @public
 */
export interface GcpFederationOptions {
  /**
   * The workload identity pool provider: the full
   * `//iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER>`
   * string, or its parts.
   * @default `SKYPORTEN_GCP_AUDIENCE`
   */
  audience?: string | WorkloadIdentityProvider | undefined;
  /**
   * The service account to impersonate (the data provider granted it read access and granted you
   * `roles/iam.workloadIdentityUser` on it). Env: `SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL`.
   *
   * Without it, the federated token from STS is used directly; it lives only as long as the Skyporten token
   * (about 120 seconds), and only resources that grant the federated principal itself can be read.
   * @default `SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL`, else no impersonation
   */
  serviceAccountEmail?: string | undefined;
  /** The STS token exchange endpoint. @default `https://sts.${universeDomain}/v1/token` */
  tokenUrl?: string | undefined;
  /**
   * The full `generateAccessToken` URL; overrides the one built from `serviceAccountEmail`.
   * @default `https://iamcredentials.${universeDomain}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`
   */
  serviceAccountImpersonationUrl?: string | undefined;
  /** The Google Cloud universe. @default "googleapis.com" */
  universeDomain?: string | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Environment | false | undefined;
}

/**
 * The environment variables the GCP adapter reads when an option is left out.
 *
 * @public
 */
export const GCP_ENVIRONMENT_VARIABLES = {
  /** Read for the `audience` option. */
  audience: 'SKYPORTEN_GCP_AUDIENCE',
  /** Read for the `serviceAccountEmail` option. */
  serviceAccountEmail: 'SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL',
} as const;

/** The federation options after validation, with defaults applied (`SkyportenIdentityPoolClient.federation`). @public */
export interface ResolvedFederation {
  /** The workload identity pool provider's full resource name, the STS `audience`. */
  audience: string;
  /** The parts of `audience`. */
  provider: WorkloadIdentityProvider;
  /** The Google Cloud universe, e.g. `googleapis.com`. */
  universeDomain: string;
  /** The STS token exchange endpoint. */
  tokenUrl: string;
  /** The service account impersonated, if any. */
  serviceAccountEmail: string | undefined;
  /** The `generateAccessToken` URL of that service account, if any. */
  serviceAccountImpersonationUrl: string | undefined;
}

const AUDIENCE_PATTERN =
  /^\/\/iam\.([a-z0-9.-]+)\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})\/providers\/([a-z0-9-]{4,32})$/;
const ID_PATTERN = /^[a-z0-9-]{4,32}$/;
export const EMAIL_PATTERN = /^[^\s@/:]+@[^\s@/:]+\.[^\s@/:]+$/;
const IMPERSONATION_PATTERN = /\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const DEFAULT_UNIVERSE_DOMAIN = 'googleapis.com';

/**
 * Builds the STS audience from its parts, validating each.
 *
 * @example
 * ```ts
 * workloadIdentityAudience({ projectNumber: '123456789012', poolId: 'skyporten', providerId: 'maskinporten' });
 * // '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten'
 * ```
 * @throws ConfigError naming `audience` when a part is malformed.
 * @public
 */
export function workloadIdentityAudience(provider: WorkloadIdentityProvider): string {
  return parseAudience(provider).audience;
}

function parseAudience(value: string | WorkloadIdentityProvider): { audience: string; provider: WorkloadIdentityProvider } {
  if (typeof value === 'string') {
    const match = AUDIENCE_PATTERN.exec(value.trim());
    if (match === null) {
      throw new ConfigError(
        'audience',
        `audience "${value}" is not a workload identity pool provider: expected //iam.googleapis.com/projects/<PROJECT NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER>.`,
        { hint: 'Ask the data provider for the provider resource name, or pass { projectNumber, poolId, providerId }. The project NUMBER is digits, not the project id.' },
      );
    }
    const [, , projectNumber = '', poolId = '', providerId = ''] = match;
    return { audience: value.trim(), provider: { projectNumber, poolId, providerId } };
  }
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError('audience', 'audience must be the provider resource name or { projectNumber, poolId, providerId }.');
  }
  const { projectNumber, poolId, providerId } = value;
  if (typeof projectNumber !== 'string' || !/^\d+$/.test(projectNumber)) {
    throw new ConfigError('audience.projectNumber', `audience.projectNumber must be the project NUMBER (digits), got "${String(projectNumber)}".`, {
      hint: 'Find it with `gcloud projects describe <PROJECT_ID> --format="value(projectNumber)"`.',
    });
  }
  for (const [field, id] of [['poolId', poolId], ['providerId', providerId]] as const) {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new ConfigError(`audience.${field}`, `audience.${field} must be 4-32 lowercase letters, digits or hyphens, got "${String(id)}".`);
    }
  }
  return {
    audience: `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/providers/${providerId}`,
    provider: { projectNumber, poolId, providerId },
  };
}

function checkUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, `${field} "${value}" is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(field, `${field} must use https (http is allowed only on loopback, for tests), got "${value}".`);
  }
  return value;
}

/** Checks `tokenLifetimeSeconds`: 600 to 43200 seconds (above 3600 needs an organisation policy). @internal */
export function checkTokenLifetime(lifetime: number | undefined): void {
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 600 || lifetime > 43_200)) {
    throw new ConfigError('tokenLifetimeSeconds', `tokenLifetimeSeconds must be a whole number of seconds from 600 to 43200 (above 3600 needs an organisation policy), got ${String(lifetime)}.`);
  }
}

/** Validates the federation options once, where the factory is called. @internal */
export function resolveFederation(options: GcpFederationOptions): ResolvedFederation {
  const env: Environment = options.env === false ? {} : (options.env ?? process.env);
  const rawAudience = options.audience ?? env[GCP_ENVIRONMENT_VARIABLES.audience];
  if (rawAudience === undefined || rawAudience === '') {
    throw new ConfigError(
      'audience',
      `audience is required: the workload identity pool provider (option audience or ${GCP_ENVIRONMENT_VARIABLES.audience}).`,
      { hint: 'e.g. //iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten' },
    );
  }
  const { audience, provider } = parseAudience(rawAudience);

  const universeDomain = options.universeDomain ?? DEFAULT_UNIVERSE_DOMAIN;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(universeDomain)) {
    throw new ConfigError('universeDomain', `universeDomain must be a domain such as "googleapis.com", got "${universeDomain}".`);
  }
  const tokenUrl = checkUrl('tokenUrl', options.tokenUrl ?? `https://sts.${universeDomain}/v1/token`);

  let serviceAccountEmail = options.serviceAccountEmail ?? (env[GCP_ENVIRONMENT_VARIABLES.serviceAccountEmail]?.trim() || undefined);
  if (serviceAccountEmail !== undefined && !EMAIL_PATTERN.test(serviceAccountEmail)) {
    throw new ConfigError('serviceAccountEmail', `serviceAccountEmail "${serviceAccountEmail}" is not an email address.`, {
      hint: 'Service accounts look like name@project-id.iam.gserviceaccount.com.',
    });
  }
  let serviceAccountImpersonationUrl = options.serviceAccountImpersonationUrl;
  if (serviceAccountImpersonationUrl !== undefined) {
    const named = IMPERSONATION_PATTERN.exec(new URL(checkUrl('serviceAccountImpersonationUrl', serviceAccountImpersonationUrl)).pathname)?.[1];
    if (named === undefined || serviceAccountImpersonationUrl.length > 256) {
      throw new ConfigError(
        'serviceAccountImpersonationUrl',
        'serviceAccountImpersonationUrl must end in /projects/-/serviceAccounts/<EMAIL>:generateAccessToken and be at most 256 characters.',
      );
    }
    if (serviceAccountEmail !== undefined && decodeURIComponent(named) !== serviceAccountEmail) {
      throw new ConfigError('serviceAccountImpersonationUrl', `serviceAccountImpersonationUrl names ${decodeURIComponent(named)}, but serviceAccountEmail is ${serviceAccountEmail}.`);
    }
    serviceAccountEmail = decodeURIComponent(named);
  } else if (serviceAccountEmail !== undefined) {
    serviceAccountImpersonationUrl = `https://iamcredentials.${universeDomain}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`;
  }
  return { audience, provider, universeDomain, tokenUrl, serviceAccountEmail, serviceAccountImpersonationUrl };
}
