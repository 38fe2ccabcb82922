// Copies every object under a prefix of a shared bucket to local files: S3, Google Cloud Storage and Azure Blob
// alike, each with its cloud's own SDK and credentials from Skyporten.
//
// Local mode (default): for each cloud, starts a mock Skyporten issuer and that cloud's local endpoints, seeds 20
// objects under a prefix (and a few outside it), and copies the prefix into a temporary folder.
// Real mode: set S3_URI + AWS_ROLE_ARN, GCS_URI + SKYPORTEN_GCP_AUDIENCE and/or AZURE_BLOB_URL + AZURE_TENANT_ID +
// AZURE_CLIENT_ID (and the Maskinporten variables); see README.md.
//
//   npm start -w @skyporten-examples/data-pipeline -- [--cloud aws|gcp|azure] [--out DIR] [--concurrency N]
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { skyportenCredentials as awsCredentials } from '@skyporten/aws';
import { skyportenCredentials as azureCredentials } from '@skyporten/azure';
import { createMaskinportenClient } from '@skyporten/core';
import type { MaskinportenClient } from '@skyporten/core';
import { skyportenCredentials as gcpCredentials } from '@skyporten/gcp';
import {
  createLocalTlsCertificate,
  createMockAws,
  createMockEntraId,
  createMockGcp,
  createMockSkyporten,
  startAzurite,
} from '@skyporten/testing';
import type { MockSkyporten } from '@skyporten/testing';
import cliProgress from 'cli-progress';

const CLOUDS = ['aws', 'gcp', 'azure'] as const;
type CloudName = (typeof CLOUDS)[number];

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const LOCAL_BUCKET = 'shared-data';
const LOCAL_PREFIX = 'exports/2026-03-02/';
const DEFAULT_CONCURRENCY = 8;
/** Small list pages in local mode, so the paging code runs. */
const LOCAL_PAGE_SIZE = 8;

/** One object found under the prefix. */
export interface RemoteObject {
  name: string;
  size: number;
}

/** What the pipeline needs from a cloud: list a prefix page by page, and open one object as a stream. */
export interface ObjectSource {
  cloud: CloudName;
  /** Where the objects come from, for people: `s3://bucket/prefix`. */
  location: string;
  prefix: string;
  /** Every object under the prefix, fetching one list page at a time. */
  list(): AsyncIterable<RemoteObject>;
  open(name: string): Promise<NodeJS.ReadableStream>;
  /** How many list pages were fetched so far. */
  readonly listPages: number;
}

/** What one copy did. */
export interface CopySummary {
  objects: number;
  bytes: number;
  seconds: number;
  listPages: number;
  outDir: string;
}

/** Reports progress; the default draws a bar on a terminal and prints a few plain lines elsewhere. */
export interface Progress {
  start(total: number, label: string): void;
  advance(bytes: number): void;
  stop(): void;
}

/**
 * The local path of an object: the part of its name after the prefix, under `outDir`. Refuses names that
 * would land outside `outDir` (`..` segments, absolute paths), since object names come from someone else.
 */
export function localPathFor(outDir: string, prefix: string, name: string): string {
  const relative = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  const segments = relative.split('/');
  if (relative === '' || segments.some((segment) => segment === '..' || segment === '.') || path.isAbsolute(relative) || relative.includes('\\')) {
    throw new Error(`Refusing to copy the object "${name}": its name would not stay inside ${outDir}.`);
  }
  return path.join(outDir, ...segments.filter((segment) => segment !== ''));
}

