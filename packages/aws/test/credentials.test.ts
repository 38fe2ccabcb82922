import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET, credentialsFor, startWorld, type World } from './setup.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('skyportenCredentials with the real S3Client', () => {
  it('reads, heads and lists objects with credentials from AssumeRoleWithWebIdentity', async () => {
    world = await startWorld();
    const s3 = world.s3(credentialsFor(world));

    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
    expect(await object.Body?.transformToString()).toBe('Hello from Skyporten');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reports/2026.csv' }));
    expect(head.ContentLength).toBe(19);
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'reports/' }));
    expect(listing.Contents?.map((entry) => entry.Key)).toEqual(['reports/2026.csv']);

    expect(world.aws.stsCalls).toBe(1);
    expect(world.tokenRequests()).toBe(1);
    expect(world.aws.requests.filter((request) => request.service === 's3').map((request) => request.status)).toEqual([200, 200, 200]);
  });

  it('makes exactly one STS call and one token request for 200 concurrent GetObject calls on a cold provider', async () => {
    world = await startWorld();
    const s3 = world.s3(credentialsFor(world));

    const bodies = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
        return object.Body?.transformToString();
      }),
    );

    expect(new Set(bodies)).toEqual(new Set(['Hello from Skyporten']));
    expect(world.aws.stsCalls).toBe(1);
    expect(world.tokenRequests()).toBe(1);
    expect(world.aws.s3Calls).toBe(200);
  });

  it('shares one exchange between 200 concurrent direct calls and several S3 clients', async () => {
    world = await startWorld();
    const provider = credentialsFor(world);
    const [first, second] = [world.s3(provider), world.s3(provider)];
    const direct = await Promise.all(Array.from({ length: 200 }, () => provider()));
    await first.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
    await second.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));

    expect(new Set(direct.map((credentials) => credentials.accessKeyId)).size).toBe(1);
    expect(world.aws.stsCalls).toBe(1);
    expect(world.tokenRequests()).toBe(1);
  });

  it('hands the SDK the expiration from STS and the account id from the assumed role', async () => {
    world = await startWorld();
    const credentials = await credentialsFor(world, { durationSeconds: 900 })();
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.sessionToken).toBeTruthy();
    expect(credentials.expiration!.getTime() - Date.now()).toBeGreaterThan(890_000);
    expect(credentials.expiration!.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
    expect(credentials.accountId).toBe('123456789012');
  });

  it('calls STS again for forceRefresh, reusing the still-valid Skyporten token', async () => {
    world = await startWorld();
    const provider = credentialsFor(world);
    const first = await provider();
    const second = await provider({ forceRefresh: true });
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(world.aws.stsCalls).toBe(2);
    expect(world.tokenRequests()).toBe(1);
  });
});

describe('logging', () => {
  it('reports the exchange to the logger without the token or the AWS secrets', async () => {
    world = await startWorld();
    const lines: string[] = [];
    const record = (message: string, details?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(details ?? {})}`);
    const logger = { debug: record, info: record, warn: record, error: record };
    const credentials = await credentialsFor(world, { logger })();

    expect(lines.some((line) => line.includes('AWS credentials obtained'))).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT
    expect(all).not.toContain(credentials.secretAccessKey);
    expect(all).not.toContain(credentials.sessionToken);
  });
});

describe('the mock S3 checks what the SDK signed', () => {
  it('refuses a request changed after signing with SignatureDoesNotMatch', async () => {
    world = await startWorld();
    const s3 = world.s3(credentialsFor(world));
    s3.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-amz-date'] = '20200101T000000Z';
        return next(args);
      },
      { step: 'deserialize', name: 'tamperAfterSigning' },
    );
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(world.aws.requests.at(-1)).toMatchObject({ service: 's3', status: 403, errorCode: 'SignatureDoesNotMatch' });
  });
});

describe('refresh ahead of expiry', () => {
  it('serves cached credentials, refreshes them in the background 10 minutes before expiry, and waits inside the last 5', async () => {
    let now = Date.parse('2026-01-05T08:00:00Z');
    const clock = () => now;
    world = await startWorld({ clock });
    const provider = credentialsFor(world, { maskinporten: world.maskinporten(undefined, clock), clock });

    const first = await provider();
    expect(first.expiration?.toISOString()).toBe('2026-01-05T09:00:00.000Z');

    now += 49 * 60_000; // 11 minutes before expiry: cached
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(world.aws.stsCalls).toBe(1);

    now += 2 * 60_000; // 9 minutes before: the current credentials at once, one refresh in the background
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    await expect.poll(() => world!.aws.stsCalls).toBe(2);
    const second = await provider();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.expiration?.toISOString()).toBe('2026-01-05T09:51:00.000Z');
    expect(world.tokenRequests()).toBe(2);

    now = second.expiration!.getTime() - 4 * 60_000; // inside the 5-minute margin: wait for new ones
    const third = await provider();
    expect(third.accessKeyId).not.toBe(second.accessKeyId);
    expect(world.aws.stsCalls).toBe(3);
    expect(world.tokenRequests()).toBe(3);
  });

  it('keeps an S3Client working across short-lived credentials, one STS call per lifetime', async () => {
    let now = Date.parse('2026-01-05T08:00:00Z');
    const clock = () => now;
    world = await startWorld({ clock, credentialLifetimeSeconds: 60 });
    const s3 = world.s3(credentialsFor(world, { maskinporten: world.maskinporten(undefined, clock), clock }));
    const read = async () => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }))).Body?.transformToString();

    expect(await read()).toBe('Hello from Skyporten');
    now += 30_000;
    expect(await read()).toBe('Hello from Skyporten');
    expect(world.aws.stsCalls).toBe(1);

    now += 30_000; // the first credentials have expired
    expect(await read()).toBe('Hello from Skyporten');
    expect(world.aws.stsCalls).toBe(2);
    expect(world.aws.requests.filter((request) => request.service === 's3').every((request) => request.status === 200)).toBe(true);
  });
});
