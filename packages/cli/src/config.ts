import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  createMaskinportenClient,
  type Environment,
  type KeyInput,
  type Logger,
  type MaskinportenClient,
  type MaskinportenClientOptions,
} from '@skyporten/core';

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

/** Where a setting came from, for doctor's report. */
export type SettingSource = 'flag' | 'environment' | 'config file';

/** The Maskinporten settings after merging flags over environment over config file. Nothing is read from disk yet. */
export interface MaskinportenSettings {
  environment?: 'test' | 'prod';
  issuer?: string;
  tokenEndpoint?: string;
  clientId?: string;
  scope?: string;
  resource?: string | string[];
  consumerOrg?: string;
  kid?: string;
  /** Path of the private key (PEM, JWK JSON or PKCS#12). */
  keyFile?: string;
  /** The private key itself, from MASKINPORTEN_PRIVATE_KEY. */
  inlineKey?: string;
  passphrase?: string;
  certificateFile?: string;
  /** Where each setting came from. */
  sources: Partial<Record<string, SettingSource>>;
}

/** Everything a command needs to know about the configuration. */
export interface Settings {
  maskinporten: MaskinportenSettings;
  file: ConfigFile;
  /** The config file's path, when one was read. */
  configPath: string | undefined;
  env: Environment;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
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

/**
 * Merges flags over environment variables (the SDK's own names, see `ENVIRONMENT_VARIABLES` in
 * @skyporten/core) over the config file, setting by setting.
 */
export function loadSettings(flags: MaskinportenFlags & GlobalFlags, env: Environment, cwd: string): Settings {
  const { file, configPath } = readConfigFile(flags.config ?? nonEmpty(env.SKYPORTEN_CONFIG), cwd);
  const settings: MaskinportenSettings = { sources: {} };
  const pick = <T>(name: keyof MaskinportenSettings, flag: T | undefined, fromEnv: T | undefined, fromFile: T | undefined): T | undefined => {
    const [value, source]: [T | undefined, SettingSource | undefined] =
      flag !== undefined ? [flag, 'flag'] : fromEnv !== undefined ? [fromEnv, 'environment'] : fromFile !== undefined ? [fromFile, 'config file'] : [undefined, undefined];
    if (source !== undefined) settings.sources[name] = source;
    return value;
  };

  // The issuer comes as a pair (environment name or URL); the highest layer that sets either wins.
  const issuerLayers: Array<[SettingSource, string | undefined, string | undefined, string]> = [
    ['flag', flags.env, flags.issuer, '--env and --issuer'],
    ['environment', nonEmpty(env.SKYPORTEN_ENV), nonEmpty(env.SKYPORTEN_ISSUER), 'SKYPORTEN_ENV and SKYPORTEN_ISSUER'],
    ['config file', file.environment, file.issuer, '"environment" and "issuer" in the config file'],
  ];
  for (const [source, environment, issuer, names] of issuerLayers) {
    if (environment === undefined && issuer === undefined) continue;
    if (environment !== undefined && issuer !== undefined) {
      throw new ConfigError(source === 'flag' ? '--issuer' : 'issuer', `Give one of ${names}, not both.`);
    }
    if (environment !== undefined) {
      if (environment !== 'test' && environment !== 'prod') {
        throw new ConfigError('--env', `The environment is "${environment}": use "test" or "prod".`);
      }
      settings.environment = environment;
      settings.sources.environment = source;
    } else {
      settings.issuer = issuer!;
      settings.sources.issuer = source;
    }
    break;
  }

  const assign = <K extends keyof MaskinportenSettings>(name: K, value: MaskinportenSettings[K] | undefined): void => {
    if (value !== undefined) settings[name] = value;
  };
  assign('tokenEndpoint', pick('tokenEndpoint', flags.tokenEndpoint, nonEmpty(env.SKYPORTEN_TOKEN_ENDPOINT), file.tokenEndpoint));
  assign('clientId', pick('clientId', flags.clientId, nonEmpty(env.MASKINPORTEN_CLIENT_ID), file.clientId));
  const fileScope = Array.isArray(file.scope) ? file.scope.join(' ') : file.scope;
  assign('scope', pick('scope', flags.scope, nonEmpty(env.MASKINPORTEN_SCOPE), fileScope));
  const envResource = nonEmpty(env.SKYPORTEN_RESOURCE)?.split(',').map((item) => item.trim()).filter(Boolean);
  const resource = pick('resource', flags.resource, envResource, typeof file.resource === 'string' ? [file.resource] : file.resource);
  if (resource !== undefined) settings.resource = resource.length === 1 ? resource[0]! : resource;
  assign('consumerOrg', pick('consumerOrg', flags.consumerOrg, nonEmpty(env.MASKINPORTEN_CONSUMER_ORG), file.consumerOrg));
  assign('kid', pick('kid', flags.kid, nonEmpty(env.MASKINPORTEN_KID), file.kid));
  assign('certificateFile', pick('certificateFile', flags.certificateFile, nonEmpty(env.MASKINPORTEN_CERTIFICATE_FILE), file.certificateFile));
  // Never a flag (flags show in `ps`); not trimmed: spaces may belong to a passphrase.
  const passphrase = firstOf(env.MASKINPORTEN_PRIVATE_KEY_PASSPHRASE, file.keyPassphrase);
  if (passphrase !== undefined) settings.passphrase = passphrase;

  // The key: a --key-file flag, else the environment (inline key or file), else the config file.
  const envKeyFile = nonEmpty(env.MASKINPORTEN_PRIVATE_KEY_FILE);
  const envInlineKey = nonEmpty(env.MASKINPORTEN_PRIVATE_KEY);
  if (flags.keyFile !== undefined) {
    settings.keyFile = resolve(cwd, flags.keyFile);
    settings.sources.keyFile = 'flag';
  } else if (envKeyFile !== undefined || envInlineKey !== undefined) {
    if (envKeyFile !== undefined && envInlineKey !== undefined) {
      throw new ConfigError('MASKINPORTEN_PRIVATE_KEY_FILE', 'Set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE, not both.');
    }
    if (envKeyFile !== undefined) settings.keyFile = resolve(cwd, envKeyFile);
    // Environment variables often carry PEM with literal "\n" sequences.
    if (envInlineKey !== undefined) settings.inlineKey = envInlineKey.includes('-----BEGIN') ? envInlineKey.replace(/\\n/g, '\n') : envInlineKey;
    settings.sources.keyFile = 'environment';
  } else if (file.keyFile !== undefined) {
    settings.keyFile = file.keyFile;
    settings.sources.keyFile = 'config file';
  }
  if (settings.certificateFile !== undefined) settings.certificateFile = resolve(cwd, settings.certificateFile);
  return { maskinporten: settings, file, configPath, env };
}

function readSettingFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError(flag, `${flag} "${path}" cannot be read (${code}).`, {
      hint: code === 'EACCES' ? 'Check the file permissions.' : 'Check the path.',
    });
  }
}