/** Runs `task` over `items` with at most `limit` running at once; rejects with the first failure. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Lists the prefix, then downloads every object (directory markers skipped) into `outDir`, `concurrency` at a time. */
export async function copyPrefix(source: ObjectSource, outDir: string, options: { concurrency?: number; progress?: Progress } = {}): Promise<CopySummary> {
  const started = performance.now();
  const objects: RemoteObject[] = [];
  for await (const object of source.list()) if (!object.name.endsWith('/')) objects.push(object);
  const targets = objects.map((object) => ({ object, file: localPathFor(outDir, source.prefix, object.name) }));
  const progress = options.progress ?? createProgress();
  let bytes = 0;
  progress.start(targets.length, source.location);
  try {
    await forEachConcurrently(targets, options.concurrency ?? DEFAULT_CONCURRENCY, async ({ object, file }) => {
      await mkdir(path.dirname(file), { recursive: true });
      let written = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          written += chunk.byteLength;
          callback(null, chunk);
        },
      });
      await pipeline(await source.open(object.name), counter, createWriteStream(file));
      bytes += written;
      progress.advance(written);
    });
  } finally {
    progress.stop();
  }
  return { objects: targets.length, bytes, seconds: (performance.now() - started) / 1000, listPages: source.listPages, outDir };
}

/** A cli-progress bar on stderr when it is a terminal; otherwise a plain line at each quarter. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let total = 0;
  let done = 0;
  let bytes = 0;
  let label = '';
  let bar: cliProgress.SingleBar | undefined;
  let lastQuarter = 0;
  return {
    start(count, name) {
      total = count;
      label = name;
      done = 0;
      bytes = 0;
      lastQuarter = 0;
      if (stream.isTTY) {
        bar = new cliProgress.SingleBar(
          { stream, format: `${name} [{bar}] {value}/{total} objects | {kilobytes} kB | {duration}s`, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { kilobytes: '0.0' });
      }
    },
    advance(objectBytes) {
      done += 1;
      bytes += objectBytes;
      if (bar !== undefined) {
        bar.update(done, { kilobytes: (bytes / 1024).toFixed(1) });
        return;
      }
      const quarter = Math.floor((done / total) * 4);
      if (quarter > lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${label}: ${done}/${total} objects, ${(bytes / 1024).toFixed(1)} kB\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** `s3://bucket/prefix`, `gs://bucket/prefix`: the bucket and the prefix (may be empty). */
export function parseBucketUri(uri: string, scheme: 's3' | 'gs'): { bucket: string; prefix: string } {
  const match = new RegExp(`^${scheme}://([^/]+)/?(.*)$`).exec(uri);
  if (match?.[1] === undefined) throw new Error(`Expected ${scheme}://<bucket>/<prefix>; got "${uri}".`);
  return { bucket: match[1], prefix: match[2] ?? '' };
}

/** `https://<account>.blob.core.windows.net/<container>/<prefix>`: account URL, container and prefix. */
export function parseContainerUrl(url: string): { accountUrl: string; container: string; prefix: string } {
  const parsed = new URL(url);
  const [, container, ...rest] = parsed.pathname.split('/');
  if (parsed.protocol !== 'https:' || !container) {
    throw new Error(`AZURE_BLOB_URL must look like https://<account>.blob.core.windows.net/<container>/<prefix>; got "${url}".`);
  }
  return { accountUrl: parsed.origin, container: decodeURIComponent(container), prefix: rest.map(decodeURIComponent).join('/') };
}

function s3Source(s3: S3Client, bucket: string, prefix: string, pageSize?: number): ObjectSource {
  let listPages = 0;
  return {
    cloud: 'aws',
    location: `s3://${bucket}/${prefix}`,
    prefix,
    get listPages() {
      return listPages;
    },
    async *list() {
      let continuationToken: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken, ...(pageSize === undefined ? {} : { MaxKeys: pageSize }) }),
        );
        listPages += 1;
        for (const object of page.Contents ?? []) if (object.Key !== undefined) yield { name: object.Key, size: object.Size ?? 0 };
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken !== undefined);
    },
    async open(name) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: name }));
      if (object.Body === undefined) throw new Error(`s3://${bucket}/${name} has no body.`);
      return object.Body as NodeJS.ReadableStream;
    },
  };
}

