// A local stand-in for a Databricks workspace, for the example and its test. It is not Databricks: it implements
// only what this example needs, with the checks a real workspace makes (as Databricks documents them):
//
//   POST /oidc/v1/token            RFC 8693 token exchange under a service-principal federation policy: the
//                                  subject token's RS256 signature is verified against the issuer's JWKS (read from
//                                  its /.well-known/openid-configuration), then `iss`, `exp`/`nbf`, `aud` and `sub`
//                                  are compared with the policies of the service principal named by `client_id`.
//   POST /api/2.0/sql/statements   SQL Statement Execution API: answers only a token this workspace issued, on a
//                                  warehouse the service principal may use, for `SELECT * FROM <table> [LIMIT n]`.
import { createPublicKey, randomBytes, randomUUID, verify, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** A service-principal federation policy, as a Databricks account admin creates it. */
export interface FederationPolicy {
  /** The service principal's application id (the `client_id` of the exchange). */
  servicePrincipal: string;
  /** Exact `iss` of accepted tokens. */
  issuer: string;
  /** Accepted `aud` values; one must be in the token. */
  audiences: string[];
  /** Exact `sub` of accepted tokens. */
  subject: string;
}

/** A table the stand-in warehouse can answer `SELECT *` for; values are strings, as in the JSON_ARRAY format. */
export interface StandInTable {
  columns: Array<{ name: string; type: 'STRING' | 'INT' | 'TIMESTAMP' }>;
  rows: string[][];
}

export interface StandInWorkspaceOptions {
  /** The Skyporten issuer whose discovery document and JWKS are trusted. */
  issuer: string;
  policies: FederationPolicy[];
  /** Warehouse id → the service principals with CAN USE on it. */
  warehouses: Record<string, string[]>;
  /** Full table name (`catalog.schema.table`) → its contents. */
  tables: Record<string, StandInTable>;
  /**
   * Longest `expires_in` of issued tokens. As Databricks documents, a token lives no longer than the subject token
   * it was exchanged for (for a Skyporten token, about 120 s). @default 3600
   */
  maxTokenLifetimeSeconds?: number;
}

/** One request the stand-in answered. Holds no token. */
export interface RecordedCall {
  path: string;
  status: number;
  /** OAuth `error` or Databricks `error_code` of a refusal. */
  error?: string;
  /** The service principal the request acted as, when known. */
  servicePrincipal?: string;
}

export interface StandInWorkspace {
  /** `http://127.0.0.1:<port>`, to pass as `workspace`. */
  url: string;
  /** Every token exchange, in order. */
  exchanges: RecordedCall[];
  /** Every statement request, in order. */
  statements: RecordedCall[];
  close(): Promise<void>;
}

class Refusal extends Error {
  readonly status: number;
  readonly body: Record<string, string>;
  constructor(status: number, body: Record<string, string>) {
    super(body.error_description ?? body.message);
    this.status = status;
    this.body = body;
  }
}

const oauthRefusal = (status: number, error: string, description: string) => new Refusal(status, { error, error_description: description });
const apiRefusal = (status: number, code: string, message: string) => new Refusal(status, { error_code: code, message });

function decodePart(part: string | undefined): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

/** Verifies an RS256 JWT against `keys` and returns its claims; throws with the reason otherwise. */
function verifyJwt(token: string, keys: Array<JsonWebKey & { kid?: string }>, now: number): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('the subject token is not a JWT');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodePart(parts[0]);
    claims = decodePart(parts[1]);
  } catch {
    throw new Error('the subject token is not a JWT');
  }
  if (header.alg !== 'RS256') throw new Error(`unsupported signing algorithm ${String(header.alg)}`);
  const jwk = keys.find((key) => key.kid === header.kid);
  if (jwk === undefined) throw new Error(`no key with kid ${String(header.kid)} in the issuer's JWKS`);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!verify('RSA-SHA256', signed, createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(parts[2] ?? '', 'base64url'))) {
    throw new Error('the subject token signature does not verify against the issuer JWKS');
  }
  const seconds = now / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= seconds) throw new Error('the subject token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf > seconds + 30) throw new Error('the subject token is not valid yet');
  return claims;
}

/** Why `claims` do not match `policy`, or undefined when they do. */
function mismatch(policy: FederationPolicy, claims: Record<string, unknown>): string | undefined {
  if (claims.iss !== policy.issuer) return `issuer "${String(claims.iss)}" is not the policy issuer`;
  const audiences = [claims.aud].flat();
  if (!policy.audiences.some((audience) => audiences.includes(audience))) return `audience ${JSON.stringify(claims.aud)} is not one of the policy audiences`;
  if (claims.sub !== policy.subject) return `subject "${String(claims.sub)}" is not the policy subject`;
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > 65_536) throw apiRefusal(413, 'INVALID_PARAMETER_VALUE', 'request body too large');
  }
  return body;
}

