// Runs a query against a BigQuery dataset shared with your organisation number, with Google credentials from Skyporten.
//
// Local mode (default): starts a mock Skyporten issuer, mock GCP STS + IAM Credentials and a simulated BigQuery
// API on 127.0.0.1, registers a client, and queries a shared table. Real mode: set SKYPORTEN_GCP_AUDIENCE and
// BIGQUERY_TABLE (and the Maskinporten variables); see README.md.
import { fileURLToPath } from 'node:url';
import { BigQuery } from '@google-cloud/bigquery';
import { createMaskinportenClient } from '@skyporten/core';
import { skyportenCredentials } from '@skyporten/gcp';
import { createMockBigQuery, createMockGcp, createMockSkyporten } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const SERVICE_ACCOUNT = 'skyporten-reader@data-provider.iam.gserviceaccount.com';
const PROJECT_NUMBER = '123456789012';
const POOL_ID = 'skyporten';
const SHARED_TABLE = 'data-provider.skyporten_shared.departures';
/** The project the query job runs (and is billed) in: the consumer's, or one the data provider lets you use. */
const JOB_PROJECT = 'data-provider';
const DEFAULT_LIMIT = 10;

const DEPARTURES = [
  { line: 'L1', stop: 'Oslo S', scheduled: new Date('2026-03-02T07:15:00Z'), delaySeconds: 0, cancelled: false },
  { line: 'L1', stop: 'Lillestrøm', scheduled: new Date('2026-03-02T07:27:00Z'), delaySeconds: 60, cancelled: false },
  { line: 'R10', stop: 'Drammen', scheduled: new Date('2026-03-02T07:31:00Z'), delaySeconds: 240, cancelled: false },
  { line: 'R11', stop: 'Skien', scheduled: new Date('2026-03-02T07:40:00Z'), delaySeconds: 0, cancelled: true },
  { line: 'F1', stop: 'Gardermoen', scheduled: new Date('2026-03-02T07:42:00Z'), delaySeconds: 30, cancelled: false },
];

/**
 * `SELECT * FROM \`project.dataset.table\` LIMIT n`, with the table name checked (BigQuery names: letters,
 * digits, `_` and `-` in the project) so it cannot smuggle in other SQL.
 */
export function selectAllQuery(table: string, limit: number = DEFAULT_LIMIT): string {
  if (!/^[a-z][a-z0-9-]*\.\w+\.\w+$/i.test(table)) throw new Error(`BIGQUERY_TABLE must look like project.dataset.table; got "${table}".`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`The row limit must be a positive integer; got ${limit}.`);
  return `SELECT * FROM \`${table}\` LIMIT ${limit}`;
}

/** Runs the query and returns its rows, with the time it took. */
async function runQuery(bigquery: BigQuery, query: string): Promise<{ rows: Record<string, unknown>[]; milliseconds: number }> {
  const started = performance.now();
  const [rows]: [Record<string, unknown>[], ...unknown[]] = await bigquery.query({ query });
  return { rows, milliseconds: Math.round(performance.now() - started) };
}

/** A plain-text table of the rows (BigQuery's TIMESTAMP values print as ISO strings). */
export function formatRows(rows: Record<string, unknown>[]): string {
  const first = rows[0];
  if (first === undefined) return '(no rows)';
  const columns = Object.keys(first);
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '';
    if (typeof value === 'object' && 'value' in value) return String(value.value);
    return String(value);
  };
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => (line[index] ?? '').length)));
  const line = (values: string[]): string => values.map((value, index) => value.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

/** Against real Google Cloud: everything comes from the environment (see README.md). */
async function runReal(table: string): Promise<void> {
  const bigquery = new BigQuery({
    authClient: skyportenCredentials({ logger: console }),
    ...(process.env.BIGQUERY_PROJECT ? { projectId: process.env.BIGQUERY_PROJECT } : {}),
    ...(process.env.BIGQUERY_LOCATION ? { location: process.env.BIGQUERY_LOCATION } : {}),
  });
  const query = selectAllQuery(table, Number(process.env.BIGQUERY_LIMIT ?? DEFAULT_LIMIT));
  const { rows, milliseconds } = await runQuery(bigquery, query);
  console.log(`${query}\n${formatRows(rows)}\n${rows.length} rows in ${milliseconds} ms.`);
}

/** On this machine: mock issuer + mock GCP + simulated BigQuery, nothing leaves 127.0.0.1. */
async function runLocal(): Promise<void> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const member = `principalSet://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL_ID}/attribute.clientaccess/client::${registered.consumerId}::${SCOPE}`;
  const gcp = await createMockGcp({
    issuer,
    projectNumber: PROJECT_NUMBER,
    poolId: POOL_ID,
    allowedAudiences: [RESOURCE],
    bindings: [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: member }],
  });
  const bigQueryMock = await createMockBigQuery({ gcp, datasets: { [SHARED_TABLE]: DEPARTURES } });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock GCP STS and IAM Credentials at ${gcp.endpoint}; simulated BigQuery API at ${bigQueryMock.endpoint}`);
    console.log(`${SERVICE_ACCOUNT} may be impersonated by ${member}; it reads ${SHARED_TABLE}.`);

    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const authClient = skyportenCredentials({
      maskinporten,
      audience: gcp.audience,
      serviceAccountEmail: SERVICE_ACCOUNT,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
      env: false,
    });
    const bigquery = new BigQuery({ authClient, projectId: JOB_PROJECT, apiEndpoint: bigQueryMock.endpoint });

    const query = selectAllQuery(SHARED_TABLE);
    const { rows, milliseconds } = await runQuery(bigquery, query);
    const again = await runQuery(bigquery, selectAllQuery(SHARED_TABLE, 2));
    const tokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(`${query}\n${formatRows(rows)}`);
    console.log(
      `${plural(rows.length, 'row')} in ${milliseconds} ms (then ${plural(again.rows.length, 'row')} in ${again.milliseconds} ms); ` +
        `${plural(bigQueryMock.counters.queries, 'query', 'queries')}: ${plural(tokenRequests, 'Maskinporten token request')}, ` +
        `${plural(gcp.counters.stsCalls, 'STS exchange')}, ${plural(gcp.counters.generateAccessTokenCalls, 'impersonation')}.`,
    );
  } finally {
    await bigQueryMock.close();
    await gcp.close();
    await issuer.close();
  }
}

function plural(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}

/** Real Google Cloud when SKYPORTEN_GCP_AUDIENCE and BIGQUERY_TABLE are set, else the local mocks. */
export async function main(): Promise<void> {
  const table = process.env.BIGQUERY_TABLE;
  if (process.env.SKYPORTEN_GCP_AUDIENCE && table) await runReal(table);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