function gcsSource(storage: Storage, bucketName: string, prefix: string, pageSize?: number): ObjectSource {
  const bucket = storage.bucket(bucketName);
  let listPages = 0;
  return {
    cloud: 'gcp',
    location: `gs://${bucketName}/${prefix}`,
    prefix,
    get listPages() {
      return listPages;
    },
    async *list() {
      let pageToken: string | undefined;
      do {
        const [files, nextQuery] = await bucket.getFiles({ prefix, autoPaginate: false, ...(pageSize === undefined ? {} : { maxResults: pageSize }), ...(pageToken === undefined ? {} : { pageToken }) });
        listPages += 1;
        for (const file of files) yield { name: file.name, size: Number(file.metadata.size ?? 0) };
        pageToken = (nextQuery as { pageToken?: string } | null | undefined)?.pageToken;
      } while (pageToken !== undefined);
    },
    open(name) {
      return Promise.resolve(bucket.file(name).createReadStream());
    },
  };
}

function blobSource(blobs: BlobServiceClient, containerName: string, prefix: string, pageSize?: number): ObjectSource {
  const container = blobs.getContainerClient(containerName);
  let listPages = 0;
  return {
    cloud: 'azure',
    location: `${container.url}/${prefix}`,
    prefix,
    get listPages() {
      return listPages;
    },
    async *list() {
      for await (const page of container.listBlobsFlat({ prefix }).byPage(pageSize === undefined ? {} : { maxPageSize: pageSize })) {
        listPages += 1;
        for (const blob of page.segment.blobItems) yield { name: blob.name, size: blob.properties.contentLength ?? 0 };
      }
    },
    async open(name) {
      const download = await container.getBlobClient(name).download();
      if (download.readableStreamBody === undefined) throw new Error(`${container.url}/${name} has no body.`);
      return download.readableStreamBody;
    },
  };
}

/** The objects every local mock is seeded with: 20 under the prefix (two in a subfolder), 3 outside it. */
export function seedObjects(): Record<string, string> {
  const objects: Record<string, string> = {};
  for (let part = 1; part <= 18; part += 1) {
    const rows = Array.from({ length: 20 * part }, (_, row) => `L${(row % 9) + 1},stop-${row},${(row * 7) % 60}`);
    objects[`${LOCAL_PREFIX}part-${String(part).padStart(4, '0')}.csv`] = `line,stop,delay_seconds\n${rows.join('\n')}\n`;
  }
  objects[`${LOCAL_PREFIX}reference/stops.csv`] = 'stop,name\nNSR:StopPlace:337,Oslo S\nNSR:StopPlace:451,Drammen\n';
  objects[`${LOCAL_PREFIX}reference/README.txt`] = `Shared with ${ORGANISATION_NUMBER} through Skyporten.\n`;
  objects['exports/2026-03-01/part-0001.csv'] = 'line,stop,delay_seconds\nL1,stop-0,0\n';
  objects['exports/2026-03-01/part-0002.csv'] = 'line,stop,delay_seconds\nL2,stop-1,7\n';
  objects['internal/notes.txt'] = 'Not under the prefix: never copied.\n';
  return objects;
}

function maskinportenFor(issuer: MockSkyporten, registered: { clientId: string; kid: string; privateKey: string }): MaskinportenClient {
  return createMaskinportenClient({
    issuer: issuer.issuer,
    clientId: registered.clientId,
    scope: SCOPE,
    resource: RESOURCE,
    key: { privateKey: registered.privateKey, kid: registered.kid },
    env: false,
  });
}