/** Starts the stand-in on 127.0.0.1. Reads the issuer's discovery document and JWKS once, at start. */
export async function createStandInWorkspace(options: StandInWorkspaceOptions): Promise<StandInWorkspace> {
  const discovery = (await (await fetch(new URL('.well-known/openid-configuration', `${options.issuer.replace(/\/$/, '')}/`))).json()) as { issuer?: string; jwks_uri?: string };
  if (discovery.issuer !== options.issuer || typeof discovery.jwks_uri !== 'string') throw new Error(`The discovery document of ${options.issuer} does not name it as issuer, or has no jwks_uri.`);
  const { keys } = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<JsonWebKey & { kid?: string }> };
  const maxLifetime = options.maxTokenLifetimeSeconds ?? 3600;
  const issued = new Map<string, { servicePrincipal: string; expiresAt: number }>();
  const exchanges: RecordedCall[] = [];
  const statements: RecordedCall[] = [];

  async function exchange(request: IncomingMessage): Promise<{ body: Record<string, unknown>; servicePrincipal: string }> {
    if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      throw oauthRefusal(400, 'invalid_request', 'the request must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(await readBody(request));
    if (form.get('grant_type') !== TOKEN_EXCHANGE) throw oauthRefusal(400, 'unsupported_grant_type', `grant_type must be ${TOKEN_EXCHANGE}`);
    if (form.get('subject_token_type') !== JWT_TYPE) throw oauthRefusal(400, 'invalid_request', `subject_token_type must be ${JWT_TYPE}`);
    if (!(form.get('scope') ?? '').split(' ').includes('all-apis')) throw oauthRefusal(400, 'invalid_scope', 'scope must include all-apis');
    const servicePrincipal = form.get('client_id') ?? '';
    const policies = options.policies.filter((policy) => policy.servicePrincipal === servicePrincipal);
    if (policies.length === 0) throw oauthRefusal(401, 'invalid_client', `no service principal federation policy for client_id "${servicePrincipal}"`);
    let claims: Record<string, unknown>;
    try {
      claims = verifyJwt(form.get('subject_token') ?? '', keys, Date.now());
    } catch (error) {
      throw oauthRefusal(400, 'invalid_grant', (error as Error).message);
    }
    const reasons = policies.map((policy) => mismatch(policy, claims));
    if (!reasons.includes(undefined)) throw oauthRefusal(400, 'invalid_grant', `no federation policy of the service principal matches: ${reasons.join('; ')}`);
    const lifetime = Math.max(1, Math.min(maxLifetime, Math.floor((claims.exp as number) - Date.now() / 1000)));
    const accessToken = `dsi${randomBytes(24).toString('hex')}`;
    issued.set(accessToken, { servicePrincipal, expiresAt: Date.now() + lifetime * 1000 });
    return { body: { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: 'all-apis' }, servicePrincipal };
  }

  async function statement(request: IncomingMessage): Promise<{ body: Record<string, unknown>; servicePrincipal: string }> {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const session = bearer === undefined ? undefined : issued.get(bearer);
    if (session === undefined || session.expiresAt <= Date.now()) {
      throw apiRefusal(401, 'UNAUTHENTICATED', 'Credential was not sent, was not issued by this workspace, or has expired.');
    }
    const { servicePrincipal } = session;
    let body: { warehouse_id?: unknown; statement?: unknown };
    try {
      body = JSON.parse(await readBody(request)) as typeof body;
    } catch {
      throw Object.assign(apiRefusal(400, 'MALFORMED_REQUEST', 'the body is not JSON'), { servicePrincipal });
    }
    const canUse = typeof body.warehouse_id === 'string' ? options.warehouses[body.warehouse_id] : undefined;
    if (canUse === undefined) throw Object.assign(apiRefusal(404, 'RESOURCE_DOES_NOT_EXIST', `warehouse ${String(body.warehouse_id)} does not exist`), { servicePrincipal });
    if (!canUse.includes(servicePrincipal)) {
      throw Object.assign(apiRefusal(403, 'PERMISSION_DENIED', `the service principal does not have CAN USE on warehouse ${String(body.warehouse_id)}`), { servicePrincipal });
    }
    const match = /^\s*SELECT\s+\*\s+FROM\s+([\w.]+)(?:\s+LIMIT\s+(\d+))?\s*;?\s*$/i.exec(typeof body.statement === 'string' ? body.statement : '');
    const table = match?.[1] === undefined ? undefined : options.tables[match[1]];
    if (table === undefined) {
      throw Object.assign(apiRefusal(400, 'INVALID_PARAMETER_VALUE', 'the stand-in runs only SELECT * FROM <known table> [LIMIT n]'), { servicePrincipal });
    }
    const rows = table.rows.slice(0, match?.[2] === undefined ? undefined : Number(match[2]));
    return {
      servicePrincipal,
      body: {
        statement_id: randomUUID(),
        status: { state: 'SUCCEEDED' },
        manifest: {
          format: 'JSON_ARRAY',
          schema: { column_count: table.columns.length, columns: table.columns.map((column, position) => ({ name: column.name, type_name: column.type, type_text: column.type, position })) },
          total_chunk_count: 1,
          total_row_count: rows.length,
          truncated: false,
        },
        result: { chunk_index: 0, row_offset: 0, row_count: rows.length, data_array: rows },
      },
    };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    const route = request.method === 'POST' && path === '/oidc/v1/token' ? exchange : request.method === 'POST' && path === '/api/2.0/sql/statements' ? statement : undefined;
    const log = route === exchange ? exchanges : statements;
    try {
      if (route === undefined) throw apiRefusal(404, 'ENDPOINT_NOT_FOUND', `the stand-in has no ${request.method} ${path}`);
      const { body, servicePrincipal } = await route(request);
      log.push({ path, status: 200, servicePrincipal });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (error) {
      const refusal = error instanceof Refusal ? error : apiRefusal(500, 'INTERNAL_ERROR', 'the stand-in failed');
      const { servicePrincipal } = error as { servicePrincipal?: string };
      log.push({ path, status: refusal.status, error: refusal.body.error ?? refusal.body.error_code ?? '', ...(servicePrincipal === undefined ? {} : { servicePrincipal }) });
      response.writeHead(refusal.status, { 'content-type': 'application/json' }).end(JSON.stringify(refusal.body));
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    statements,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
