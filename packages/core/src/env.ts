import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { SKYPORTEN_ISSUERS, validateEndpoint, validateIssuer, type SkyportenEnvironment } from './issuers.js';
import type { KeyInput } from './keys.js';
import { normalizeClientId, normalizeOrganisationNumber, normalizeResource, normalizeScope } from './validation.js';

/** The environment a process sees, e.g. `process.env`. @public */
export type Environment = Readonly<Record<string, string | undefined>>;

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
} as const);

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

function readFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError(variable, `${variable} points to "${path}", which cannot be read (${code}).`, { cause: error });
  }
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
  const options: EnvironmentOptions = {};
  const environment = value(env, 'SKYPORTEN_ENV');
  const issuer = value(env, 'SKYPORTEN_ISSUER');
  if (environment !== undefined) {
    if (environment !== 'test' && environment !== 'prod') {
      throw new ConfigError('SKYPORTEN_ENV', `SKYPORTEN_ENV is "${environment}": use "test" or "prod".`);
    }
    if (issuer !== undefined && issuer !== SKYPORTEN_ISSUERS[environment]) {
      throw new ConfigError('SKYPORTEN_ISSUER', 'Set SKYPORTEN_ENV or SKYPORTEN_ISSUER, not both.');
    }
    options.issuer = SKYPORTEN_ISSUERS[environment as SkyportenEnvironment];
  }
  if (issuer !== undefined) options.issuer = validateIssuer(issuer, 'SKYPORTEN_ISSUER');
  const tokenEndpoint = value(env, 'SKYPORTEN_TOKEN_ENDPOINT');
  if (tokenEndpoint !== undefined) {
    validateEndpoint(tokenEndpoint, 'SKYPORTEN_TOKEN_ENDPOINT');
    options.tokenEndpoint = tokenEndpoint;
  }
  const clientId = value(env, 'MASKINPORTEN_CLIENT_ID');
  if (clientId !== undefined) options.clientId = normalizeClientId(clientId, 'MASKINPORTEN_CLIENT_ID');
  const scope = value(env, 'MASKINPORTEN_SCOPE');
  if (scope !== undefined) options.scope = normalizeScope(scope, 'MASKINPORTEN_SCOPE');
  const resource = value(env, 'SKYPORTEN_RESOURCE');
  if (resource !== undefined) {
    const items = resource.split(',').map((item) => item.trim()).filter(Boolean);
    const checked = normalizeResource(items.length === 1 ? items[0] : items, 'SKYPORTEN_RESOURCE');
    if (checked !== undefined) options.resource = checked;
  }
  const consumerOrg = value(env, 'MASKINPORTEN_CONSUMER_ORG');
  if (consumerOrg !== undefined) options.consumerOrg = normalizeOrganisationNumber(consumerOrg, 'MASKINPORTEN_CONSUMER_ORG');
  const key = keyFromEnv(env);
  if (key !== undefined) options.key = key;
  return options;
}

function keyFromEnv(env: Environment): KeyInput | undefined {
  const inline = env.MASKINPORTEN_PRIVATE_KEY?.trim() || undefined;
  const file = value(env, 'MASKINPORTEN_PRIVATE_KEY_FILE');
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError('MASKINPORTEN_PRIVATE_KEY_FILE', 'Set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE, not both.');
  }
  const kid = value(env, 'MASKINPORTEN_KID');
  const passphrase = env.MASKINPORTEN_PRIVATE_KEY_PASSPHRASE || undefined;
  const certificateFile = value(env, 'MASKINPORTEN_CERTIFICATE_FILE');
  const extras = { ...(kid ? { kid } : {}), ...(passphrase !== undefined ? { passphrase } : {}) };
  if (file !== undefined) {
    const bytes = readFile(file, 'MASKINPORTEN_PRIVATE_KEY_FILE');
    const text = bytes.toString('utf8');
    if (/\.(p12|pfx)$/i.test(file) || (!text.includes('-----BEGIN') && !text.trim().startsWith('{'))) {
      return { pkcs12: new Uint8Array(bytes), ...extras };
    }
    return withCertificate({ privateKey: text, ...extras }, certificateFile);
  }
  if (inline !== undefined) {
    // Environment variables often carry PEM with literal "\n" sequences.
    const privateKey = inline.includes('-----BEGIN') ? inline.replace(/\\n/g, '\n') : inline;
    return withCertificate({ privateKey, ...extras }, certificateFile);
  }
  if (certificateFile !== undefined || kid !== undefined) {
    throw new ConfigError(
      'MASKINPORTEN_PRIVATE_KEY',
      `${certificateFile !== undefined ? 'MASKINPORTEN_CERTIFICATE_FILE' : 'MASKINPORTEN_KID'} is set but there is no key: set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE.`,
    );
  }
  return undefined;
}

function withCertificate<T extends object>(key: T, certificateFile: string | undefined): T & { certificateChain?: string } {
  if (certificateFile === undefined) return key;
  return { ...key, certificateChain: readFile(certificateFile, 'MASKINPORTEN_CERTIFICATE_FILE').toString('utf8') };
}
