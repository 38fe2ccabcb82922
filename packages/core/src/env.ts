import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { SKYPORTEN_ISSUERS, validateEndpoint, validateIssuer, type SkyportenEnvironment } from './issuers.js';
import type { KeyInput } from './keys.js';
import { normalizeClientId, normalizeOrganisationNumber, normalizeResource, normalizeScope } from './validation.js';

/** The environment a process sees, e.g. `process.env`. @public */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The one environment variable of each option, and of each part of a key given as files. The resolver reads
 * these; the CLI's hints and `doctor` name them from here. {@link ENVIRONMENT_VARIABLES} describes them.
 *
 * @public
 */
export const CLIENT_OPTION_VARIABLES = Object.freeze({
  /** `test` or `prod` (sets `environment`). */
  environment: 'SKYPORTEN_ENV',
  /** An issuer URL (sets `issuer`). */
  issuer: 'SKYPORTEN_ISSUER',
  /** The token endpoint (sets `tokenEndpoint`). */
  tokenEndpoint: 'SKYPORTEN_TOKEN_ENDPOINT',
  /** The Maskinporten client id (sets `clientId`). */
  clientId: 'MASKINPORTEN_CLIENT_ID',
  /** Scopes, space-separated (sets `scope`). */
  scope: 'MASKINPORTEN_SCOPE',
  /** Audiences, comma-separated (sets `resource`). */
  resource: 'SKYPORTEN_RESOURCE',
  /** The consumer organisation number (sets `consumerOrg`). */
  consumerOrg: 'MASKINPORTEN_CONSUMER_ORG',
  /** Path of the private key: PEM, JWK JSON or .p12/.pfx. */
  keyFile: 'MASKINPORTEN_PRIVATE_KEY_FILE',
  /** The private key itself: PEM or JWK JSON. */
  privateKey: 'MASKINPORTEN_PRIVATE_KEY',
  /** The key id registered on the client. */
  kid: 'MASKINPORTEN_KID',
  /** Passphrase of an encrypted PEM or a PKCS#12 file. */
  keyPassphrase: 'MASKINPORTEN_PRIVATE_KEY_PASSPHRASE',
  /** Path of the business certificate chain (PEM, leaf first). */
  certificateFile: 'MASKINPORTEN_CERTIFICATE_FILE',
} as const);

const V = CLIENT_OPTION_VARIABLES;
type OptionVariable = (typeof CLIENT_OPTION_VARIABLES)[keyof typeof CLIENT_OPTION_VARIABLES];

/**
 * Every environment variable the SDK reads, and what it sets. Adapters and the CLI read the same ones.
 *
 * @public
 */
