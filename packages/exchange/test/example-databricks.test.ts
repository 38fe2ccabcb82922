import { createMockSkyporten } from '@skyporten/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenExchange, databricks } from '../src/index.ts';
import { ORG, RESOURCE, SCOPE, skyporten } from './helpers.ts';

// Imported by URL: the example is its own TypeScript project (tsc -b checks it there).
const exampleUrl = new URL('../../../examples/databricks/index.ts', import.meta.url).href;
const workspaceUrl = new URL('../../../examples/databricks/workspace.ts', import.meta.url).href;

interface Call { path: string; status: number; error?: string; servicePrincipal?: string }
interface StatementResult { columns: string[]; rows: string[][] }
const { runLocal, executeStatement } = (await import(exampleUrl)) as {
  runLocal(): Promise<{
    departures: StatementResult;
    stations: StatementResult;
    exchanges: Call[];
    statements: Call[];
    tokenRequests: number;
    skyportenTokenRefused: { status: number; errorCode: string };
    wrongOrganisation: { name: string; code: string; status?: number; oauthError?: string; hint?: string; message: string };
  }>;
  executeStatement(exchange: ReturnType<typeof createTokenExchange>, workspace: string, warehouseId: string, statement: string): Promise<StatementResult>;
};
const { createStandInWorkspace } = (await import(workspaceUrl)) as {
  createStandInWorkspace(options: {
    issuer: string;
    policies: Array<{ servicePrincipal: string; issuer: string; audiences: string[]; subject: string }>;
    warehouses: Record<string, string[]>;
    tables: Record<string, { columns: Array<{ name: string; type: 'STRING' | 'INT' }>; rows: string[][] }>;
  }): Promise<{ url: string; exchanges: Call[]; statements: Call[]; close(): Promise<void> }>;
};

const SUBJECT = `0192:${ORG};${SCOPE}`;
const PRINCIPAL = 'sp-reader';
const OTHER_PRINCIPAL = 'sp-without-warehouse';
const WAREHOUSE = 'wh1';
const TABLE = 'demo.shared.lines';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) await close();
});

describe('examples/databricks', () => {
  it('runs statements with the token the stand-in workspace issued for the Skyporten token, caches it, and refuses another organisation', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
    for (const name of ['DATABRICKS_HOST', 'DATABRICKS_CLIENT_ID', 'DATABRICKS_WAREHOUSE_ID']) delete process.env[name];
    const result = await runLocal();

    expect(result.departures).toEqual({ columns: ['line', 'station', 'departure'], rows: [['L1', 'Oslo S', '08:02'], ['L2', 'Lillestrøm', '08:14'], ['R10', 'Drammen', '08:21']] });
    expect(result.stations.rows).toEqual([['Oslo S', '19'], ['Lillestrøm', '6']]);
    // Two statements, accepted as the service principal the federation policy names; one exchange, one Skyporten token.
    const principal = result.exchanges[0]?.servicePrincipal;
    expect(principal).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.statements.slice(0, 2)).toEqual([
      { path: '/api/2.0/sql/statements', status: 200, servicePrincipal: principal },
      { path: '/api/2.0/sql/statements', status: 200, servicePrincipal: principal },
    ]);
    // The Skyporten token itself is refused by the API, and so is the other organisation's exchange.
    expect(result.statements[2]).toEqual({ path: '/api/2.0/sql/statements', status: 401, error: 'UNAUTHENTICATED' });
    expect(result.skyportenTokenRefused).toEqual({ status: 401, errorCode: 'UNAUTHENTICATED' });
    expect(result.exchanges).toEqual([
      { path: '/oidc/v1/token', status: 200, servicePrincipal: principal },
      { path: '/oidc/v1/token', status: 400, error: 'invalid_grant' },
    ]);
    expect(result.tokenRequests).toBe(1);
    expect(result.wrongOrganisation).toMatchObject({ name: 'TokenExchangeError', code: 'CLOUD_EXCHANGE_FAILED', status: 400, oauthError: 'invalid_grant' });
    expect(result.wrongOrganisation.message).toContain('subject "0192:974760673;entur:skyporten.demo" is not the policy subject');
    expect(result.wrongOrganisation.hint).toMatch(/federation policy must name the token's issuer, its audience/);

    const output = lines.join('\n');
    expect(output).toContain('2 statements through exchange.fetch: 1 token exchange, 1 Skyporten token request.');
    expect(output).toContain('refused the Skyporten token itself: 401 UNAUTHENTICATED');
    expect(output).toContain('hint: The target does not trust this Skyporten token');
    expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(output).not.toMatch(/dsi[0-9a-f]{48}/);
  });
});

