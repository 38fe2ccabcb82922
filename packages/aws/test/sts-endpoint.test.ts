import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import { afterEach, describe, expect, it } from 'vitest';
import { skyportenCredentials } from '@skyporten/aws';
import { BUCKET, ORG, ROLE_ARN, SUBJECT, startWorld, type World } from './setup.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/**
 * An STS request handler that records where the STS client sends each request (scheme, host, path), then
 * delivers it to the mock instead, unchanged otherwise (the Host header and the SigV4 signature stay those of the
 * real endpoint).
 */
function recordingHandler(current: World) {
  const seen: string[] = [];
  const mock = new URL(current.aws.stsEndpoint);
  // The AWS SDK's own Node.js handler, taken from a client (no extra dependency).
  const inner = new S3Client({ region: 'eu-north-1' }).config.requestHandler as { handle(request: HttpRequest, options?: unknown): Promise<unknown> };
  return {
    seen,
    requestHandler: {
      handle(request: HttpRequest, options?: unknown) {
        seen.push(`${request.protocol}//${request.hostname}${request.path}`);
        Object.assign(request, { protocol: mock.protocol, hostname: mock.hostname, port: Number(mock.port) });
        return inner.handle(request, options);
      },
    },
  };
}

function provider(current: World, clientConfig: Record<string, unknown>, extra: Parameters<typeof skyportenCredentials>[0] = {}) {
  return skyportenCredentials({ roleArn: ROLE_ARN, maskinporten: current.maskinporten(), clientConfig, env: false, ...extra });
}

describe('the regional STS endpoint by default', () => {
  it.each(['eu-north-1', 'us-east-1', 'eu-west-1'])('clientConfig.region %s: https://sts.<region>.amazonaws.com, never the global sts.amazonaws.com', async (region) => {
    world = await startWorld();
    const { seen, requestHandler } = recordingHandler(world);
    expect((await provider(world, { region, requestHandler })()).accessKeyId).toMatch(/^ASIA/);
    expect(seen).toEqual([`https://sts.${region}.amazonaws.com/`]);
  });

  it('without a region: the asking client\'s region, else eu-north-1', async () => {
    world = await startWorld();
    const { seen, requestHandler } = recordingHandler(world);
    await provider(world, { requestHandler })({ callerClientConfig: { region: async () => 'ap-southeast-2' } });
    await provider(world, { requestHandler })();
    expect(seen).toEqual(['https://sts.ap-southeast-2.amazonaws.com/', 'https://sts.eu-north-1.amazonaws.com/']);
  });

  it('chained AssumeRole calls go to the same regional endpoint', async () => {
    const dataRole = 'arn:aws:iam::210987654321:role/shared-data-reader';
    world = await startWorld({ roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } }, { roleArn: dataRole, trustPolicy: { roles: [ROLE_ARN] } }] });
    const { seen, requestHandler } = recordingHandler(world);
    await provider(world, { region: 'us-east-1', requestHandler }, { chain: [{ roleArn: dataRole }] })();
    expect(world.aws.requests.map((request) => [request.action, request.status])).toEqual([
      ['AssumeRoleWithWebIdentity', 200],
      ['AssumeRole', 200],
    ]);
    expect(seen).toEqual(['https://sts.us-east-1.amazonaws.com/', 'https://sts.us-east-1.amazonaws.com/']);
  });
});

describe('MinIO, Ceph and other S3-compatible stores: a custom STS endpoint', () => {
  const MINIO_ROLE = 'arn:minio:iam:::role/dRRvZ5Rk2aXgSrl4Dp1XuS2zvdS';
  const CEPH_ROLE = 'arn:aws:iam:::role/S3Access';

  it('MinIO: AssumeRoleWithWebIdentity as POST / on the server root, then S3 path-style on the same server', async () => {
    world = await startWorld({ roles: [{ roleArn: MINIO_ROLE, trustPolicy: { sub: SUBJECT } }] });
    const credentials = provider(world, { endpoint: world.aws.endpoint, region: 'us-east-1' }, { roleArn: MINIO_ROLE });
    const s3 = new S3Client({ endpoint: world.aws.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
    expect(await object.Body?.transformToString()).toBe('Hello from Skyporten');
    expect(world.aws.requests.map(({ service, action, method, path, roleArn }) => ({ service, action, method, path, roleArn }))).toEqual([
      { service: 'sts', action: 'AssumeRoleWithWebIdentity', method: 'POST', path: '/', roleArn: MINIO_ROLE },
      { service: 's3', action: 'GetObject', method: 'GET', path: `/${BUCKET}/hello.txt`, roleArn: undefined },
    ]);
    expect(world.aws.requests[0]?.roleSessionName).toMatch(new RegExp(`^skyporten-${ORG}-`));
  });

  it('Ceph\'s account-less role ARN works through AWS_ENDPOINT_URL_STS too', async () => {
    world = await startWorld({ roles: [{ roleArn: CEPH_ROLE, trustPolicy: { sub: SUBJECT } }] });
    const credentials = skyportenCredentials({ maskinporten: world.maskinporten(), env: { AWS_ROLE_ARN: CEPH_ROLE, AWS_ENDPOINT_URL_STS: world.aws.endpoint, AWS_REGION: 'default' } });
    expect((await credentials()).accessKeyId).toMatch(/^ASIA/);
    expect(world.aws.requests[0]).toMatchObject({ roleArn: CEPH_ROLE, status: 200 });
  });

  it('the store\'s role ARN forms are a configuration error against AWS itself (no custom endpoint)', async () => {
    world = await startWorld();
    for (const roleArn of [MINIO_ROLE, CEPH_ROLE]) {
      await expect(provider(world, { region: 'eu-north-1' }, { roleArn })()).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'roleArn' });
    }
  });
});
