// Reads a blob with a BlobServiceClient whose TokenCredential comes from Skyporten (@skyporten/azure).
//
// Local mode (default): starts a mock Skyporten issuer, a mock Entra ID (HTTPS, self-signed) and Azurite's
// Blob service on 127.0.0.1, seeds a blob, reads it through skyportenCredentials and stops everything.
// Real mode: set AZURE_BLOB_URL, AZURE_TENANT_ID and AZURE_CLIENT_ID (and the Maskinporten variables); see README.md.
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { skyportenCredentials } from '@skyporten/azure';
import { createMaskinportenClient } from '@skyporten/core';
import { createLocalTlsCertificate, createMockEntraId, createMockSkyporten, startAzurite } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const MANAGED_IDENTITY_CLIENT_ID = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';

/** Splits `https://<account>.blob.core.windows.net/<container>/<blob path>` into account URL, container and blob. */
export function parseBlobUrl(url: string): { accountUrl: string; container: string; blob: string } {
  const parsed = new URL(url);
  const [, container, ...blob] = parsed.pathname.split('/');
  if (parsed.protocol !== 'https:' || !container || blob.length === 0 || blob.join('/') === '') {
    throw new Error(`AZURE_BLOB_URL must look like https://<account>.blob.core.windows.net/<container>/<blob>; got "${url}".`);
  }
  return { accountUrl: parsed.origin, container: decodeURIComponent(container), blob: blob.map(decodeURIComponent).join('/') };
}

async function readBlob(blobs: BlobServiceClient, container: string, blob: string): Promise<string> {
  return (await blobs.getContainerClient(container).getBlobClient(blob).downloadToBuffer()).toString('utf8');
}

/** Against the real Azure: everything comes from the environment (see README.md). */
async function runReal(url: string): Promise<void> {
  const { accountUrl, container, blob } = parseBlobUrl(url);
  const blobs = new BlobServiceClient(accountUrl, skyportenCredentials());
  const content = await readBlob(blobs, container, blob);
  console.log(`${url} (${Buffer.byteLength(content)} bytes):\n${content}`);
}

/** On this machine: mock issuer + mock Entra ID + Azurite, nothing leaves 127.0.0.1. */
async function runLocal(): Promise<void> {
  // One self-signed certificate for the mock Entra ID and Azurite, trusted by this process's TLS clients
  // (the Azure SDKs included). Local mode only: never do this with a certificate you did not just make.
  const certificate = createLocalTlsCertificate();
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), certificate.cert]);

  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const subject = `${registered.consumerId};${SCOPE}`;
  const entra = await createMockEntraId({
    issuer,
    tls: certificate,
    applications: [{ clientId: MANAGED_IDENTITY_CLIENT_ID, federatedCredentials: [{ issuer: issuer.issuer, subject, audiences: [RESOURCE] }] }],
  });
  const azurite = await startAzurite({ tls: certificate }).catch(async (error: unknown) => {
    await entra.close();
    await issuer.close();
    throw error;
  });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock Entra ID at ${entra.authorityHost}; Azurite Blob at ${azurite.blobEndpoint}`);
    console.log(`Managed identity ${MANAGED_IDENTITY_CLIENT_ID} has a federated credential: issuer ${issuer.issuer}, subject "${subject}", audience ${RESOURCE}`);

    // The data provider's side: a container with one blob, written with Azurite's development key.
    const provider = new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
    const content = `Hello, ${ORGANISATION_NUMBER}! This blob was shared with your organisation number.`;
    await provider.createContainer('shared-data');
    await provider.getContainerClient('shared-data').getBlockBlobClient('hello.txt').upload(content, Buffer.byteLength(content));

    // The consumer's side: the Skyporten token is the client assertion for Entra ID.
    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const credential = skyportenCredentials({
      tenantId: entra.tenantId,
      clientId: MANAGED_IDENTITY_CLIENT_ID,
      authorityHost: entra.authorityHost, // loopback: instance discovery is skipped by default
      maskinporten,
      env: false,
    });
    const blobs = new BlobServiceClient(azurite.blobEndpoint, credential);
    const reads = await Promise.all(Array.from({ length: 20 }, () => readBlob(blobs, 'shared-data', 'hello.txt')));
    console.log(`${azurite.blobEndpoint}/shared-data/hello.txt (${Buffer.byteLength(reads[0] ?? '')} bytes): ${reads[0] ?? ''}`);
    console.log(
      `20 concurrent downloads: ${plural(entra.counters.tokenRequests, 'Entra ID token request')}, ${plural(issuer.requests.length, 'Skyporten token request')}.`,
    );
  } finally {
    await azurite.stop();
    await entra.close();
    await issuer.close();
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Real Azure when AZURE_BLOB_URL is set, else the local mocks. */
export async function main(): Promise<void> {
  const url = process.env.AZURE_BLOB_URL;
  if (url) await runReal(url);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
