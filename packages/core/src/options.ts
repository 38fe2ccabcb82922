import { resolve } from 'node:path';
import { DEFAULT_REFRESH_POLICY } from './cache.js';
import type { MaskinportenClientOptions } from './client.js';
import { CLIENT_OPTION_VARIABLES, keyPartsFromEnv, readKeyParts, settingsFromEnv, type Environment, type KeyParts } from './env.js';
import { ConfigError } from './errors.js';
import { SKYPORTEN_ISSUERS, validateIssuer } from './issuers.js';
import type { KeyInput } from './keys.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy, type RetryPolicy } from './retry.js';
import { display } from './validation.js';

let warned = false;

/** One DeprecationWarning per process for `refreshWindowSeconds`, the old name of `refreshAheadSeconds` (works for one minor version). */
function warnDeprecated(): void {
  if (warned) return;
  warned = true;
  const [old, replacement] = ['refreshWindowSeconds', 'refreshAheadSeconds'];
  process.emitWarning(`The option ${old} is deprecated: use ${replacement} (same meaning). ${old} stops working in the next minor version.`, {
    type: 'DeprecationWarning',
    code: `SKYPORTEN_DEP_${old.toUpperCase()}`,
  });
}

/** Where an option's value came from. @public */
export type OptionSource = 'option' | 'env' | 'config-file' | 'default';

/** One option's origin: the layer, and the name it had there (an option name or an environment variable). @public */
export interface OptionOrigin {
  /** The layer that set it. */
  source: OptionSource;
  /** The name in that layer, e.g. `clientId`, `MASKINPORTEN_CLIENT_ID`, or `default`. */
  from: string;
}

/** The one default of every option that has one (issuer, clientId, scope and key are required). @public */
export const CLIENT_OPTION_DEFAULTS = Object.freeze({
  /** Per-request timeout, ms. */ timeout: 10_000,
  /** Seconds between a grant's `iat` and `exp`. */ grantLifetimeSeconds: 60,
  /** Background refresh starts this long before expiry. */ refreshAheadSeconds: DEFAULT_REFRESH_POLICY.refreshWindowSeconds,
  /** A token this close to expiry is not handed out. */ safetyMarginSeconds: DEFAULT_REFRESH_POLICY.safetyMarginSeconds,
  /** Most `with()` views kept. */ maxCachedKeys: 10_000,
  /** The retry policy. */ retry: DEFAULT_RETRY_POLICY,
});

/** The client options after merging the layers; defaults filled in. @public */
export interface ResolvedClientOptions {
  /** The issuer (from `environment` or `issuer`), if any layer set it. */
  issuer: string | undefined;
  /** The token endpoint, if set (discovery is then skipped). */
  tokenEndpoint: string | undefined;
  /** The Maskinporten client id. */
  clientId: string | undefined;
  /** The scopes. */
  scope: string | readonly string[] | undefined;
  /** The audience(s). */
  resource: string | readonly string[] | undefined;
  /** The consumer organisation number. */
  consumerOrg: string | undefined;
  /** The key, given whole or read from its parts (with `readKeyFiles: false`: only a key given whole). */
  key: KeyInput | undefined;
  /** The parts of a key given as files (or `privateKey` text); empty for a key given whole. */
  keyParts: KeyParts;
  /** Per-request timeout, ms. */
  timeout: number;
  /** Seconds between a grant's `iat` and `exp`. */
  grantLifetimeSeconds: number;
  /** Start refreshing the Skyporten token this long before it expires (`refreshWindowSeconds` before 0.2). */
  refreshAheadSeconds: number;
  /** A token this close to expiry is not handed out. */
  safetyMarginSeconds: number;
  /** Most `with()` views kept. */
  maxCachedKeys: number;
  /** The retry policy, every field filled in. */
  retry: RetryPolicy;
}

/** The names {@link resolveClientOptions} reports a source for. @public */
export type ResolvedOptionName = Exclude<keyof ResolvedClientOptions, 'keyParts'> | keyof KeyParts;

/** What {@link resolveClientOptions} returns: the values, and where each came from. @public */
export interface ClientOptionsResolution {
  /** The merged values, defaults filled in. */
  values: ResolvedClientOptions;
  /** One entry per option that has a value (defaults included); `key` names where the key material came from. */
  sources: Partial<Record<ResolvedOptionName, OptionOrigin>>;
  /** Reads the key now: the key given whole, or the key files of `keyParts` (errors name the part as its layer does). */
  readKey(): KeyInput | undefined;
  /** How a name is spelled in its layer, for messages: `--key-file`, `MASKINPORTEN_KID`, `the config file's keyFile`. */
  describe(origin: OptionOrigin): string;
}

/** Client options, and a key given part by part instead of `key` (how the CLI's flags and config file give it). @public */
export type ClientOptionsInput = MaskinportenClientOptions & Omit<KeyParts, 'privateKey'>;

