import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@skyporten/core';
import type { Environment, Logger } from '@skyporten/core';
import { loadSettings, type GlobalFlags, type MaskinportenFlags, type Settings } from './config.js';

/** What the CLI touches outside itself. `bin.ts` passes the real process; tests may pass fakes. */
export interface CliContext {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: AsyncIterable<unknown> & { isTTY?: boolean };
  env: Environment;
  cwd: string;
  /** Current time in milliseconds. */
  clock: () => number;
  /** The command line that runs this CLI again, e.g. `[process.execPath, '/path/to/dist/bin.js']`. */
  selfCommand: readonly string[];
  /** Subscribes to SIGINT and SIGTERM; returns the unsubscribe function. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** Shared by every command while one command line runs. */
export interface Runtime {
  context: CliContext;
  /** The exit code `run` returns when the action finishes without throwing. */
  exitCode: number;
  /** The command line being run (without node and the script), for the credential cache's key. */
  argv: readonly string[];
}

/** Adds `--no-cache` and `--cache-dir` (the cross-process credential cache) to a command. */
export function addCacheOptions(command: Command): Command {
  return command
    .option('--no-cache', 'neither read nor write the credential cache (SKYPORTEN_NO_CACHE=1)')
    .option('--cache-dir <dir>', 'credential cache directory (SKYPORTEN_CACHE_DIR); default $XDG_CACHE_HOME/skyporten or ~/.cache/skyporten');
}

/** Writes a warning to stderr. */
export function warner(runtime: Runtime): (message: string) => void {
  return (message) => runtime.context.stderr.write(`skyporten: warning: ${message}\n`);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the Maskinporten flags (issuer, client, scope, resource, key) to a command. */
export function addMaskinportenOptions(command: Command): Command {
  return command
    .option('--env <environment>', 'Skyporten environment: test or prod (SKYPORTEN_ENV)')
    .option('--issuer <url>', 'issuer URL, exactly, instead of --env (SKYPORTEN_ISSUER)')
    .option('--token-endpoint <url>', 'token endpoint, skipping discovery (SKYPORTEN_TOKEN_ENDPOINT)')
    .option('--client-id <id>', 'Maskinporten client (integration) id (MASKINPORTEN_CLIENT_ID)')
    .option('--scope <scopes>', 'scope(s), space-separated (MASKINPORTEN_SCOPE)')
    .option('--resource <url>', 'audience the cloud expects; repeat for several (SKYPORTEN_RESOURCE)', collect)
    .option('--kid <kid>', 'key id registered on the client (MASKINPORTEN_KID)')
    .option('--key-file <path>', 'private key: PEM, JWK JSON or .p12 (MASKINPORTEN_PRIVATE_KEY_FILE)')
    .option('--certificate-file <path>', 'business certificate chain, PEM, sent as x5c (MASKINPORTEN_CERTIFICATE_FILE)')
    .option('--consumer-org <orgno>', 'organisation you act for as a supplier (MASKINPORTEN_CONSUMER_ORG)');
}

/** The command's flags including the program's (`--config`, `--debug`). */
export function flagsOf<T extends object>(command: Command): T & MaskinportenFlags & GlobalFlags {
  return command.optsWithGlobals<T & MaskinportenFlags & GlobalFlags>();
}

/** Settings for a command: flags over environment over config file. */
export function settingsOf(command: Command, runtime: Runtime): Settings {
  return loadSettings(flagsOf(command), runtime.context.env, runtime.context.cwd);
}

/** With `--debug`, a logger that writes SDK events to stderr (the SDK never passes it a secret). */
export function debugLogger(command: Command, runtime: Runtime): Logger | undefined {
  if (flagsOf(command).debug !== true) return undefined;
  const write = (level: string) => (message: string, details?: Record<string, unknown>) =>
    runtime.context.stderr.write(`${level} ${message}${details === undefined ? '' : ` ${JSON.stringify(details)}`}\n`);
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** The example block every command's help ends with. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/**
 * Quotes an argument for the command lines that other tools run: Google's libraries split on spaces outside
 * double quotes, the AWS SDKs use a shell or shell-like splitting. Plain double quotes work for all of them.
 */
export function quoteArgument(argument: string): string {
  if (/^[\w@%+=:,./-]+$/.test(argument)) return argument;
  if (/["\\$`]/.test(argument)) {
    throw new ConfigError('command', `The argument ${JSON.stringify(argument)} cannot be quoted for another tool's command line: avoid ", \\, $ and \` in paths.`);
  }
  return `"${argument}"`;
}

/**
 * The Maskinporten flags given on this command line, to repeat them in a command another tool runs;
 * `configFile` replaces the `--config` given here.
 */
export function explicitMaskinportenArguments(command: Command, cwd: string, configFile?: string): string[] {
  const flags = flagsOf(command);
  const absolute = (path: string | undefined) => (path === undefined ? undefined : resolve(cwd, path));
  const result: string[] = [];
  const config = configFile ?? absolute(flags.config);
  if (config !== undefined) result.push('--config', config);
  const pairs: Array<[string, string | undefined]> = [
    ['--env', flags.env],
    ['--issuer', flags.issuer],
    ['--token-endpoint', flags.tokenEndpoint],
    ['--client-id', flags.clientId],
    ['--scope', flags.scope],
    ['--kid', flags.kid],
    ['--key-file', absolute(flags.keyFile)],
    ['--certificate-file', absolute(flags.certificateFile)],
    ['--consumer-org', flags.consumerOrg],
  ];
  for (const [name, value] of pairs) if (value !== undefined) result.push(name, value);
  for (const resource of flags.resource ?? []) result.push('--resource', resource);
  return result;
}
