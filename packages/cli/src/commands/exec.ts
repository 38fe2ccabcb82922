import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@skyporten/core';
import { createClient, firstOf, settingsAsConfigFile, unprefixed, type MaskinportenSettings } from '../config.js';
import { json, writeFileAtomic } from '../output.js';
import { addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, type Runtime } from '../runtime.js';
import { addAwsOptions, createAwsCredentialSource, type AwsCredentialSource } from './aws.js';
import { keepTokenFile, type TokenFileKeeper } from './azure.js';
import { addGcpOptions, buildCredentialConfig, executableCommand } from './gcp.js';

interface ExecFlags {
  aws?: boolean;
  awsEnvKeys?: boolean;
  awsRoleArn?: string;
  awsRoleSessionName?: string;
  awsDurationSeconds?: string;
  awsRegion?: string;
  awsStsEndpoint?: string;
  gcp?: boolean;
  gcpAudience?: string;
  gcpServiceAccount?: string;
  gcpTokenUrl?: string;
  gcpServiceAccountImpersonationUrl?: string;
  azure?: boolean;
  azureTenantId?: string;
  azureClientId?: string;
  azureAuthorityHost?: string;
}

/** Variables that would make a cloud SDK pick other credentials than the ones set here. */
const AWS_CONFLICTS = ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME'];

/** Static AWS keys: the SDKs prefer them over the credential endpoint, so the child must not inherit any. */
const AWS_STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];

/** A loopback AWS credential endpoint for one `exec` run. */
interface CredentialServer {
  /** For AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  url: string;
  /** For AWS_CONTAINER_AUTHORIZATION_TOKEN: random per run; requests without it get 403. */
  authorizationToken: string;
  close(): Promise<void>;
}

/**
 * Serves fresh AWS credentials to the child the way ECS serves task credentials (the AWS SDKs'
 * container-credentials provider, also botocore's): `GET <url>` with `Authorization: <token>` answers
 * `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`. The SDKs ask again before `Expiration`, and the
 * source refreshes ahead of it, so long commands never hold dead keys (like aws-vault's `exec --server`).
 * Listens on 127.0.0.1 only, on a random port and a random path.
 */
async function startCredentialServer(source: AwsCredentialSource, runtime: Runtime): Promise<CredentialServer> {
  const { createServer } = await import('node:http');
  const { randomBytes, timingSafeEqual } = await import('node:crypto');
  const authorizationToken = randomBytes(32).toString('base64url');
  const path = `/skyporten/${randomBytes(12).toString('hex')}`;
  const expected = Buffer.from(authorizationToken);
  const server = createServer((request, response) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return send(403, { message: 'Missing or wrong Authorization header.' });
    if (request.method !== 'GET' || request.url !== path) return send(404, { message: 'Not found.' });
    source.get().then(
      (credentials) =>
        send(200, {
          AccessKeyId: credentials.AccessKeyId,
          SecretAccessKey: credentials.SecretAccessKey,
          Token: credentials.SessionToken,
          Expiration: credentials.Expiration,
        }),
      (error: unknown) => {
        runtime.context.stderr.write(`skyporten: could not refresh the AWS credentials for the command: ${(error as Error).message}\n`);
        send(500, { message: 'Skyporten could not refresh the credentials; see the skyporten exec output.' });
      },
    );
  });
  await new Promise<void>((resolvePromise, rejectPromise) => {
    server.once('error', rejectPromise);
    server.listen(0, '127.0.0.1', () => resolvePromise());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    authorizationToken,
    close: () => new Promise<void>((resolvePromise) => {
      server.closeAllConnections();
      server.close(() => resolvePromise());
    }),
  };
}

