import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  CLIENT_OPTION_VARIABLES,
  ConfigError,
  createMaskinportenClient,
  resolveClientOptions,
  type ClientOptionsInput,
  type ClientOptionsResolution,
  type Environment,
  type EnvironmentOptions,
  type KeyInput,
  type Logger,
  type MaskinportenClient,
  type MaskinportenClientOptions,
  type OptionOrigin,
  type SkyportenEnvironment,
} from '@skyporten/core';
import { checkEndpoint } from '@skyporten/exchange';

/** The Maskinporten flags every token-using command accepts (commander's camel-cased names). */
export interface MaskinportenFlags {
  env?: string;
  issuer?: string;
  tokenEndpoint?: string;
  clientId?: string;
  scope?: string;
  resource?: string[];
  kid?: string;
  keyFile?: string;
  certificateFile?: string;
  consumerOrg?: string;
}

/** Flags that every command accepts, from the program itself. */
export interface GlobalFlags {
  config?: string;
  debug?: boolean;
}

const stringOrList = z.union([z.string(), z.array(z.string()).min(1)]);

/** The `--config FILE` JSON. Paths in it are relative to the file. */
const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    environment: z.enum(['test', 'prod']).optional(),
    issuer: z.string().optional(),
    tokenEndpoint: z.string().optional(),
    clientId: z.string().optional(),
    scope: stringOrList.optional(),
    resource: stringOrList.optional(),
    consumerOrg: z.string().optional(),
    kid: z.string().optional(),
    keyFile: z.string().optional(),
    /** The key's passphrase; MASKINPORTEN_PRIVATE_KEY_PASSPHRASE wins. For files only the owner can read (exec writes one). */
    keyPassphrase: z.string().optional(),
    certificateFile: z.string().optional(),
    aws: z
      .object({
        roleArn: z.string().optional(),
        roleSessionName: z.string().optional(),
        durationSeconds: z.number().int().optional(),
        region: z.string().optional(),
        stsEndpoint: z.string().optional(),
      })
      .strict()
      .optional(),
    gcp: z
      .object({
        audience: z.string().optional(),
        serviceAccountEmail: z.string().optional(),
        tokenUrl: z.string().optional(),
        serviceAccountImpersonationUrl: z.string().optional(),
      })
      .strict()
      .optional(),
    azure: z
      .object({
        tenantId: z.string().optional(),
        clientId: z.string().optional(),
        authorityHost: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The parsed `--config` file. */
export type ConfigFile = z.infer<typeof configFileSchema>;

/**
 * The Maskinporten settings after core's resolver (`resolveClientOptions`) merged the flags (its options) over
 * the environment over the config file. Nothing is read from disk yet: `readKey()` opens the key files.
 */
export interface MaskinportenSettings extends Omit<EnvironmentOptions, 'key'> {
  kid?: string;
  /** Absolute path of the private key (PEM, JWK JSON or PKCS#12). */
  keyFile?: string;
  /** The private key itself, from MASKINPORTEN_PRIVATE_KEY. */
  inlineKey?: string;
  passphrase?: string;
  /** Absolute path of the certificate chain. */
  certificateFile?: string;
  /** Where each option came from, as core's resolver reports it. */
  sources: ClientOptionsResolution['sources'];
  /** An origin as the user wrote it: `--client-id`, `MASKINPORTEN_CLIENT_ID`, `the config file's clientId`. */
  describe(origin: OptionOrigin): string;
  /** Reads the key file and certificate file into the core's key input; undefined when no key is configured. */
  readKey(): KeyInput | undefined;
}

/** Everything a command needs to know about the configuration. */
export interface Settings {
  maskinporten: MaskinportenSettings;
  file: ConfigFile;
  /** The config file's path, when one was read. */
  configPath: string | undefined;
  env: Environment;
}

/** The flag of each option the CLI takes: the flags are the resolver's options, and name them in its messages. */
export const OPTION_FLAGS = Object.freeze({
  environment: '--env',
  issuer: '--issuer',
  tokenEndpoint: '--token-endpoint',
  clientId: '--client-id',
  scope: '--scope',
  resource: '--resource',
  consumerOrg: '--consumer-org',
  kid: '--kid',
  keyFile: '--key-file',
  certificateFile: '--certificate-file',
});

/** An option's flag and environment variable, for hints: `--client-id (MASKINPORTEN_CLIENT_ID)`. */
export function flagAndVariable(option: keyof typeof OPTION_FLAGS): string {
  return `${OPTION_FLAGS[option]} (${CLIENT_OPTION_VARIABLES[option]})`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The object without its undefined values. */
function defined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Reads and validates the `--config` file (or `SKYPORTEN_CONFIG`); an empty object when none is given. */
export function readConfigFile(path: string | undefined, cwd: string): { file: ConfigFile; configPath: string | undefined } {
  if (path === undefined) return { file: {}, configPath: undefined };
  const configPath = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError('--config', `The config file "${path}" cannot be read (${code}).`, {
      hint: 'Give the path of a JSON file, e.g. --config skyporten.json.',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('--config', `The config file "${path}" is not valid JSON.`);
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'root');
    throw new ConfigError('--config', `The config file "${path}" is invalid at ${where}: ${issue.message}.`, {
      hint: 'See the configuration section of the @skyporten/cli README for the fields.',
    });
  }
  const file = parsed.data;
  const base = dirname(configPath);
  for (const field of ['keyFile', 'certificateFile'] as const) {
    const value = file[field];
    if (value !== undefined) file[field] = resolve(base, value);
  }
  return { file, configPath };
}

/** A command whose flags differ from {@link OPTION_FLAGS} names them here (`exchange`: `tokenEndpoint` is `--skyporten-token-endpoint`). */
export type OptionFlagNames = Partial<Record<keyof typeof OPTION_FLAGS, string>>;

/**
 * Resolves the Maskinporten settings with core's `resolveClientOptions`: the flags are its options, the
 * environment its environment, the config file its config-file layer, option by option (`sources` says which).
 * Relative paths of flags and variables are taken from `cwd`, the config file's from the file's directory.
 * Messages name each option's flag: {@link OPTION_FLAGS}, or the command's own `flagNames`.
 */
export function loadSettings(flags: MaskinportenFlags & GlobalFlags, env: Environment, cwd: string, flagNames: OptionFlagNames = {}): Settings {
  const { file, configPath } = readConfigFile(flags.config ?? nonEmpty(env.SKYPORTEN_CONFIG), cwd);
  const options: ClientOptionsInput = {
    env,
    ...defined({
      environment: flags.env as SkyportenEnvironment | undefined,
      issuer: flags.issuer,
      tokenEndpoint: flags.tokenEndpoint,
      clientId: flags.clientId,
      scope: flags.scope,
      resource: flags.resource?.length === 1 ? flags.resource[0] : flags.resource,
      consumerOrg: flags.consumerOrg,
      kid: flags.kid,
      keyFile: flags.keyFile,
      certificateFile: flags.certificateFile,
    }),
  };
  const { aws: _aws, gcp: _gcp, azure: _azure, $schema: _schema, ...configFile } = file;
  const resolution = resolveClientOptions(options, {
    configFile,
    readKeyFiles: false,
    cwd,
    optionLabel: (option) => flagNames[option as keyof typeof OPTION_FLAGS] ?? OPTION_FLAGS[option as keyof typeof OPTION_FLAGS] ?? option,
  });
  const { values } = resolution;
  const resource = values.resource === undefined || typeof values.resource === 'string' ? values.resource : [...values.resource];
  const maskinporten: MaskinportenSettings = {
    ...defined({
      issuer: values.issuer,
      tokenEndpoint: values.tokenEndpoint,
      clientId: values.clientId,
      scope: typeof values.scope === 'object' ? values.scope.join(' ') : values.scope,
      resource: resource?.length === 1 ? resource[0] : resource,
      consumerOrg: values.consumerOrg,
      kid: values.keyParts.kid,
      keyFile: values.keyParts.keyFile,
      inlineKey: values.keyParts.privateKey,
      passphrase: values.keyParts.keyPassphrase,
      certificateFile: values.keyParts.certificateFile,
    }),
    sources: resolution.sources,
    describe: resolution.describe,
    readKey: resolution.readKey,
  };
  return { maskinporten, file, configPath, env };
}

/**
 * The merged Maskinporten settings as a config file, for a child process that must mint tokens without the
 * parent's environment (exec's GCP executable). `keyFile` must be set: an inline key is written to a file first.
 */
export function settingsAsConfigFile(settings: MaskinportenSettings, keyFile: string | undefined): ConfigFile {
  return defined({
    issuer: settings.issuer,
    tokenEndpoint: settings.tokenEndpoint,
    clientId: settings.clientId,
    scope: settings.scope,
    resource: settings.resource,
    consumerOrg: settings.consumerOrg,
    kid: settings.kid,
    keyFile,
    keyPassphrase: settings.passphrase,
    certificateFile: settings.certificateFile,
  });
}

/** The options of `createMaskinportenClient`, from the merged settings (environment reading switched off: it is done). */
export function clientOptions(settings: MaskinportenSettings, logger?: Logger): MaskinportenClientOptions {
  const inConfig = (option: keyof typeof OPTION_FLAGS) => `${OPTION_FLAGS[option]}, ${CLIENT_OPTION_VARIABLES[option]} or "${option}" in the config file`;
  if (settings.clientId === undefined) {
    throw new ConfigError(OPTION_FLAGS.clientId, 'The Maskinporten client id is missing.', { hint: `Give ${inConfig('clientId')}.` });
  }
  if (settings.scope === undefined) {
    throw new ConfigError(OPTION_FLAGS.scope, 'The scope is missing.', { hint: `Give ${inConfig('scope')}, e.g. entur:skyporten.demo.` });
  }
  if (settings.issuer === undefined) {
    throw new ConfigError(OPTION_FLAGS.environment, 'No issuer is configured.', {
      hint: `Give ${OPTION_FLAGS.environment} test|prod (${CLIENT_OPTION_VARIABLES.environment}) or ${OPTION_FLAGS.issuer} URL (${CLIENT_OPTION_VARIABLES.issuer}).`,
    });
  }
  // Checked here, where the option's origin is known, so the message names the flag, variable or config field
  // that set it (core's client would name its own option, tokenEndpoint).
  const endpointOrigin = settings.sources.tokenEndpoint;
  if (settings.tokenEndpoint !== undefined && endpointOrigin !== undefined) checkEndpoint(settings.describe(endpointOrigin), settings.tokenEndpoint);
  const key = settings.readKey();
  if (key === undefined) {
    throw new ConfigError(OPTION_FLAGS.keyFile, 'No private key is configured.', {
      hint: `Give ${OPTION_FLAGS.keyFile} with ${OPTION_FLAGS.kid} (or ${OPTION_FLAGS.certificateFile}), or ${CLIENT_OPTION_VARIABLES.keyFile} with ${CLIENT_OPTION_VARIABLES.kid}.`,
    });
  }
  return {
    env: false,
    issuer: settings.issuer,
    clientId: settings.clientId,
    scope: settings.scope,
    key,
    ...defined({ tokenEndpoint: settings.tokenEndpoint, resource: settings.resource, consumerOrg: settings.consumerOrg, logger }),
  };
}

/** A Maskinporten client from the merged settings. */
export function createClient(settings: MaskinportenSettings, logger?: Logger): MaskinportenClient {
  return createMaskinportenClient(clientOptions(settings, logger));
}

/** The first defined value: flag, then environment variable, then config file. */
export function firstOf<T>(...values: Array<T | undefined>): T | undefined {
  for (const value of values) {
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** One cloud's flags on a command that serves several, without their prefix: `awsRoleArn` becomes `roleArn` for `aws`. */
export function unprefixed<F extends object, P extends string>(flags: F, prefix: P): { [K in keyof F as K extends `${P}${infer R}` ? Uncapitalize<R> : never]?: F[K] } {
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    const rest = key.slice(prefix.length);
    if (value !== undefined && key.startsWith(prefix) && /^[A-Z]/.test(rest)) picked[rest.charAt(0).toLowerCase() + rest.slice(1)] = value;
  }
  return picked as never;
}
