import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, decodeSkyportenToken, requireAudience, SkyportenError, type Environment } from '@skyporten/core';
import type { GcpExternalAccountConfig } from '@skyporten/gcp';
import { createClient, firstOf, type Settings } from '../config.js';
import { json, writeFileAtomic } from '../output.js';
import { cacheRequestOf, printOutput, withCredentialCache } from '../credential-cache.js';
import {
  addCacheOptions,
  addMaskinportenOptions,
  debugLogger,
  examples,
  explicitMaskinportenArguments,
  flagsOf,
  quoteArgument,
  settingsOf,
  warner,
  type Runtime,
} from '../runtime.js';

/** A workload (or workforce) identity pool provider's resource name, as `audience` in the credential configuration. */
const PROVIDER_AUDIENCE = /^\/\/iam\.googleapis\.com\/(?:projects\/[^/\s]+\/locations\/[^/\s]+\/workloadIdentityPools|locations\/[^/\s]+\/workforcePools)\/[^/\s]+\/providers\/[^/\s]+$/;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** A failure `gcp executable` reports in Google's response format (never cached). */
class ExecutableFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The GCP settings a command may take as flags. */
export interface GcpFlags {
  audience?: string;
  serviceAccount?: string;
  tokenUrl?: string;
  serviceAccountImpersonationUrl?: string;
}

/**
 * The command line Google's libraries run: this CLI's `gcp executable` with the Maskinporten flags given here
 * (`configFile` in place of the `--config` given here).
 */
export function executableCommand(command: Command, runtime: Runtime, configFile?: string): string {
  const words = [...runtime.context.selfCommand, 'gcp', 'executable', ...explicitMaskinportenArguments(command, runtime.context.cwd, configFile)];
  return words.map(quoteArgument).join(' ');
}

/** The GCP settings after merging flags over SKYPORTEN_GCP_* variables over the config file's `gcp` section. */
export interface GcpSettings {
  audience?: string;
  serviceAccountEmail?: string;
  tokenUrl?: string;
  serviceAccountImpersonationUrl?: string;
}

/** Flags over SKYPORTEN_GCP_* variables over the config file's `gcp` section (the URLs have no variables). */
export function resolveGcpSettings(flags: GcpFlags, settings: Settings, env: Environment): GcpSettings {
  const file = settings.file.gcp ?? {};
  const resolved: GcpSettings = {};
  const audience = firstOf(flags.audience, env.SKYPORTEN_GCP_AUDIENCE, file.audience);
  const serviceAccountEmail = firstOf(flags.serviceAccount, env.SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL, file.serviceAccountEmail);
  const tokenUrl = firstOf(flags.tokenUrl, file.tokenUrl);
  const serviceAccountImpersonationUrl = firstOf(flags.serviceAccountImpersonationUrl, file.serviceAccountImpersonationUrl);
  if (audience !== undefined) resolved.audience = audience;
  if (serviceAccountEmail !== undefined) resolved.serviceAccountEmail = serviceAccountEmail;
  if (tokenUrl !== undefined) resolved.tokenUrl = tokenUrl;
  if (serviceAccountImpersonationUrl !== undefined) resolved.serviceAccountImpersonationUrl = serviceAccountImpersonationUrl;
  return resolved;
}

