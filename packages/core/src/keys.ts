import { createPrivateKey, KeyObject, X509Certificate, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { KeyError } from './errors.js';
import type { Clock } from './clock.js';
import { display } from './validation.js';

/** The RSA signature algorithms Maskinporten accepts for grants. @public */
export type SigningAlgorithm = 'RS256' | 'RS384' | 'RS512';

/** The values `algorithm` accepts, strongest last. @public */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'RS384', 'RS512'];

interface KeyIdentity {
  /** The key id registered on the Maskinporten client (the grant header's `kid`); wins over a certificate chain. */
  kid?: string | undefined;
  /** The business certificate ("virksomhetssertifikat") chain, leaf first (a PEM bundle or an array); sent as `x5c` when there is no `kid`. */
  certificateChain?: string | readonly string[] | undefined;
  /** The grant's signature algorithm. @default 'RS256' */
  algorithm?: SigningAlgorithm | undefined;
}

/** A private key held by this process: PKCS#8 or PKCS#1 PEM (optionally encrypted), a JWK or a `KeyObject`. @public */
export interface PrivateKeyInput extends KeyIdentity {
  /** The key: PEM, a JWK (object or JSON string) or a `KeyObject`. */
  privateKey: string | JWK | KeyObject;
  /** Passphrase of an encrypted PEM key. */
  passphrase?: string | undefined;
  /** Not with `privateKey`: a PKCS#12 file is a {@link Pkcs12KeyInput}. */
  pkcs12?: never;
  /** Not with `privateKey`: a remote signer is a {@link RemoteSignerInput}. */
  sign?: never;
}

/** A PKCS#12 file (.p12 / .pfx), the way business certificates are delivered: key and chain both come from it. @public */
export interface Pkcs12KeyInput extends Omit<KeyIdentity, 'certificateChain'> {
  /** The file's bytes, e.g. `await readFile('business-certificate.p12')`. */
  pkcs12: Uint8Array;
  /** The file's password. */
  passphrase?: string | undefined;
  /** The chain comes from the file. */
  certificateChain?: never;
  /** The key comes from the file. */
  privateKey?: never;
  /** Not with `pkcs12`: a remote signer is a {@link RemoteSignerInput}. */
  sign?: never;
}

/** A key that never leaves a KMS, HSM or Key Vault: `sign` returns the raw RSASSA-PKCS1-v1_5 signature for `algorithm`. @public */
export interface RemoteSignerInput extends KeyIdentity {
  /** Signs the JWS signing input (`base64url(header).base64url(payload)` as bytes); returns the raw signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  /** Not with `sign`: the key stays in the signer. */
  privateKey?: never;
  /** Not with `sign`: the key stays in the signer. */
  pkcs12?: never;
  /** Not with `sign`: the key stays in the signer. */
  passphrase?: never;
}

/** Every way to give the SDK a signing key. @public */
export type KeyInput = PrivateKeyInput | Pkcs12KeyInput | RemoteSignerInput;

/** A key ready to sign grants: the JWS header, and a local key (node:crypto) or a remote signer. @internal */
export interface GrantSigner {
  header: { alg: SigningAlgorithm; kid?: string; x5c?: string[] };
  privateKey: KeyObject | undefined;
  sign: ((signingInput: Uint8Array) => Promise<Uint8Array>) | undefined;
}

const minimumModulusBits = 2048;

function keyError(field: string, message: string, cause?: unknown): KeyError {
  return new KeyError('KEY_INVALID', field, message, cause === undefined ? {} : { cause });
}

function certificateError(message: string, cause?: unknown): KeyError {
  return new KeyError('CERTIFICATE_INVALID', 'key.certificateChain', message, cause === undefined ? {} : { cause });
}

