// Queries a Databricks SQL warehouse with a Databricks token obtained from Skyporten by workspace federation.
//
// `createTokenExchange({ ...databricks({ workspace, clientId }), maskinporten })` exchanges the Skyporten token at
// https://<workspace>/oidc/v1/token (RFC 8693, scope all-apis) for a Databricks OAuth token, caches it, and
// `exchange.fetch` calls the SQL Statement Execution API (POST /api/2.0/sql/statements) with it.
//
// Local mode (default): a mock Skyporten issuer and a stand-in workspace (workspace.ts) on 127.0.0.1.
// Real mode: set DATABRICKS_HOST, DATABRICKS_CLIENT_ID and DATABRICKS_WAREHOUSE_ID (and the Maskinporten variables);
// see README.md.
import { fileURLToPath } from 'node:url';
import { createMaskinportenClient } from '@skyporten/core';
import { createTokenExchange, databricks, TokenExchangeError, type TokenExchange } from '@skyporten/exchange';
import { createMockSkyporten } from '@skyporten/testing';
import { createStandInWorkspace, type RecordedCall } from './workspace.ts';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
/** An organisation without a federation policy on the service principal. */
const OTHER_ORGANISATION_NUMBER = '974760673';
const SERVICE_PRINCIPAL = '6f1e9a52-3c0b-4d8e-9a71-2b5c8d0e4f13';
const WAREHOUSE_ID = 'a1b2c3d4e5f6a7b8';
const DEPARTURES = 'skyporten_demo.shared.departures';
const STATIONS = 'skyporten_demo.shared.stations';

/** A statement's result: column names and rows (values as strings, the JSON_ARRAY format). */
export interface StatementResult {
  columns: string[];
  rows: string[][];
}

/**
 * Runs one statement with the SQL Statement Execution API and returns its inline result. Waits up to 30 s on the
 * server (`wait_timeout`); a statement still running then is cancelled (`on_wait_timeout: CANCEL`) and reported.
 */
export async function executeStatement(exchange: TokenExchange, workspace: string, warehouseId: string, statement: string): Promise<StatementResult> {
  const response = await exchange.fetch(new URL('/api/2.0/sql/statements', workspace), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ warehouse_id: warehouseId, statement, wait_timeout: '30s', on_wait_timeout: 'CANCEL', disposition: 'INLINE', format: 'JSON_ARRAY' }),
  });
  const text = await response.text();
  let body: {
    error_code?: string;
    message?: string;
    status?: { state?: string; error?: { message?: string } };
    manifest?: { schema?: { columns?: Array<{ name: string }> } };
    result?: { data_array?: string[][] };
  };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`The Statement Execution API answered ${response.status} with ${response.headers.get('content-type') ?? 'no content type'}, not JSON: check DATABRICKS_HOST.`);
  }
  if (!response.ok) throw new Error(`The Statement Execution API refused the statement (${response.status} ${body.error_code ?? ''}: ${body.message ?? ''}).`);
  const state = body.status?.state;
  if (state !== 'SUCCEEDED') throw new Error(`The statement ended ${state ?? 'without a state'}${body.status?.error?.message ? `: ${body.status.error.message}` : ''}.`);
  return { columns: (body.manifest?.schema?.columns ?? []).map((column) => column.name), rows: body.result?.data_array ?? [] };
}

function printResult(statement: string, result: StatementResult): void {
  console.log(`${statement} → ${result.rows.length} rows (${result.columns.join(', ')}):`);
  for (const row of result.rows) console.log(`  ${row.join(' | ')}`);
}

/** What the local run did, for its printout and its test. Holds no token. */
export interface LocalRunResult {
  departures: StatementResult;
  stations: StatementResult;
  /** Token exchanges and statement requests the stand-in workspace answered, in order. */
  exchanges: RecordedCall[];
  statements: RecordedCall[];
  /** POSTs to the mock Skyporten token endpoint. */
  tokenRequests: number;
  /** The status and error code the statements API answered the Skyporten token itself (not exchanged). */
  skyportenTokenRefused: { status: number; errorCode: string };
  /** The typed error for an organisation the workspace has no federation policy for. */
  wrongOrganisation: { name: string; code: string; status: number | undefined; oauthError: string | undefined; hint: string | undefined; message: string };
}

