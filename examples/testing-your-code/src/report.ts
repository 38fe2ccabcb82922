// The "app" under test: reads a CSV report a data provider shares in S3, with AWS credentials from Skyporten.
// Nothing in here knows about tests: the endpoints and the Maskinporten client are options with real defaults,
// which is all a test needs to point it at @skyporten/testing.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { skyportenCredentials } from '@skyporten/aws';
import type { MaskinportenClientOrOptions } from '@skyporten/core';

/** Where the shared report lives and who we are. */
export interface ReportReaderOptions {
  /** The role the data provider shared with our organisation number. */
  roleArn: string;
  bucket: string;
  key: string;
  /** @default "eu-north-1" */
  region?: string;
  /** The Maskinporten client or its options. @default configured from the environment (MASKINPORTEN_CLIENT_ID, ...) */
  maskinporten?: MaskinportenClientOrOptions;
  /** S3 endpoint, for tests or S3-compatible stores. @default AWS's regional endpoint */
  s3Endpoint?: string;
  /** STS endpoint, for tests. @default AWS's regional endpoint */
  stsEndpoint?: string;
}

/** One line of the report. */
export interface ReportLine {
  line: string;
  passengers: number;
}

/** The parsed report. */
export interface SharedReport {
  lines: ReportLine[];
  totalPassengers: number;
  /** Size of the object as read. */
  bytes: number;
}

/** Reads the shared report; one S3 client (and so one cached set of credentials) per reader. */
export interface ReportReader {
  fetchSharedReport(): Promise<SharedReport>;
  destroy(): void;
}

/** Parses `line,passengers` CSV with a header row; blank lines are skipped. */
export function parseReport(csv: string): ReportLine[] {
  const [header, ...rows] = csv.split(/\r?\n/).filter((row) => row.trim() !== '');
  if (header?.trim() !== 'line,passengers') throw new Error(`The report must start with the header "line,passengers"; got "${header ?? ''}".`);
  return rows.map((row, index) => {
    const [line = '', passengers = ''] = row.split(',').map((cell) => cell.trim());
    const count = Number(passengers);
    if (line === '' || passengers === '' || !Number.isSafeInteger(count) || count < 0) {
      throw new Error(`Row ${index + 2} of the report is not "<line>,<passengers>": "${row}".`);
    }
    return { line, passengers: count };
  });
}

/** Creates a reader of the shared report. */
export function createReportReader(options: ReportReaderOptions): ReportReader {
  const region = options.region ?? 'eu-north-1';
  const s3 = new S3Client({
    region,
    ...(options.s3Endpoint === undefined ? {} : { endpoint: options.s3Endpoint, forcePathStyle: true }),
    credentials: skyportenCredentials({
      roleArn: options.roleArn,
      ...(options.maskinporten === undefined ? {} : { maskinporten: options.maskinporten }),
      clientConfig: { region, ...(options.stsEndpoint === undefined ? {} : { endpoint: options.stsEndpoint }) },
    }),
  });
  return {
    async fetchSharedReport() {
      const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: options.key }));
      const csv = (await object.Body?.transformToString()) ?? '';
      const lines = parseReport(csv);
      return { lines, totalPassengers: lines.reduce((sum, line) => sum + line.passengers, 0), bytes: Buffer.byteLength(csv) };
    },
    destroy() {
      s3.destroy();
    },
  };
}
