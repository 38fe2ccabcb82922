import { randomUUID } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import type { JWTHeaderParameters } from 'jose';
import type { RegisteredClient } from '@skyporten/testing';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
/** Valid modulus-11 organisation numbers. */
export const ORG_DIGDIR = '991825827';
export const ORG_BRREG = '974760673';
export const ORG_CONSUMER = '910753614';

export interface GrantInput {
  client: Pick<RegisteredClient, 'clientId' | 'kid' | 'privateKey'>;
  audience: string;
  /** Claims to merge over the defaults; `undefined` removes a default claim. */
  claims?: Record<string, unknown>;
  /** Header to use instead of `{ alg: 'RS256', kid }`. */
  header?: JWTHeaderParameters;
  /** The signing key, when not the client's `privateKey`. */
  signingKey?: CryptoKey | string;
  /** Seconds since the epoch used for iat/exp; default now. */
  now?: number;
}

/** Signs a grant by hand with jose, like a client would, without @skyporten/core. */
export async function signGrant(input: GrantInput): Promise<string> {
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    aud: input.audience,
    iss: input.client.clientId,
    scope: SCOPE,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...input.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const alg = input.header?.alg ?? 'RS256';
  const key =
    input.signingKey === undefined
      ? await importPKCS8(input.client.privateKey, alg)
      : typeof input.signingKey === 'string'
        ? await importPKCS8(input.signingKey, alg)
        : input.signingKey;
  return new SignJWT(claims).setProtectedHeader(input.header ?? { alg: 'RS256', kid: input.client.kid }).sign(key);
}

export interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a form to the token endpoint and parses the JSON answer. */
export async function postToken(
  tokenEndpoint: string,
  parameters: Record<string, string>,
  init: { contentType?: string; method?: string } = {},
): Promise<TokenResponse> {
  const method = init.method ?? 'POST';
  const response = await fetch(tokenEndpoint, {
    method,
    headers: { 'content-type': init.contentType ?? 'application/x-www-form-urlencoded' },
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: new URLSearchParams(parameters).toString() }),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

/** POSTs a grant the standard way. */
export function requestToken(tokenEndpoint: string, assertion: string): Promise<TokenResponse> {
  return postToken(tokenEndpoint, { grant_type: JWT_BEARER, assertion });
}

/** The `(MP-xxx)` code in an error description, or null. */
export function mpCode(body: Record<string, unknown>): string | null {
  const description = body['error_description'];
  return typeof description === 'string' ? (description.match(/\((MP-\d{3})\)/)?.[1] ?? null) : null;
}
