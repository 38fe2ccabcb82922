import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';
import type { MockAws, MockSkyporten } from '@skyporten/testing';
import { RESOURCE, SCOPE } from './helpers.ts';

const WEB_ROLE = 'arn:aws:iam::123456789012:role/skyporten-entry';
const DATA_ROLE = 'arn:aws:iam::210987654321:role/stream-writer';
const SUBJECT = `0192:991825827;${SCOPE}`;

let issuer: MockSkyporten;
let aws: MockAws;

beforeAll(async () => {
  issuer = await createMockSkyporten();
  aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [
      { roleArn: WEB_ROLE, trustPolicy: { sub: SUBJECT } },
      { roleArn: DATA_ROLE, trustPolicy: { roles: [WEB_ROLE] } },
    ],
    streams: ['trips'],
  });
});
afterAll(async () => {
  await aws.close();
  await issuer.close();
});

async function webIdentityCredentials(sts: STSClient) {
  const token = await issuer.signAccessToken({ aud: RESOURCE, sub: SUBJECT, scope: SCOPE });
  const { Credentials } = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: WEB_ROLE, RoleSessionName: 'entry', WebIdentityToken: token }));
  return { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' };
}

describe('STS AssumeRole (role chaining)', () => {
  test('credentials the mock issued assume a role that trusts their role; session names are logged', async () => {
    const first = await webIdentityCredentials(new STSClient(aws.clientConfig()));
    const chained = new STSClient({ ...aws.clientConfig(), endpoint: `${aws.endpoint}/regional/eu-north-1`, credentials: first });
    const { Credentials, AssumedRoleUser } = await chained.send(new AssumeRoleCommand({ RoleArn: DATA_ROLE, RoleSessionName: 'writer', DurationSeconds: 900 }));
    expect(Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(Credentials?.AccessKeyId).not.toBe(first.accessKeyId);
    expect(AssumedRoleUser?.Arn).toBe('arn:aws:sts::210987654321:assumed-role/stream-writer/writer');
    const chainedCall = aws.requests.at(-1);
    expect(chainedCall).toMatchObject({ service: 'sts', action: 'AssumeRole', status: 200, roleArn: DATA_ROLE, roleSessionName: 'writer', accessKeyId: first.accessKeyId, path: '/regional/eu-north-1/' });
    expect(aws.requests.find((request) => request.action === 'AssumeRoleWithWebIdentity')?.roleSessionName).toBe('entry');
  });

  test('a role that does not trust the caller, a forged signature and unknown keys are refused', async () => {
    const first = await webIdentityCredentials(new STSClient(aws.clientConfig()));
    const chained = new STSClient({ ...aws.clientConfig(), credentials: first });
    await expect(chained.send(new AssumeRoleCommand({ RoleArn: WEB_ROLE, RoleSessionName: 'again' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const forged = new STSClient({ ...aws.clientConfig(), credentials: { ...first, secretAccessKey: 'wrong' } });
    await expect(forged.send(new AssumeRoleCommand({ RoleArn: DATA_ROLE, RoleSessionName: 'x1' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const unknown = new STSClient({ ...aws.clientConfig(), credentials: { accessKeyId: 'ASIAUNKNOWN', secretAccessKey: 's', sessionToken: 't' } });
    await expect(unknown.send(new AssumeRoleCommand({ RoleArn: DATA_ROLE, RoleSessionName: 'x2' }))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });
});

describe('trust policy extras and S3-compatible role ARNs', () => {
  test('externalId: AssumeRole must send the ExternalId the trust policy names; MinIO and Ceph role ARNs are accepted', async () => {
    const guarded = 'arn:aws:iam::210987654321:role/needs-external-id';
    const minio = 'arn:minio:iam:::role/dRRvZ5Rk2aXgSrl4Dp1XuS2zvdS';
    const local = await createMockAws({
      issuer,
      clientIds: [RESOURCE],
      roles: [
        { roleArn: WEB_ROLE, trustPolicy: { sub: SUBJECT } },
        { roleArn: guarded, trustPolicy: { roles: [WEB_ROLE], externalId: 'provider-issued-id' } },
        { roleArn: minio, trustPolicy: { sub: SUBJECT } },
        { roleArn: 'arn:aws:iam:::role/S3Access', trustPolicy: { sub: SUBJECT } },
      ],
    });
    try {
      const first = await webIdentityCredentials(new STSClient(local.clientConfig()));
      const chained = new STSClient({ ...local.clientConfig(), credentials: first });
      await expect(chained.send(new AssumeRoleCommand({ RoleArn: guarded, RoleSessionName: 'no-id' }))).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(chained.send(new AssumeRoleCommand({ RoleArn: guarded, RoleSessionName: 'wrong-id', ExternalId: 'other-id' }))).rejects.toMatchObject({ name: 'AccessDenied' });
      const { Credentials } = await chained.send(new AssumeRoleCommand({ RoleArn: guarded, RoleSessionName: 'right-id', ExternalId: 'provider-issued-id' }));
      expect(Credentials?.AccessKeyId).toMatch(/^ASIA/);
      const token = await issuer.signAccessToken({ aud: RESOURCE, sub: SUBJECT, scope: SCOPE });
      const { AssumedRoleUser } = await new STSClient(local.clientConfig()).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: minio, RoleSessionName: 'minio', WebIdentityToken: token }));
      expect(AssumedRoleUser?.Arn).toBe('arn:aws:sts:::assumed-role/dRRvZ5Rk2aXgSrl4Dp1XuS2zvdS/minio');
    } finally {
      await local.close();
    }
    await expect(createMockAws({ issuer, clientIds: [RESOURCE], roles: [{ roleArn: 'arn:aws:iam::1234:role/x', trustPolicy: {} }] })).rejects.toThrow(/not an IAM role ARN/);
  });
});

describe('Kinesis (JSON 1.1)', () => {
  test('PutRecord, GetShardIterator and GetRecords round-trip with chained credentials', async () => {
    const first = await webIdentityCredentials(new STSClient(aws.clientConfig()));
    const { Credentials } = await new STSClient({ ...aws.clientConfig(), credentials: first }).send(
      new AssumeRoleCommand({ RoleArn: DATA_ROLE, RoleSessionName: 'kinesis' }),
    );
    const kinesis = new KinesisClient({
      ...aws.clientConfig('kinesis'),
      credentials: { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' },
    });
    const put = await kinesis.send(new PutRecordCommand({ StreamName: 'trips', PartitionKey: 'L1', Data: new TextEncoder().encode('{"line":"L1"}') }));
    expect(put.ShardId).toBe('shardId-000000000000');
    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: 'trips' }));
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'trips', ShardId: Shards?.[0]?.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records, NextShardIterator } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records?.map((record) => new TextDecoder().decode(record.Data))).toEqual(['{"line":"L1"}']);
    expect(Records?.[0]?.SequenceNumber).toBe(put.SequenceNumber);
    expect((await kinesis.send(new GetRecordsCommand({ ShardIterator: NextShardIterator }))).Records).toEqual([]);
    expect(aws.streamRecords('trips')).toHaveLength(1);
    expect(aws.requests.filter((request) => request.service === 'kinesis').map((request) => request.action)).toEqual(['PutRecord', 'ListShards', 'GetShardIterator', 'GetRecords', 'GetRecords']);
  });

  test('unsigned, unknown-stream and injected failures answer in the JSON 1.1 error format', async () => {
    const kinesis = new KinesisClient({ ...aws.clientConfig('kinesis'), credentials: await webIdentityCredentials(new STSClient(aws.clientConfig())), maxAttempts: 1 });
    await expect(kinesis.send(new PutRecordCommand({ StreamName: 'nope', PartitionKey: 'k', Data: new Uint8Array([1]) }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    aws.failNext({ service: 'kinesis', status: 400 });
    await expect(kinesis.send(new PutRecordCommand({ StreamName: 'trips', PartitionKey: 'k', Data: new Uint8Array([1]) }))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    const stranger = new KinesisClient({ ...aws.clientConfig('kinesis'), credentials: { accessKeyId: 'ASIAUNKNOWN', secretAccessKey: 's', sessionToken: 't' }, maxAttempts: 1 });
    await expect(stranger.send(new ListShardsCommand({ StreamName: 'trips' }))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    expect(aws.requests.at(-1)).toMatchObject({ service: 'kinesis', action: 'ListShards', status: 400, errorCode: 'UnrecognizedClientException' });
  });
});