function tokenRequests(issuer: MockSkyporten): number {
  return issuer.requests.filter((request) => request.method === 'POST').length;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeCopy(label: string, summary: CopySummary, calls: string): string {
  const kilobytes = (summary.bytes / 1024).toFixed(1);
  return (
    `${label}: ${plural(summary.objects, 'object')}, ${kilobytes} kB in ${summary.seconds.toFixed(2)} s ` +
    `(${plural(summary.listPages, 'list page')}) to ${summary.outDir}` +
    (calls === '' ? '.' : `; ${calls}.`)
  );
}

interface RunOptions {
  outDir: string;
  concurrency: number;
}

async function copyLocalAws(options: RunOptions): Promise<string> {
  const roleArn = 'arn:aws:iam::123456789012:role/skyporten-reader';
  const issuer = await createMockSkyporten();
  try {
    const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
    const aws = await createMockAws({
      issuer,
      clientIds: [RESOURCE],
      roles: [{ roleArn, trustPolicy: { sub: `${registered.consumerId};${SCOPE}` } }],
      buckets: { [LOCAL_BUCKET]: seedObjects() },
    });
    const s3 = new S3Client({
      region: 'eu-north-1',
      endpoint: aws.s3Endpoint,
      forcePathStyle: true,
      credentials: awsCredentials({ roleArn, maskinporten: maskinportenFor(issuer, registered), clientConfig: { endpoint: aws.stsEndpoint }, env: false }),
    });
    try {
      const summary = await copyPrefix(s3Source(s3, LOCAL_BUCKET, LOCAL_PREFIX, LOCAL_PAGE_SIZE), path.join(options.outDir, 'aws'), options);
      return describeCopy('aws (local mocks)', summary, `${plural(tokenRequests(issuer), 'token request')}, ${plural(aws.stsCalls, 'STS call')}`);
    } finally {
      s3.destroy();
      await aws.close();
    }
  } finally {
    await issuer.close();
  }
}

async function copyLocalGcp(options: RunOptions): Promise<string> {
  const serviceAccount = 'skyporten-reader@data-provider.iam.gserviceaccount.com';
  const issuer = await createMockSkyporten();
  try {
    const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
    // The member the data provider binds, per Skyporten's attribute mapping: client::<consumer ID>::<scope>.
    const member = `principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/attribute.clientaccess/client::${registered.consumerId}::${SCOPE}`;
    const gcp = await createMockGcp({
      issuer,
      projectNumber: '123456789012',
      poolId: 'skyporten',
      allowedAudiences: [RESOURCE],
      buckets: { [LOCAL_BUCKET]: seedObjects() },
      bindings: [{ serviceAccountEmail: serviceAccount, principalSet: member }],
    });
    try {
      const authClient = gcpCredentials({
        maskinporten: maskinportenFor(issuer, registered),
        audience: gcp.audience,
        serviceAccountEmail: serviceAccount,
        tokenUrl: gcp.stsTokenUrl,
        serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(serviceAccount),
        env: false,
      });
      const storage = new Storage({ authClient, apiEndpoint: gcp.storageEndpoint, useAuthWithCustomEndpoint: true, projectId: 'data-provider' });
      const summary = await copyPrefix(gcsSource(storage, LOCAL_BUCKET, LOCAL_PREFIX, LOCAL_PAGE_SIZE), path.join(options.outDir, 'gcp'), options);
      return describeCopy(
        'gcp (local mocks)',
        summary,
        `${plural(tokenRequests(issuer), 'token request')}, ${plural(gcp.counters.stsCalls, 'STS exchange')}, ${plural(gcp.counters.generateAccessTokenCalls, 'impersonation')}`,
      );
    } finally {
      await gcp.close();
    }
  } finally {
    await issuer.close();
  }
}

async function copyLocalAzure(options: RunOptions): Promise<string> {
  const managedIdentityClientId = '6f1c3a52-0d4e-4c1b-9a8e-2b7d5e9f0a11';
  // One self-signed certificate for the mock Entra ID and Azurite, trusted by this process's TLS clients.
  // Local mode only: never do this with a certificate you did not just make.
  const certificate = createLocalTlsCertificate();
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), certificate.cert]);
  const issuer = await createMockSkyporten();
  try {
    const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
    const entra = await createMockEntraId({
      issuer,
      tls: certificate,
      applications: [
        {
          clientId: managedIdentityClientId,
          federatedCredentials: [{ issuer: issuer.issuer, subject: `${registered.consumerId};${SCOPE}`, audiences: [RESOURCE] }],
        },
      ],
    });
    try {
      const azurite = await startAzurite({ tls: certificate });
      try {
        // The data provider's side: seed the container with Azurite's (public) development key.
        const provider = new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
        const container = provider.getContainerClient(LOCAL_BUCKET);
        await container.create();
        await forEachConcurrently(Object.entries(seedObjects()), DEFAULT_CONCURRENCY, async ([name, content]) => {
          await container.getBlockBlobClient(name).upload(content, Buffer.byteLength(content));
        });
        const credential = azureCredentials({
          tenantId: entra.tenantId,
          clientId: managedIdentityClientId,
          authorityHost: entra.authorityHost,
          disableInstanceDiscovery: true,
          maskinporten: maskinportenFor(issuer, registered),
          env: false,
        });
        const blobs = new BlobServiceClient(azurite.blobEndpoint, credential);
        const summary = await copyPrefix(blobSource(blobs, LOCAL_BUCKET, LOCAL_PREFIX, LOCAL_PAGE_SIZE), path.join(options.outDir, 'azure'), options);
        return describeCopy('azure (local mocks)', summary, `${plural(tokenRequests(issuer), 'token request')}, ${plural(entra.counters.tokenRequests, 'Entra ID token request')}`);
      } finally {
        await azurite.stop();
      }
    } finally {
      await entra.close();
    }
  } finally {
    await issuer.close();
  }
}

