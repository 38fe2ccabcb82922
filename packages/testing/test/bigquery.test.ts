import { BigQuery } from '@google-cloud/bigquery';
import { createMockBigQuery, createMockGcp, createMockSkyporten } from '@skyporten/testing';
import type { MockBigQuery, MockBigQueryOptions, MockGcp, MockSkyporten } from '@skyporten/testing';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const RESOURCE = 'https://skyporten.example.org';
const SCOPE = 'entur:skyporten.demo';
const CONSUMER = '0192:991825827';
const TABLE = 'data-provider.shared.trips';
const TRIPS = [
  { line: 'L1', passengers: 42, load: 0.5, late: false, departed: new Date('2026-01-02T03:04:05.678Z') },
  { line: 'L2', passengers: 7, load: 0.25, late: true, departed: null },
  { line: 'L3', passengers: 0, load: 0.75, late: false, departed: new Date('2026-01-02T05:00:00.000Z') },
];

let issuer: MockSkyporten;
let gcp: MockGcp;
const started: MockBigQuery[] = [];

beforeAll(async () => {
  issuer = await createMockSkyporten();
  gcp = await createMockGcp({ issuer, allowedAudiences: [RESOURCE] });
});
afterAll(async () => {
  await gcp.close();
  await issuer.close();
});
afterEach(async () => {
  gcp.setClockOffset(0);
  await Promise.all(started.splice(0).map((mock) => mock.close()));
});

async function start(options: Partial<MockBigQueryOptions> = {}): Promise<MockBigQuery> {
  const mock = await createMockBigQuery({ gcp, datasets: { [TABLE]: TRIPS }, ...options });
  started.push(mock);
  return mock;
}

/** A federated Google access token from the GCP mock's STS, for a Skyporten token of the mock issuer. */
async function federatedToken(): Promise<string> {
  const subjectToken = await issuer.signAccessToken({
    aud: RESOURCE,
    sub: `${CONSUMER};${SCOPE}`,
    scope: SCOPE,
    consumer: { authority: 'iso6523-actorid-upis', ID: CONSUMER },
  });
  const response = await fetch(gcp.stsTokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: gcp.audience,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** The real BigQuery client, authorised with a fixed access token. */
function bigQueryClient(mock: MockBigQuery, accessToken: string): BigQuery {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 3_600_000 });
  return new BigQuery({ authClient, projectId: 'consumer-project', apiEndpoint: mock.endpoint });
}

