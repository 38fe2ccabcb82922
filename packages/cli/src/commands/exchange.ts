import { Command } from 'commander';
import { ConfigError, requireAudience } from '@skyporten/core';
import { checkEndpoint, createTokenExchange, databricks, vault, type ExchangedToken, type TokenExchangeOptions } from '@skyporten/exchange';
import { createClient, loadSettings } from '../config.js';
import { cacheRequestOf, printOutput, withCredentialCache } from '../credential-cache.js';
import { addCacheOptions, addMaskinportenOptions, collect, debugLogger, examples, flagsOf, warner, type Runtime } from '../runtime.js';
import { outputPath, writeReport, writeTokenFile, type TokenFileFormat, type TokenSource } from './token-file.js';

/** The flags of `skyporten exchange` beyond the Maskinporten ones. */
interface ExchangeFlags {
  tokenEndpoint?: string;
  skyportenTokenEndpoint?: string;
  preset?: string;
  workspace?: string;
  targetScope?: string;
  audience?: string[];
  targetResource?: string[];
  targetClientId?: string;
  vaultAddr?: string;
  role?: string;
  vaultMount?: string;
  vaultNamespace?: string;
  cache?: boolean;
  json?: boolean;
  output?: string;
  watch?: boolean;
  format?: string;
}

/** What `exchange` caches and prints: the target's token, as `token --json` shapes a Skyporten token. */
export interface CachedExchangedToken {
  access_token: string;
  token_type: string;
  expires_at: string;
  issued_at: string;
}

/**
 * The Maskinporten flags of every token command, except `--token-endpoint`, which here names the target's token
 * endpoint; Skyporten's is `--skyporten-token-endpoint`.
 */
function addSkyportenOptions(command: Command): Command {
  for (const option of addMaskinportenOptions(new Command()).options) {
    if (option.long !== '--token-endpoint') command.addOption(option);
  }
  return command.option('--skyporten-token-endpoint <url>', 'Skyporten token endpoint, skipping discovery (SKYPORTEN_TOKEN_ENDPOINT)');
}

function refuse(flags: ExchangeFlags, names: ReadonlyArray<[keyof ExchangeFlags, string]>, reason: string): void {
  for (const [name, flag] of names) {
    if (flags[name] !== undefined) throw new ConfigError(flag, `${flag} ${reason}`);
  }
}

const RFC8693_FLAGS: ReadonlyArray<[keyof ExchangeFlags, string]> = [
  ['targetScope', '--target-scope'],
  ['audience', '--audience'],
  ['targetResource', '--target-resource'],
  ['targetClientId', '--target-client-id'],
];
const DATABRICKS_FLAGS: ReadonlyArray<[keyof ExchangeFlags, string]> = [['workspace', '--workspace']];
const VAULT_FLAGS: ReadonlyArray<[keyof ExchangeFlags, string]> = [
  ['vaultAddr', '--vault-addr'],
  ['role', '--role'],
  ['vaultMount', '--vault-mount'],
  ['vaultNamespace', '--vault-namespace'],
];

