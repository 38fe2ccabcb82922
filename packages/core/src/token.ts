import type { JWTVerifyGetKey } from 'jose';
import { ConfigError, SkyportenError } from './errors.js';
import { issuerUrl } from './issuers.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** An access token and what is known about it; JSON, `String()` and `util.inspect` never show the token itself. @public */
export class SkyportenToken {
  readonly #accessToken: string;
  /** Always `Bearer`. */
  declare readonly tokenType: 'Bearer';
  /** The scopes granted, space-separated. */
  declare readonly scope: string;
  /** When the token stops being valid (from `expires_in`, capped by the token's `exp`). */
  declare readonly expiresAt: Date;
  /** When the token was requested, on the client's clock. */
  declare readonly issuedAt: Date;

  constructor({ accessToken, tokenType, scope, expiresAt, issuedAt }: { accessToken: string; tokenType: 'Bearer'; scope: string; expiresAt: Date; issuedAt: Date }) {
    this.#accessToken = accessToken;
    Object.assign(this, { tokenType, scope, expiresAt, issuedAt });
  }

  /** The access token (a JWT): send it as a Bearer token or hand it to a cloud STS. Keep it secret. */
  get accessToken(): string {
    return this.#accessToken;
  }

  /** Seconds from `issuedAt` to `expiresAt`. */
  get lifetimeSeconds(): number {
    return (this.expiresAt.getTime() - this.issuedAt.getTime()) / 1000;
  }

  /** The fields for `JSON.stringify`, with `accessToken` as `'[redacted]'` and the dates as ISO strings. */
  toJSON(): Record<string, unknown> {
    return {
      accessToken: '[redacted]',
      tokenType: this.tokenType,
      scope: this.scope,
      expiresAt: this.expiresAt.toISOString(),
      issuedAt: this.issuedAt.toISOString(),
    };
  }

  /** Scope and expiry, never the token: `SkyportenToken { scope: ..., expiresAt: ... }`. */
  toString(): string {
    return `SkyportenToken { scope: ${this.scope}, expiresAt: ${this.expiresAt.toISOString()} }`;
  }

  /** What `console.log` and `util.inspect` print: the same as {@link SkyportenToken.toString}, never the token. */
  [inspectCustom](): string {
    return this.toString();
  }
}

/** The claims of a Skyporten access token, typed (docs/protocol.md explains them). @public */
export interface SkyportenTokenClaims {
  /** The issuer, e.g. `https://test.sky.maskinporten.no`. */
  iss: string;
  /** The `resource` asked for: what the cloud checks as audience. Absent when no resource was asked for. */
  aud?: string | string[];
  /** `<consumer ID>;<scope>`, e.g. `0192:123456789;entur:skyporten.demo`: what AWS and Azure match. */
  sub?: string;
  /** The granted scopes, space-separated. */
  scope?: string;
  /** Expiry, in Unix seconds. */
  exp?: number;
  /** Issue time, in Unix seconds. */
  iat?: number;
  /** The token's unique id. */
  jti?: string;
  /** The Maskinporten client (integration) id that asked for the token. */
  client_id?: string;
  /** How the client authenticated, e.g. `private_key_jwt` or `virksomhetssertifikat`. */
  client_amr?: string;
  /** Always `Bearer`. */
  token_type?: string;
  /** The organisation the token is for. */
  consumer?: SkyportenTokenOrganisation;
  /** The organisation that acts on the consumer's behalf, when the access is delegated. */
  supplier?: SkyportenTokenOrganisation;
  /** Where a delegation was registered (e.g. Altinn), when the access is delegated. */
  delegation_source?: string;
  [claim: string]: unknown;
}

/** An organisation named in a token's `consumer` or `supplier` claim. @public */
export interface SkyportenTokenOrganisation {
  /** The identifier scheme, `iso6523-actorid-upis`. */
  authority: string;
  /** The ISO 6523 id, `0192:<organisation number>`. */
  ID: string;
}

/** A decoded token: the raw claims plus the fields people look for. @public */
export interface DecodedSkyportenToken {
  /** Every claim, as in the token. */
  claims: SkyportenTokenClaims;
  /** The `iss` claim. */
  issuer: string;
  /** Always an array (empty when the token has no `aud`). */
  audience: string[];
  /** The `sub` claim, `<consumer ID>;<scope>`. */
  subject: string | undefined;
  /** The `scope` claim, space-separated. */
  scope: string | undefined;
  /** ISO 6523 consumer id, e.g. `0192:123456789`. */
  consumerId: string | undefined;
  /** The nine-digit organisation number of the consumer. */
  consumerOrg: string | undefined;
  /** The `exp` claim as a Date. */
  expiresAt: Date | undefined;
  /** The `iat` claim as a Date. */
  issuedAt: Date | undefined;
}

