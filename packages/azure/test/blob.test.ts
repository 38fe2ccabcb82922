import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '@skyporten/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_SCOPE, startAzureWorld, type AzureWorld } from './fixtures.ts';

const CONTAINER = 'shared-data';
const BLOB = 'hello.txt';
const CONTENT = 'Hello from Skyporten, via Entra ID and Azurite';

describe('reading Azure Blob Storage (Azurite) through skyportenCredentials', () => {
  let world: AzureWorld;
  let azurite: RunningAzurite;

  beforeAll(async () => {
    world = await startAzureWorld();
    azurite = await startAzurite({ tls: world.entra.tls });
    const seed = new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
    await seed.createContainer(CONTAINER);
    await seed.getContainerClient(CONTAINER).getBlockBlobClient(BLOB).upload(CONTENT, Buffer.byteLength(CONTENT));
  });
  afterAll(async () => {
    await azurite?.stop();
    await world?.close();
  });
  afterEach(() => {
    world.entra.reset();
    world.issuer.reset();
  });

  it('downloads a blob with a Bearer token from Entra ID, won with the Skyporten token', async () => {
    const blobs = new BlobServiceClient(azurite.blobEndpoint, world.credential());
    const body = await blobs.getContainerClient(CONTAINER).getBlobClient(BLOB).downloadToBuffer();
    expect(body.toString('utf8')).toBe(CONTENT);
    expect(world.entra.counters.tokenRequests).toBe(1);
    expect(world.maskinportenTokenRequests()).toBe(1);
    const [request] = world.entra.requests;
    expect(request).toMatchObject({ status: 200, scope: STORAGE_SCOPE, assertionClaims: { sub: '0192:991825827;entur:skyporten.demo' } });
  });

  it('is refused by Azurite without a credential (so the Bearer token is what lets the read through)', async () => {
    const anonymous = new BlobServiceClient(azurite.blobEndpoint);
    await expect(anonymous.getContainerClient(CONTAINER).getBlobClient(BLOB).downloadToBuffer()).rejects.toMatchObject({ statusCode: 403 });
  });

  it('200 concurrent downloads through one client on a cold credential: 1 Entra ID and 1 Maskinporten token request', async () => {
    const blobs = new BlobServiceClient(azurite.blobEndpoint, world.credential());
    const container = blobs.getContainerClient(CONTAINER);
    const bodies = await Promise.all(Array.from({ length: 200 }, () => container.getBlobClient(BLOB).downloadToBuffer()));
    expect(new Set(bodies.map((body) => body.toString('utf8')))).toEqual(new Set([CONTENT]));
    expect(world.entra.counters.tokenRequests).toBe(1);
    expect(world.maskinportenTokenRequests()).toBe(1);
  });

  it('200 concurrent downloads through 200 separate clients sharing one cold credential: still 1 + 1', async () => {
    const credential = world.credential();
    const bodies = await Promise.all(
      Array.from({ length: 200 }, () =>
        new BlobServiceClient(azurite.blobEndpoint, credential).getContainerClient(CONTAINER).getBlobClient(BLOB).downloadToBuffer(),
      ),
    );
    expect(bodies.every((body) => body.toString('utf8') === CONTENT)).toBe(true);
    expect(world.entra.counters.tokenRequests).toBe(1);
    expect(world.maskinportenTokenRequests()).toBe(1);
  });

  it('shares one Skyporten token between Azure and anything else using the same Maskinporten client', async () => {
    const maskinporten = world.maskinporten();
    await maskinporten.getToken();
    const blobs = new BlobServiceClient(azurite.blobEndpoint, world.credential({ maskinporten }));
    await blobs.getContainerClient(CONTAINER).getBlobClient(BLOB).downloadToBuffer();
    expect(world.maskinportenTokenRequests()).toBe(1);
  });
});