/** On this machine: mock issuer + stand-in workspace, nothing leaves 127.0.0.1. Prints and returns what happened. */
export async function runLocal(): Promise<LocalRunResult> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const other = await issuer.registerClient({ scopes: [SCOPE], orgNo: OTHER_ORGANISATION_NUMBER });
  const subject = `${registered.consumerId};${SCOPE}`;
  const workspace = await createStandInWorkspace({
    issuer: issuer.issuer,
    policies: [{ servicePrincipal: SERVICE_PRINCIPAL, issuer: issuer.issuer, audiences: [RESOURCE], subject }],
    warehouses: { [WAREHOUSE_ID]: [SERVICE_PRINCIPAL] },
    tables: {
      [DEPARTURES]: {
        columns: [{ name: 'line', type: 'STRING' }, { name: 'station', type: 'STRING' }, { name: 'departure', type: 'STRING' }],
        rows: [['L1', 'Oslo S', '08:02'], ['L2', 'Lillestrøm', '08:14'], ['R10', 'Drammen', '08:21'], ['R11', 'Asker', '08:30']],
      },
      [STATIONS]: {
        columns: [{ name: 'station', type: 'STRING' }, { name: 'platforms', type: 'INT' }],
        rows: [['Oslo S', '19'], ['Lillestrøm', '6']],
      },
    },
  });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; stand-in Databricks workspace at ${workspace.url}`);
    console.log(`Federation policy on service principal ${SERVICE_PRINCIPAL}: issuer ${issuer.issuer}, audience ${RESOURCE}, subject "${subject}"`);

    const client = (key: typeof registered) =>
      createMaskinportenClient({ issuer: issuer.issuer, clientId: key.clientId, scope: SCOPE, resource: RESOURCE, key: { privateKey: key.privateKey, kid: key.kid }, env: false });
    const maskinporten = client(registered);
    const exchange = createTokenExchange({ ...databricks({ workspace: workspace.url, clientId: SERVICE_PRINCIPAL }), maskinporten });

    const departuresStatement = `SELECT * FROM ${DEPARTURES} LIMIT 3`;
    const stationsStatement = `SELECT * FROM ${STATIONS}`;
    const departures = await executeStatement(exchange, workspace.url, WAREHOUSE_ID, departuresStatement);
    const stations = await executeStatement(exchange, workspace.url, WAREHOUSE_ID, stationsStatement);
    printResult(departuresStatement, departures);
    printResult(stationsStatement, stations);
    const tokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(`2 statements through exchange.fetch: ${plural(workspace.exchanges.length, 'token exchange')}, ${plural(tokenRequests, 'Skyporten token request')}.`);

    // The Skyporten token itself is not a Databricks credential: only the token the workspace issued is accepted.
    const direct = await fetch(new URL('/api/2.0/sql/statements', workspace.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${await maskinporten.getAccessToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ warehouse_id: WAREHOUSE_ID, statement: departuresStatement }),
    });
    const skyportenTokenRefused = { status: direct.status, errorCode: ((await direct.json()) as { error_code?: string }).error_code ?? '' };
    console.log(`The statements API refused the Skyporten token itself: ${skyportenTokenRefused.status} ${skyportenTokenRefused.errorCode}.`);

    // Another organisation's token: the service principal has no federation policy for its subject.
    const otherExchange = createTokenExchange({ ...databricks({ workspace: workspace.url, clientId: SERVICE_PRINCIPAL }), maskinporten: client(other) });
    const error = await otherExchange.getToken().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!TokenExchangeError.isInstance(error)) throw new Error(`Organisation ${OTHER_ORGANISATION_NUMBER} was not refused with a TokenExchangeError.`, { cause: error });
    const wrongOrganisation = { name: error.name, code: error.code, status: error.status, oauthError: error.oauthError, hint: error.hint, message: error.message };
    console.log(`Organisation ${OTHER_ORGANISATION_NUMBER} (no federation policy) was refused: ${error.name} ${error.code} (${error.status} ${error.oauthError})`);
    console.log(`  ${error.message}`);
    console.log(`  hint: ${error.hint}`);

    return { departures, stations, exchanges: [...workspace.exchanges], statements: [...workspace.statements], tokenRequests, skyportenTokenRefused, wrongOrganisation };
  } finally {
    await workspace.close();
    await issuer.close();
  }
}

/** Against a real workspace: everything comes from the environment (see README.md). */
async function runReal(host: string, clientId: string, warehouseId: string): Promise<void> {
  const workspace = /^https?:\/\//.test(host) ? host : `https://${host}`;
  const exchange = createTokenExchange({ ...databricks({ workspace, clientId }), maskinporten: createMaskinportenClient() });
  const statement = process.env.DATABRICKS_STATEMENT ?? 'SELECT current_user() AS principal, current_timestamp() AS now';
  printResult(statement, await executeStatement(exchange, workspace, warehouseId, statement));
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A real workspace when DATABRICKS_HOST, DATABRICKS_CLIENT_ID and DATABRICKS_WAREHOUSE_ID are set, else the local stand-ins. */
export async function main(): Promise<void> {
  const { DATABRICKS_HOST: host, DATABRICKS_CLIENT_ID: clientId, DATABRICKS_WAREHOUSE_ID: warehouseId } = process.env;
  if (host && clientId && warehouseId) await runReal(host, clientId, warehouseId);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
