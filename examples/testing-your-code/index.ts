// Runs the app (src/report.ts) once. The point of this example is its tests (npm test); this shows the app
// working end to end.
//
// Local mode (default): the app reads the shared report from a mock Skyporten issuer and mock AWS STS + S3 on
// 127.0.0.1. Real mode: set AWS_ROLE_ARN and S3_URI (and the Maskinporten variables); see README.md.
import { fileURLToPath } from 'node:url';
import { createMockAws, createMockSkyporten } from '@skyporten/testing';
import { createReportReader } from './src/report.ts';
import type { SharedReport } from './src/report.ts';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

function summary(source: string, report: SharedReport): string {
  return `${source} (${report.bytes} bytes): ${report.lines.length} lines, ${report.totalPassengers} passengers.`;
}

/** Against the real AWS: the role from AWS_ROLE_ARN, the object from S3_URI, the rest from the environment. */
async function runReal(roleArn: string, uri: string): Promise<void> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`S3_URI must look like s3://<bucket>/<key>; got "${uri}".`);
  const reader = createReportReader({ roleArn, bucket: match[1], key: match[2], ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}) });
  try {
    console.log(summary(uri, await reader.fetchSharedReport()));
  } finally {
    reader.destroy();
  }
}

/** On this machine: the same mocks the tests use. */
async function runLocal(): Promise<void> {
  const issuer = await createMockSkyporten();
  const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const aws = await createMockAws({
    issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `${client.consumerId};${SCOPE}` } }],
    buckets: { 'shared-reports': { 'passengers.csv': 'line,passengers\nL1,42\nR10,17\nF1,5\n' } },
  });
  const reader = createReportReader({
    roleArn: ROLE_ARN,
    bucket: 'shared-reports',
    key: 'passengers.csv',
    s3Endpoint: aws.s3Endpoint,
    stsEndpoint: aws.stsEndpoint,
    maskinporten: {
      issuer: issuer.issuer,
      clientId: client.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: client.privateKey, kid: client.kid },
      env: false,
    },
  });
  try {
    console.log(summary('s3://shared-reports/passengers.csv', await reader.fetchSharedReport()));
    console.log('Run its tests with: npm test -w @skyporten-examples/testing-your-code');
  } finally {
    reader.destroy();
    await aws.close();
    await issuer.close();
  }
}

/** Real AWS when AWS_ROLE_ARN and S3_URI are set, else the local mocks. */
export async function main(): Promise<void> {
  const roleArn = process.env.AWS_ROLE_ARN;
  const uri = process.env.S3_URI;
  if (roleArn && uri) await runReal(roleArn, uri);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
