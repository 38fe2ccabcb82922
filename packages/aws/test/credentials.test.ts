import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skyportenCredentials } from '@skyporten/aws';
import { BUCKET, ROLE_ARN, startWorld, type World } from './setup.ts';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(() => world.close());

describe('skyportenCredentials with S3Client', () => {
  it('reads an object with credentials from STS', async () => {
    const credentials = skyportenCredentials({ roleArn: ROLE_ARN, maskinporten: world.maskinporten(), clientConfig: { endpoint: world.aws.stsEndpoint }, env: false });
    const s3 = world.s3(credentials);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
    expect(await object.Body?.transformToString()).toBe('Hello from Skyporten');
    expect(world.aws.stsCalls).toBe(1);
    expect(world.tokenRequests()).toBe(1);
    console.log(world.aws.requests);
  });
});
