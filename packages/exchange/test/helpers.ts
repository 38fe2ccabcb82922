import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMaskinportenClient, type MaskinportenClient } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type RegisteredClient } from '@skyporten/testing';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach } from 'vitest';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORG = '991825827';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A request a loopback target received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (request: Received, response: ServerResponse) => void | Promise<void>;

/** A loopback HTTP server answering with `handler`; closed after each test. */
export async function serve(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      received.push(entry);
      Promise.resolve(handler(entry, response)).catch((error: unknown) => response.writeHead(500).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A mock Skyporten issuer, a registered client and a MaskinportenClient for it. */
export async function skyporten(options: { resource?: string } = {}): Promise<{ issuer: MockSkyporten; client: RegisteredClient; maskinporten: MaskinportenClient }> {
  const issuer = await createMockSkyporten();
  closers.push(() => issuer.close());
  const client = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORG });
  const maskinporten = createMaskinportenClient({
    issuer: issuer.issuer, clientId: client.clientId, scope: SCOPE, resource: options.resource ?? RESOURCE,
    key: { privateKey: client.privateKey, kid: client.kid }, env: false,
  });
  return { issuer, client, maskinporten };
}

/** A role of the mock Vault's JWT auth method. */
export interface VaultRole {
  bound_audiences: string[];
  bound_subject?: string;
  /** Claims that must equal these values; as in Vault, a JSON pointer reads a nested claim (`/consumer/ID`). */
  bound_claims?: Record<string, string>;
  token_ttl: number;
}

/**
 * A stand-in for HashiCorp Vault with a JWT auth method at `/v1/auth/<mount>/login` configured as a provider would:
 * oidc_discovery_url = the issuer, so it reads the issuer's discovery document and verifies the JWT's signature
 * against its JWKS, then checks the role's bound_audiences, bound_subject and bound_claims, answering with Vault's
 * shapes (`{auth: {client_token, lease_duration}}` or `{errors: [...]}`). `GET /v1/secret/data/shared` answers
 * only a token it issued (sent as `Authorization: Bearer` or `X-Vault-Token`).
 */
export async function createMockVault(options: { issuer: string; roles: Record<string, VaultRole>; mount?: string; namespace?: string }) {
  const discovery = (await (await fetch(`${options.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const issued = new Set<string>();
  const logins: Array<{ role: string; jwt: string }> = [];
  const loginPath = `/v1/auth/${options.mount ?? 'jwt'}/login`;
  let counter = 0;
  const server = await serve(async (request, response) => {
    if (options.namespace !== undefined && request.headers['x-vault-namespace'] !== options.namespace) {
      json(response, 403, { errors: ['permission denied'] });
      return;
    }
    if (request.method === 'GET' && request.url === '/v1/secret/data/shared') {
      const token = request.headers['x-vault-token'] ?? request.headers.authorization?.replace(/^Bearer /, '');
      if (typeof token !== 'string' || !issued.has(token)) json(response, 403, { errors: ['permission denied'] });
      else json(response, 200, { data: { data: { greeting: 'hello from vault' } } });
      return;
    }
    if (request.method !== 'POST' || request.url !== loginPath) {
      json(response, 404, { errors: [`no handler for route "${request.url?.slice(4)}". route entry not found.`] });
      return;
    }
    const { role: name, jwt } = JSON.parse(request.body) as { role?: string; jwt?: string };
    if (!name) return json(response, 400, { errors: ['missing role'] });
    if (!jwt) return json(response, 400, { errors: ['missing token'] });
    const role = options.roles[name];
    if (role === undefined) return json(response, 400, { errors: [`role "${name}" could not be found`] });
    logins.push({ role: name, jwt });
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(jwt, jwks, { issuer: discovery.issuer }));
    } catch (error) {
      return json(response, 400, { errors: [`error validating token: ${(error as Error).message}`] });
    }
    const audiences = [claims.aud].flat();
    if (!role.bound_audiences.some((audience) => audiences.includes(audience))) {
      return json(response, 400, { errors: ['error validating claims: aud claim does not match any bound audience'] });
    }
    if (role.bound_subject !== undefined && claims.sub !== role.bound_subject) return json(response, 400, { errors: ['sub claim does not match bound subject'] });
    for (const [claim, value] of Object.entries(role.bound_claims ?? {})) {
      const path = claim.startsWith('/') ? claim.slice(1).split('/') : [claim];
      const actual = path.reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], claims);
      if (actual !== value) return json(response, 400, { errors: [`claim "${claim}" does not match any associated bound claim values`] });
    }
    counter += 1;
    const token = `hvs.mock-${counter}-${Math.random().toString(36).slice(2)}`;
    issued.add(token);
    json(response, 200, { request_id: String(counter), auth: { client_token: token, accessor: `accessor-${counter}`, policies: ['default'], lease_duration: role.token_ttl, renewable: true } });
  });
  return { ...server, logins, issued };
}