/**
 * Reads the claims of a Skyporten access token WITHOUT verifying it (to show or route on them); to trust
 * them, use {@link verifySkyportenToken}.
 * @throws SkyportenError `TOKEN_INVALID` when the string is not a JWT.
 * @public
 */
export function decodeSkyportenToken(token: string): DecodedSkyportenToken {
  let claims: SkyportenTokenClaims;
  try {
    claims = decodeJwtPayload(token) as SkyportenTokenClaims;
  } catch (error) {
    throw new SkyportenError('TOKEN_INVALID', 'The value is not a well-formed JWT access token.', { cause: error });
  }
  return describe(claims);
}

/** The payload of a compact JWS, NOT verified, or a TypeError naming what is wrong (keeps jose off the import path). @internal */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  if (typeof token !== 'string') throw new TypeError('A JWT must be a string.');
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part)) || parts[1] === '') {
    throw new TypeError('A JWT has three base64url parts separated by dots.');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw new TypeError('The JWT payload is not JSON.');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('The JWT payload is not a JSON object.');
  return payload as Record<string, unknown>;
}

function describe(claims: SkyportenTokenClaims): DecodedSkyportenToken {
  const audience = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const consumerId = typeof claims.consumer?.ID === 'string' ? claims.consumer.ID : undefined;
  return {
    claims,
    issuer: String(claims.iss ?? ''),
    audience,
    subject: claims.sub,
    scope: claims.scope,
    consumerId,
    consumerOrg: consumerId?.replace(/^\d{4}:/, ''),
    expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined,
    issuedAt: typeof claims.iat === 'number' ? new Date(claims.iat * 1000) : undefined,
  };
}

/** Options of {@link verifySkyportenToken}. @public */
export interface VerifySkyportenTokenOptions {
  /** The issuer the token must come from, exactly. */
  issuer: string;
  /** The audience (resource) the token must carry. */
  audience: string | string[];
  /** JWKS location. @default `${issuer}/jwk` */
  jwksUri?: string | undefined;
  /** Tolerated clock difference, in seconds. @default 5 */
  clockToleranceSeconds?: number | undefined;
  /** Current time, for tests. @default Date.now */
  clock?: (() => number) | undefined;
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/**
 * Verifies a Skyporten access token's signature against the issuer's JWKS (cached by jose) and its `iss`,
 * `aud` and `exp`, as a data provider's own API would.
 * @throws SkyportenError `TOKEN_INVALID` with the reason.
 * @public
 */
export async function verifySkyportenToken(token: string, options: VerifySkyportenTokenOptions): Promise<DecodedSkyportenToken> {
  const jwksUri = options.jwksUri ?? issuerUrl(options.issuer, '/jwk');
  // jose is loaded only here: verification is the one place the SDK needs it.
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  const keySet = remoteKeySets.get(jwksUri) ?? createRemoteJWKSet(new URL(jwksUri));
  remoteKeySets.set(jwksUri, keySet);
  try {
    const { payload } = await jwtVerify(token, keySet, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ['RS256', 'RS384', 'RS512'],
      // jose checks exp only when present; a token that never expires is not one we accept.
      requiredClaims: ['exp', 'iat'],
      clockTolerance: options.clockToleranceSeconds ?? 5,
      ...(options.clock ? { currentDate: new Date(options.clock()) } : {}),
    });
    return describe(payload as SkyportenTokenClaims);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new SkyportenError('TOKEN_INVALID', `The access token did not verify: ${(error as Error).message}${code ? ` (${code})` : ''}.`, { cause: error });
  }
}

/**
 * The decoded token, once it is known to carry an `aud` (from `resource`): a cloud would answer a vaguer error.
 * @throws ConfigError naming `resource` when the token has no `aud`.
 * @public
 */
export function requireAudience(accessToken: string, cloud: string): DecodedSkyportenToken {
  const decoded = decodeSkyportenToken(accessToken);
  if (decoded.audience.length === 0) {
    const fix = 'set resource (SKYPORTEN_RESOURCE) to the audience the data provider configured, e.g. "https://skyporten.example.org"';
    throw new ConfigError('resource', `The Skyporten token has no aud, so ${cloud} cannot accept it: ${fix}.`);
  }
  return decoded;
}