/** The target from the flags: a preset or `--token-endpoint` with the RFC 8693 parameters. */
export function targetOf(flags: ExchangeFlags, env: Readonly<Record<string, string | undefined>>): { options: Omit<TokenExchangeOptions, 'maskinporten'>; name: string } {
  const rfc8693 = {
    ...(flags.targetScope !== undefined ? { scope: flags.targetScope } : {}),
    ...(flags.audience !== undefined ? { audience: flags.audience } : {}),
    ...(flags.targetResource !== undefined ? { resource: flags.targetResource } : {}),
    ...(flags.targetClientId !== undefined ? { clientId: flags.targetClientId } : {}),
  };
  switch (flags.preset) {
    case undefined: {
      refuse(flags, [...DATABRICKS_FLAGS, ...VAULT_FLAGS], 'needs --preset (databricks or vault).');
      if (flags.tokenEndpoint === undefined) {
        throw new ConfigError('--token-endpoint', "Give the target's token endpoint (--token-endpoint URL), or a --preset: databricks or vault.");
      }
      return { options: { tokenEndpoint: checkEndpoint('--token-endpoint', flags.tokenEndpoint).toString(), ...rfc8693 }, name: new URL(flags.tokenEndpoint).host };
    }
    case 'databricks': {
      refuse(flags, [['tokenEndpoint', '--token-endpoint'], ...VAULT_FLAGS], 'cannot be combined with --preset databricks (it uses https://<workspace>/oidc/v1/token).');
      if (flags.workspace === undefined) throw new ConfigError('--workspace', '--preset databricks needs --workspace https://<workspace> (the workspace URL).');
      const workspace = checkEndpoint('--workspace', flags.workspace);
      return { options: { ...databricks({ workspace: workspace.toString(), clientId: flags.targetClientId }), ...rfc8693 }, name: 'Databricks' };
    }
    case 'vault': {
      refuse(flags, [['tokenEndpoint', '--token-endpoint'], ...DATABRICKS_FLAGS, ...RFC8693_FLAGS], 'cannot be combined with --preset vault (Vault JWT login is not RFC 8693).');
      const address = flags.vaultAddr ?? (env.VAULT_ADDR || undefined);
      if (address === undefined) throw new ConfigError('--vault-addr', '--preset vault needs --vault-addr https://<vault>:8200 (or VAULT_ADDR).');
      if (flags.role === undefined || flags.role.trim() === '') throw new ConfigError('--role', '--preset vault needs --role: the JWT auth role the Skyporten token logs in as.');
      checkEndpoint('--vault-addr', address);
      const namespace = flags.vaultNamespace ?? (env.VAULT_NAMESPACE || undefined);
      return { options: vault({ address, role: flags.role, mount: flags.vaultMount, namespace }), name: 'Vault' };
    }
    default:
      throw new ConfigError('--preset', `--preset is "${flags.preset}": use databricks or vault (or leave it out and give --token-endpoint).`);
  }
}

/** The file format of `--output`; `--watch` and `--format` need `--output`, which `--json` (a printing flag) does not take. */
function outputFormatOf(flags: ExchangeFlags): TokenFileFormat {
  if (flags.output === undefined) {
    refuse(flags, [['watch', '--watch'], ['format', '--format']], 'needs --output FILE (the token file to write).');
    return 'raw';
  }
  if (flags.json === true) throw new ConfigError('--json', '--json prints the token; with --output give --format json for a JSON file.');
  const format = flags.format ?? 'raw';
  if (format !== 'raw' && format !== 'json') throw new ConfigError('--format', `--format is "${format}": use raw or json.`);
  return format;
}

