import type { MaskinportenClientOptions } from './client.js';
import { maskinportenOptionsFromEnv, type Environment } from './env.js';
import { ConfigError } from './errors.js';
import { SKYPORTEN_ISSUERS, validateIssuer } from './issuers.js';
import type { KeyInput } from './keys.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy, type RetryPolicy } from './retry.js';
import { display } from './validation.js';

/** Where an option's value came from. @public */
export type OptionSource = 'option' | 'env' | 'config-file' | 'default';

/** One option's origin: the layer, and the name it had there (an option name or an environment variable). @public */
export interface OptionOrigin {
  /** The layer that set it. */
  source: OptionSource;
  /** The name in that layer, e.g. `clientId`, `MASKINPORTEN_CLIENT_ID`, or `default`. */
  from: string;
}

/**
 * The one default of every option that has one. Options without a default (issuer, clientId, scope, key) are
 * required; `resource` and `consumerOrg` are optional.
 *
 * @public
 */
export const CLIENT_OPTION_DEFAULTS = Object.freeze({
  timeout: 10_000,
  grantLifetimeSeconds: 60,
  refreshWindowSeconds: 30,
  safetyMarginSeconds: 10,
  maxCachedKeys: 10_000,
  retry: DEFAULT_RETRY_POLICY,
});

/** The client options after merging the layers; defaults filled in. @public */
export interface ResolvedClientOptions {
  issuer: string | undefined;
  tokenEndpoint: string | undefined;
  clientId: string | undefined;
  scope: string | readonly string[] | undefined;
  resource: string | readonly string[] | undefined;
  consumerOrg: string | undefined;
  key: KeyInput | undefined;
  timeout: number;
  grantLifetimeSeconds: number;
  refreshWindowSeconds: number;
  safetyMarginSeconds: number;
  maxCachedKeys: number;
  retry: RetryPolicy;
}

/** What {@link resolveClientOptions} returns: the values, and where each came from. @public */
export interface ClientOptionsResolution {
  values: ResolvedClientOptions;
  /** One entry per option that has a value (defaults included). */
  sources: Partial<Record<keyof ResolvedClientOptions, OptionOrigin>>;
}

/** The layers under the options given in code. @public */
export interface OptionLayers {
  /** Options read from a config file (the CLI's `--config`); below the environment. */
  configFile?: MaskinportenClientOptions | undefined;
}

const envNames = {
  tokenEndpoint: 'SKYPORTEN_TOKEN_ENDPOINT',
  clientId: 'MASKINPORTEN_CLIENT_ID',
  scope: 'MASKINPORTEN_SCOPE',
  resource: 'SKYPORTEN_RESOURCE',
  consumerOrg: 'MASKINPORTEN_CONSUMER_ORG',
  key: 'MASKINPORTEN_PRIVATE_KEY[_FILE]',
} as const;