/** True when the bytes are a PKCS#12 file rather than PEM or JWK JSON. */
export function isPkcs12(path: string, bytes: Buffer): boolean {
  const text = bytes.toString('utf8');
  return /\.(p12|pfx)$/i.test(path) || (!text.includes('-----BEGIN') && !text.trim().startsWith('{'));
}

/** Reads the key file and certificate file and builds the core's key input. Undefined when no key is configured. */
export function readKey(settings: MaskinportenSettings): KeyInput | undefined {
  const extras = {
    ...(settings.kid !== undefined ? { kid: settings.kid } : {}),
    ...(settings.passphrase !== undefined ? { passphrase: settings.passphrase } : {}),
  };
  let privateKey: string;
  if (settings.keyFile !== undefined) {
    const bytes = readSettingFile(settings.keyFile, '--key-file');
    if (isPkcs12(settings.keyFile, bytes)) return { pkcs12: new Uint8Array(bytes), ...extras };
    privateKey = bytes.toString('utf8');
  } else if (settings.inlineKey !== undefined) {
    privateKey = settings.inlineKey;
  } else {
    return undefined;
  }
  const certificateChain = settings.certificateFile === undefined ? undefined : readSettingFile(settings.certificateFile, '--certificate-file').toString('utf8');
  return { privateKey, ...extras, ...(certificateChain !== undefined ? { certificateChain } : {}) };
}

/**
 * The merged Maskinporten settings as a config file, for a child process that must mint tokens without the
 * parent's environment (exec's GCP executable). `keyFile` must be set: an inline key is written to a file first.
 */
export function settingsAsConfigFile(settings: MaskinportenSettings, keyFile: string | undefined): ConfigFile {
  const file: ConfigFile = {};
  if (settings.environment !== undefined) file.environment = settings.environment;
  if (settings.issuer !== undefined) file.issuer = settings.issuer;
  if (settings.tokenEndpoint !== undefined) file.tokenEndpoint = settings.tokenEndpoint;
  if (settings.clientId !== undefined) file.clientId = settings.clientId;
  if (settings.scope !== undefined) file.scope = settings.scope;
  if (settings.resource !== undefined) file.resource = settings.resource;
  if (settings.consumerOrg !== undefined) file.consumerOrg = settings.consumerOrg;
  if (settings.kid !== undefined) file.kid = settings.kid;
  if (keyFile !== undefined) file.keyFile = keyFile;
  if (settings.passphrase !== undefined) file.keyPassphrase = settings.passphrase;
  if (settings.certificateFile !== undefined) file.certificateFile = settings.certificateFile;
  return file;
}

/** The options of `createMaskinportenClient`, from the merged settings (environment reading switched off: it is done here). */
export function clientOptions(settings: MaskinportenSettings, logger?: Logger): MaskinportenClientOptions {
  if (settings.clientId === undefined) {
    throw new ConfigError('--client-id', 'The Maskinporten client id is missing.', {
      hint: 'Give --client-id, MASKINPORTEN_CLIENT_ID or "clientId" in the config file.',
    });
  }
  if (settings.scope === undefined) {
    throw new ConfigError('--scope', 'The scope is missing.', {
      hint: 'Give --scope, MASKINPORTEN_SCOPE or "scope" in the config file, e.g. entur:skyporten.demo.',
    });
  }
  if (settings.environment === undefined && settings.issuer === undefined) {
    throw new ConfigError('--env', 'No issuer is configured.', {
      hint: 'Give --env test|prod (SKYPORTEN_ENV) or --issuer URL (SKYPORTEN_ISSUER).',
    });
  }
  const key = readKey(settings);
  if (key === undefined) {
    throw new ConfigError('--key-file', 'No private key is configured.', {
      hint: 'Give --key-file with --kid (or --certificate-file), or MASKINPORTEN_PRIVATE_KEY_FILE with MASKINPORTEN_KID.',
    });
  }
  const options: MaskinportenClientOptions = {
    env: false,
    clientId: settings.clientId,
    scope: settings.scope,
    key,
    ...(settings.environment !== undefined ? { environment: settings.environment } : {}),
    ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
    ...(settings.tokenEndpoint !== undefined ? { tokenEndpoint: settings.tokenEndpoint } : {}),
    ...(settings.resource !== undefined ? { resource: settings.resource } : {}),
    ...(settings.consumerOrg !== undefined ? { consumerOrg: settings.consumerOrg } : {}),
    ...(logger !== undefined ? { logger } : {}),
  };
  return options;
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
