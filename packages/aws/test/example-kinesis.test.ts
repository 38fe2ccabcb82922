import { afterEach, expect, it, vi } from 'vitest';

// Imported by URL: the example is its own TypeScript project (tsc -b checks it there).
const exampleUrl = new URL('../../../examples/aws-kinesis/index.ts', import.meta.url).href;
const { runLocal } = (await import(exampleUrl)) as {
  runLocal(): Promise<{
    records: { partitionKey: string; sequenceNumber: string; data: string }[];
    accessKeyId: string;
    requests: { service: string; action: string; status: number; errorCode: string | null; accessKeyId?: string; streamName?: string }[];
    forgedSignatureError: string;
    tokenRequests: number;
  }>;
};

afterEach(() => {
  vi.restoreAllMocks();
});

it('examples/aws-kinesis puts and reads records with STS credentials that the mock Kinesis checks (SigV4), and prints no secret', async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  delete process.env.AWS_ROLE_ARN;
  const result = await runLocal();

  expect(result.records.map((record) => record.data)).toEqual(['L1 Oslo S 08:02', 'L2 Lillestrøm 08:14', 'R10 Drammen 08:21']);
  expect(result.records.map((record) => record.partitionKey)).toEqual(['L1', 'L2', 'R10']);

  // The key the Kinesis requests were signed with is the one STS issued for the Skyporten token.
  const sts = result.requests.filter((request) => request.service === 'sts');
  expect(sts).toMatchObject([{ action: 'AssumeRoleWithWebIdentity', status: 200 }]);
  expect(result.accessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
  const kinesis = result.requests.filter((request) => request.service === 'kinesis');
  expect(kinesis.map((request) => [request.action, request.status, request.accessKeyId, request.streamName])).toEqual([
    ...['PutRecord', 'PutRecord', 'PutRecord', 'ListShards', 'GetShardIterator', 'GetRecords', 'GetRecords'].map((action) => [action, 200, result.accessKeyId, 'departures']),
    ['PutRecord', 403, result.accessKeyId, undefined], // refused before the body is read
  ]);
  // A wrong secret under the same key id is refused: the mock recomputes the signature, it does not just read the key id.
  expect(result.forgedSignatureError).toBe('InvalidSignatureException');
  expect(kinesis.at(-1)?.errorCode).toBe('InvalidSignatureException');
  expect(result.tokenRequests).toBe(1);

  const output = lines.join('\n');
  expect(output).toContain('[R10] R10 Drammen 08:21');
  expect(output).toContain('7 of 8 Kinesis requests signed with the session STS issued');
  expect(output).toContain('refused: InvalidSignatureException');
  expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  expect(output).not.toContain(result.accessKeyId);
});
