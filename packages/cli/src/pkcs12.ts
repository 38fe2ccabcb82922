import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { KeyError } from '@skyporten/core';

/** What a PKCS#12 (.p12/.pfx) file holds: the private key and the certificates, leaf (the key's) first when present. */
export interface Pkcs12Contents {
  privateKey: KeyObject;
  /** PEM certificates; the one that belongs to the key first, then the rest in file order. */
  certificates: string[];
}

/**
 * Opens a PKCS#12 file with node-forge (Node's crypto cannot), for `doctor`'s key and certificate checks. The
 * core reads it the same way when it signs, but does not export its reader.
 */
export async function readPkcs12(bytes: Uint8Array, passphrase: string | undefined): Promise<Pkcs12Contents> {
  const forge = (await import('node-forge')).default;
  let keyPem: string;
  let certificatePems: string[];
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(bytes).toString('binary')));
    const archive = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? '');
    const shrouded = forge.pki.oids.pkcs8ShroudedKeyBag!;
    const plain = forge.pki.oids.keyBag!;
    const keyBag = archive.getBags({ bagType: shrouded })[shrouded]?.[0] ?? archive.getBags({ bagType: plain })[plain]?.[0];
    if (keyBag?.key === undefined || keyBag.key === null) throw new Error('no private key in the file');
    keyPem = forge.pki.privateKeyToPem(keyBag.key);
    const certificateOid = forge.pki.oids.certBag!;
    certificatePems = (archive.getBags({ bagType: certificateOid })[certificateOid] ?? []).flatMap((bag) => (bag.cert ? [forge.pki.certificateToPem(bag.cert)] : []));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/mac|password|decrypt|invalid/i.test(reason)) {
      throw new KeyError('KEY_INVALID', '--key-file', 'The PKCS#12 file could not be opened with the passphrase given.', {
        hint: 'Set MASKINPORTEN_PRIVATE_KEY_PASSPHRASE to the passphrase of the .p12/.pfx file.',
        cause: error,
      });
    }
    throw new KeyError('KEY_INVALID', '--key-file', `The key file is not a readable PKCS#12 file (${reason}).`, { hint: 'Export the business certificate as .p12/.pfx with its private key and chain.', cause: error });
  }
  const privateKey = createPrivateKey(keyPem);
  const leafIndex = certificatePems.findIndex((pem) => new X509Certificate(pem).checkPrivateKey(privateKey));
  const certificates = leafIndex <= 0 ? certificatePems : [certificatePems[leafIndex]!, ...certificatePems.filter((_, index) => index !== leafIndex)];
  return { privateKey, certificates };
}
