import type { Command } from 'commander';
import { ConfigError, type MaskinportenClient } from '@skyporten/core';
import { createClient, firstOf, type Settings } from '../config.js';
import { cacheRequestOf, printOutput, withCredentialCache } from '../credential-cache.js';
import { addCacheOptions, addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, warner, type Runtime } from '../runtime.js';

/** The AWS settings a command may take as flags. */
export interface AwsFlags {
  roleArn?: string;
  roleSessionName?: string;
  durationSeconds?: string;
  region?: string;
  stsEndpoint?: string;
}

/** Temporary AWS credentials, as `credential_process` prints them. */
export interface AwsProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/** botocore's windows (botocore/credentials.py, RefreshableCredentials): advisory 15 min, mandatory 10 min. */
export const BOTOCORE_ADVISORY_REFRESH_SECONDS = 15 * 60;

/** An AWS credential provider built from the settings; it caches and refreshes itself (see @skyporten/aws). */
export interface AwsCredentialSource {
  /** The resolved `DurationSeconds`, when one was set (STS's default is 3600). */
  durationSeconds: number | undefined;
  /** Credentials, refreshed ahead of expiry. */
  get(): Promise<AwsProcessCredentials>;
}

/** Resolves the AWS settings (flags over AWS_* variables over the config file's `aws` section) into a provider. */
export async function createAwsCredentialSource(
  flags: AwsFlags,
  settings: Settings,
  client: MaskinportenClient,
  runtime: Runtime,
): Promise<AwsCredentialSource> {
  const { env } = runtime.context;
  const file = settings.file.aws ?? {};
  const roleArn = firstOf(flags.roleArn, env.AWS_ROLE_ARN, file.roleArn);
  if (roleArn === undefined) {
    throw new ConfigError('--role-arn', 'The IAM role to assume is missing.', {
      hint: 'Give --role-arn (or AWS_ROLE_ARN): the role the data provider shared with you, e.g. arn:aws:iam::123456789012:role/skyporten-reader.',
    });
  }
  let durationSeconds: number | undefined = file.durationSeconds;
  if (flags.durationSeconds !== undefined) {
    durationSeconds = Number(flags.durationSeconds);
    if (!Number.isInteger(durationSeconds)) {
      throw new ConfigError('--duration-seconds', `--duration-seconds "${flags.durationSeconds}" is not a whole number of seconds (900 to 43200).`);
    }
  }
  const roleSessionName = firstOf(flags.roleSessionName, env.AWS_ROLE_SESSION_NAME, file.roleSessionName);
  const region = firstOf(flags.region, env.AWS_REGION, env.AWS_DEFAULT_REGION, file.region);
  const endpoint = firstOf(flags.stsEndpoint, env.AWS_ENDPOINT_URL_STS, env.AWS_ENDPOINT_URL, file.stsEndpoint);
  const { skyportenCredentials } = await import('@skyporten/aws');
  const provider = skyportenCredentials({
    env: false,
    maskinporten: client,
    roleArn,
    ...(roleSessionName !== undefined ? { roleSessionName } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    clientConfig: {
      region: region ?? 'eu-north-1',
      ...(endpoint !== undefined ? { endpoint } : {}),
    },
  });
  return {
    durationSeconds,
    async get() {
      const credentials = await provider();
      if (credentials.sessionToken === undefined || credentials.expiration === undefined) {
        throw new ConfigError('--role-arn', 'AWS STS answered without a session token or expiration.');
      }
      return {
        Version: 1,
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        SessionToken: credentials.sessionToken,
        Expiration: credentials.expiration.toISOString(),
      };
    },
  };
}

/** Resolves the AWS settings and calls STS once. */
export async function getAwsCredentials(
  flags: AwsFlags,
  settings: Settings,
  client: MaskinportenClient,
  runtime: Runtime,
): Promise<AwsProcessCredentials> {
  return (await createAwsCredentialSource(flags, settings, client, runtime)).get();
}

/** Adds the flags of {@link AwsFlags} to a command, with a prefix (`aws-`) where the command serves several clouds. */
export function addAwsOptions(command: Command, prefix = ''): Command {
  return command
    .option(`--${prefix}role-arn <arn>`, 'IAM role to assume (AWS_ROLE_ARN)')
    .option(`--${prefix}role-session-name <name>`, 'session name seen in CloudTrail (AWS_ROLE_SESSION_NAME)')
    .option(`--${prefix}duration-seconds <seconds>`, 'credential lifetime, 900 to 43200', undefined)
    .option(`--${prefix}region <region>`, 'STS region (AWS_REGION); default eu-north-1')
    .option(`--${prefix}sts-endpoint <url>`, 'STS endpoint URL (AWS_ENDPOINT_URL_STS)');
}

/** `skyporten aws ...`. */
export function registerAwsCommands(program: Command, runtime: Runtime): void {
  const aws = program.command('aws').description('AWS credentials from Skyporten');
  const command = aws
    .command('credential-process')
    .description('print temporary AWS credentials in the credential_process format (for ~/.aws/config)');
  addAwsOptions(command);
  addCacheOptions(command);
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples('skyporten aws credential-process --role-arn arn:aws:iam::123456789012:role/skyporten-reader --config /etc/skyporten.json') +
        '\nIn ~/.aws/config:\n' +
        '  [profile skyporten]\n' +
        '  credential_process = skyporten aws credential-process --role-arn arn:aws:iam::123456789012:role/skyporten-reader --config /etc/skyporten.json\n' +
        '\nThe credentials are cached across processes (see --cache-dir, --no-cache): 100 processes started together make\n' +
        'one Maskinporten request and one STS call, and later commands none until the credentials near expiry.\n',
    )
    .action(async () => {
      const { env, cwd, clock } = runtime.context;
      const flags = flagsOf<AwsFlags & { cache?: boolean }>(command);
      const request = flags.cache === false ? undefined : cacheRequestOf(runtime.argv, env, cwd);
      const credentials = await withCredentialCache(request, { clock, warn: warner(runtime) }, async () => {
        const settings = settingsOf(command, runtime);
        const client = createClient(settings.maskinporten, debugLogger(command, runtime));
        const source = await createAwsCredentialSource(flags, settings, client, runtime);
        if (source.durationSeconds !== undefined && source.durationSeconds < 3600) {
          warner(runtime)(
            `--duration-seconds ${source.durationSeconds} is below 3600: botocore (the aws CLI, boto3) refreshes credentials that expire within ${BOTOCORE_ADVISORY_REFRESH_SECONDS / 60} minutes before every request, so it runs this command each time.${request === undefined ? ' Without the cache each run asks Maskinporten and STS again.' : ' The cache answers those runs until the credentials are 11 minutes from expiry.'} Use 3600 or more where the role allows it.`,
          );
        }
        const output = await source.get();
        return { output, expiresAt: Date.parse(output.Expiration) };
      });
      await printOutput('aws credential-process', credentials, runtime.argv, runtime.context);
    });
}
