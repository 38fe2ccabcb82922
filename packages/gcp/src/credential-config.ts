import { ConfigError } from '@skyporten/core/adapter';
import { checkTokenLifetime, resolveFederation, type GcpFederationOptions, type ResolvedFederation } from './options.js';

/** The command gcloud and other-language SDKs run to get a Skyporten token. */
export const DEFAULT_EXECUTABLE_COMMAND = 'npx skyporten gcp executable';

/**
 * Options of {@link gcpCredentialConfig}.
 *
 * @public
 */
export interface GcpCredentialConfigOptions extends GcpFederationOptions {
  /**
   * The command that prints a Skyporten token in the executable-sourced credential format. It runs without a
   * shell, so use an absolute path or a command on PATH, with its arguments.
   * @default "npx skyporten gcp executable"
   */
  command?: string | undefined;
  /** How long the SDK waits for the command, in milliseconds (5000 to 120000). @default 30000 */
  timeoutMillis?: number | undefined;
  /**
   * A file where the command also writes its response, so the SDKs can reuse an unexpired token instead of
   * running the command again. It holds a token: keep it private.
   * @default none
   */
  outputFile?: string | undefined;
  /** Lifetime of impersonated service account tokens, in seconds (600 to 43200). @default 3600 (SDK default) */
  tokenLifetimeSeconds?: number | undefined;
}

/**
 * An `external_account` credential configuration with an executable credential source: the JSON that
 * `gcloud iam workload-identity-pools create-cred-config --executable-command ...` writes. Save it to a file and
 * point `GOOGLE_APPLICATION_CREDENTIALS` at it (and set `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1`) to use
 * Skyporten from gcloud, Python, Go or Java.
 *
 * @public
 */
export interface GcpExternalAccountConfig {
  /** The Google Cloud universe, e.g. `googleapis.com`. */
  universe_domain: string;
  /** Always `external_account`: a workload identity federation credential. */
  type: 'external_account';
  /** The workload identity pool provider's full resource name. */
  audience: string;
  /** Always the JWT token type: the Skyporten token is a JWT. */
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt';
  /** The STS token exchange endpoint. */
  token_url: string;
  /** The `generateAccessToken` URL of the service account to impersonate; absent without impersonation. */
  service_account_impersonation_url?: string;
  /** Settings of the impersonated token; absent to use the SDKs' default lifetime. */
  service_account_impersonation?: {
    /** Lifetime of the impersonated access token, in seconds. */
    token_lifetime_seconds: number;
  };
  /** Where the SDKs get the subject token: by running a command. */
  credential_source: {
    /** The command that prints a {@link GcpExecutableResponse}. */
    executable: {
      /** The command line, run without a shell. */
      command: string;
      /** How long the SDKs wait for the command, in milliseconds. */
      timeout_millis: number;
      /** Where the command also writes its response, for the SDKs to reuse while unexpired. */
      output_file?: string;
    };
  };
}

/**
 * Builds the `external_account` credential configuration that lets Google's own tools and SDKs in any language
 * run the Skyporten CLI for a subject token. Pure: it reads options (and the environment for left-out ones) and
 * returns an object to `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * const config = gcpCredentialConfig({
 *   audience: { projectNumber: '123456789012', poolId: 'skyporten', providerId: 'maskinporten' },
 *   serviceAccountEmail: 'reader@data-provider.iam.gserviceaccount.com',
 * });
 * await writeFile('skyporten-gcp.json', JSON.stringify(config, null, 2));
 * // GOOGLE_APPLICATION_CREDENTIALS=skyporten-gcp.json GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 gcloud storage ls gs://bucket
 * ```
 * @throws ConfigError when an option is missing or malformed.
 * @public
 */
