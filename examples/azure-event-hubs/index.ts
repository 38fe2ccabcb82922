// Sends an event to an Azure Event Hub with a TokenCredential from Skyporten (@skyporten/azure).
//
// Local mode (default): starts a mock Skyporten issuer and a mock Entra ID (HTTPS, self-signed) on 127.0.0.1.
// An EventHubProducerClient asks the credential for its token exactly as it does before it opens the AMQP
// connection; there is no Event Hubs namespace here, so the AMQP connection itself fails (by design, to a closed
// local port). The token is then presented to a local stand-in for the Event Hubs REST send endpoint, which
// checks it as Event Hubs does: signature with the tenant's keys, issuer, audience, lifetime and a role
// assignment on the hub. Real mode: set EVENTHUBS_NAMESPACE, EVENTHUB_NAME, AZURE_TENANT_ID and AZURE_CLIENT_ID
// (and the Maskinporten variables); see README.md.
import { createPublicKey, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { EventHubProducerClient } from '@azure/event-hubs';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { skyportenCredentials } from '@skyporten/azure';
import { createMaskinportenClient } from '@skyporten/core';
import { createLocalTlsCertificate, createMockEntraId, createMockSkyporten } from '@skyporten/testing';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const MANAGED_IDENTITY_CLIENT_ID = '3b9d7c1e-5a2f-4e8d-b6c0-7f1a2e4d9c35';
const MANAGED_IDENTITY_PRINCIPAL_ID = 'c5e2a9f4-1d7b-4c3e-8a6f-0b9d2e7c4a18';
const NAMESPACE = 'skyporten-demo.servicebus.windows.net';
const HUB = 'departures';
/** The Event Hubs resource; the SDK asks for `https://eventhubs.azure.net//.default` (its constant has the slash). */
const EVENT_HUBS_AUDIENCES = ['https://eventhubs.azure.net', 'https://eventhubs.azure.net/'];
const DATA_SENDER = 'Azure Event Hubs Data Sender';

/** A role assignment on one hub: what `az role assignment create --assignee-object-id ... --scope .../eventhubs/<hub>` makes. */
export interface RoleAssignment {
  principalId: string;
  role: string;
  hub: string;
}

/** What the local run did, for its printout and its test. Holds no token. */
export interface LocalRunResult {
  /** The scopes the Event Hubs SDK asked the credential for. */
  scopesAsked: string[];
  /** How the SDK's AMQP connection attempt ended (it has no namespace to reach). */
  amqpOutcome: string;
  /** The local Event Hubs stand-in's answers: the event sent with the SDK's token, and the two refusals. */
  send: { status: number; reason: string };
  otherHub: { status: number; reason: string };
  storageToken: { status: number; reason: string };
  /** The events the stand-in accepted. */
  accepted: { hub: string; body: string; principalId: string }[];
  /** Entra ID token requests: the scope asked for and the answer's status. */
  entraRequests: { scope: string | undefined; status: number }[];
  /** Token requests the mock Skyporten issuer answered. */
  skyportenTokenRequests: number;
}

interface Jwk {
  kid?: string;
  kty?: string;
  n?: string;
  e?: string;
}

/**
 * A local stand-in for the Event Hubs REST send endpoint (`POST /<hub>/messages`, `Authorization: Bearer`), with the
 * checks Event Hubs makes of an Entra ID token: RS256 signature with the tenant's keys (fetched from Entra ID's
 * `jwks_uri`), `iss` = `https://sts.windows.net/<tenant>/`, `aud` = the Event Hubs resource, `nbf`/`exp`, and a
 * data-plane role on the hub for the token's `oid`. It is not Event Hubs: it stores the events in memory.
 */
async function startEventHubsStandIn(options: { jwksUri: string; tenantId: string; assignments: RoleAssignment[] }) {
  const accepted: LocalRunResult['accepted'] = [];
  let keys: Jwk[] | undefined;

  async function check(token: string, hub: string): Promise<{ status: number; reason: string; principalId?: string }> {
    const [header, payload, signature] = token.split('.');
    if (header === undefined || payload === undefined || signature === undefined) return { status: 401, reason: 'not a JWT' };
    const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid?: string; alg?: string };
    keys ??= ((await (await fetch(options.jwksUri)).json()) as { keys: Jwk[] }).keys;
    const jwk = keys.find((key) => key.kid === kid);
    if (alg !== 'RS256' || jwk === undefined) return { status: 401, reason: `no signing key ${String(kid)} in the tenant's JWKS` };
    const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n ?? '', e: jwk.e ?? '' }, format: 'jwk' });
    if (!verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return { status: 401, reason: 'bad signature' };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: string; aud?: string; exp?: number; nbf?: number; oid?: string };
    const now = Date.now() / 1000;
    if (claims.iss !== `https://sts.windows.net/${options.tenantId}/`) return { status: 401, reason: `issuer ${String(claims.iss)} is not the tenant` };
    if (!EVENT_HUBS_AUDIENCES.includes(claims.aud ?? '')) return { status: 401, reason: `audience ${String(claims.aud)} is not Event Hubs` };
    if (typeof claims.exp !== 'number' || claims.exp <= now || (claims.nbf ?? 0) > now) return { status: 401, reason: 'expired or not yet valid' };
    const role = options.assignments.find((assignment) => assignment.principalId === claims.oid && assignment.hub === hub && assignment.role === DATA_SENDER);
    if (role === undefined) return { status: 403, reason: `principal ${String(claims.oid)} has no "${DATA_SENDER}" role on ${hub}` };
    return { status: 201, reason: 'accepted', principalId: claims.oid ?? '' };
  }

  const server: Server = createServer((request, response) => {
    const hub = /^\/([^/]+)\/messages$/.exec(request.url ?? '')?.[1];
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, reason: string): void => void response.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
      if (request.method !== 'POST' || hub === undefined) return answer(404, 'POST /<hub>/messages only');
      if (token === undefined) return answer(401, 'missing bearer token');
      check(token, decodeURIComponent(hub)).then(
        (result) => {
          if (result.status === 201) accepted.push({ hub: decodeURIComponent(hub), body: Buffer.concat(chunks).toString(), principalId: result.principalId ?? '' });
          answer(result.status, result.reason);
        },
        (error: unknown) => answer(500, String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    accepted,
    /** Sends one event as the REST API takes it; the answer's status and text. */
    async send(hub: string, token: string, body: string): Promise<{ status: number; reason: string }> {
      const response = await fetch(`${url}/${encodeURIComponent(hub)}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/atom+xml;type=entry;charset=utf-8' },
        body,
      });
      return { status: response.status, reason: await response.text() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A local TCP port that accepts and drops every connection: the SDK's AMQP attempt ends at once, on this machine. */
async function startDroppingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Against a real namespace: everything comes from the environment (see README.md). */
async function runReal(namespace: string, hub: string): Promise<void> {
  const producer = new EventHubProducerClient(namespace, hub, skyportenCredentials());
  try {
    const batch = await producer.createBatch();
    batch.tryAdd({ body: { organisation: ORGANISATION_NUMBER, sentAt: new Date().toISOString() } });
    await producer.sendBatch(batch);
    console.log(`Sent 1 event to ${namespace}/${hub}.`);
  } finally {
    await producer.close();
  }
}

/** On this machine: mock issuer + mock Entra ID + a local Event Hubs stand-in, nothing leaves 127.0.0.1. */
export async function runLocal(): Promise<LocalRunResult> {
  // The mock Entra ID's self-signed certificate, trusted by this process's TLS clients (MSAL's included).
  // Local mode only: never do this with a certificate you did not just make.
  const certificate = createLocalTlsCertificate();
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), certificate.cert]);

  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const subject = `${registered.consumerId};${SCOPE}`;
  const entra = await createMockEntraId({
    issuer,
    tls: certificate,
    applications: [
      {
        clientId: MANAGED_IDENTITY_CLIENT_ID,
        principalId: MANAGED_IDENTITY_PRINCIPAL_ID,
        federatedCredentials: [{ issuer: issuer.issuer, subject, audiences: [RESOURCE] }],
      },
    ],
  });
  const eventHubs = await startEventHubsStandIn({
    jwksUri: `${entra.authorityHost}/${entra.tenantId}/discovery/v2.0/keys`,
    tenantId: entra.tenantId,
    assignments: [{ principalId: MANAGED_IDENTITY_PRINCIPAL_ID, role: DATA_SENDER, hub: HUB }],
  });
  const dropping = await startDroppingPort();
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock Entra ID at ${entra.authorityHost}`);
    console.log(`Managed identity ${MANAGED_IDENTITY_CLIENT_ID} has a federated credential: issuer ${issuer.issuer}, subject "${subject}", audience ${RESOURCE}`);
    console.log(`Its principal ${MANAGED_IDENTITY_PRINCIPAL_ID} has "${DATA_SENDER}" on ${NAMESPACE}/${HUB}`);

    const maskinporten = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: SCOPE,
      resource: RESOURCE,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    const credential = skyportenCredentials({
      tenantId: entra.tenantId,
      clientId: MANAGED_IDENTITY_CLIENT_ID,
      authorityHost: entra.authorityHost, // loopback: instance discovery is skipped by default
      maskinporten,
      env: false,
    });

    // The Event Hubs SDK asks its credential for a token before it negotiates the AMQP claim ($cbs put-token).
    // This wrapper keeps what it was asked and the token it got (in memory only).
    const scopesAsked: string[] = [];
    let sdkToken: AccessToken | undefined;
    const recording: TokenCredential = {
      async getToken(scopes: string | string[], options?: GetTokenOptions) {
        scopesAsked.push(...(Array.isArray(scopes) ? scopes : [scopes]));
        sdkToken = (await credential.getToken(scopes, options)) ?? undefined;
        return sdkToken;
      },
    };
    const producer = new EventHubProducerClient(NAMESPACE, HUB, recording, {
      customEndpointAddress: `https://localhost:${dropping.port}`,
      // Generous: on a loaded machine the token request (MSAL's endpoint resolution included) must not hit the AMQP timeout.
      retryOptions: { maxRetries: 0, timeoutInMs: 30_000 },
    });
    const amqpOutcome = await producer.createBatch().then(
      () => 'connected (unexpected)',
      (error: unknown) => `${error instanceof Error ? error.message : String(error)} (no namespace here: expected)`,
    );
    await producer.close();
    console.log(`EventHubProducerClient asked for ${scopesAsked.join(', ')} and got an Entra ID token; AMQP: ${amqpOutcome}`);
    if (sdkToken === undefined) throw new Error('The Event Hubs SDK did not ask the credential for a token.');

    const body = JSON.stringify({ organisation: ORGANISATION_NUMBER, line: 'L1', departure: '08:02' });
    const send = await eventHubs.send(HUB, sdkToken.token, body);
    console.log(`Event Hubs stand-in, POST /${HUB}/messages with the SDK's token: ${send.status} ${send.reason}`);
    const otherHub = await eventHubs.send('invoices', sdkToken.token, body);
    console.log(`  the same token on a hub without a role assignment: ${otherHub.status} ${otherHub.reason}`);
    const storage = await credential.getToken('https://storage.azure.com/.default');
    const storageToken = await eventHubs.send(HUB, storage?.token ?? '', body);
    console.log(`  a token for https://storage.azure.com instead: ${storageToken.status} ${storageToken.reason}`);

    const entraRequests = entra.requests.map((request) => ({ scope: request.scope, status: request.status }));
    const skyportenTokenRequests = issuer.requests.filter((request) => request.method === 'POST').length;
    console.log(`Entra ID token requests: ${entraRequests.length}; Skyporten token requests: ${skyportenTokenRequests}.`);
    return { scopesAsked, amqpOutcome, send, otherHub, storageToken, accepted: [...eventHubs.accepted], entraRequests, skyportenTokenRequests };
  } finally {
    await dropping.close();
    await eventHubs.close();
    await entra.close();
    await issuer.close();
  }
}

/** A real namespace when EVENTHUBS_NAMESPACE and EVENTHUB_NAME are set, else the local mocks. */
export async function main(): Promise<void> {
  const namespace = process.env.EVENTHUBS_NAMESPACE;
  const hub = process.env.EVENTHUB_NAME;
  if (namespace && hub) await runReal(namespace, hub);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