export const ENVIRONMENT_VARIABLES = Object.freeze({
  /** Sets `issuer`. */
  SKYPORTEN_ENV: '`test` or `prod`: the Skyporten issuer of that environment',
  /** Sets `issuer`. */
  SKYPORTEN_ISSUER: 'an issuer URL, exactly (instead of SKYPORTEN_ENV)',
  /** Sets `tokenEndpoint`. */
  SKYPORTEN_TOKEN_ENDPOINT: 'the token endpoint, skipping discovery',
  /** Sets `clientId`. */
  MASKINPORTEN_CLIENT_ID: 'the Maskinporten client (integration) id',
  /** Sets `key.kid`. */
  MASKINPORTEN_KID: 'the key id registered on the client',
  /** Sets `key.privateKey`. */
  MASKINPORTEN_PRIVATE_KEY: 'the private key: PEM or JWK JSON',
  /** Sets `key.privateKey` or `key.pkcs12`. */
  MASKINPORTEN_PRIVATE_KEY_FILE: 'path to the private key: PEM, JWK JSON, or a .p12/.pfx file',
  /** Sets `key.passphrase`. */
  MASKINPORTEN_PRIVATE_KEY_PASSPHRASE: 'passphrase of an encrypted PEM key or of a PKCS#12 file',
  /** Sets `key.certificateChain`. */
  MASKINPORTEN_CERTIFICATE_FILE: 'path to the business certificate chain (PEM, leaf first), sent as x5c',
  /** Sets `scope`. */
  MASKINPORTEN_SCOPE: 'scopes, space-separated',
  /** Sets `resource`. */
  SKYPORTEN_RESOURCE: 'the audience(s) the cloud expects, comma-separated',
  /** Sets `consumerOrg`. */
  MASKINPORTEN_CONSUMER_ORG: 'organisation number of the consumer a supplier acts for',
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

/**
 * A key given part by part, as the environment, the CLI's flags and its config file give it; nothing read
 * from disk yet. `privateKey` is the key itself (PEM or JWK JSON), the alternative to `keyFile`.
 *
 * @public
 */
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

/** True when a key file holds PKCS#12 rather than PEM or JWK JSON: by its extension, else by its bytes. */
function isPkcs12(path: string, text: string): boolean {
  return /\.(p12|pfx)$/i.test(path) || (!text.includes('-----BEGIN') && !text.trim().startsWith('{'));
}

/**
 * The key input of the parts: reads the key file (PEM, JWK JSON or PKCS#12) and the certificate file.
 * Undefined when neither a key file nor a key is given. The one reader of key files, for the resolver and the CLI.
 *
 * @internal
 */
export function readKeyParts(parts: KeyParts, names: KeyPartNames = { keyFile: V.keyFile, certificateFile: V.certificateFile }): KeyInput | undefined {
  const extras = {
    ...(parts.kid !== undefined ? { kid: parts.kid } : {}),
    ...(parts.keyPassphrase !== undefined ? { passphrase: parts.keyPassphrase } : {}),
  };
  let privateKey: string;
  if (parts.keyFile !== undefined) {
    const bytes = readFile(parts.keyFile, names.keyFile);
    const text = bytes.toString('utf8');
    if (isPkcs12(parts.keyFile, text)) return { pkcs12: new Uint8Array(bytes), ...extras };
    privateKey = text;
  } else if (parts.privateKey !== undefined) {
    privateKey = parts.privateKey;
  } else {
    return undefined;
  }
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
 *
 * @example
 * ```ts
 * const options = maskinportenOptionsFromEnv(process.env);
 * ```
 * @public
 */
export function maskinportenOptionsFromEnv(env: Environment = process.env): EnvironmentOptions {
  const options: EnvironmentOptions = settingsFromEnv(env);
  const parts = keyPartsFromEnv(env);
  const key = readKeyParts(parts);
  if (key !== undefined) options.key = key;
  else if (parts.certificateFile !== undefined || parts.kid !== undefined) {
    throw new ConfigError(
      V.privateKey,
      `${parts.certificateFile !== undefined ? V.certificateFile : V.kid} is set but there is no key: set ${V.privateKey} or ${V.keyFile}.`,
    );
  }
  return options;
}

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
    options.issuer = SKYPORTEN_ISSUERS[environment as SkyportenEnvironment];
  }
  if (issuer !== undefined) options.issuer = validateIssuer(issuer, V.issuer);
  const tokenEndpoint = value(env, V.tokenEndpoint);
  if (tokenEndpoint !== undefined) {
    validateEndpoint(tokenEndpoint, V.tokenEndpoint);
    options.tokenEndpoint = tokenEndpoint;
  }
  const clientId = value(env, V.clientId);
  if (clientId !== undefined) options.clientId = normalizeClientId(clientId, V.clientId);
  const scope = value(env, V.scope);
  if (scope !== undefined) options.scope = normalizeScope(scope, V.scope);
  const resource = value(env, V.resource);
  if (resource !== undefined) {
    const items = resource.split(',').map((item) => item.trim()).filter(Boolean);
    const checked = normalizeResource(items.length === 1 ? items[0] : items, V.resource);
    if (checked !== undefined) options.resource = checked;
  }
  const consumerOrg = value(env, V.consumerOrg);
  if (consumerOrg !== undefined) options.consumerOrg = normalizeOrganisationNumber(consumerOrg, V.consumerOrg);
  return options;
}

/** The key's parts as the environment gives them (only those set); no file is read. @internal */
export function keyPartsFromEnv(env: Environment): KeyParts {
  const inline = value(env, V.privateKey);
  const parts: KeyParts = {};
  const keyFile = value(env, V.keyFile);
  if (inline !== undefined && keyFile !== undefined) {
    throw new ConfigError(V.keyFile, `Set ${V.privateKey} or ${V.keyFile}, not both.`);
  }
  if (keyFile !== undefined) parts.keyFile = keyFile;
  // Environment variables often carry PEM with literal "\n" sequences.
  if (inline !== undefined) parts.privateKey = inline.includes('-----BEGIN') ? inline.replace(/\\n/g, '\n') : inline;
  const kid = value(env, V.kid);
  if (kid !== undefined) parts.kid = kid;
  // Not trimmed: spaces may belong to a passphrase.
  const passphrase = env[V.keyPassphrase];
  if (passphrase !== undefined && passphrase !== '') parts.keyPassphrase = passphrase;
  const certificateFile = value(env, V.certificateFile);
  if (certificateFile !== undefined) parts.certificateFile = certificateFile;
  return parts;
}