/** Builds the external_account configuration (flags over SKYPORTEN_GCP_* variables over the config file's `gcp` section). */
export async function buildCredentialConfig(
  flags: GcpFlags & { command?: string; executableOutputFile?: string; timeoutMillis?: string },
  settings: Settings,
  defaultCommand: string,
  runtime: Runtime,
): Promise<GcpExternalAccountConfig> {
  const { audience, serviceAccountEmail, tokenUrl, serviceAccountImpersonationUrl: impersonationUrl } = resolveGcpSettings(flags, settings, runtime.context.env);
  if (audience === undefined) {
    throw new ConfigError('--audience', 'The workload identity pool provider is missing.', {
      hint: 'Give --audience //iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER> (SKYPORTEN_GCP_AUDIENCE).',
    });
  }
  let timeoutMillis: number | undefined;
  if (flags.timeoutMillis !== undefined) {
    timeoutMillis = Number(flags.timeoutMillis);
    if (!Number.isInteger(timeoutMillis)) throw new ConfigError('--timeout-millis', `--timeout-millis "${flags.timeoutMillis}" is not a whole number.`);
  }
  const { gcpCredentialConfig } = await import('@skyporten/gcp');
  return gcpCredentialConfig({
    env: false,
    audience,
    // The executable refuses a GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE other than this one.
    command: flags.command ?? `${defaultCommand} --audience ${quoteArgument(audience)}`,
    ...(serviceAccountEmail !== undefined ? { serviceAccountEmail } : {}),
    ...(tokenUrl !== undefined ? { tokenUrl } : {}),
    ...(impersonationUrl !== undefined ? { serviceAccountImpersonationUrl: impersonationUrl } : {}),
    ...(flags.executableOutputFile !== undefined ? { outputFile: flags.executableOutputFile } : {}),
    ...(timeoutMillis !== undefined ? { timeoutMillis } : {}),
  });
}

/** Adds the GCP federation flags, with a prefix (`gcp-`) where the command serves several clouds. */
export function addGcpOptions(command: Command, prefix = ''): Command {
  return command
    .option(`--${prefix}audience <provider>`, 'workload identity pool provider: //iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER> (SKYPORTEN_GCP_AUDIENCE)')
    .option(`--${prefix}service-account <email>`, 'service account to impersonate (SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL)')
    .option(`--${prefix}token-url <url>`, 'STS token URL; default https://sts.googleapis.com/v1/token')
    .option(`--${prefix}service-account-impersonation-url <url>`, 'full generateAccessToken URL; default built from --service-account');
}

