import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A self-signed server certificate and its key, both PEM. */
export interface LocalTlsCertificate {
  /** The certificate (PEM). Trust it on the client side: it is its own CA. */
  cert: string;
  /** The private key (PKCS#8 PEM). */
  key: string;
}

/** Options of {@link createLocalTlsCertificate}. */
export interface LocalTlsCertificateOptions {
  /**
   * Host names put in the certificate's subjectAltName (IP addresses become IP entries).
   * @default ["127.0.0.1", "localhost"]
   */
  hosts?: readonly string[] | undefined;
  /**
   * Days the certificate is valid from now (it is also valid from one hour ago, for skewed clocks).
   * @default 7
   */
  validDays?: number | undefined;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Generates a self-signed TLS server certificate for loopback servers (the mock Entra ID, Azurite), valid
 * for `127.0.0.1` and `localhost`. It is a CA for itself, so a client that adds `cert` to its trusted CAs
 * accepts the server, e.g. with `tls.setDefaultCACertificates([...tls.getCACertificates('default'), cert])`.
 *
 * @example
 * ```ts
 * const { cert, key } = createLocalTlsCertificate();
 * const server = https.createServer({ cert, key });
 * ```
 */
export function createLocalTlsCertificate(options: LocalTlsCertificateOptions = {}): LocalTlsCertificate {
  const hosts = options.hosts ?? ['127.0.0.1', 'localhost'];
  const validDays = options.validDays ?? 7;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial: DER integers are signed, so keep the top bit clear.
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  certificate.validity.notBefore = new Date(now - HOUR_MS);
  certificate.validity.notAfter = new Date(now + validDays * 24 * HOUR_MS);
  const subject: forge.pki.CertificateField[] = [
    { name: 'commonName', value: hosts[0] ?? 'localhost' },
    { name: 'organizationName', value: 'Skyporten SDK local test server' },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    },
  ]);
  certificate.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(certificate),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