/** The layers under the options given in code. @public */
export interface OptionLayers {
  /** Options read from a config file (the CLI's `--config`); below the environment. */
  configFile?: ClientOptionsInput | undefined;
  /** `false`: open no key file now (`values.key` is then only a key given whole); `readKey()` reads them later. */
  readKeyFiles?: boolean | undefined;
  /** How the options given are spelled in messages, e.g. the CLI's flags (`keyFile` → `--key-file`). */
  optionLabel?: ((option: string) => string) | undefined;
  /** The directory relative `keyFile` and `certificateFile` paths are taken from; `keyParts` then holds absolute paths. */
  cwd?: string | undefined;
}

type OptionName = keyof typeof CLIENT_OPTION_VARIABLES;

/** Each option's variables: an option given explicitly drops them (a key given whole drops every key part's). */
function variablesOf(option: string): string[] {
  if (option === 'key') return (['keyFile', 'privateKey', 'kid', 'keyPassphrase', 'certificateFile'] as const).map((part) => CLIENT_OPTION_VARIABLES[part]);
  if (option === 'keyFile') return [CLIENT_OPTION_VARIABLES.keyFile, CLIENT_OPTION_VARIABLES.privateKey];
  if (option === 'environment' || option === 'issuer') return [CLIENT_OPTION_VARIABLES.environment, CLIENT_OPTION_VARIABLES.issuer, CLIENT_OPTION_VARIABLES.tokenEndpoint];
  return Object.hasOwn(CLIENT_OPTION_VARIABLES, option) ? [CLIENT_OPTION_VARIABLES[option as OptionName]] : [];
}

/** The environment without the variables of options given explicitly: those are neither read (no key file opened) nor checked. */
function relevantEnvironment(env: Environment, explicit: ClientOptionsInput): Environment {
  const drop = new Set(Object.entries(explicit).flatMap(([option, given]) => (given === undefined ? [] : variablesOf(option))));
  return drop.size === 0 ? env : Object.fromEntries(Object.entries(env).filter(([name]) => !drop.has(name)));
}

/** The issuer named by one layer (`environment` or `issuer`, not both), or undefined. */
function issuerOf(layer: ClientOptionsInput, name: (option: string) => string, where: string): string | undefined {
  if (layer.environment !== undefined && layer.issuer !== undefined) {
    throw new ConfigError(name('environment'), `Give ${name('environment')} or ${name('issuer')}, not both${where}.`);
  }
  if (layer.environment !== undefined) {
    const issuer = SKYPORTEN_ISSUERS[layer.environment];
    if (issuer !== undefined) return issuer;
    throw new ConfigError(name('environment'), `${name('environment')} "${display(layer.environment)}" is unknown: use "test" or "prod".`);
  }
  return layer.issuer === undefined ? undefined : validateIssuer(layer.issuer, name('issuer'));
}

/** The key material of one layer: a key given whole or a key file, not both. */
function keyMaterialOf(layer: ClientOptionsInput, name: (option: string) => string, where: string): 'key' | 'keyFile' | undefined {
  if (layer.key !== undefined && layer.keyFile !== undefined) {
    throw new ConfigError(name('keyFile'), `Give ${name('key')} or ${name('keyFile')}, not both${where}.`);
  }
  return layer.key !== undefined ? 'key' : layer.keyFile !== undefined ? 'keyFile' : undefined;
}

/**
 * The one options resolver (decision 0016), for the client and the CLI: option by option, the options given >
 * the environment (unless `env: false`) > the config-file layer > the default; a key whole or in parts.
 *
 * @example
 * ```ts
 * const { values, sources } = resolveClientOptions({ clientId: 'my-client' }, { configFile: { environment: 'test' } });
 * sources.clientId; // { source: 'option', from: 'clientId' }
 * sources.issuer; // { source: 'config-file', from: 'environment' }, unless SKYPORTEN_ENV / SKYPORTEN_ISSUER is set
 * ```
 * @public
 */