/** Reads a private key from PEM, JWK (object or JSON text) or KeyObject and checks it can sign RS256/384/512. */
function loadPrivateKey(input: string | JWK | KeyObject, passphrase: string | undefined, field = 'key.privateKey'): KeyObject {
  let key: KeyObject;
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw keyError(field, `${field} is a ${input.type} KeyObject; give the private key.`);
    key = input;
  } else if (typeof input === 'string' && !input.trim().startsWith('{')) {
    key = loadPem(input.trim(), passphrase, field);
  } else if (typeof input === 'string' || (typeof input === 'object' && input !== null)) {
    key = loadJwk(input, field);
  } else {
    throw keyError(field, `${field} must be a PEM string, a JWK or a KeyObject.`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    const type = key.asymmetricKeyType?.toUpperCase() ?? 'unknown';
    throw keyError(field, `${field} is an ${type} key; RS256/RS384/RS512 need an RSA key of at least ${minimumModulusBits} bits.`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minimumModulusBits) {
    throw keyError(field, `${field} is a ${bits}-bit RSA key; Maskinporten needs at least ${minimumModulusBits} bits. Generate a new key.`);
  }
  return key;
}

function loadPem(pem: string, passphrase: string | undefined, field: string): KeyObject {
  if (!pem.includes('-----BEGIN')) {
    throw keyError(field, `${field} is neither a PEM key ("-----BEGIN PRIVATE KEY-----") nor a JWK. For a .p12/.pfx file use key.pkcs12.`);
  }
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem) || pem.includes('-----BEGIN CERTIFICATE-----') && !pem.includes('PRIVATE KEY')) {
    throw keyError(field, `${field} holds a public key or certificate; give the private key that belongs to it.`);
  }
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const message = (error as Error).message ?? '';
    if (code === 'ERR_MISSING_PASSPHRASE' || /passphrase/i.test(message) && passphrase === undefined) {
      throw keyError(field, `${field} is encrypted: set key.passphrase (or MASKINPORTEN_PRIVATE_KEY_PASSPHRASE).`, error);
    }
    if (passphrase !== undefined && /decrypt|bad decrypt|DECODER/i.test(`${code} ${message}`) && /ENCRYPTED/.test(pem)) {
      throw keyError('key.passphrase', 'key.passphrase does not decrypt the private key: check the passphrase.', error);
    }
    throw keyError(field, `${field} is not a readable private key (${code || 'unreadable PEM'}).`, error);
  }
}

function loadJwk(input: string | JWK, field: string): KeyObject {
  let jwk: JWK;
  try {
    jwk = typeof input === 'string' ? (JSON.parse(input) as JWK) : input;
  } catch {
    // No cause: JSON.parse quotes a fragment of its input, which here is key material.
    throw keyError(field, `${field} looks like JSON but does not parse as a JWK.`);
  }
  if (jwk.kty !== 'RSA') throw keyError(field, `${field} is a ${jwk.kty ?? 'typeless'} JWK; Maskinporten grants need an RSA key (kty "RSA").`);
  if (typeof jwk.d !== 'string') throw keyError(field, `${field} is a public JWK (no "d"); give the private JWK.`);
  try {
    return createPrivateKey({ key: jwk as NodeJsonWebKey, format: 'jwk' });
  } catch (error) {
    throw keyError(field, `${field} is not a valid RSA private JWK.`, error);
  }
}

/** Splits a PEM bundle (or array) into certificates, leaf first as given. */
function parseCertificateChain(chain: string | readonly string[]): X509Certificate[] {
  const texts = typeof chain === 'string' ? [chain] : chain;
  const blocks = texts.flatMap((text) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
  if (blocks.length === 0) throw certificateError('key.certificateChain holds no PEM certificate ("-----BEGIN CERTIFICATE-----").');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw certificateError(`Certificate ${index + 1} in key.certificateChain is not a readable X.509 certificate.`, error);
    }
  });
}

