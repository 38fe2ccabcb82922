import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { SKYPORTEN_ISSUERS, validateEndpoint, validateIssuer } from './issuers.js';
import type { KeyInput } from './keys.js';
import { normalizeClientId, normalizeOrganisationNumber, normalizeResource, normalizeScope } from './validation.js';

/** The environment a process sees, e.g. `process.env`. @public */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The one environment variable of each option and of each key part (decision 0016); {@link ENVIRONMENT_VARIABLES} describes them. @public */
export const CLIENT_OPTION_VARIABLES = Object.freeze({
  /** `test` or `prod` (sets `environment`). */ environment: 'SKYPORTEN_ENV',
  /** An issuer URL (sets `issuer`). */ issuer: 'SKYPORTEN_ISSUER',
  /** The token endpoint (sets `tokenEndpoint`). */ tokenEndpoint: 'SKYPORTEN_TOKEN_ENDPOINT',
  /** The Maskinporten client id (sets `clientId`). */ clientId: 'MASKINPORTEN_CLIENT_ID',
  /** Scopes, space-separated (sets `scope`). */ scope: 'MASKINPORTEN_SCOPE',
  /** Audiences, comma-separated (sets `resource`). */ resource: 'SKYPORTEN_RESOURCE',
  /** The consumer organisation number (sets `consumerOrg`). */ consumerOrg: 'MASKINPORTEN_CONSUMER_ORG',
  /** Path of the private key: PEM, JWK JSON or .p12/.pfx. */ keyFile: 'MASKINPORTEN_PRIVATE_KEY_FILE',
  /** The private key itself: PEM or JWK JSON. */ privateKey: 'MASKINPORTEN_PRIVATE_KEY',
  /** The key id registered on the client. */ kid: 'MASKINPORTEN_KID',
  /** Passphrase of an encrypted PEM or a PKCS#12 file. */ keyPassphrase: 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE',
  /** Path of the business certificate chain (PEM, leaf first). */ certificateFile: 'MASKINPORTEN_CERTIFICATE_FILE',
} as const);

const V = CLIENT_OPTION_VARIABLES;
type OptionVariable = (typeof CLIENT_OPTION_VARIABLES)[keyof typeof CLIENT_OPTION_VARIABLES];

/** Every environment variable the SDK reads, and what it sets. Adapters and the CLI read the same ones. @public */
export const ENVIRONMENT_VARIABLES = Object.freeze({
  /** Sets `issuer`. */ SKYPORTEN_ENV: '`test` or `prod`: the Skyporten issuer of that environment',
  /** Sets `issuer`. */ SKYPORTEN_ISSUER: 'an issuer URL, exactly (instead of SKYPORTEN_ENV)',
  /** Sets `tokenEndpoint`. */ SKYPORTEN_TOKEN_ENDPOINT: 'the token endpoint, skipping discovery',
  /** Sets `clientId`. */ MASKINPORTEN_CLIENT_ID: 'the Maskinporten client (integration) id',
  /** Sets `key.kid`. */ MASKINPORTEN_KID: 'the key id registered on the client',
  /** Sets `key.privateKey`. */ MASKINPORTEN_PRIVATE_KEY: 'the private key: PEM or JWK JSON',
  /** Sets `key.privateKey` or `key.pkcs12`. */ MASKINPORTEN_PRIVATE_KEY_FILE: 'path to the private key: PEM, JWK JSON, or a .p12/.pfx file',
  /** Sets `key.passphrase`. */ MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'passphrase of an encrypted PEM key or of a PKCS#12 file',
  /** Sets `key.certificateChain`. */ MASKINPORTEN_CERTIFICATE_FILE: 'path to the business certificate chain (PEM, leaf first), sent as x5c',
  /** Sets `scope`. */ MASKINPORTEN_SCOPE: 'scopes, space-separated',
  /** Sets `resource`. */ SKYPORTEN_RESOURCE: 'the audience(s) the cloud expects, comma-separated',
  /** Sets `consumerOrg`. */ MASKINPORTEN_CONSUMER_ORG: 'organisation number of the consumer a supplier acts for',
} as const satisfies Record<OptionVariable, string>); // every option's variable, and no other

/** Options read from the environment (only those that are set). @public */
export interface EnvironmentOptions {
  /** From `SKYPORTEN_ENV` (that environment's issuer) or `SKYPORTEN_ISSUER`. */
  issuer?: string;
  /** From `SKYPORTEN_TOKEN_ENDPOINT`. */
  tokenEndpoint?: string;
  /** From `MASKINPORTEN_CLIENT_ID`. */
  clientId?: string;
  /** From `MASKINPORTEN_SCOPE`. */
  scope?: string;
  /** From `SKYPORTEN_RESOURCE` (an array when it lists several, comma-separated). */
  resource?: string | string[];
  /** From `MASKINPORTEN_CONSUMER_ORG`. */
  consumerOrg?: string;
  /** From `MASKINPORTEN_PRIVATE_KEY` or `MASKINPORTEN_PRIVATE_KEY_FILE`, with `MASKINPORTEN_KID`, `MASKINPORTEN_PRIVATE_KEY_PASSPHRASE` and `MASKINPORTEN_CERTIFICATE_FILE`. */
  key?: KeyInput;
}

/** A key given part by part (environment, CLI flags, config file), nothing read from disk yet. @public */
export interface KeyParts {
  /** Path of the private key file (PEM, JWK JSON, or .p12/.pfx). */
  keyFile?: string | undefined;
  /** The private key text (PEM or JWK JSON), e.g. from `MASKINPORTEN_PRIVATE_KEY`. */
  privateKey?: string | undefined;
  /** The key id registered on the client. */
  kid?: string | undefined;
  /** Passphrase of an encrypted PEM key or a PKCS#12 file. */
  keyPassphrase?: string | undefined;
  /** Path of the business certificate chain (PEM, leaf first), sent as `x5c`. */
  certificateFile?: string | undefined;
}