export function gcpCredentialConfig(options: GcpCredentialConfigOptions = {}): GcpExternalAccountConfig {
  const federation = resolveFederation(options);
  const command = options.command ?? DEFAULT_EXECUTABLE_COMMAND;
  if (typeof command !== 'string' || command.trim() === '') {
    throw new ConfigError('command', 'command must be the command line that prints the executable response, e.g. "npx skyporten gcp executable".');
  }
  const timeoutMillis = options.timeoutMillis ?? 30_000;
  if (!Number.isInteger(timeoutMillis) || timeoutMillis < 5_000 || timeoutMillis > 120_000) {
    throw new ConfigError('timeoutMillis', `timeoutMillis must be a whole number from 5000 to 120000, got ${String(timeoutMillis)}.`);
  }
  if ((options as { delegates?: unknown }).delegates !== undefined) {
    throw new ConfigError('delegates', 'The external_account format has no field for delegates: configure a direct binding on serviceAccountEmail, or use skyportenCredentials({ delegates }) in Node.js.');
  }
  const lifetime = options.tokenLifetimeSeconds;
  checkTokenLifetime(lifetime);
  if (lifetime !== undefined && federation.serviceAccountImpersonationUrl === undefined) {
    throw new ConfigError('tokenLifetimeSeconds', 'tokenLifetimeSeconds applies only to service account impersonation: set serviceAccountEmail too.');
  }
  return {
    ...externalAccountFields(federation, lifetime),
    credential_source: {
      executable: {
        command: command.trim(),
        timeout_millis: timeoutMillis,
        ...(options.outputFile === undefined ? {} : { output_file: options.outputFile }),
      },
    },
  };
}

/** What a credential configuration and `SkyportenIdentityPoolClient` share: the exchange and impersonation settings. @internal */
export function externalAccountFields(federation: ResolvedFederation, tokenLifetimeSeconds: number | undefined): Omit<GcpExternalAccountConfig, 'credential_source'> {
  const impersonationUrl = federation.serviceAccountImpersonationUrl;
  return {
    universe_domain: federation.universeDomain,
    type: 'external_account',
    audience: federation.audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: federation.tokenUrl,
    ...(impersonationUrl === undefined ? {} : { service_account_impersonation_url: impersonationUrl }),
    ...(impersonationUrl === undefined || tokenLifetimeSeconds === undefined ? {} : { service_account_impersonation: { token_lifetime_seconds: tokenLifetimeSeconds } }),
  };
}

/**
 * What an executable credential source prints on stdout (and writes to `output_file`): the format Google's SDKs
 * read from the command in {@link gcpCredentialConfig}.
 *
 * @public
 */
export type GcpExecutableResponse =
  | {
      /** The format version, always 1. */
      version: 1;
      /** A token follows. */
      success: true;
      /** Always the JWT token type. */
      token_type: 'urn:ietf:params:oauth:token-type:jwt';
      /** The Skyporten access token (the field is named `id_token` by the format). */
      id_token: string;
      /** Unix seconds; required by the SDKs when `output_file` is used. */
      expiration_time: number;
    }
  | {
      /** The format version, always 1. */
      version: 1;
      /** No token: the SDKs report `code` and `message`. */
      success: false;
      /** The error code, e.g. a `SkyportenError` code. */
      code: string;
      /** What went wrong; never a token. */
      message: string;
    };

/**
 * Formats a Skyporten token, or a failure, as an executable credential source response. For the CLI command
 * named in {@link gcpCredentialConfig}: print `JSON.stringify(...)` and nothing else on stdout.
 *
 * @example
 * ```ts
 * const token = await createMaskinportenClient().getToken();
 * process.stdout.write(JSON.stringify(gcpExecutableResponse(token)));
 * ```
 * @public
 */
export function gcpExecutableResponse(
  result: { accessToken: string; expiresAt: Date } | { code: string; message: string },
): GcpExecutableResponse {
  if ('accessToken' in result) {
    return {
      version: 1,
      success: true,
      token_type: 'urn:ietf:params:oauth:token-type:jwt',
      id_token: result.accessToken,
      expiration_time: Math.floor(result.expiresAt.getTime() / 1000),
    };
  }
  return { version: 1, success: false, code: result.code, message: result.message };
}