describe('createMockBigQuery with the real @google-cloud/bigquery client', () => {
  it('answers query() through jobs.query with typed rows', async () => {
    const mock = await start();
    const [rows] = await bigQueryClient(mock, await federatedToken()).query(`SELECT * FROM \`${TABLE}\``);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ line: 'L1', passengers: 42, load: 0.5, late: false });
    expect((rows[0] as { departed: { value: string } }).departed.value).toBe('2026-01-02T03:04:05.678Z');
    expect(rows[1]).toMatchObject({ line: 'L2', late: true, departed: null });
    expect(mock.counters.queries).toBe(1);
    expect(mock.requests.map((request) => [request.method, request.status])).toEqual([['POST', 200]]);
    expect(mock.requests[0]?.path).toMatch(/^\/bigquery\/v2\/projects\/consumer-project\/queries(\?|$)/);
    expect(mock.requests[0]?.query).toBe(`SELECT * FROM \`${TABLE}\``);
  });

  it('applies LIMIT and a column list, and resolves dataset.table in the job project', async () => {
    const mock = await start({ datasets: { [TABLE]: TRIPS, 'consumer-project.local.numbers': [{ n: 1 }, { n: 2 }] } });
    const bigquery = bigQueryClient(mock, await federatedToken());
    const [limited] = await bigquery.query(`select passengers, line from \`${TABLE}\` limit 2;`);
    expect(limited).toEqual([
      { passengers: 42, line: 'L1' },
      { passengers: 7, line: 'L2' },
    ]);
    const [local] = await bigquery.query('SELECT * FROM `local.numbers`');
    expect(local).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('runs createQueryJob (jobs.insert) and pages getQueryResults with maxResults', async () => {
    const mock = await start();
    const bigquery = bigQueryClient(mock, await federatedToken());
    const [job] = await bigquery.createQueryJob({ query: `SELECT line FROM \`${TABLE}\``, location: 'EU' });
    expect(job.location).toBe('EU');
    const [firstPage, nextQuery] = await job.getQueryResults({ maxResults: 2, autoPaginate: false });
    expect(firstPage).toEqual([{ line: 'L1' }, { line: 'L2' }]);
    expect(nextQuery).toMatchObject({ pageToken: '2' });
    const [secondPage, last] = await job.getQueryResults({ ...nextQuery, autoPaginate: false });
    expect(secondPage).toEqual([{ line: 'L3' }]);
    expect(last).toBeNull();
    const [all] = await job.getQueryResults();
    expect(all).toHaveLength(3);
    const pages = mock.requests.filter((request) => request.method === 'GET' && request.path.includes('/queries/'));
    expect(pages).toHaveLength(3);
    expect(pages[1]?.path).toContain('pageToken=2');
    const [metadata] = await job.getMetadata();
    expect(metadata).toMatchObject({ status: { state: 'DONE' }, jobReference: { projectId: 'consumer-project', location: 'EU' } });
  });

  it('answers BigQuery errors for unknown tables, unknown columns and SQL it does not understand', async () => {
    const mock = await start();
    const bigquery = bigQueryClient(mock, await federatedToken());
    await expect(bigquery.query('SELECT * FROM `data-provider.shared.missing`')).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining('Not found: Table data-provider:shared.missing') as unknown,
    });
    await expect(bigquery.query(`SELECT nope FROM \`${TABLE}\``)).rejects.toMatchObject({ code: 400, errors: [{ reason: 'invalidQuery' }] });
    await expect(bigquery.query(`SELECT COUNT(*) FROM \`${TABLE}\``)).rejects.toMatchObject({ code: 400, errors: [{ reason: 'invalidQuery' }] });
    await expect(bigquery.query({ query: `SELECT * FROM [${TABLE}]`, useLegacySql: true })).rejects.toMatchObject({ code: 400 });
  });

  it('refuses tokens the GCP mock did not issue, and its expired tokens, with 401', async () => {
    const mock = await start();
    await expect(bigQueryClient(mock, 'not-a-google-token').query(`SELECT * FROM \`${TABLE}\``)).rejects.toMatchObject({ code: 401 });
    const accessToken = await federatedToken();
    gcp.setClockOffset(7200);
    await expect(bigQueryClient(mock, accessToken).query(`SELECT * FROM \`${TABLE}\``)).rejects.toMatchObject({ code: 401 });
    expect(mock.counters.unauthenticated).toBe(2);
    expect(mock.counters.queries).toBe(0);
    expect(JSON.stringify(mock.requests)).not.toContain(accessToken);
  });

  it('takes a verifier function instead of a GCP mock', async () => {
    const mock = await start({ gcp: (accessToken) => accessToken === 'letmein' });
    const [rows] = await bigQueryClient(mock, 'letmein').query(`SELECT line FROM \`${TABLE}\` LIMIT 1`);
    expect(rows).toEqual([{ line: 'L1' }]);
    await expect(bigQueryClient(mock, 'other').query(`SELECT line FROM \`${TABLE}\``)).rejects.toMatchObject({ code: 401 });
  });

  it('answers queued failures, which the client retries when they are 503s', async () => {
    const mock = await start();
    mock.failNext({ status: 503 });
    const [rows] = await bigQueryClient(mock, await federatedToken()).query(`SELECT line FROM \`${TABLE}\` LIMIT 1`);
    expect(rows).toEqual([{ line: 'L1' }]);
    expect(mock.requests.map((request) => request.status)).toEqual([503, 200]);
  });

  it('validates table names and column types up front', async () => {
    await expect(createMockBigQuery({ gcp, datasets: { 'shared.trips': [] } })).rejects.toThrow(/project\.dataset\.table/);
    await expect(createMockBigQuery({ gcp, datasets: { [TABLE]: [{ a: 1 }, { a: 'one' }] } })).rejects.toThrow(/both INTEGER and STRING/);
    const mock = await start();
    expect(() => mock.putTable(TABLE, [{ nested: { a: 1 } as unknown as string }])).toThrow(TypeError);
  });
});
