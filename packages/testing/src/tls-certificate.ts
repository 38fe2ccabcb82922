import { X509Certificate, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { toPrivateKeyObject } from './keys.js';
import type { KeyInput } from './keys.js';
import { normaliseOrganisationNumber } from './organisation-number.js';

/** Options for {@link createTestCertificate}. */
export interface TestCertificateOptions {
  /** The subject's private key (PEM, JWK, `CryptoKey`, `KeyObject`): sign grants with it. @default a fresh RSA 2048 key you cannot get back */
  privateKey?: KeyInput | undefined;
  /** The organisation number put in the subject's `serialNumber` and `organizationIdentifier` (`NTRNO-<orgNo>`); `0192:` prefix allowed. */
  orgNo: string;
  /** Start of validity. @default one day before now */
  notBefore?: Date | undefined;
  /** End of validity. @default one year after now */
  notAfter?: Date | undefined;
  /** When set, a CA of this name signs the certificate and the PEM holds the chain, leaf first. @default undefined: self-signed */
  issuerName?: string | undefined;
  /** The subject's common name. @default `TEST VIRKSOMHET <orgNo>` */
  commonName?: string | undefined;
}

/** A self-signed server certificate and its key, both PEM. */
export interface LocalTlsCertificate {
  /** The certificate (PEM). Trust it on the client side: it is its own CA. */
  cert: string;
  /** The private key (PKCS#8 PEM). */
  key: string;
}

/** Options of {@link createLocalTlsCertificate}. */
export interface LocalTlsCertificateOptions {
  /** Host names put in the certificate's subjectAltName (IP addresses become IP entries). @default ["127.0.0.1", "localhost"] */
  hosts?: readonly string[] | undefined;
  /** Days the certificate is valid from now (and from one hour ago, for skewed clocks). @default 7 */
  validDays?: number | undefined;
}

type Fields = forge.pki.CertificateField[];
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const CA_EXTENSIONS = [{ name: 'basicConstraints', cA: true, critical: true }];

/** Signs an X.509 certificate of `subjectKey`'s public half with `signerKey` (default: self-signed); PEM with `\n` line ends. */
function buildCertificate(subjectKey: KeyObject, subject: Fields, validity: [Date, Date], extensions: object[], signer?: [KeyObject, Fields]): string {
  const [signerKey, issuer] = signer ?? [subjectKey, subject];
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(createPublicKey(subjectKey).export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial: DER integers are signed, so keep the top bit clear.
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  [certificate.validity.notBefore, certificate.validity.notAfter] = validity;
  certificate.setSubject(subject);
  certificate.setIssuer(issuer);
  certificate.setExtensions(extensions);
  const signerPem = signerKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  certificate.sign(forge.pki.privateKeyFromPem(signerPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(certificate).replace(/\r\n/g, '\n');
}

const rsaKey = (): KeyObject => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/**
 * Creates a test "virksomhetssertifikat": an X.509 certificate whose subject carries the organisation number,
 * for grants that authenticate with `x5c` instead of `kid`.
 *
 * @returns PEM text: one certificate, or the chain (leaf first) when `issuerName` is set.
 *
 * @example
 * ```ts
 * const { privateKey } = await generateKeyPair('RS256', { extractable: true });
 * const certificate = createTestCertificate({ privateKey, orgNo: '991825827' });
 * const client = await issuer.registerClient({ scopes: ['entur:skyporten.demo'], orgNo: '991825827', certificate });
 * // sign the grant with privateKey and the header { alg: 'RS256', x5c: certificateToX5c(certificate) }
 * ```
 */
export function createTestCertificate(options: TestCertificateOptions): string {
  const orgNo = normaliseOrganisationNumber(options.orgNo);
  if (orgNo === null) {
    throw new TypeError(
      `createTestCertificate: orgNo "${options.orgNo}" is not a valid Norwegian organisation number (9 digits, modulus 11), e.g. "991825827".`,
    );
  }
  const subjectKey = options.privateKey === undefined ? rsaKey() : toPrivateKeyObject(options.privateKey);
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - DAY_MS);
  const notAfter = options.notAfter ?? new Date(now + 365 * DAY_MS);
  const subject: Fields = [
    { name: 'countryName', value: 'NO' },
    { name: 'organizationName', value: `TEST VIRKSOMHET ${orgNo}` },
    { name: 'serialNumber', value: orgNo },
    { type: '2.5.4.97', value: `NTRNO-${orgNo}` },
    { name: 'commonName', value: options.commonName ?? `TEST VIRKSOMHET ${orgNo}` },
  ];
  const leafExtensions = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true, critical: true },
  ];
  if (options.issuerName === undefined) return buildCertificate(subjectKey, subject, [notBefore, notAfter], leafExtensions);

  const caKey = rsaKey();
  const ca: Fields = [
    { name: 'countryName', value: 'NO' },
    { name: 'organizationName', value: options.issuerName },
    { name: 'commonName', value: options.issuerName },
  ];
  const caValidity: [Date, Date] = [new Date(Math.min(notBefore.getTime(), now - DAY_MS)), new Date(Math.max(notAfter.getTime(), now + 365 * DAY_MS))];
  const caPem = buildCertificate(caKey, ca, caValidity, [...CA_EXTENSIONS, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  return buildCertificate(subjectKey, subject, [notBefore, notAfter], leafExtensions, [caKey, ca]) + caPem;
}

/**
 * Generates a self-signed TLS server certificate for loopback servers (the mock Entra ID, Azurite). It is its
 * own CA, so a client that adds `cert` to its trusted CAs accepts the server.
 *
 * @example
 * ```ts
 * const { cert, key } = createLocalTlsCertificate();
 * const server = https.createServer({ cert, key });
 * ```
 */
export function createLocalTlsCertificate(options: LocalTlsCertificateOptions = {}): LocalTlsCertificate {
  const hosts = options.hosts ?? ['127.0.0.1', 'localhost'];
  const key = rsaKey();
  const subject: Fields = [
    { name: 'commonName', value: hosts[0] ?? 'localhost' },
    { name: 'organizationName', value: 'Skyporten SDK local test server' },
  ];
  const now = Date.now();
  const cert = buildCertificate(key, subject, [new Date(now - HOUR_MS), new Date(now + (options.validDays ?? 7) * DAY_MS)], [
    ...CA_EXTENSIONS,
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
  ]);
  return { cert, key: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/**
 * Turns PEM text (one certificate or a chain) into a JWS `x5c` header value: base64 DER strings, leaf first.
 *
 * @example
 * ```ts
 * new SignJWT(claims).setProtectedHeader({ alg: 'RS256', x5c: certificateToX5c(certificatePem) });
 * ```
 */
export function certificateToX5c(pem: string): string[] {
  const chain = [...pem.matchAll(PEM_CERTIFICATE)].map((match) => (match[1] ?? '').replace(/\s+/g, ''));
  if (chain.length === 0) throw new TypeError('certificateToX5c: no "-----BEGIN CERTIFICATE-----" block found in the PEM text.');
  return chain;
}

/** Parses the first certificate of PEM text. @internal */
export function readFirstCertificate(pem: string): X509Certificate {
  return new X509Certificate(Buffer.from(certificateToX5c(pem)[0] ?? '', 'base64'));
}

/** The organisation number in a certificate's subject: `serialNumber`, else `organizationIdentifier` (`NTRNO-<orgNo>`). @internal */
export function organisationNumberOf(certificate: X509Certificate): string | null {
  const attribute = (...names: string[]): string | undefined => {
    const line = certificate.subject.split('\n').find((candidate) => names.includes(candidate.slice(0, candidate.indexOf('='))));
    return line?.slice(line.indexOf('=') + 1);
  };
  const fromSerial = attribute('serialNumber')?.match(/^(?:NTRNO-)?(\d{9})$/)?.[1];
  return fromSerial ?? attribute('organizationIdentifier', '2.5.4.97')?.match(/^NTRNO-(\d{9})$/)?.[1] ?? null;
}
