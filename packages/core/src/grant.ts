import { randomUUID, sign } from 'node:crypto';
import { systemClock, type Clock } from './clock.js';
import { ConfigError } from './errors.js';
import { CLIENT_OPTION_DEFAULTS } from './options.js';
import { prepareSigner, type GrantSigner, type KeyInput } from './keys.js';
import { validateIssuer } from './issuers.js';
import { normalizeClientId, normalizeOrganisationNumber, normalizeResource, normalizeScope } from './validation.js';

/** The longest grant lifetime Maskinporten accepts (`exp - iat`). @public */
export const MAX_GRANT_LIFETIME_SECONDS = 120;

/** What goes into an RFC 7523 JWT grant. @public */
export interface JwtGrantOptions {
  /** The issuer, exactly: becomes `aud`. */
  issuer: string;
  /** The Maskinporten client (integration) id: becomes `iss`. */
  clientId: string;
  /** One or more scopes registered on the client. */
  scope: string | readonly string[];
  /** The audience the cloud expects; becomes the access token's `aud`. */
  resource?: string | readonly string[] | undefined;
  /** Organisation number when a supplier acts for a consumer (delegation in Altinn). */
  consumerOrg?: string | undefined;
  /** The signing key. */
  key: KeyInput;
  /** Seconds between `iat` and `exp`. @default 60 (at most 120) */
  lifetimeSeconds?: number | undefined;
  /** Source of `iat`. @default Date.now */
  clock?: Clock | undefined;
  /** Source of `jti`. @default crypto.randomUUID */
  generateId?: (() => string) | undefined;
}

/** The claims of a grant. @public */
export interface JwtGrantClaims {
  /** The issuer (not the token endpoint). */
  aud: string;
  /** The Maskinporten client id. */
  iss: string;
  /** The scopes asked for, space-separated. */
  scope: string;
  /** Issue time, in Unix seconds. */
  iat: number;
  /** Expiry, in Unix seconds (at most 120 seconds after `iat`). */
  exp: number;
  /** A unique id per grant, so it cannot be replayed. */
  jti: string;
  /** The audience(s) asked for in the access token. */
  resource?: string | string[];
  /** The organisation number of the consumer a supplier acts for. */
  consumer_org?: string;
}

/** Validated, normalised claim inputs: computed once per client, reused for every grant. @internal */
export interface GrantTemplate {
  issuer: string;
  clientId: string;
  scope: string;
  resource: string | string[] | undefined;
  consumerOrg: string | undefined;
  lifetimeSeconds: number;
}

/** @internal */
export function buildGrantTemplate(
  options: { issuer: string } & { [K in 'clientId' | 'scope' | 'resource' | 'consumerOrg' | 'lifetimeSeconds']?: unknown },
  lifetimeField = 'grantLifetimeSeconds',
): GrantTemplate {
  const lifetime = options.lifetimeSeconds ?? CLIENT_OPTION_DEFAULTS.grantLifetimeSeconds;
  if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_GRANT_LIFETIME_SECONDS) {
    throw new ConfigError(lifetimeField, `${lifetimeField} must be a whole number from 1 to ${MAX_GRANT_LIFETIME_SECONDS} (Maskinporten rejects exp - iat > 120).`);
  }
  return {
    issuer: validateIssuer(options.issuer),
    clientId: normalizeClientId(options.clientId),
    scope: normalizeScope(options.scope),
    resource: normalizeResource(options.resource),
    consumerOrg: options.consumerOrg === undefined ? undefined : normalizeOrganisationNumber(options.consumerOrg, 'consumerOrg'),
    lifetimeSeconds: lifetime,
  };
}

/** @internal */
export function grantClaims(template: GrantTemplate, clock: Clock, generateId: () => string): JwtGrantClaims {
  const iat = Math.floor(clock() / 1000);
  const claims: JwtGrantClaims = {
    aud: template.issuer,
    iss: template.clientId,
    scope: template.scope,
    iat,
    exp: iat + template.lifetimeSeconds,
    jti: generateId(),
  };
  if (template.resource !== undefined) claims.resource = template.resource;
  if (template.consumerOrg !== undefined) claims.consumer_org = template.consumerOrg;
  return claims;
}

const encoder = new TextEncoder();
const hashOf = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' } as const;

/** Signs claims as a compact JWS (RFC 7515): node:crypto's RSASSA-PKCS1-v1_5 for a local key, else the remote signer. @internal */
export async function signGrant(signer: GrantSigner, claims: JwtGrantClaims): Promise<string> {
  const header = Buffer.from(JSON.stringify({ ...signer.header, typ: 'JWT' })).toString('base64url');
  const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature =
    signer.privateKey !== undefined
      ? sign(hashOf[signer.header.alg], Buffer.from(signingInput), signer.privateKey)
      : await signer.sign!(encoder.encode(signingInput));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

const signerCache = new WeakMap<object, Promise<GrantSigner>>();

/**
 * A signed RFC 7523 JWT grant (`aud` = issuer, `iss` = client id, a fresh `jti` each time), if you send it
 * yourself; {@link createMaskinportenClient} does this for you. The key is parsed once per key object.
 *
 * @example
 * ```ts
 * const grant = await createJwtGrant({
 *   issuer: SKYPORTEN_TEST_ISSUER,
 *   clientId: 'my-integration-id',
 *   scope: 'entur:skyporten.demo',
 *   resource: 'https://skyporten.entur.org',
 *   key: { privateKey: readFileSync('key.pem', 'utf8'), kid: 'my-kid' },
 * });
 * ```
 * @throws ConfigError for bad claims, KeyError for an unusable key or certificate.
 * @public
 */
export async function createJwtGrant(options: JwtGrantOptions): Promise<string> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'createJwtGrant needs an options object.');
  const clock = options.clock ?? systemClock;
  const template = buildGrantTemplate({ ...options, lifetimeSeconds: options.lifetimeSeconds }, 'lifetimeSeconds');
  if (typeof options.key !== 'object' || options.key === null) {
    throw new ConfigError('key', 'key is required: { privateKey, kid } or { privateKey, certificateChain }, { pkcs12 } or { sign }.');
  }
  let signer = signerCache.get(options.key);
  if (signer === undefined) {
    signer = prepareSigner(options.key, clock);
    signerCache.set(options.key, signer);
    signer.catch(() => signerCache.delete(options.key));
  }
  return signGrant(await signer, grantClaims(template, clock, options.generateId ?? randomUUID));
}
