// Reads s3://<bucket>/<key> with AWS credentials from Skyporten.
//
// Local mode (default): starts a mock Skyporten issuer and mock AWS STS + S3 on 127.0.0.1, registers a client,
// and reads a shared object. Real mode: set AWS_ROLE_ARN and S3_URI (and the Maskinporten variables); see README.md.
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { skyportenCredentials } from '@skyporten/aws';
import { createMaskinportenClient } from '@skyporten/core';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

/** Splits `s3://bucket/some/key` into its bucket and key. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`S3_URI must look like s3://<bucket>/<key>; got "${uri}".`);
  return { bucket: match[1] ?? '', key: match[2] ?? '' };
}

async function readObject(s3: S3Client, uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

/** Against the real AWS: everything comes from the environment (see README.md). */
async function runReal(uri: string): Promise<void> {
  const s3 = new S3Client({ region: process.env.AWS_REGION ?? 'eu-north-1', credentials: skyportenCredentials() });
  const content = await readObject(s3, uri);
  console.log(`${uri} (${Buffer.byteLength(content)} bytes):\n${content}`);
}

/** On this machine: mock issuer + mock AWS STS and S3, nothing leaves 127.0.0.1. */
async function runLocal(): Promise<void> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const subject = `${registered.consumerId};${SCOPE}`;
  const aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: subject } }],
    buckets: { 'shared-data': { 'hello.txt': `Hello, ${ORGANISATION_NUMBER}! This object was shared with your organisation number.` } },
  });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock AWS STS and S3 at ${aws.endpoint}`);
    console.log(`Role ${ROLE_ARN} trusts "${new URL(issuer.issuer).host}:sub" = "${subject}" with audience ${RESOURCE}`);

    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const s3 = new S3Client({
      region: 'eu-north-1',
      endpoint: aws.s3Endpoint,
      forcePathStyle: true,
      credentials: skyportenCredentials({ roleArn: ROLE_ARN, maskinporten, clientConfig: { endpoint: aws.stsEndpoint }, env: false }),
    });

    const uri = 's3://shared-data/hello.txt';
    const reads = await Promise.all(Array.from({ length: 20 }, () => readObject(s3, uri)));
    const content = reads[0] ?? '';
    const tokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(`${uri} (${Buffer.byteLength(content)} bytes): ${content}`);
    console.log(`20 concurrent GetObject calls: ${plural(aws.stsCalls, 'STS call')}, ${plural(tokenRequests, 'token request')}.`);
    s3.destroy();
  } finally {
    await aws.close();
    await issuer.close();
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Real AWS when AWS_ROLE_ARN and S3_URI are set, else the local mocks. */
export async function main(): Promise<void> {
  const uri = process.env.S3_URI;
  if (process.env.AWS_ROLE_ARN && uri) await runReal(uri);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