/** `skyporten exchange`: prints the target's access token, exchanged for the Skyporten token. */
export function registerExchangeCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('exchange')
    .description("exchange the Skyporten token for a target's access token (RFC 8693, Databricks, Vault) and print it, or keep it fresh in a file with --output (a secret: keep it private)")
    .option('--token-endpoint <url>', "the target's RFC 8693 token endpoint (https; http only on loopback, for local mocks)")
    .option('--preset <name>', 'databricks (--workspace) or vault (--vault-addr, --role) instead of --token-endpoint')
    .option('--target-scope <scope>', 'RFC 8693 scope parameter (databricks: all-apis)')
    .option('--audience <audience>', 'RFC 8693 audience parameter; repeat for several', collect)
    .option('--target-resource <url>', 'RFC 8693 resource parameter; repeat for several', collect)
    .option('--target-client-id <id>', 'RFC 8693 client_id (databricks: the service principal application id)')
    .option('--workspace <url>', 'databricks: the workspace URL, https://<workspace>')
    .option('--vault-addr <url>', 'vault: Vault address (VAULT_ADDR)')
    .option('--role <role>', 'vault: the JWT auth role')
    .option('--vault-mount <path>', 'vault: where the JWT auth method is mounted (default jwt)')
    .option('--vault-namespace <namespace>', 'vault: Enterprise/HCP namespace (VAULT_NAMESPACE)')
    .option('--json', 'print the token with its type and expiry as JSON')
    .option('--output <file>', 'write the token to this file instead (atomic, mode 0600), for tools that read a bearer-token file')
    .option('--watch', 'with --output: keep running and rewrite the file half-way to each expiry; stop with Ctrl-C or SIGTERM')
    .option('--format <format>', 'with --output: raw (the token alone, the default) or json ({"access_token": ..., "expires_at": ...})');
  addCacheOptions(command);
  addSkyportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten exchange --preset databricks --workspace https://adb-1234.azuredatabricks.net --config skyporten.json',
        'skyporten exchange --preset vault --vault-addr https://vault.example.org:8200 --role skyporten-reader --config skyporten.json',
        'skyporten exchange --token-endpoint https://sts.example.org/token --audience https://api.example.org --config skyporten.json',
        'curl -H "Authorization: Bearer $(skyporten exchange --preset databricks --workspace $WS --config skyporten.json)" $WS/api/2.0/clusters/list',
        'skyporten exchange --preset databricks --workspace $WS --output /run/skyporten/databricks-token --watch --config skyporten.json',
      ) +
        '\n--resource is the Skyporten resource (the token audience the target federation expects), as for every command.\n' +
        "The target's token is cached across processes while at least half its lifetime (at most 60 s) is left; --no-cache asks every time.\n" +
        'With --output the token goes to the file (not the cache); --watch rewrites it half-way to each expiry, retries outages\n' +
        'while the token in it is valid, and removes the file and exits 1 when it cannot be kept fresh.\n',
    )
    .action(async () => {
      const flags = flagsOf<ExchangeFlags>(command);
      const { env, cwd, clock } = runtime.context;
      const target = targetOf(flags, env);
      const format = outputFormatOf(flags);
      const exchange = (): TokenSource<ExchangedToken> => {
        // Skyporten's own token endpoint comes from --skyporten-token-endpoint (or SKYPORTEN_TOKEN_ENDPOINT, the config file).
        const { tokenEndpoint: _target, skyportenTokenEndpoint, ...rest } = flags;
        const settings = loadSettings({ ...rest, ...(skyportenTokenEndpoint !== undefined ? { tokenEndpoint: skyportenTokenEndpoint } : {}) }, env, cwd, { tokenEndpoint: '--skyporten-token-endpoint' });
        const maskinporten = createClient(settings.maskinporten, debugLogger(command, runtime));
        const exchanger = createTokenExchange({ ...target.options, maskinporten });
        return {
          async getToken(options) {
            // The target matches the token's audience: without one, say so before asking it.
            requireAudience(await maskinporten.getAccessToken(), target.name);
            return exchanger.getToken(options);
          },
        };
      };
      if (flags.output !== undefined) {
        const path = await outputPath(flags.output, cwd);
        // The target's token is not a Skyporten token: the audience was checked on the Skyporten token above.
        await writeTokenFile(command, runtime, exchange(), path, { watch: flags.watch === true, format, cloud: target.name, check: () => {}, onWrite: writeReport(runtime, path, `the token from ${target.name}`) });
        return;
      }
      const request = flags.cache === false ? undefined : cacheRequestOf(runtime.argv, env, cwd);
      const token = await withCredentialCache<CachedExchangedToken>(request, { clock, warn: warner(runtime) }, async () => {
        const fresh = await exchange().getToken();
        return {
          output: { access_token: fresh.accessToken, token_type: fresh.tokenType, expires_at: fresh.expiresAt.toISOString(), issued_at: fresh.issuedAt.toISOString() },
          expiresAt: fresh.expiresAt.getTime(),
        };
      });
      await printOutput('exchange', token, runtime.argv, runtime.context);
    });
}
