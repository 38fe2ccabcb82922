// Writes records to a Kinesis data stream and reads them back, with AWS credentials from Skyporten.
//
// Local mode (default): starts a mock Skyporten issuer and mock AWS STS + Kinesis on 127.0.0.1 (the mock checks
// every Kinesis request's SigV4 signature against the session STS issued), puts three records, reads them with
// GetShardIterator + GetRecords, and shows that a request signed with a wrong secret is refused.
// Real mode: set AWS_ROLE_ARN and KINESIS_STREAM (and the Maskinporten variables); see README.md.
import { fileURLToPath } from 'node:url';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { skyportenCredentials } from '@skyporten/aws';
import { createMaskinportenClient } from '@skyporten/core';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';
import type { RecordedAwsRequest } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-stream-reader';
const STREAM = 'departures';

/** One record read back from the stream. */
export interface ReadRecord {
  partitionKey: string;
  sequenceNumber: string;
  data: string;
}

/** What the local run did, for its printout and its test. Holds no secret. */
export interface LocalRunResult {
  /** The records GetRecords returned, oldest first. */
  records: ReadRecord[];
  /** The access key id of the session STS issued (an identifier, not a secret: CloudTrail logs it too). */
  accessKeyId: string;
  /** Every request the mock AWS answered, in order (action, status, signing access key id, ...). */
  requests: RecordedAwsRequest[];
  /** The error name the mock answered a PutRecord signed with the right key id but a wrong secret. */
  forgedSignatureError: string;
  /** Token requests the mock Skyporten issuer answered. */
  tokenRequests: number;
}

async function putRecords(kinesis: KinesisClient, stream: string, lines: readonly string[]): Promise<void> {
  for (const line of lines) {
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: line.split(' ')[0] ?? 'key', Data: new TextEncoder().encode(line) }));
  }
}

/** Reads every shard of `stream` from its oldest record (TRIM_HORIZON) until it is caught up (an empty page, 0 ms behind). */
export async function readStream(kinesis: KinesisClient, stream: string, maxPages = 10): Promise<ReadRecord[]> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  const records: ReadRecord[] = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (let page = 0; iterator !== undefined && page < maxPages; page += 1) {
      const { Records = [], NextShardIterator, MillisBehindLatest = 0 } = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
      if (Records.length === 0 && MillisBehindLatest === 0) break;
      for (const record of Records) {
        records.push({
          partitionKey: record.PartitionKey ?? '',
          sequenceNumber: record.SequenceNumber ?? '',
          data: new TextDecoder().decode(record.Data),
        });
      }
      iterator = NextShardIterator;
    }
  }
  return records;
}

/** Against the real AWS: everything comes from the environment (see README.md). */
async function runReal(stream: string): Promise<void> {
  const kinesis = new KinesisClient({ region: process.env.AWS_REGION ?? 'eu-north-1', credentials: skyportenCredentials() });
  if (process.env.KINESIS_PUT === '1') await putRecords(kinesis, stream, [`${ORGANISATION_NUMBER} hello from Skyporten at ${new Date().toISOString()}`]);
  const records = await readStream(kinesis, stream);
  console.log(`${stream}: ${records.length} record${records.length === 1 ? '' : 's'} from TRIM_HORIZON`);
  for (const record of records) console.log(`  ${record.sequenceNumber} [${record.partitionKey}] ${record.data}`);
  kinesis.destroy();
}

/** On this machine: mock issuer + mock AWS STS and Kinesis, nothing leaves 127.0.0.1. Prints and returns what happened. */
export async function runLocal(): Promise<LocalRunResult> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const subject = `${registered.consumerId};${SCOPE}`;
  const aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: subject } }],
    streams: [STREAM],
  });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock AWS STS at ${aws.stsEndpoint}, Kinesis (HTTP/2) at ${aws.kinesisEndpoint}`);
    console.log(`Role ${ROLE_ARN} trusts "${new URL(issuer.issuer).host}:sub" = "${subject}" with audience ${RESOURCE}`);

    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const credentials = skyportenCredentials({ roleArn: ROLE_ARN, maskinporten, clientConfig: aws.clientConfig(), env: false });
    const kinesis = new KinesisClient({ ...aws.clientConfig('kinesis'), credentials });

    await putRecords(kinesis, STREAM, ['L1 Oslo S 08:02', 'L2 Lillestrøm 08:14', 'R10 Drammen 08:21']);
    const records = await readStream(kinesis, STREAM);
    console.log(`Read ${records.length} records from ${STREAM} (TRIM_HORIZON):`);
    for (const record of records) console.log(`  ${record.sequenceNumber} [${record.partitionKey}] ${record.data}`);

    // The negative control: the same session's key id and token with a wrong secret. The mock recomputes the
    // SigV4 signature with the secret it issued and refuses the request, as Kinesis does.
    const identity = await credentials();
    const { accessKeyId } = identity;
    const forged = new KinesisClient({ ...aws.clientConfig('kinesis'), credentials: { ...identity, secretAccessKey: 'not-the-secret-sts-issued' }, maxAttempts: 1 });
    const forgedSignatureError = await forged
      .send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'L1', Data: new TextEncoder().encode('forged') }))
      .then(() => 'none (accepted)', (error: unknown) => (error instanceof Error ? error.name : String(error)));
    forged.destroy();
    kinesis.destroy();

    const requests = [...aws.requests];
    const signed = requests.filter((request) => request.service === 'kinesis' && request.accessKeyId === accessKeyId);
    const accepted = signed.filter((request) => request.status === 200);
    const sessionName = requests.find((request) => request.action === 'AssumeRoleWithWebIdentity')?.roleSessionName ?? '(none)';
    const tokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(
      `${accepted.length} of ${signed.length} Kinesis requests signed with the session STS issued (RoleSessionName "${sessionName}") were accepted; ` +
        `STS calls: ${aws.stsCalls}, Skyporten token requests: ${tokenRequests}.`,
    );
    console.log(`The one signed with the same key id but a wrong secret was refused: ${forgedSignatureError}.`);
    return { records, accessKeyId, requests, forgedSignatureError, tokenRequests };
  } finally {
    await aws.close();
    await issuer.close();
  }
}

/** Real AWS when AWS_ROLE_ARN and KINESIS_STREAM are set, else the local mocks. */
export async function main(): Promise<void> {
  const stream = process.env.KINESIS_STREAM;
  if (process.env.AWS_ROLE_ARN && stream) await runReal(stream);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
