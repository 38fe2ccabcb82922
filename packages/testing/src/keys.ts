import { KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * A public or private key in any of the forms tests usually hold: PEM text, a JWK, a `CryptoKey` or a `KeyObject`.
 *
 * @example
 * ```ts
 * const { publicKey } = await generateKeyPair('RS256', { extractable: true });
 * await issuer.registerClient({ scopes: ['entur:skyporten.demo'], publicKey }); // publicKey: KeyInput
 * ```
 */
export type KeyInput = string | JWK | CryptoKey | KeyObject;

/**
 * An RSA 2048 signing key whose `kid` is its RFC 7638 thumbprint. Synchronous, so `createMockSkyportenHandlers`
 * can be too (module level, next to `setupServer`).
 */
export function generateIssuerSigningKey(): { privateKey: KeyObject; publicKey: KeyObject; publicJwk: JWK; kid: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { e, n } = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  return { privateKey, publicKey, publicJwk: toPublicJwk(publicKey, kid), kid };
}

function toKeyObject(input: KeyInput, create: typeof createPublicKey | typeof createPrivateKey): KeyObject {
  if (input instanceof KeyObject) return input;
  if (typeof CryptoKey !== 'undefined' && input instanceof CryptoKey) return KeyObject.from(input);
  return typeof input === 'string' ? create(input) : create({ key: input as NodeJsonWebKey, format: 'jwk' });
}

/** Any {@link KeyInput} as a public `KeyObject` (a private key yields its public half). */
export function toPublicKeyObject(input: KeyInput): KeyObject {
  const key = toKeyObject(input, createPublicKey);
  return key.type === 'public' ? key : createPublicKey(key);
}

/** Any private {@link KeyInput} as a private `KeyObject`. */
export function toPrivateKeyObject(input: KeyInput): KeyObject {
  const key = toKeyObject(input, createPrivateKey);
  if (key.type !== 'private') throw new TypeError('Expected a private key, got a public one.');
  return key;
}

/** The public JWK (`kty`, `n`, `e`, plus `kid`/`alg`/`use`) of an RSA public key. */
export function toPublicJwk(publicKey: KeyObject, kid: string): JWK {
  const { e, n } = publicKey.export({ format: 'jwk' });
  if (e === undefined || n === undefined) throw new TypeError('Expected an RSA public key.');
  return { kty: 'RSA', e, n, kid, alg: 'RS256', use: 'sig' };
}