/** Checks the chain belongs to the key, is in order (leaf first) and valid now; returns `x5c` (base64 DER). */
function certificateChainToX5c(certificates: X509Certificate[], privateKey: KeyObject | undefined, clock: Clock): string[] {
  const [leaf] = certificates;
  if (leaf === undefined) throw certificateError('key.certificateChain is empty.');
  if (privateKey !== undefined && !leaf.checkPrivateKey(privateKey)) {
    const matching = certificates.findIndex((certificate) => certificate.checkPrivateKey(privateKey));
    const wrongOrder = `key.certificateChain is in the wrong order: certificate ${matching + 1} belongs to the private key, but the leaf must come first.`;
    throw certificateError(matching > 0 ? wrongOrder : 'The first certificate in key.certificateChain does not belong to the private key: use the business certificate issued for this key.');
  }
  for (let index = 0; index + 1 < certificates.length; index++) {
    if (!certificates[index]!.checkIssued(certificates[index + 1]!)) {
      throw certificateError(`key.certificateChain is not in order: certificate ${index + 2} did not issue certificate ${index + 1}. Put the leaf first, then its issuer, and so on.`);
    }
  }
  const now = clock();
  if (leaf.validToDate.getTime() <= now) {
    throw certificateError(`The business certificate in key.certificateChain expired on ${leaf.validToDate.toISOString()}: renew it (and register the new one).`);
  }
  if (leaf.validFromDate.getTime() > now + 60_000) {
    throw certificateError(`The business certificate in key.certificateChain is not valid before ${leaf.validFromDate.toISOString()}.`);
  }
  return certificates.map((certificate) => certificate.raw.toString('base64'));
}

function validateAlgorithm(algorithm: unknown): SigningAlgorithm {
  if (algorithm === undefined) return 'RS256';
  if (SIGNING_ALGORITHMS.includes(algorithm as SigningAlgorithm)) return algorithm as SigningAlgorithm;
  throw keyError('key.algorithm', `key.algorithm "${display(algorithm)}" is not supported: use RS256, RS384 or RS512.`);
}

/** The signer of a key: its header names the kid, else carries the checked chain as `x5c`. */
function signerOf(
  algorithm: SigningAlgorithm,
  kid: string | undefined,
  chain: () => X509Certificate[] | undefined,
  local: { privateKey: KeyObject | undefined; sign: GrantSigner['sign']; clock: Clock },
): GrantSigner {
  const certificates = kid === undefined ? chain() : undefined;
  const x5c = certificates === undefined ? undefined : certificateChainToX5c(certificates, local.privateKey, local.clock);
  const header = kid !== undefined ? { alg: algorithm, kid } : x5c !== undefined ? { alg: algorithm, x5c } : undefined;
  if (header === undefined) {
    throw keyError('key.kid', 'Set key.kid (the key id registered on the Maskinporten client) or key.certificateChain (business certificate).');
  }
  return { header, privateKey: local.privateKey, sign: local.sign };
}

/** Turns any {@link KeyInput} into a ready signer; async only because PKCS#12 needs its lazily loaded parser. @internal */
export async function prepareSigner(input: KeyInput, clock: Clock): Promise<GrantSigner> {
  if (!('pkcs12' in input)) return prepareSignerSync(input, clock);
  const { privateKey, certificates } = await readPkcs12(input.pkcs12, input.passphrase);
  return signerOf(validateAlgorithm(input.algorithm), input.kid, () => certificates, { privateKey, sign: undefined, clock });
}

/** The signer of a local key or a remote one, at once, so a bad key fails where the client is created. @internal */
export function prepareSignerSync(input: PrivateKeyInput | RemoteSignerInput, clock: Clock): GrantSigner {
  const algorithm = validateAlgorithm(input.algorithm);
  const kid = validateKid(input.kid);
  const chain = () => (input.certificateChain === undefined ? undefined : parseCertificateChain(input.certificateChain));
  if ('sign' in input && typeof input.sign === 'function') {
    const remote = input.sign.bind(input);
    const sign = async (signingInput: Uint8Array) => {
      const signature = await remote(signingInput);
      if (!(signature instanceof Uint8Array) || signature.length === 0) {
        throw keyError('key.sign', 'key.sign must resolve the raw RSA signature as a non-empty Uint8Array.');
      }
      return signature;
    };
    return signerOf(algorithm, kid, chain, { privateKey: undefined, sign, clock });
  }
  if (!('privateKey' in input)) {
    throw keyError('key', 'key needs one of: privateKey (PEM, JWK or KeyObject), pkcs12 (a .p12/.pfx file) or sign (a remote signer).');
  }
  const privateKey = loadPrivateKey(input.privateKey, input.passphrase);
  const jwkKid = typeof input.privateKey === 'object' && !(input.privateKey instanceof KeyObject) ? input.privateKey.kid : undefined;
  const effectiveKid = kid ?? (typeof jwkKid === 'string' && input.certificateChain === undefined ? jwkKid : undefined);
  return signerOf(algorithm, effectiveKid, chain, { privateKey, sign: undefined, clock });
}