export function resolveClientOptions(options: ClientOptionsInput = {}, layers: OptionLayers = {}): ClientOptionsResolution {
  const file = layers.configFile ?? {};
  const env = options.env === false ? undefined : (options.env ?? process.env);
  const relevant = env === undefined ? {} : relevantEnvironment(env, options);
  const fromEnv: Partial<Record<OptionName, unknown>> = { ...settingsFromEnv(relevant), ...keyPartsFromEnv(relevant) };
  const sources: ClientOptionsResolution['sources'] = {};
  const label = layers.optionLabel ?? ((option: string) => option);
  const describe = (origin: OptionOrigin): string =>
    origin.source === 'option' ? label(origin.from) : origin.source === 'config-file' ? `the config file's ${origin.from}` : origin.from;

  /** The value of the first layer that has one (`[source, value, its name there]`), recorded in `sources`. */
  function first(name: ResolvedOptionName, candidates: [OptionSource, unknown, string][]): unknown {
    const found = candidates.find(([, value]) => value !== undefined);
    if (found !== undefined) sources[name] = { source: found[0], from: found[2] };
    return found?.[1];
  }
  const issuer = first('issuer', [
    ['option', issuerOf(options, label, ''), options.environment !== undefined ? 'environment' : 'issuer'],
    ['env', fromEnv.issuer, relevant[CLIENT_OPTION_VARIABLES.environment]?.trim() ? CLIENT_OPTION_VARIABLES.environment : CLIENT_OPTION_VARIABLES.issuer],
    ['config-file', issuerOf(file, (option) => option, ' in the config file'), file.environment !== undefined ? 'environment' : 'issuer'],
  ]);
  const pick = (name: Exclude<OptionName, 'environment' | 'issuer'>): unknown =>
    first(name, [
      ['option', (options as Record<string, unknown>)[name], name],
      // A token endpoint from the environment needs the issuer from there too.
      ['env', name === 'tokenEndpoint' && sources.issuer?.source !== 'env' ? undefined : fromEnv[name], CLIENT_OPTION_VARIABLES[name]],
      ['config-file', (file as Record<string, unknown>)[name], name],
    ]);
  function withDefault(name: keyof typeof CLIENT_OPTION_DEFAULTS): unknown {
    const value = first(name, [
      ...([[options, 'option'], [file, 'config-file']] as const).flatMap(([layer, source]): [OptionSource, unknown, string][] => [
        [source, name === 'retry' && layer.retry !== undefined ? resolveRetryPolicy(layer.retry) : layer[name], name],
        [source, name === 'refreshAheadSeconds' ? layer.refreshWindowSeconds : undefined, 'refreshWindowSeconds'],
      ]),
      ['default', CLIENT_OPTION_DEFAULTS[name], 'default'],
    ]);
    if (sources[name]?.from === 'refreshWindowSeconds') warnDeprecated();
    return value;
  }

  // In the order of ResolvedClientOptions, so `sources` lists them so.
  const settings = Object.fromEntries((['tokenEndpoint', 'clientId', 'scope', 'resource', 'consumerOrg'] as const).map((name) => [name, pick(name)]));

  // The key material (a key given whole, a key file or the key's text) from the highest layer that has one;
  // its other parts each from their own highest layer.
  const explicitKey = keyMaterialOf(options, label, '');
  const fileKey = keyMaterialOf(file, (option) => option, ' in the config file');
  const fileKeyWins = explicitKey === undefined && fromEnv.keyFile === undefined && fromEnv.privateKey === undefined && fileKey === 'key';
  const wholeKey = first('key', [
    ['option', explicitKey === 'key' ? options.key : undefined, 'key'],
    ['config-file', fileKeyWins ? file.key : undefined, 'key'],
  ]) as KeyInput | undefined;
  const keyParts: KeyParts = {};
  if (wholeKey === undefined) {
    // An option's key file has dropped the environment's key text; the environment's key text beats the file's key file.
    const material = fromEnv.privateKey !== undefined ? 'privateKey' : 'keyFile';
    for (const part of [material, 'kid', 'keyPassphrase', 'certificateFile'] as const) {
      const found = pick(part) as string | undefined;
      if (found !== undefined) keyParts[part] = layers.cwd !== undefined && (part === 'keyFile' || part === 'certificateFile') ? resolve(layers.cwd, found) : found;
      if (part === material && sources[material] !== undefined) sources.key = sources[material];
    }
  }

  const names = (part: 'keyFile' | 'certificateFile') => (sources[part] === undefined ? part : describe(sources[part]));
  const readKey = (): KeyInput | undefined => wholeKey ?? readKeyParts(keyParts, { keyFile: names('keyFile'), certificateFile: names('certificateFile') });
  let key = wholeKey;
  if (layers.readKeyFiles !== false && key === undefined) {
    key = readKey();
    const orphan = key === undefined ? (sources.certificateFile ?? sources.kid) : undefined;
    if (orphan !== undefined) {
      throw new ConfigError('key', `${describe(orphan)} is set but there is no key: give key or keyFile (or ${CLIENT_OPTION_VARIABLES.privateKey} or ${CLIENT_OPTION_VARIABLES.keyFile}).`);
    }
  }

  const defaults = (Object.keys(CLIENT_OPTION_DEFAULTS) as (keyof typeof CLIENT_OPTION_DEFAULTS)[]).map((name) => [name, withDefault(name)]);
  const values = { issuer, ...settings, key, keyParts, ...Object.fromEntries(defaults) } as ResolvedClientOptions;
  return { values, sources, readKey, describe };
}
