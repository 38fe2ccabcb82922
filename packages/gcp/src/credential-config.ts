import { checkNumber, ConfigError } from '@skyporten/core/adapter';
import type { PluggableAuthClientOptions } from 'google-auth-library';
import { resolveFederation, type GcpFederationOptions, type ResolvedFederation } from './options.js';

/** The command gcloud and other-language SDKs run to get a Skyporten token. @public */
export const DEFAULT_EXECUTABLE_COMMAND = 'npx skyporten gcp executable';

/** Options of {@link gcpCredentialConfig}. @public */
export interface GcpCredentialConfigOptions extends GcpFederationOptions {
  /** The command that prints the executable response; run without a shell (an absolute path or on PATH). @default "npx skyporten gcp executable" */
  command?: string | undefined;
  /** How long the SDK waits for the command, in milliseconds (5000 to 120000). @default 30000 */
  timeoutMillis?: number | undefined;
  /** A file where the command also writes its response, for the SDKs to reuse; it holds a token, keep it private. @default none */
  outputFile?: string | undefined;
  /** Lifetime of impersonated service account tokens, in seconds (600 to 43200). @default 3600 (SDK default) */
  tokenLifetimeSeconds?: number | undefined;
}

/** An `external_account` credential configuration with an executable source, as `gcloud ... create-cred-config` writes it: google-auth-library's own `PluggableAuthClientOptions`. @public */
export type GcpExternalAccountConfig = PluggableAuthClientOptions & {
  /** Always `external_account`: a workload identity federation credential. */
  type: 'external_account';
};

/** The credential configuration for gcloud and Google's SDKs in any language, to `JSON.stringify` (see the README). @throws ConfigError on a bad option. @public */
export function gcpCredentialConfig(options: GcpCredentialConfigOptions = {}): GcpExternalAccountConfig {
  const federation = resolveFederation(options);
  const command = options.command ?? DEFAULT_EXECUTABLE_COMMAND;
  if (typeof command !== 'string' || command.trim() === '') {
    throw new ConfigError('command', 'command must be the command line that prints the executable response, e.g. "npx skyporten gcp executable".');
  }
  checkNumber(options.timeoutMillis, 'timeoutMillis', { min: 5_000, max: 120_000, integer: true });
  if ((options as { delegates?: unknown }).delegates !== undefined) {
    throw new ConfigError('delegates', 'The external_account format has no field for delegates: configure a direct binding on serviceAccountEmail, or use skyportenCredentials({ delegates }) in Node.js.');
  }
  if (options.tokenLifetimeSeconds !== undefined && federation.serviceAccountImpersonationUrl === undefined) {
    throw new ConfigError('tokenLifetimeSeconds', 'tokenLifetimeSeconds applies only to service account impersonation: set serviceAccountEmail too.');
  }
  const executable = { command: command.trim(), timeout_millis: options.timeoutMillis ?? 30_000, ...(options.outputFile === undefined ? {} : { output_file: options.outputFile }) };
  return { ...externalAccountFields(federation, options.tokenLifetimeSeconds), credential_source: { executable } };
}

/** What a credential configuration and `SkyportenIdentityPoolClient` share: the exchange and impersonation settings. @internal */
export function externalAccountFields(federation: ResolvedFederation, tokenLifetimeSeconds: number | undefined): Omit<GcpExternalAccountConfig, 'credential_source'> {
  const url = federation.serviceAccountImpersonationUrl;
  return {
    universe_domain: federation.universeDomain,
    type: 'external_account',
    audience: federation.audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: federation.tokenUrl,
    ...(url === undefined ? {} : { service_account_impersonation_url: url }),
    ...(url === undefined || tokenLifetimeSeconds === undefined ? {} : { service_account_impersonation: { token_lifetime_seconds: tokenLifetimeSeconds } }),
  };
}

/** What an executable credential source prints on stdout (and writes to `output_file`), as Google's SDKs read it. @public */
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

/** A Skyporten token, or a failure, as an executable credential source response: print its `JSON.stringify`. @public */
export function gcpExecutableResponse(result: { accessToken: string; expiresAt: Date } | { code: string; message: string }): GcpExecutableResponse {
  if (!('accessToken' in result)) return { version: 1, success: false, code: result.code, message: result.message };
  const expiration_time = Math.floor(result.expiresAt.getTime() / 1000);
  return { version: 1, success: true, token_type: 'urn:ietf:params:oauth:token-type:jwt', id_token: result.accessToken, expiration_time };
}