function validateKid(kid: unknown): string | undefined {
  if (kid === undefined) return undefined;
  if (typeof kid !== 'string' || kid.trim() === '' || kid !== kid.trim()) {
    throw keyError('key.kid', 'key.kid must be a non-empty string without surrounding spaces: the key id registered on the client.');
  }
  return kid;
}

const forgeMissing =
  'Reading a .p12/.pfx file needs node-forge, an optional peer dependency of @skyporten/core: run `npm install node-forge`, or convert the file to PEM (openssl pkcs12 -in cert.p12 -nodes) and pass privateKey and certificateChain.';

/** Reads key and chain from a PKCS#12 file with node-forge, an optional peer (Node cannot read PKCS#12 itself). */
async function readPkcs12(data: Uint8Array, passphrase: string | undefined): Promise<{ privateKey: KeyObject; certificates: X509Certificate[] }> {
  if (!(data instanceof Uint8Array) || data.length === 0) {
    throw keyError('key.pkcs12', 'key.pkcs12 must be the bytes of a .p12/.pfx file (e.g. readFileSync("cert.p12")).');
  }
  const forge = await import('node-forge').then(
    (module) => module.default,
    (error: unknown) => {
      throw keyError('key.pkcs12', forgeMissing, error);
    },
  );
  const { oids } = forge.pki;
  let key: string;
  let pems: string[];
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(data).toString('binary')));
    const archive = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? '');
    const bagsOf = (type: string) => archive.getBags({ bagType: type })[type] ?? [];
    const keyBag = bagsOf(oids.pkcs8ShroudedKeyBag!)[0] ?? bagsOf(oids.keyBag!)[0];
    if (!keyBag?.key) throw new Error('no private key in the file');
    key = forge.pki.privateKeyToPem(keyBag.key);
    pems = bagsOf(oids.certBag!).flatMap((bag) => (bag.cert ? [forge.pki.certificateToPem(bag.cert)] : []));
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (/mac|password|decrypt|invalid/i.test(message)) {
      throw keyError('key.passphrase', 'The PKCS#12 file could not be opened: check key.passphrase (MASKINPORTEN_PRIVATE_KEY_PASSPHRASE).', error);
    }
    throw keyError('key.pkcs12', `key.pkcs12 is not a readable PKCS#12 file (${message}).`, error);
  }
  const privateKey = loadPrivateKey(key, undefined, 'key.pkcs12');
  if (pems.length === 0) throw certificateError('The PKCS#12 file holds no certificate: export it with its certificate chain.');
  // PKCS#12 files do not promise an order: the key's certificate first, then each issuer.
  const certificates = pems.map((pem) => new X509Certificate(pem));
  const leaf = certificates.find((certificate) => certificate.checkPrivateKey(privateKey));
  if (!leaf) throw certificateError('No certificate in the PKCS#12 file belongs to its private key.');
  const ordered = [leaf];
  for (;;) {
    const last = ordered[ordered.length - 1]!;
    const issuer = certificates.find((certificate) => certificate !== leaf && certificate !== last && last.checkIssued(certificate));
    if (!issuer || ordered.includes(issuer)) break;
    ordered.push(issuer);
  }
  return { privateKey, certificates: ordered };
}
