import { randomUUID } from 'node:crypto';
import { UNAUTHENTICATED, googleError, googleFailure, recordStatus } from './cloud.js';
import type { MockGcp } from './gcp.js';
import { MockRejection, bearerToken, createMockService, json, mockLifecycle } from './mock-service.js';
import type { MockAnswer, MockFailure, MockLifecycle, MockRequest } from './mock-service.js';

const PROJECT = '^/bigquery/v2/projects/([^/]+)';
/** A bucket name GCS would never accept (uppercase, underscores), so the probe can never read a real object. */
const PROBE_PATH = '/storage/v1/b/SKYPORTEN_BIGQUERY_TOKEN_PROBE/o/probe';

/** A cell value of a mock table; the column type is inferred: string STRING, integer/bigint INTEGER, number FLOAT, boolean, Date TIMESTAMP, bytes. */
export type MockBigQueryValue = string | number | bigint | boolean | Date | Uint8Array | null;

/** One row of a mock table: column name to value. */
export type MockBigQueryRow = Record<string, MockBigQueryValue>;

/** Decides whether a bearer token may call the mock: `true` for a Google access token it should accept. */
export type MockBigQueryTokenVerifier = (accessToken: string) => boolean | Promise<boolean>;

/** A fault for `failNext` (it applies after the token check), rendered as Google's error JSON unless `body` is given. */
export type MockBigQueryFailure = MockFailure<'bigquery'>;

/** Options of {@link createMockBigQuery}. */
export interface MockBigQueryOptions {
  /** Who issued the access tokens the mock accepts: a {@link MockGcp} (whose Storage API is asked about each token), or a function that decides. */
  gcp: Pick<MockGcp, 'storageEndpoint'> | MockBigQueryTokenVerifier;
  /** Tables by full name, `project.dataset.table`, each a list of rows. @default {} */
  datasets?: Record<string, MockBigQueryRow[]> | undefined;
  /** The location jobs report when the request names none. @default "US" */
  location?: string | undefined;
  /** Current time in milliseconds, for job statistics. @default Date.now */
  clock?: (() => number) | undefined;
}

/** One request the mock answered. Tokens are never recorded. */
export interface MockBigQueryRequest {
  /** The HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** The HTTP status of the answer. */
  status: number;
  /** The SQL of `jobs.query` and `jobs.insert` requests. */
  query?: string;
}

/** Call counters of a {@link MockBigQuery}. Live: read them after the calls. */
export interface MockBigQueryCounters {
  /** Queries run (`jobs.query` and query jobs from `jobs.insert`), including refused ones. */
  readonly queries: number;
  /** Requests refused with 401 because the token was missing, unknown or expired. */
  readonly unauthenticated: number;
}

/** A running simulation of the BigQuery REST API surface that `bigquery.query()` touches. */
export interface MockBigQuery extends MockLifecycle<MockBigQueryRequest, MockBigQueryFailure> {
  /** `http://127.0.0.1:<port>`: pass as the BigQuery client's `apiEndpoint`. */
  endpoint: string;
  /** What points a `@google-cloud/bigquery` client at this mock in one spread, e.g. `new BigQuery({ ...bigQuery.clientOptions(), authClient })`. */
  clientOptions(): {
    /** The mock's BigQuery API URL. */
    apiEndpoint: string;
  };
  /** Live call counters. */
  counters: MockBigQueryCounters;
  /** Adds or replaces a table, by full name `project.dataset.table`. */
  putTable(name: string, rows: MockBigQueryRow[]): void;
}

interface Column {
  name: string;
  type: 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN' | 'TIMESTAMP' | 'BYTES';
}

interface Table {
  columns: Column[];
  rows: MockBigQueryRow[];
}

interface Job extends Table {
  projectId: string;
  jobId: string;
  location: string;
  query: string;
  createdAtMs: number;
}

const queryError = (status: number, reason: string, message: string): MockRejection =>
  new MockRejection(googleError(status, status === 404 ? 'NOT_FOUND' : status === 409 ? 'ALREADY_EXISTS' : 'INVALID_ARGUMENT', message, reason));

