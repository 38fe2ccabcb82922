import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { json } from './mock-service.js';
import type { MockAnswer, MockFailure } from './mock-service.js';

/** The OIDC issuer a cloud mock trusts: a `MockSkyporten`, or its `issuer` and `jwksUri` (fetched over HTTP, as the clouds do). */
export interface MockIssuerReference {
  /** The issuer URL, compared with the token's `iss`. */
  issuer: string;
  /** Where its public keys are fetched. */
  jwksUri: string;
}

/** Why a subject token was refused, in the order the clouds check. @internal */
export type SubjectTokenProblem = 'malformed' | 'issuer' | 'expired' | 'signature' | 'audience';

/** What {@link createSubjectTokenVerifier} found: `problem` unset means the token is valid. @internal */
export interface SubjectTokenVerdict {
  /** Why it was refused, or `undefined` when it is valid. */
  problem?: SubjectTokenProblem;
  /** Its claims: verified when there is no problem, decoded without verification otherwise (`{}` when malformed). */
  claims: JWTPayload;
  /** Its `aud`, as a list. */
  audiences: string[];
}

/** The `aud` claim as a list. @internal */
export const audiencesOf = (claims: JWTPayload): string[] => claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];

/** The claims of a JWT, decoded without verification, or `undefined` when it is none. @internal */
export function decodeClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/**
 * Checks a Skyporten token like AWS STS and GCP STS do: a JWT, from `trusted.issuer`, signed with a key of its
 * JWKS (RS256/384/512), not expired by `now`, and with an audience in `audiences`. @internal
 */
export function createSubjectTokenVerifier(trusted: MockIssuerReference, audiences: readonly string[], now: () => number): (token: string) => Promise<SubjectTokenVerdict> {
  const keySet = createRemoteJWKSet(new URL(trusted.jwksUri));
  return async (token) => {
    let claims = decodeClaims(token);
    if (claims === undefined) return { problem: 'malformed', claims: {}, audiences: [] };
    if (claims.iss !== trusted.issuer) return { problem: 'issuer', claims, audiences: audiencesOf(claims) };
    try {
      ({ payload: claims } = await jwtVerify(token, keySet, { issuer: trusted.issuer, algorithms: ['RS256', 'RS384', 'RS512'], currentDate: new Date(now()) }));
    } catch (error) {
      return { problem: error instanceof joseErrors.JWTExpired ? 'expired' : 'signature', claims, audiences: audiencesOf(claims) };
    }
    const found = audiencesOf(claims);
    return found.some((audience) => audiences.includes(audience)) ? { claims, audiences: found } : { problem: 'audience', claims, audiences: found };
  };
}

/** Objects by bucket, then name, as the storage mocks (S3, GCS) serve them. @internal */
export class ObjectStore extends Map<string, Map<string, Uint8Array>> {
  constructor(initial: Record<string, Record<string, string | Uint8Array>> = {}) {
    super();
    for (const [bucket, objects] of Object.entries(initial)) {
      for (const [name, content] of Object.entries(objects)) this.put(bucket, name, content);
    }
  }

  /** Adds or replaces an object, creating its bucket. */
  put(bucket: string, name: string, content: string | Uint8Array): void {
    if (!this.has(bucket)) this.set(bucket, new Map());
    this.get(bucket)?.set(name, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  }
}

/** A fresh random credential: `prefix` and `bytes` random bytes in `encoding`. @internal */
export const mintSecret = (prefix: string, bytes: number, encoding: 'base64' | 'base64url' | 'hex' = 'base64url'): string =>
  `${prefix}${randomBytes(bytes).toString(encoding)}`;

/** The `algorithm` digest of `content`, as hex or base64. @internal */
export const digest = (algorithm: 'md5' | 'sha256', content: string | Uint8Array, encoding: 'hex' | 'base64' = 'hex'): string =>
  createHash(algorithm).update(content).digest(encoding);

/** An ISO 8601 instant in whole seconds (`2030-01-01T12:00:00Z`), as STS and IAM Credentials write expiry times. @internal */
export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Every cloud mock's `finish`: the log entry's `status` is its answer's (0 when it hung). @internal */
export const recordStatus = (entry: { status: number }, answer: MockAnswer | null): void => void (entry.status = answer?.status ?? 0);

/** The 401 text of Google APIs for a missing, unknown or expired access token. @internal */
export const UNAUTHENTICATED = 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';

/** Google's error JSON, `{ error: { code, message, status } }`; `reason` adds `errors: [{ message, domain, reason }]` (Storage, BigQuery). @internal */
export function googleError(code: number, status: string | undefined, message: string, reason?: string): MockAnswer {
  const errors = reason === undefined ? {} : { errors: [{ message, domain: 'global', reason }] };
  return json(code, { error: { code, message, ...errors, ...(status === undefined ? {} : { status }) } });
}

/** A queued failure as a Google API renders it: `status` `code` (default `UNAVAILABLE` for 5xx, else `FAILED_PRECONDITION`). @internal */
export const googleFailure = ({ status, code, message }: MockFailure, reason?: string): MockAnswer =>
  googleError(status, code ?? (status >= 500 ? 'UNAVAILABLE' : 'FAILED_PRECONDITION'), message ?? `Injected failure (HTTP ${status}).`, reason);