/** What each file part is called in an error message: an option, a flag or a variable. @internal */
export type KeyPartNames = Readonly<Record<'keyFile' | 'certificateFile', string>>;

function readFile(path: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError(name, `${name} "${path}" cannot be read (${code}).`, {
      cause: error,
      hint: code === 'EACCES' ? 'Check the file permissions.' : 'Check the path.',
    });
  }
}

/**
 * The one reader of key files (resolver and CLI): the key input of the parts, reading the key file (PEM, JWK JSON, or
 * PKCS#12 by extension or content) and the certificate file; undefined without a key file or key text. @internal
 */
export function readKeyParts(parts: KeyParts, names: KeyPartNames = { keyFile: V.keyFile, certificateFile: V.certificateFile }): KeyInput | undefined {
  const extras = {
    ...(parts.kid !== undefined ? { kid: parts.kid } : {}),
    ...(parts.keyPassphrase !== undefined ? { passphrase: parts.keyPassphrase } : {}),
  };
  let privateKey = parts.privateKey;
  if (parts.keyFile !== undefined) {
    const bytes = readFile(parts.keyFile, names.keyFile);
    privateKey = bytes.toString('utf8');
    const pkcs12 = /\.(p12|pfx)$/i.test(parts.keyFile) || (!privateKey.includes('-----BEGIN') && !privateKey.trim().startsWith('{'));
    if (pkcs12) return { pkcs12: new Uint8Array(bytes), ...extras };
  }
  if (privateKey === undefined) return undefined;
  if (parts.certificateFile === undefined) return { privateKey, ...extras };
  return { privateKey, ...extras, certificateChain: readFile(parts.certificateFile, names.certificateFile).toString('utf8') };
}

function value(env: Environment, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/**
 * Reads the client options from environment variables (see {@link ENVIRONMENT_VARIABLES}). A malformed
 * value is a ConfigError naming the variable; a missing one is simply absent.
 * @public
 */
export function maskinportenOptionsFromEnv(env: Environment = process.env): EnvironmentOptions {
  const options: EnvironmentOptions = settingsFromEnv(env);
  const parts = keyPartsFromEnv(env);
  const key = readKeyParts(parts);
  if (key !== undefined) options.key = key;
  else if (parts.certificateFile !== undefined || parts.kid !== undefined) {
    const set = parts.certificateFile !== undefined ? V.certificateFile : V.kid;
    throw new ConfigError(V.privateKey, `${set} is set but there is no key: set ${V.privateKey} or ${V.keyFile}.`);
  }
  return options;
}

/** How each setting's variable is checked and normalised. */
const settingReaders = {
  tokenEndpoint: (raw: string, name: string) => {
    validateEndpoint(raw, name);
    return raw;
  },
  clientId: normalizeClientId,
  scope: normalizeScope,
  resource: (raw: string, name: string) => {
    const items = raw.split(',').map((item) => item.trim()).filter(Boolean);
    return normalizeResource(items.length === 1 ? items[0] : items, name);
  },
  consumerOrg: normalizeOrganisationNumber,
} satisfies { [K in keyof EnvironmentOptions]?: (raw: string, name: string) => EnvironmentOptions[K] };

/** The options of the environment but the key, checked and normalised. @internal */
export function settingsFromEnv(env: Environment): Omit<EnvironmentOptions, 'key'> {
  const options: Omit<EnvironmentOptions, 'key'> = {};
  const environment = value(env, V.environment);
  const issuer = value(env, V.issuer);
  if (environment !== undefined) {
    if (environment !== 'test' && environment !== 'prod') {
      throw new ConfigError(V.environment, `${V.environment} is "${environment}": use "test" or "prod".`);
    }
    if (issuer !== undefined && issuer !== SKYPORTEN_ISSUERS[environment]) {
      throw new ConfigError(V.issuer, `Set ${V.environment} or ${V.issuer}, not both.`);
    }
    options.issuer = SKYPORTEN_ISSUERS[environment];
  }
  if (issuer !== undefined) options.issuer = validateIssuer(issuer, V.issuer);
  for (const option of Object.keys(settingReaders) as (keyof typeof settingReaders)[]) {
    const raw = value(env, V[option]);
    const checked = raw === undefined ? undefined : settingReaders[option](raw, V[option]);
    if (checked !== undefined) (options as Record<string, unknown>)[option] = checked;
  }
  return options;
}

/** The key's parts as the environment gives them (only those set); no file is read. @internal */
export function keyPartsFromEnv(env: Environment): KeyParts {
  const parts: KeyParts = {};
  for (const part of ['keyFile', 'privateKey', 'kid', 'keyPassphrase', 'certificateFile'] as const) {
    // Not trimmed: spaces may belong to a passphrase.
    const found = part === 'keyPassphrase' ? env[V[part]] || undefined : value(env, V[part]);
    if (found !== undefined) parts[part] = found;
  }
  if (parts.privateKey !== undefined && parts.keyFile !== undefined) {
    throw new ConfigError(V.keyFile, `Set ${V.privateKey} or ${V.keyFile}, not both.`);
  }
  // Environment variables often carry PEM with literal "\n" sequences.
  if (parts.privateKey?.includes('-----BEGIN')) parts.privateKey = parts.privateKey.replace(/\\n/g, '\n');
  return parts;
}
