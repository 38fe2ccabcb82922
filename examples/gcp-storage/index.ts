// Downloads gs://<bucket>/<object> with Google credentials from Skyporten.
//
// Local mode (default): starts a mock Skyporten issuer and mock GCP STS + IAM Credentials + Cloud Storage on
// 127.0.0.1, registers a client, and downloads a shared object. Real mode: set SKYPORTEN_GCP_AUDIENCE and GCS_URI
// (and the Maskinporten variables); see README.md.
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { createMaskinportenClient } from '@skyporten/core';
import { skyportenCredentials } from '@skyporten/gcp';
import { createMockGcp, createMockSkyporten } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const SERVICE_ACCOUNT = 'skyporten-reader@data-provider.iam.gserviceaccount.com';
const CONCURRENT_DOWNLOADS = 20;
const PROJECT_NUMBER = '123456789012';
const POOL_ID = 'skyporten';
const PROVIDER_ID = 'maskinporten';

/** Splits `gs://bucket/some/object` into its bucket and object name. */
export function parseGcsUri(uri: string): { bucket: string; object: string } {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`GCS_URI must look like gs://<bucket>/<object>; got "${uri}".`);
  return { bucket: match[1] ?? '', object: match[2] ?? '' };
}

async function download(storage: Storage, uri: string): Promise<string> {
  const { bucket, object } = parseGcsUri(uri);
  const [content] = await storage.bucket(bucket).file(object).download();
  return content.toString('utf8');
}

/** Against real Google Cloud: everything comes from the environment (see README.md). */
async function runReal(uri: string): Promise<void> {
  const storage = new Storage({ authClient: skyportenCredentials({ logger: console }) });
  const content = await download(storage, uri);
  console.log(`${uri} (${Buffer.byteLength(content)} bytes):\n${content}`);
}

/** On this machine: mock issuer + mock GCP, nothing leaves 127.0.0.1. */
async function runLocal(): Promise<void> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  // The member the data provider binds, per Skyporten's attribute mapping: client::<consumer ID>::<scope>.
  const member = `principalSet://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL_ID}/attribute.clientaccess/client::${registered.consumerId}::${SCOPE}`;
  const gcp = await createMockGcp({
    issuer,
    projectNumber: PROJECT_NUMBER,
    poolId: POOL_ID,
    providerId: PROVIDER_ID,
    allowedAudiences: [RESOURCE],
    bindings: [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: member }],
    buckets: { 'shared-data': { 'hello.txt': `Hello, ${ORGANISATION_NUMBER}! This object was shared with your organisation number.` } },
  });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock GCP STS, IAM Credentials and Storage at ${gcp.endpoint}`);
    console.log(`Pool provider ${gcp.audience} allows audience ${RESOURCE};`);
    console.log(`${SERVICE_ACCOUNT} may be impersonated by ${member}.`);

    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const authClient = skyportenCredentials({
      maskinporten,
      audience: gcp.audience,
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
      env: false,
    });
    const storage = new Storage({ authClient, apiEndpoint: gcp.storageEndpoint, useAuthWithCustomEndpoint: true, projectId: 'data-provider' });

    const uri = 'gs://shared-data/hello.txt';
    const reads = await Promise.all(Array.from({ length: CONCURRENT_DOWNLOADS }, () => download(storage, uri)));
    const content = reads[0] ?? '';
    const tokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(`${uri} (${Buffer.byteLength(content)} bytes): ${content}`);
    console.log(
      `${CONCURRENT_DOWNLOADS} concurrent downloads: ${plural(tokenRequests, 'Maskinporten token request')}, ` +
        `${plural(gcp.counters.stsCalls, 'STS exchange')}, ${plural(gcp.counters.generateAccessTokenCalls, 'impersonation')}.`,
    );
  } finally {
    await gcp.close();
    await issuer.close();
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Real Google Cloud when SKYPORTEN_GCP_AUDIENCE and GCS_URI are set, else the local mocks. */
export async function main(): Promise<void> {
  const uri = process.env.GCS_URI;
  if (process.env.SKYPORTEN_GCP_AUDIENCE && uri) await runReal(uri);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