/** Variables that carry the Maskinporten key: the child gets cloud credentials, never the means to mint them. */
const KEY_VARIABLES = ['MASKINPORTEN_PRIVATE_KEY', 'MASKINPORTEN_PRIVATE_KEY_FILE', 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE'];

/**
 * Writes what `gcp executable` needs into the temporary directory, mode 0600: the merged Maskinporten settings
 * as a config file, and an inline key (MASKINPORTEN_PRIVATE_KEY) as a key file. Returns the config file's path.
 */
async function writeExecutableConfig(settings: MaskinportenSettings, directory: string): Promise<string> {
  let keyFile = settings.keyFile;
  if (keyFile === undefined && settings.inlineKey !== undefined) {
    keyFile = join(directory, 'maskinporten-key');
    await writeFileAtomic(keyFile, settings.inlineKey, { setting: 'TMPDIR' });
  }
  const path = join(directory, 'gcp-executable-config.json');
  await writeFileAtomic(path, json(settingsAsConfigFile(settings, keyFile)), { setting: 'TMPDIR' });
  return path;
}

/** `skyporten exec`. */
export function registerExecCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('exec')
    .description("run a command with a cloud's standard credential environment set from Skyporten; temporary files are removed afterwards and the command's exit code is passed through")
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--aws', 'set AWS credentials, taking the role from AWS_ROLE_ARN or the config file')
    .option('--aws-env-keys', 'give the command fixed AWS_ACCESS_KEY_ID/... variables instead of the refreshing loopback credential endpoint (for tools without container-credentials support)')
    .option('--gcp', 'set Google credentials, taking the provider from SKYPORTEN_GCP_AUDIENCE or the config file')
    .option('--azure', 'set the Azure federated token file, taking AZURE_TENANT_ID / AZURE_CLIENT_ID from the environment or the config file');
  addAwsOptions(command, 'aws-');
  addGcpOptions(command, 'gcp-');
  command
    .option('--azure-tenant-id <id>', 'Entra tenant id (AZURE_TENANT_ID)')
    .option('--azure-client-id <id>', 'client id of the app registration or managed identity, not its principal id (AZURE_CLIENT_ID)')
    .option('--azure-authority-host <url>', 'Entra authority host (AZURE_AUTHORITY_HOST)');
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten exec --aws-role-arn arn:aws:iam::123456789012:role/skyporten-reader --config skyporten.json -- aws s3 ls s3://shared-data',
        'skyporten exec --gcp-audience //iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten --gcp-service-account reader@provider.iam.gserviceaccount.com -- python read.py',
        'skyporten exec --azure-tenant-id $TENANT --azure-client-id $CLIENT -- az storage blob list --account-name provider --container-name shared --auth-mode login',
      ),
    )
    .action(async (argv: string[]) => {
      const flags = flagsOf<ExecFlags>(command);
      const { env } = runtime.context;
      const settings = settingsOf(command, runtime);
      const useAws = flags.aws === true || flags.awsRoleArn !== undefined;
      const useGcp = flags.gcp === true || flags.gcpAudience !== undefined;
      const azureFile = settings.file.azure ?? {};
      const useAzure = flags.azure === true || flags.azureTenantId !== undefined || flags.azureClientId !== undefined;
      if (!useAws && !useGcp && !useAzure) {
        throw new ConfigError('--aws-role-arn', 'Say which cloud the command needs credentials for.', {
          hint: 'Give --aws-role-arn, --gcp-audience or --azure-tenant-id with --azure-client-id (or --aws / --gcp / --azure to take them from the environment).',
        });
      }
      const client = createClient(settings.maskinporten, debugLogger(command, runtime));
      const childEnv: Record<string, string | undefined> = { ...env };
      for (const name of KEY_VARIABLES) delete childEnv[name];
      let temporaryDirectory: string | undefined;
      let keeper: TokenFileKeeper | undefined;
      let server: CredentialServer | undefined;
      const temporary = async () => (temporaryDirectory ??= await mkdtemp(join(tmpdir(), 'skyporten-exec-')));
      try {
        if (useAws) {
          const source = await createAwsCredentialSource(unprefixed(flags, 'aws'), settings, client, runtime);
          const credentials = await source.get();
          for (const name of AWS_CONFLICTS) delete childEnv[name];
          if (flags.awsEnvKeys === true) {
            childEnv.AWS_ACCESS_KEY_ID = credentials.AccessKeyId;
            childEnv.AWS_SECRET_ACCESS_KEY = credentials.SecretAccessKey;
            childEnv.AWS_SESSION_TOKEN = credentials.SessionToken;
            childEnv.AWS_CREDENTIAL_EXPIRATION = credentials.Expiration;
          } else {
            for (const name of AWS_STATIC_KEYS) delete childEnv[name];
            server = await startCredentialServer(source, runtime);
            childEnv.AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url;
            childEnv.AWS_CONTAINER_AUTHORIZATION_TOKEN = server.authorizationToken;
          }
        }
        if (useGcp) {
          const directory = await temporary();
          const config = await buildCredentialConfig(
            { ...unprefixed(flags, 'gcp'), executableOutputFile: join(directory, 'gcp-executable-response.json') },
            settings,
            executableCommand(command, runtime, await writeExecutableConfig(settings.maskinporten, directory)),
            runtime,
          );
          const path = join(directory, 'gcp-credentials.json');
          await writeFileAtomic(path, json(config), { setting: 'TMPDIR' });
          childEnv.GOOGLE_APPLICATION_CREDENTIALS = path;
          childEnv.CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE = path;
          childEnv.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES = '1';
        }
        if (useAzure) {
          const tenantId = firstOf(flags.azureTenantId, env.AZURE_TENANT_ID, azureFile.tenantId);
          const clientId = firstOf(flags.azureClientId, env.AZURE_CLIENT_ID, azureFile.clientId);
          if (tenantId === undefined || clientId === undefined) {
            throw new ConfigError(tenantId === undefined ? '--azure-tenant-id' : '--azure-client-id', 'Azure needs both a tenant id and a client id.', {
              hint: 'Give --azure-tenant-id and --azure-client-id (AZURE_TENANT_ID, AZURE_CLIENT_ID): the client id of the app or managed identity, not its principal (object) id.',
            });
          }
          const path = join(await temporary(), 'azure-federated-token');
          keeper = await keepTokenFile(client, path, runtime, {
            onFatal: (error) => runtime.context.stderr.write(`skyporten: could not refresh ${path}: ${(error as Error).message}\n`),
          });
          childEnv.AZURE_FEDERATED_TOKEN_FILE = path;
          childEnv.AZURE_TENANT_ID = tenantId;
          childEnv.AZURE_CLIENT_ID = clientId;
          const authorityHost = firstOf(flags.azureAuthorityHost, env.AZURE_AUTHORITY_HOST, azureFile.authorityHost);
          if (authorityHost !== undefined) childEnv.AZURE_AUTHORITY_HOST = authorityHost;
        }
        runtime.exitCode = await runChild(argv, childEnv, runtime);
      } finally {
        keeper?.stop();
        await server?.close();
        if (temporaryDirectory !== undefined) await rm(temporaryDirectory, { recursive: true, force: true });
      }
    });
}

/** Runs the command with inherited stdio, forwarding SIGINT/SIGTERM; resolves its exit code (128 + signal number when killed). */
function runChild(argv: string[], env: Record<string, string | undefined>, runtime: Runtime): Promise<number> {
  const [file, ...args] = argv;
  return new Promise((resolvePromise) => {
    const child = spawn(file!, args, { stdio: 'inherit', env, cwd: runtime.context.cwd });
    const unsubscribe = runtime.context.onSignal((signal) => child.kill(signal));
    child.on('error', (error: NodeJS.ErrnoException) => {
      unsubscribe();
      runtime.context.stderr.write(`skyporten: cannot run "${file}": ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`);
      resolvePromise(error.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      unsubscribe();
      resolvePromise(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
    });
  });
}
