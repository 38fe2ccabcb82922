import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, requireAudience, SkyportenError } from '@skyporten/core';
import type { GcpExternalAccountConfig } from '@skyporten/gcp';
import { createClient, firstOf, type Settings } from '../config.js';
import { json, writeFileAtomic } from '../output.js';
import {
  addMaskinportenOptions,
  debugLogger,
  examples,
  explicitMaskinportenArguments,
  flagsOf,
  quoteArgument,
  settingsOf,
  type Runtime,
} from '../runtime.js';

const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** The GCP settings a command may take as flags. */
export interface GcpFlags {
  audience?: string;
  serviceAccount?: string;
  tokenUrl?: string;
  serviceAccountImpersonationUrl?: string;
}

/** The command line Google's libraries run: this CLI's `gcp executable` with the Maskinporten flags given here. */
export function executableCommand(command: Command, runtime: Runtime): string {
  const words = [...runtime.context.selfCommand, 'gcp', 'executable', ...explicitMaskinportenArguments(command, runtime.context.cwd)];
  return words.map(quoteArgument).join(' ');
}

/** Builds the external_account configuration (flags over SKYPORTEN_GCP_* variables over the config file's `gcp` section). */
export async function buildCredentialConfig(
  flags: GcpFlags & { command?: string; executableOutputFile?: string; timeoutMillis?: string },
  settings: Settings,
  defaultCommand: string,
  runtime: Runtime,
): Promise<GcpExternalAccountConfig> {
  const { env } = runtime.context;
  const file = settings.file.gcp ?? {};
  const audience = firstOf(flags.audience, env.SKYPORTEN_GCP_AUDIENCE, file.audience);
  if (audience === undefined) {
    throw new ConfigError('--audience', 'The workload identity pool provider is missing.', {
      hint: 'Give --audience //iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER> (SKYPORTEN_GCP_AUDIENCE).',
    });
  }
  const serviceAccountEmail = firstOf(flags.serviceAccount, env.SKYPORTEN_GCP_SERVICE_ACCOUNT_EMAIL, file.serviceAccountEmail);
  const tokenUrl = firstOf(flags.tokenUrl, file.tokenUrl);
  const impersonationUrl = firstOf(flags.serviceAccountImpersonationUrl, file.serviceAccountImpersonationUrl);
  let timeoutMillis: number | undefined;
  if (flags.timeoutMillis !== undefined) {
    timeoutMillis = Number(flags.timeoutMillis);
    if (!Number.isInteger(timeoutMillis)) throw new ConfigError('--timeout-millis', `--timeout-millis "${flags.timeoutMillis}" is not a whole number.`);
  }
  const { gcpCredentialConfig } = await import('@skyporten/gcp');
  return gcpCredentialConfig({
    env: false,
    audience,
    command: flags.command ?? defaultCommand,
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
    .description("print Google's executable-sourced credential response (run by Google's libraries and gcloud; never prints to stderr on success)");
  addMaskinportenOptions(executable)
    .addHelpText(
      'after',
      examples('GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=urn:ietf:params:oauth:token-type:jwt skyporten gcp executable --config /etc/skyporten.json') +
        '\nReads GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE (jwt or id_token) and GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE (the response is\n' +
        'also written there, mode 0600). Failures print {"version":1,"success":false,"code":...,"message":...} and exit 1.\n',
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
      try {
        const client = createClient(settingsOf(executable, runtime).maskinporten, debugLogger(executable, runtime));
        const token = await client.getToken();
        requireAudience(token.accessToken, 'Google STS');
        const response = {
          version: 1,
          success: true,
          token_type: tokenType,
          id_token: token.accessToken,
          expiration_time: Math.floor(token.expiresAt.getTime() / 1000),
        };
        const outputFile = env.GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE;
        if (outputFile !== undefined && outputFile !== '') await writeFileAtomic(outputFile, JSON.stringify(response));
        stdout.write(`${JSON.stringify(response)}\n`);
      } catch (error) {
        if (!SkyportenError.isInstance(error)) throw error;
        const audience = env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE;
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