async function standIn() {
  const sky = await skyporten();
  const workspace = await createStandInWorkspace({
    issuer: sky.issuer.issuer,
    policies: [
      { servicePrincipal: PRINCIPAL, issuer: sky.issuer.issuer, audiences: [RESOURCE], subject: SUBJECT },
      { servicePrincipal: OTHER_PRINCIPAL, issuer: sky.issuer.issuer, audiences: [RESOURCE], subject: SUBJECT },
    ],
    warehouses: { [WAREHOUSE]: [PRINCIPAL] },
    tables: { [TABLE]: { columns: [{ name: 'line', type: 'STRING' }], rows: [['L1'], ['L2']] } },
  });
  closers.push(() => workspace.close());
  const claims = { aud: RESOURCE, sub: SUBJECT, scope: SCOPE, consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${ORG}` } };
  return { ...sky, workspace, claims };
}

async function exchangeRaw(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', scope: 'all-apis', client_id: PRINCIPAL, ...fields });
  const response = await fetch(`${url}/oidc/v1/token`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function statementRaw(url: string, authorization: string | undefined, warehouse = WAREHOUSE): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/2.0/sql/statements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify({ warehouse_id: warehouse, statement: `SELECT * FROM ${TABLE}` }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('the stand-in workspace checks what a Databricks federation policy checks', () => {
  it('accepts a token signed by the issuer with the policy issuer, audience and subject, and answers statements with what it issued', async () => {
    const { workspace, issuer, claims } = await standIn();
    const answer = await exchangeRaw(workspace.url, { subject_token: await issuer.signAccessToken(claims, { expiresInSeconds: 120 }) });
    expect(answer).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'all-apis' } });
    // No longer than the subject token: Databricks derives the lifetime from the federated token's.
    expect(answer.body.expires_in).toBeGreaterThanOrEqual(118);
    expect(answer.body.expires_in).toBeLessThanOrEqual(120);
    const accessToken = String(answer.body.access_token);
    const statement = await statementRaw(workspace.url, `Bearer ${accessToken}`);
    expect(statement.status).toBe(200);
    expect(statement.body).toMatchObject({ status: { state: 'SUCCEEDED' }, result: { data_array: [['L1'], ['L2']] } });
  });

  it.each([
    ['another issuer key (same iss)', 'foreign', /kid|signature/],
    ['a tampered payload (sub changed after signing)', 'tampered', /signature does not verify/],
    ['alg none', 'none', /unsupported signing algorithm none/],
    ['another issuer', { iss: 'https://sky.maskinporten.no' }, /issuer "https:\/\/sky.maskinporten.no" is not the policy issuer/],
    ['another audience', { aud: 'https://other.example.org' }, /audience "https:\/\/other.example.org" is not one of the policy audiences/],
    ['another subject (organisation)', { sub: '0192:974760673;entur:skyporten.demo' }, /subject "0192:974760673;entur:skyporten.demo" is not the policy subject/],
    ['another subject (scope)', { sub: `0192:${ORG};entur:other` }, /is not the policy subject/],
    ['an expired token', { iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }, /expired/],
  ] as const)('refuses a subject token with %s (invalid_grant), and issues nothing', async (_name, change, description) => {
    const { workspace, issuer, claims } = await standIn();
    let token: string;
    if (change === 'foreign') {
      const foreign = await createMockSkyporten();
      closers.push(() => foreign.close());
      token = await foreign.signAccessToken({ ...claims, iss: issuer.issuer });
    } else if (change === 'tampered') {
      const [header, , signature] = (await issuer.signAccessToken({ ...claims, sub: '0192:974760673;entur:skyporten.demo' })).split('.');
      const payload = part({ ...claims, iss: issuer.issuer, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 120 });
      token = `${header}.${payload}.${signature}`;
    } else if (change === 'none') {
      const [, payload] = (await issuer.signAccessToken(claims)).split('.');
      token = `${part({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    } else {
      token = await issuer.signAccessToken({ ...claims, ...change });
    }
    const answer = await exchangeRaw(workspace.url, { subject_token: token });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_grant');
    expect(String(answer.body.error_description)).toMatch(description);
    expect(answer.body.access_token).toBeUndefined();
    expect(workspace.exchanges).toEqual([{ path: '/oidc/v1/token', status: 400, error: 'invalid_grant' }]);
  });

  it.each([
    ['an unknown client_id', { client_id: 'sp-unknown' }, 401, 'invalid_client'],
    ['no client_id', { client_id: '' }, 401, 'invalid_client'],
    ['another scope', { scope: 'sql' }, 400, 'invalid_scope'],
    ['another grant type', { grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
    ['another subject token type', { subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 400, 'invalid_request'],
  ] as const)('refuses an exchange with %s', async (_name, fields, status, error) => {
    const { workspace, issuer, claims } = await standIn();
    const answer = await exchangeRaw(workspace.url, { subject_token: await issuer.signAccessToken(claims), ...fields });
    expect(answer).toMatchObject({ status, body: { error } });
    expect(answer.body.access_token).toBeUndefined();
  });

  it('answers statements only for a token it issued, on a warehouse the service principal may use', async () => {
    const { workspace, issuer, claims, maskinporten } = await standIn();
    expect(await statementRaw(workspace.url, undefined)).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
    expect(await statementRaw(workspace.url, `Bearer ${await maskinporten.getAccessToken()}`)).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
    expect(await statementRaw(workspace.url, `Bearer dsi${'0'.repeat(48)}`)).toMatchObject({ status: 401 });

    const other = await exchangeRaw(workspace.url, { subject_token: await issuer.signAccessToken(claims), client_id: OTHER_PRINCIPAL });
    expect(other.status).toBe(200);
    expect(await statementRaw(workspace.url, `Bearer ${String(other.body.access_token)}`)).toMatchObject({ status: 403, body: { error_code: 'PERMISSION_DENIED' } });

    const exchange = createTokenExchange({ ...databricks({ workspace: workspace.url, clientId: PRINCIPAL }), maskinporten });
    expect(await statementRaw(workspace.url, await exchange.getAuthorizationHeader(), 'wh-unknown')).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    await expect(executeStatement(exchange, workspace.url, WAREHOUSE, `SELECT * FROM ${TABLE} LIMIT 1`)).resolves.toEqual({ columns: ['line'], rows: [['L1']] });
    await expect(executeStatement(exchange, workspace.url, WAREHOUSE, 'DROP TABLE demo.shared.lines')).rejects.toThrow(/400 INVALID_PARAMETER_VALUE/);
    expect(workspace.statements.map((call) => call.status)).toEqual([401, 401, 401, 403, 404, 200, 400]);
  });
});