/** Starts a local simulation of the BigQuery REST calls `query()` and `createQueryJob()` make, for one SQL shape; see the package README. */
export async function createMockBigQuery(options: MockBigQueryOptions): Promise<MockBigQuery> {
  const verifyAccessToken = typeof options.gcp === 'function' ? options.gcp : probeStorage(options.gcp.storageEndpoint);
  const { location: defaultLocation = 'US', clock: now = Date.now } = options;
  const tables = new Map<string, Table>();
  for (const [name, rows] of Object.entries(options.datasets ?? {})) putTable(name, rows);
  const jobs = new Map<string, Job>();
  const counts = { queries: 0, unauthenticated: 0 };

  function putTable(name: string, rows: MockBigQueryRow[]): void {
    if (!/^[^.`\s]+\.[^.`\s]+\.[^.`\s]+$/.test(name)) throw new TypeError(`createMockBigQuery: table names are "project.dataset.table"; got "${name}".`);
    tables.set(name, { columns: inferColumns(name, rows), rows });
  }

  function runQuery(projectId: string, sql: string): Table {
    const match = /^\s*SELECT\s+(\*|[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+FROM\s+`([^`]+)`(?:\s+LIMIT\s+(\d+))?\s*;?\s*$/i.exec(sql);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw queryError(400, 'invalidQuery', 'The BigQuery mock understands only SELECT * | column[, column...] FROM `project.dataset.table` [LIMIT n].');
    }
    const name = match[2].split('.').length === 2 ? `${projectId}.${match[2]}` : match[2];
    const table = tables.get(name);
    const [project = '', dataset = '', tableName = ''] = name.split('.');
    if (table === undefined) throw queryError(404, 'notFound', `Not found: Table ${project}:${dataset}.${tableName} was not found in location ${defaultLocation}`);
    const columns = match[1] === '*' ? table.columns : match[1].split(',').map((column) => {
      const wanted = column.trim();
      const found = table.columns.find((candidate) => candidate.name.toLowerCase() === wanted.toLowerCase());
      if (found === undefined) throw queryError(400, 'invalidQuery', `Unrecognized name: ${wanted} at [1:8]`);
      return found;
    });
    return { columns, rows: table.rows.slice(0, match[3] === undefined ? table.rows.length : Number(match[3])) };
  }

  function createJob(projectId: string, sql: string, location: string | undefined, jobId: string = `job_${randomUUID().replaceAll('-', '')}`): Job {
    if (jobs.has(jobId)) throw queryError(409, 'duplicate', `Already Exists: Job ${projectId}:${location ?? defaultLocation}.${jobId}`);
    const job: Job = { projectId, jobId, location: location ?? defaultLocation, query: sql, ...runQuery(projectId, sql), createdAtMs: now() };
    jobs.set(jobId, job);
    return job;
  }

  function findJob(projectId: string, jobId: string): Job {
    const job = jobs.get(jobId);
    if (job?.projectId !== projectId) throw queryError(404, 'notFound', `Not found: Job ${projectId}:${jobId}`);
    return job;
  }

  function jobResource(job: Job): Record<string, unknown> {
    const milliseconds = String(job.createdAtMs);
    return {
      kind: 'bigquery#job',
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      jobReference: reference(job),
      configuration: { jobType: 'QUERY', query: { query: job.query, useLegacySql: false } },
      status: { state: 'DONE' },
      statistics: { creationTime: milliseconds, startTime: milliseconds, endTime: milliseconds, query: { totalBytesProcessed: '0', cacheHit: false } },
    };
  }

  /** One page of a job's rows, as `jobs.query` and `jobs.getQueryResults` return them. */
  function resultPage(job: Job, kind: string, maxResults: number | undefined, offset: number): Record<string, unknown> {
    const { columns, rows } = job;
    const end = Math.min(rows.length, offset + (maxResults ?? 100_000));
    return {
      kind,
      jobReference: reference(job),
      schema: { fields: columns.map((column) => ({ name: column.name, type: column.type, mode: 'NULLABLE' })) },
      rows: rows.slice(offset, end).map((row) => ({ f: columns.map((column) => ({ v: encodeValue(row[column.name]) })) })),
      totalRows: String(rows.length),
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
      ...(end < rows.length ? { pageToken: String(end) } : {}),
    };
  }

  /** `jobs.query` (answering the first page of rows) and `jobs.insert` of a query job (answering the job). */
  function startQuery(request: MockRequest, insert: boolean): MockAnswer {
    type Settings = { query?: unknown; useLegacySql?: unknown; maxResults?: unknown; location?: unknown };
    const fields = jsonOf(request) as Settings & { configuration?: { query?: Settings }; jobReference?: { jobId?: unknown; location?: unknown } };
    const settings = insert ? fields.configuration?.query : fields;
    if (settings === undefined) return googleError(400, 'INVALID_ARGUMENT', 'The BigQuery mock runs query jobs only: configuration.query is required.', 'invalid');
    const sql = typeof settings.query === 'string' ? settings.query : '';
    counts.queries += 1;
    if (settings.useLegacySql === true) return { ...legacySqlError(), log: { query: sql } };
    const { jobId, location } = insert ? (fields.jobReference ?? {}) : { jobId: undefined, location: fields.location };
    const job = createJob(request.params[0] ?? '', sql, typeof location === 'string' ? location : undefined, typeof jobId === 'string' ? jobId : undefined);
    const body = insert ? jobResource(job) : resultPage(job, 'bigquery#queryResponse', typeof fields.maxResults === 'number' ? fields.maxResults : undefined, 0);
    return { ...json(200, body), log: { query: sql } };
  }

  function getQueryResults({ params: [projectId = '', jobId = ''], url: { searchParams } }: MockRequest): MockAnswer {
    const maxResults = searchParams.has('maxResults') ? Number(searchParams.get('maxResults')) : undefined;
    const offset = Number(searchParams.get('pageToken') ?? searchParams.get('startIndex') ?? '0');
    return json(200, resultPage(findJob(projectId, jobId), 'bigquery#getQueryResultsResponse', maxResults, Number.isSafeInteger(offset) ? offset : 0));
  }

  const getJob = ({ params: [projectId = '', jobId = ''] }: MockRequest): MockAnswer => json(200, jobResource(findJob(projectId, jobId)));
  const service = createMockService<'bigquery', MockBigQueryRequest>({
    name: 'Mock BigQuery',
    defaultService: 'bigquery',
    routes: [
      { service: 'bigquery', method: 'POST', path: new RegExp(`${PROJECT}/queries$`), handle: (request) => startQuery(request, false) },
      { service: 'bigquery', method: 'GET', path: new RegExp(`${PROJECT}/queries/([^/]+)$`), handle: getQueryResults },
      { service: 'bigquery', method: 'POST', path: new RegExp(`${PROJECT}/jobs$`), handle: (request) => startQuery(request, true) },
      { service: 'bigquery', method: 'GET', path: new RegExp(`${PROJECT}/jobs/([^/]+)$`), handle: getJob },
      { service: 'bigquery', path: new RegExp(`${PROJECT}/(queries|jobs)(/[^/]+)?$`), handle: unserved(405, 'INVALID_ARGUMENT', 'invalid') },
      { service: 'bigquery', path: /^\/.*$/, handle: unserved(404, 'NOT_FOUND', 'notFound') },
    ],
    notFound: () => googleError(404, 'NOT_FOUND', 'Not found.', 'notFound'),
    record: (request) => ({ method: request.method, path: request.url.pathname + request.url.search, status: 0 }),
    finish: recordStatus,
    async guard(request) {
      const accessToken = bearerToken(request);
      if (accessToken !== undefined && (await verifyAccessToken(accessToken))) return undefined;
      counts.unauthenticated += 1;
      return googleError(401, 'UNAUTHENTICATED', UNAUTHENTICATED, 'authError');
    },
    renderFailure: (failure) => googleFailure(failure, failure.status >= 500 ? 'backendError' : 'invalid'),
  });
  const listening = await service.listen();

  return {
    endpoint: listening.url,
    counters: counts,
    putTable,
    clientOptions: () => ({ apiEndpoint: listening.url }),
    ...mockLifecycle(service, listening),
  };
}

/** Asks a mock GCP's Storage API whether it knows the token: only an unknown or expired one gets a 401. */
function probeStorage(storageEndpoint: string): MockBigQueryTokenVerifier {
  return async (accessToken) => {
    const response = await fetch(new URL(PROBE_PATH, storageEndpoint), { headers: { authorization: `Bearer ${accessToken}` } });
    await response.body?.cancel();
    return response.status !== 401;
  };
}

const unserved = (code: number, status: string, reason: string) => ({ method, url }: MockRequest): MockAnswer =>
  googleError(code, status, `The BigQuery mock does not serve ${method} ${url.pathname}.`, reason);

const reference = (job: Job): Record<string, string> => ({ projectId: job.projectId, jobId: job.jobId, location: job.location });

function inferColumns(tableName: string, rows: MockBigQueryRow[]): Column[] {
  const columns = new Map<string, Column['type'] | undefined>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row)) {
      const type = valueType(tableName, name, value);
      const known = columns.get(name);
      if (known !== undefined && type !== undefined && known !== type) {
        throw new TypeError(`createMockBigQuery: column ${name} of ${tableName} holds both ${known} and ${type} values.`);
      }
      columns.set(name, known ?? type);
    }
  }
  return [...columns].map(([name, type]) => ({ name, type: type ?? 'STRING' }));
}

function valueType(tableName: string, column: string, value: MockBigQueryValue | undefined): Column['type'] | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return 'STRING';
  if (typeof value === 'bigint') return 'INTEGER';
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'INTEGER' : 'FLOAT';
  if (typeof value === 'boolean') return 'BOOLEAN';
  if (value instanceof Date) return 'TIMESTAMP';
  if (value instanceof Uint8Array) return 'BYTES';
  throw new TypeError(`createMockBigQuery: column ${column} of ${tableName} has a value the mock cannot type; use string, number, bigint, boolean, Date, Uint8Array or null.`);
}

/** A cell as BigQuery's JSON carries it: strings, with TIMESTAMP as int64 microseconds (`formatOptions.useInt64Timestamp`). */
function encodeValue(value: MockBigQueryValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return String(BigInt(value.getTime()) * 1000n);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return String(value);
}

const legacySqlError = (): MockAnswer =>
  googleError(400, 'INVALID_ARGUMENT', 'The BigQuery mock speaks standard SQL only: leave useLegacySql unset or false.', 'invalidQuery');

function jsonOf(request: MockRequest): unknown {
  if (request.json === undefined) throw queryError(400, 'parseError', 'Invalid JSON payload received.');
  return request.json;
}

