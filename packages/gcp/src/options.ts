import { checkEndpoint, checkNumber, ConfigError, environmentOf, type AdapterOptions } from '@skyporten/core/adapter';

/** The parts of a workload identity pool provider's resource name; ask the data provider for them. @public */
export interface WorkloadIdentityProvider {
  /** The project NUMBER (digits, not the project id) that owns the pool, e.g. `"123456789012"`. */
  projectNumber: string;
  /** The workload identity pool id, e.g. `"skyporten"`. */
  poolId: string;
  /** The OIDC provider id in the pool, e.g. `"maskinporten"`. */
  providerId: string;
}

/** Where the data provider's workload identity federation lives ({@link skyportenCredentials}, {@link gcpCredentialConfig}). @public */
export interface GcpFederationOptions extends Pick<AdapterOptions, 'env'> {
  /** The pool provider, `//iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER>`, or its parts. @default `SKYPORTEN_GCP_AUDIENCE` */
  audience?: string | WorkloadIdentityProvider | undefined;
  /** The service account to impersonate; without it the federated token is used directly (see the README). @default `SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL`, else none */
  serviceAccountEmail?: string | undefined;
  /** The STS token exchange endpoint. @default `https://sts.${universeDomain}/v1/token` */
  tokenUrl?: string | undefined;
  /** The full `generateAccessToken` URL; overrides the one built from `serviceAccountEmail`. @default on `iamcredentials.${universeDomain}` */
  serviceAccountImpersonationUrl?: string | undefined;
  /** The Google Cloud universe. @default "googleapis.com" */
  universeDomain?: string | undefined;
}

/** The environment variables the GCP adapter reads when an option is left out. @public */
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

const AUDIENCE_PATTERN = /^\/\/iam\.[a-z0-9.-]+\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})\/providers\/([a-z0-9-]{4,32})$/;
const EMAIL_PATTERN = /^[^\s@/:]+@[^\s@/:]+\.[^\s@/:]+$/;
const EMAIL_HINT = 'Service accounts look like name@project-id.iam.gserviceaccount.com';
const DELEGATE_PREFIX = 'projects/-/serviceAccounts/';
const ID_RULE = [/^[a-z0-9-]{4,32}$/, '4-32 lowercase letters, digits or hyphens'] as const;
const PART_RULES = [
  ['projectNumber', /^\d+$/, 'the project NUMBER (digits)', 'Find it with `gcloud projects describe <PROJECT_ID> --format="value(projectNumber)"`.'],
  ['poolId', ...ID_RULE],
  ['providerId', ...ID_RULE],
] as const;

/** The STS audience (`//iam.googleapis.com/projects/...`) built from its parts. @throws ConfigError naming the malformed part. @public */
export function workloadIdentityAudience(provider: WorkloadIdentityProvider): string {
  return parseAudience(provider).audience;
}

function parseAudience(value: string | WorkloadIdentityProvider): { audience: string; provider: WorkloadIdentityProvider } {
  if (typeof value === 'string') {
    const [, projectNumber, poolId, providerId] = AUDIENCE_PATTERN.exec(value.trim()) ?? [];
    if (projectNumber === undefined || poolId === undefined || providerId === undefined) {
      const expected = '//iam.googleapis.com/projects/<PROJECT NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER>';
      const hint = 'Ask the data provider for the provider resource name, or pass { projectNumber, poolId, providerId }. The project NUMBER is digits, not the project id.';
      throw new ConfigError('audience', `audience "${value}" is not a workload identity pool provider: expected ${expected}.`, { hint });
    }
    return { audience: value.trim(), provider: { projectNumber, poolId, providerId } };
  }
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError('audience', 'audience must be the provider resource name or { projectNumber, poolId, providerId }.');
  }
  for (const [field, pattern, what, hint] of PART_RULES) {
    const part: unknown = value[field];
    if (typeof part !== 'string' || !pattern.test(part)) {
      throw new ConfigError(`audience.${field}`, `audience.${field} must be ${what}, got "${String(part)}".`, { hint });
    }
  }
  return parseAudience(`//iam.googleapis.com/projects/${value.projectNumber}/locations/global/workloadIdentityPools/${value.poolId}/providers/${value.providerId}`);
}