const keyVariables = ['MASKINPORTEN_PRIVATE_KEY', 'MASKINPORTEN_PRIVATE_KEY_FILE', 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE', 'MASKINPORTEN_KID', 'MASKINPORTEN_CERTIFICATE_FILE'];

/**
 * The environment without the variables of options given explicitly: those are neither read (no key file
 * is opened for a key already given) nor checked. A token endpoint from the environment only counts when the
 * issuer comes from the environment too, so a leftover test endpoint never meets a prod issuer.
 */
function relevantEnvironment(env: Environment, explicit: MaskinportenClientOptions): Environment {
  const drop = new Set<string>();
  if (explicit.environment !== undefined || explicit.issuer !== undefined) drop.add('SKYPORTEN_ENV').add('SKYPORTEN_ISSUER').add('SKYPORTEN_TOKEN_ENDPOINT');
  for (const [option, variable] of Object.entries(envNames)) {
    if (explicit[option as keyof typeof envNames] === undefined) continue;
    if (option === 'key') keyVariables.forEach((name) => drop.add(name));
    else drop.add(variable);
  }
  if (drop.size === 0) return env;
  return Object.fromEntries(Object.entries(env).filter(([name]) => !drop.has(name)));
}

/** The issuer named by one layer (`environment` or `issuer`, not both), or undefined. */
function issuerOf(layer: MaskinportenClientOptions, where: string): string | undefined {
  if (layer.environment !== undefined && layer.issuer !== undefined) {
    throw new ConfigError('environment', `Give environment or issuer, not both${where}.`);
  }
  if (layer.environment !== undefined) {
    const issuer = SKYPORTEN_ISSUERS[layer.environment];
    if (issuer === undefined) {
      throw new ConfigError('environment', `environment "${display(layer.environment)}" is unknown: use "test" or "prod".`);
    }
    return issuer;
  }
  return layer.issuer === undefined ? undefined : validateIssuer(layer.issuer);
}

/**
 * The one options resolver: every client option has one name, one environment variable (see
 * `ENVIRONMENT_VARIABLES`) and at most one default (`CLIENT_OPTION_DEFAULTS`). Precedence: the options given >
 * the environment (unless `env: false`) > the config-file layer > the default. `createMaskinportenClient` and
 * the CLI (flags are options) both resolve through it, and `skyporten doctor` prints `sources`.
 *
 * @example
 * ```ts
 * const { values, sources } = resolveClientOptions({ clientId: 'my-client' }, { configFile: { environment: 'test' } });
 * sources.clientId; // { source: 'option', from: 'clientId' }
 * sources.issuer; // { source: 'config-file', from: 'environment' }, unless SKYPORTEN_ENV / SKYPORTEN_ISSUER is set
 * ```
 * @public
 */
export function resolveClientOptions(options: MaskinportenClientOptions = {}, layers: OptionLayers = {}): ClientOptionsResolution {
  const file = layers.configFile ?? {};
  const env = options.env === false ? undefined : (options.env ?? process.env);
  const fromEnv = env === undefined ? {} : maskinportenOptionsFromEnv(relevantEnvironment(env, options));
  const sources: ClientOptionsResolution['sources'] = {};

  const explicitIssuer = issuerOf(options, '');
  const fileIssuer = issuerOf(file, ' in the config file');
  let issuer: string | undefined;
  if (explicitIssuer !== undefined) {
    issuer = explicitIssuer;
    sources.issuer = { source: 'option', from: options.environment !== undefined ? 'environment' : 'issuer' };
  } else if (fromEnv.issuer !== undefined) {
    issuer = fromEnv.issuer;
    sources.issuer = { source: 'env', from: env?.SKYPORTEN_ENV?.trim() ? 'SKYPORTEN_ENV' : 'SKYPORTEN_ISSUER' };
  } else if (fileIssuer !== undefined) {
    issuer = fileIssuer;
    sources.issuer = { source: 'config-file', from: file.environment !== undefined ? 'environment' : 'issuer' };
  }

  function pick<K extends keyof typeof envNames>(name: K): ResolvedClientOptions[K] {
    const given = options[name];
    if (given !== undefined) {
      sources[name] = { source: 'option', from: name };
      return given as ResolvedClientOptions[K];
    }
    // A token endpoint from the environment needs the issuer from there too.
    const envValue = name === 'tokenEndpoint' && sources.issuer?.source !== 'env' ? undefined : fromEnv[name];
    if (envValue !== undefined) {
      sources[name] = { source: 'env', from: envNames[name] };
      return envValue as ResolvedClientOptions[K];
    }
    if (file[name] !== undefined) {
      sources[name] = { source: 'config-file', from: name };
      return file[name] as ResolvedClientOptions[K];
    }
    return undefined as ResolvedClientOptions[K];
  }

  function withDefault<K extends keyof typeof CLIENT_OPTION_DEFAULTS>(name: K): (typeof CLIENT_OPTION_DEFAULTS)[K] {
    for (const [layer, source] of [[options, 'option'], [file, 'config-file']] as const) {
      if (layer[name] !== undefined) {
        sources[name] = { source, from: name };
        return (name === 'retry' ? resolveRetryPolicy(layer.retry) : layer[name]) as (typeof CLIENT_OPTION_DEFAULTS)[K];
      }
    }
    sources[name] = { source: 'default', from: 'default' };
    return CLIENT_OPTION_DEFAULTS[name];
  }

  const values: ResolvedClientOptions = {
    issuer,
    tokenEndpoint: pick('tokenEndpoint'),
    clientId: pick('clientId'),
    scope: pick('scope'),
    resource: pick('resource'),
    consumerOrg: pick('consumerOrg'),
    key: pick('key'),
    timeout: withDefault('timeout'),
    grantLifetimeSeconds: withDefault('grantLifetimeSeconds'),
    refreshWindowSeconds: withDefault('refreshWindowSeconds'),
    safetyMarginSeconds: withDefault('safetyMarginSeconds'),
    maxCachedKeys: withDefault('maxCachedKeys'),
    retry: withDefault('retry'),
  };
  return { values, sources };
}