/** `skyporten gcp ...`. */
export function registerGcpCommands(program: Command, runtime: Runtime): void {
  const gcp = program.command('gcp').description('Google Cloud workload identity federation with Skyporten');

  const executable = gcp
    .command('executable')
    .description("print Google's executable-sourced credential response (run by Google's libraries and gcloud; never prints to stderr on success)")
    .option('--audience <provider>', 'the provider this configuration is for: a different GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE is refused (SKYPORTEN_GCP_AUDIENCE)');
  addCacheOptions(executable);
  addMaskinportenOptions(executable)
    .addHelpText(
      'after',
      examples('GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=urn:ietf:params:oauth:token-type:jwt skyporten gcp executable --config /etc/skyporten.json') +
        '\nReads GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE (jwt or id_token), GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE (the response is\n' +
        'also written there, mode 0600) and GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE (it must be a provider name, and the configured\n' +
        'provider when --audience, SKYPORTEN_GCP_AUDIENCE or "gcp.audience" is set). Failures print {"version":1,"success":false,"code":...,"message":...} and exit 1.\n',
    )
    .action(async () => {
      const { env, stdout } = runtime.context;
      const tokenType = env.GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE ?? JWT_TOKEN_TYPE;
      const fail = (code: string, message: string) => {
        stdout.write(`${JSON.stringify({ version: 1, success: false, code, message })}\n`);
        runtime.exitCode = 1;
      };
      if (tokenType !== JWT_TOKEN_TYPE && tokenType !== ID_TOKEN_TYPE) {
        fail('UNSUPPORTED_TOKEN_TYPE', `GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE is ${tokenType}; Skyporten gives a JWT: set subject_token_type to ${JWT_TOKEN_TYPE}.`);
        return;
      }
      // Google's libraries pass the credential configuration's `audience` (the provider's resource name).
      const audience = nonEmpty(env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE);
      if (audience !== undefined && !PROVIDER_AUDIENCE.test(audience)) {
        fail(
          'INVALID_AUDIENCE',
          `GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE is "${audience}", not a workload identity pool provider: the credential configuration's audience must be //iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER>.`,
        );
        return;
      }
      try {
        const settings = settingsOf(executable, runtime);
        const configured = resolveGcpSettings(flagsOf<GcpFlags>(executable), settings, env).audience;
        if (audience !== undefined && configured !== undefined && configured !== audience) {
          fail(
            'AUDIENCE_MISMATCH',
            `The credential configuration asks for provider ${audience}, but ${configured} is configured here (--audience, SKYPORTEN_GCP_AUDIENCE or "gcp.audience" in the config file): regenerate the credential configuration or correct the setting.`,
          );
          return;
        }
        const request = flagsOf<{ cache?: boolean }>(executable).cache === false ? undefined : cacheRequestOf(runtime.argv, env, runtime.context.cwd);
        // Google's Node library reads stdout and stderr together: cache warnings only with --debug.
        const warn = flagsOf(executable).debug === true ? warner(runtime) : () => {};
        const response = await withCredentialCache(request, { clock: runtime.context.clock, warn }, async () => {
          const client = createClient(settings.maskinporten, debugLogger(executable, runtime));
          const token = await client.getToken();
          requireAudience(token.accessToken, 'Google STS');
          // A token for a provider without allowed audiences carries the provider's own URL as aud; it must be this one.
          const audiences = decodeSkyportenToken(token.accessToken).audience;
          const providerAudiences = audiences.filter((value) => value.startsWith('https://iam.googleapis.com/'));
          if (audience !== undefined && providerAudiences.length > 0 && !providerAudiences.includes(`https:${audience}`)) {
            throw new ExecutableFailure(
              'AUDIENCE_MISMATCH',
              `The token's aud is ${providerAudiences.join(', ')}, but Google asks for provider ${audience}: GCP STS would reject it. Set --resource to https:${audience} or to an allowed audience of that provider.`,
            );
          }
          const output = {
            version: 1,
            success: true,
            token_type: tokenType,
            id_token: token.accessToken,
            expiration_time: Math.floor(token.expiresAt.getTime() / 1000),
          };
          return { output, expiresAt: token.expiresAt.getTime() };
        });
        await printOutput('gcp executable', response, runtime.argv, runtime.context);
      } catch (error) {
        if (error instanceof ExecutableFailure) {
          fail(error.code, error.message);
          return;
        }
        if (!SkyportenError.isInstance(error)) throw error;
        const context = audience === undefined ? '' : ` (for ${audience})`;
        fail(error.code, `${error.message}${context}${error.hint === undefined ? '' : ` Hint: ${error.hint}`}`);
      }
    });

  const credentialConfig = gcp
    .command('credential-config')
    .description('write the external_account credential configuration that runs `skyporten gcp executable` (like gcloud iam workload-identity-pools create-cred-config)')
    .option('--output <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--command <command>', 'the command line Google\'s libraries run; default: this skyporten with the Maskinporten flags given here')
    .option('--executable-output-file <file>', 'where the executable also caches its response (output_file)')
    .option('--timeout-millis <ms>', 'how long the libraries wait for the command, 5000 to 120000; default 30000');
  addGcpOptions(credentialConfig);
  addMaskinportenOptions(credentialConfig)
    .addHelpText(
      'after',
      examples(
        'skyporten gcp credential-config --audience //iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten --service-account reader@provider.iam.gserviceaccount.com --config /etc/skyporten.json --output skyporten-gcp.json',
        'GOOGLE_APPLICATION_CREDENTIALS=skyporten-gcp.json GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 gcloud storage ls gs://bucket',
      ),
    )
    .action(async () => {
      const flags = flagsOf<GcpFlags & { output?: string; command?: string; executableOutputFile?: string; timeoutMillis?: string }>(credentialConfig);
      const settings = settingsOf(credentialConfig, runtime);
      const config = await buildCredentialConfig(flags, settings, executableCommand(credentialConfig, runtime), runtime);
      if (flags.output === undefined) {
        runtime.context.stdout.write(json(config));
        return;
      }
      const output = resolve(runtime.context.cwd, flags.output);
      await writeFileAtomic(output, json(config));
      runtime.context.stderr.write(`Wrote ${output}. Use it with GOOGLE_APPLICATION_CREDENTIALS=${output} and GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1.\n`);
    });
}