/** Validates the federation options (and `tokenLifetimeSeconds`, which both factories take) once, where the factory is called. @internal */
export function resolveFederation(options: GcpFederationOptions & { tokenLifetimeSeconds?: number | undefined }): ResolvedFederation {
  const env = environmentOf(options.env);
  const rawAudience = options.audience ?? env[GCP_ENVIRONMENT_VARIABLES.audience];
  if (rawAudience === undefined || rawAudience === '') {
    const hint = 'e.g. //iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten';
    throw new ConfigError('audience', `audience is required: the workload identity pool provider (option audience or ${GCP_ENVIRONMENT_VARIABLES.audience}).`, { hint });
  }
  const { audience, provider } = parseAudience(rawAudience);
  const universeDomain = options.universeDomain ?? 'googleapis.com';
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(universeDomain)) {
    throw new ConfigError('universeDomain', `universeDomain must be a domain such as "googleapis.com", got "${universeDomain}".`);
  }
  const tokenUrl = options.tokenUrl ?? `https://sts.${universeDomain}/v1/token`;
  checkEndpoint('tokenUrl', tokenUrl);
  let serviceAccountEmail = options.serviceAccountEmail ?? (env[GCP_ENVIRONMENT_VARIABLES.serviceAccountEmail]?.trim() || undefined);
  if (serviceAccountEmail !== undefined && !EMAIL_PATTERN.test(serviceAccountEmail)) {
    throw new ConfigError('serviceAccountEmail', `serviceAccountEmail "${serviceAccountEmail}" is not an email address.`, { hint: `${EMAIL_HINT}.` });
  }
  let serviceAccountImpersonationUrl = options.serviceAccountImpersonationUrl;
  if (serviceAccountImpersonationUrl !== undefined) {
    const path = checkEndpoint('serviceAccountImpersonationUrl', serviceAccountImpersonationUrl).pathname;
    const named = decodeURIComponent(/\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path)?.[1] ?? '');
    if (named === '' || serviceAccountImpersonationUrl.length > 256) {
      throw new ConfigError('serviceAccountImpersonationUrl', 'serviceAccountImpersonationUrl must end in /projects/-/serviceAccounts/<EMAIL>:generateAccessToken and be at most 256 characters.');
    }
    if (serviceAccountEmail !== undefined && named !== serviceAccountEmail) {
      throw new ConfigError('serviceAccountImpersonationUrl', `serviceAccountImpersonationUrl names ${named}, but serviceAccountEmail is ${serviceAccountEmail}.`);
    }
    serviceAccountEmail = named;
  } else if (serviceAccountEmail !== undefined) {
    serviceAccountImpersonationUrl = `https://iamcredentials.${universeDomain}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`;
  }
  checkNumber(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds', { min: 600, max: 43_200, integer: true }); // above 3600 needs an organisation policy
  return { audience, provider, universeDomain, tokenUrl, serviceAccountEmail, serviceAccountImpersonationUrl };
}

/** Checks `delegates` and writes each as IAM Credentials wants it, `projects/-/serviceAccounts/<EMAIL>`. @internal */
export function resolveDelegates(value: unknown, federation: ResolvedFederation): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ConfigError('delegates', 'delegates must be an array of service accounts, e.g. ["hop@provider.iam.gserviceaccount.com"].');
  }
  const delegates = value.map((item: unknown, index) => {
    const email = typeof item === 'string' ? item.trim().replace(DELEGATE_PREFIX, '') : '';
    if (!EMAIL_PATTERN.test(email)) {
      const message = `delegates[${index}] "${String(item)}" is not a service account: give its email or projects/-/serviceAccounts/<EMAIL>.`;
      throw new ConfigError('delegates', message, { hint: `${EMAIL_HINT}; the data provider names the chain.` });
    }
    return `${DELEGATE_PREFIX}${email}`;
  });
  if (delegates.length > 0 && federation.serviceAccountImpersonationUrl === undefined) {
    throw new ConfigError('delegates', 'delegates applies only to service account impersonation: set serviceAccountEmail too.');
  }
  return delegates;
}