/** The real clouds whose variables are set, with their sources. Everything else comes from the environment. */
function realSources(environment: NodeJS.ProcessEnv): Partial<Record<CloudName, () => ObjectSource>> {
  const sources: Partial<Record<CloudName, () => ObjectSource>> = {};
  const s3Uri = environment.S3_URI;
  if (s3Uri && environment.AWS_ROLE_ARN) {
    sources.aws = () => {
      const { bucket, prefix } = parseBucketUri(s3Uri, 's3');
      return s3Source(new S3Client({ region: environment.AWS_REGION ?? 'eu-north-1', credentials: awsCredentials() }), bucket, prefix);
    };
  }
  const gcsUri = environment.GCS_URI;
  if (gcsUri && environment.SKYPORTEN_GCP_AUDIENCE) {
    sources.gcp = () => {
      const { bucket, prefix } = parseBucketUri(gcsUri, 'gs');
      return gcsSource(new Storage({ authClient: gcpCredentials() }), bucket, prefix);
    };
  }
  const blobUrl = environment.AZURE_BLOB_URL;
  if (blobUrl) {
    sources.azure = () => {
      const { accountUrl, container, prefix } = parseContainerUrl(blobUrl);
      return blobSource(new BlobServiceClient(accountUrl, azureCredentials()), container, prefix);
    };
  }
  return sources;
}

const LOCAL_RUNS: Record<CloudName, (options: RunOptions) => Promise<string>> = { aws: copyLocalAws, gcp: copyLocalGcp, azure: copyLocalAzure };

/**
 * Copies the prefix from each chosen cloud. Clouds whose real variables are set use the real cloud; with none
 * set, every cloud runs locally against the mocks.
 */
export async function main(args: string[] = process.argv[1] === fileURLToPath(import.meta.url) ? process.argv.slice(2) : []): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { cloud: { type: 'string', multiple: true }, out: { type: 'string' }, concurrency: { type: 'string' } },
    strict: true,
  });
  const chosen = (values.cloud ?? []).map((name) => {
    if (!(CLOUDS as readonly string[]).includes(name)) throw new Error(`--cloud must be one of ${CLOUDS.join(', ')}; got "${name}".`);
    return name as CloudName;
  });
  const concurrency = Number(values.concurrency ?? DEFAULT_CONCURRENCY);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer; got "${values.concurrency ?? ''}".`);
  const outDir = path.resolve(values.out ?? (await mkdtemp(path.join(tmpdir(), 'skyporten-pipeline-'))));
  const real = realSources(process.env);
  const realClouds = CLOUDS.filter((cloud) => real[cloud] !== undefined);
  const clouds = chosen.length > 0 ? chosen : realClouds.length > 0 ? realClouds : [...CLOUDS];
  const options = { outDir, concurrency };

  const lines: string[] = [];
  for (const cloud of clouds) {
    const source = real[cloud];
    if (source === undefined) {
      lines.push(await LOCAL_RUNS[cloud](options));
    } else {
      lines.push(describeCopy(cloud, await copyPrefix(source(), path.join(outDir, cloud), options), ''));
    }
  }
  console.log(lines.join('\n'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
