import { X509Certificate, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { toPrivateKeyObject } from './keys.js';
import type { KeyInput } from './keys.js';
import { normaliseOrganisationNumber } from './organisation-number.js';

/**
 * Options for {@link createTestCertificate}.
 *
 * @example
 * ```ts
 * createTestCertificate({ privateKey, orgNo: '991825827', notAfter: new Date(Date.now() - 1000) }); // expired
 * ```
 */
export interface TestCertificateOptions {
  /**
   * The subject's private key (PEM, JWK, `CryptoKey` or `KeyObject`); the certificate carries its public half.
   * Sign your grants with this key.
   * @default a fresh RSA 2048 key you cannot get back: only useful for negative tests
   */
  privateKey?: KeyInput | undefined;
  /** The organisation number put in the subject's `serialNumber` (and `organizationIdentifier` as `NTRNO-<orgNo>`). Accepts `0192:`-prefixed numbers. */
  orgNo: string;
  /**
   * Start of validity.
   * @default one day before now
   */
  notBefore?: Date | undefined;
  /**
   * End of validity.
   * @default one year after now
   */
  notAfter?: Date | undefined;
  /**
   * When set, a CA with this common name is generated and signs the certificate, and the returned PEM holds
   * the chain (leaf first, then the CA), like a real business certificate from Buypass or Commfides.
   * @default undefined: the certificate is self-signed
   */
  issuerName?: string | undefined;
  /**
   * The subject's common name.
   * @default `TEST VIRKSOMHET <orgNo>`
   */
  commonName?: string | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

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
 * const grant = await new SignJWT({ scope: 'entur:skyporten.demo' })
 *   .setProtectedHeader({ alg: 'RS256', x5c: certificateToX5c(certificate) })
 *   // ...iss, aud, iat, exp, jti
 *   .sign(privateKey);
 * ```
 */
export function createTestCertificate(options: TestCertificateOptions): string {
  const orgNo = normaliseOrganisationNumber(options.orgNo);
  if (orgNo === null) {
    throw new TypeError(
      `createTestCertificate: orgNo "${options.orgNo}" is not a valid Norwegian organisation number (9 digits, modulus 11), e.g. "991825827".`,
    );
  }
  const subjectKey =
    options.privateKey === undefined
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : toPrivateKeyObject(options.privateKey);
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - DAY_MS);
  const notAfter = options.notAfter ?? new Date(now + 365 * DAY_MS);
  const subject: forge.pki.CertificateField[] = [
    { name: 'countryName', value: 'NO' },
    { name: 'organizationName', value: `TEST VIRKSOMHET ${orgNo}` },
    { name: 'serialNumber', value: orgNo },
    { type: '2.5.4.97', value: `NTRNO-${orgNo}` },
    { name: 'commonName', value: options.commonName ?? `TEST VIRKSOMHET ${orgNo}` },
  ];

  if (options.issuerName === undefined) {
    const leaf = buildCertificate({ subjectKey, subject, issuer: subject, signerKey: subjectKey, notBefore, notAfter, ca: false });
    return toPem(leaf);
  }

  const caKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const caSubject: forge.pki.CertificateField[] = [
    { name: 'countryName', value: 'NO' },
    { name: 'organizationName', value: options.issuerName },
    { name: 'commonName', value: options.issuerName },
  ];
  const ca = buildCertificate({
    subjectKey: caKey,
    subject: caSubject,
    issuer: caSubject,
    signerKey: caKey,
    notBefore: new Date(Math.min(notBefore.getTime(), now - DAY_MS)),
    notAfter: new Date(Math.max(notAfter.getTime(), now + 365 * DAY_MS)),
    ca: true,
  });
  const leaf = buildCertificate({ subjectKey, subject, issuer: caSubject, signerKey: caKey, notBefore, notAfter, ca: false });
  return toPem(leaf) + toPem(ca);
}

interface BuildCertificateInput {
  subjectKey: KeyObject;
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  signerKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
}

function buildCertificate(input: BuildCertificateInput): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  const publicPem = createPublicKey(input.subjectKey).export({ type: 'spki', format: 'pem' }).toString();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A positive serial: DER integers are signed, so keep the top bit clear.
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  certificate.validity.notBefore = input.notBefore;
  certificate.validity.notAfter = input.notAfter;
  certificate.setSubject(input.subject);
  certificate.setIssuer(input.issuer);
  certificate.setExtensions(
    input.ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true, critical: true },
        ],
  );
  const signerPem = input.signerKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  certificate.sign(forge.pki.privateKeyFromPem(signerPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return certificate;
}

function toPem(certificate: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(certificate).replace(/\r\n/g, '\n');
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/**
 * Turns PEM text (one certificate or a chain) into a JWS `x5c` header value: an array of base64 DER strings,
 * leaf first, without PEM armour or line breaks.
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

/** Parses the first certificate of PEM text. */
export function readFirstCertificate(pem: string): X509Certificate {
  const [first] = certificateToX5c(pem);
  return new X509Certificate(Buffer.from(first ?? '', 'base64'));
}

/**
 * The organisation number in a certificate's subject: `serialNumber` (OID 2.5.4.5) first, else
 * `organizationIdentifier` (OID 2.5.4.97, `NTRNO-<orgNo>`); `null` when neither holds one.
 */
export function organisationNumberOf(certificate: X509Certificate): string | null {
  const attributes = certificate.subject.split('\n').map((line) => {
    const separator = line.indexOf('=');
    return [line.slice(0, separator), line.slice(separator + 1)] as const;
  });
  const serialNumber = attributes.find(([name]) => name === 'serialNumber')?.[1];
  const fromSerial = serialNumber?.match(/^(?:NTRNO-)?(\d{9})$/)?.[1];
  if (fromSerial !== undefined) return fromSerial;
  const identifier = attributes.find(([name]) => name === 'organizationIdentifier' || name === '2.5.4.97')?.[1];
  return identifier?.match(/^NTRNO-(\d{9})$/)?.[1] ?? null;
}
