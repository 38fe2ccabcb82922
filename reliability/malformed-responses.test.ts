// A token endpoint (or a proxy in front of it) that answers nonsense: typed errors, never a crash, never an
// unhandled rejection. A tiny node:http server plays each answer.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient, type SkyportenErrorCode } from '@skyporten/core';
import { recordingLogger, secretSniffingFetch } from './emissions.ts';
import { failureOf, fixture, RESOURCE, SCOPE } from './world.ts';

type Play = (response: ServerResponse) => void;

const json = (status: number, body: string, contentType = 'application/json'): Play => (response) => {
  response.writeHead(status, { 'content-type': contentType });
  response.end(body);
};
const accessToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW5vdC1jaGVja2Vk';
const answer = (fields: Record<string, unknown>) => json(200, JSON.stringify(fields));

const cases: Array<{ name: string; play: Play; code: SkyportenErrorCode; status?: number }> = [
  { name: 'HTML 502 from a proxy', play: json(502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html'), code: 'TOKEN_REQUEST_FAILED', status: 502 },
  { name: 'HTML 200 login page', play: json(200, '<!doctype html><title>Sign in</title>', 'text/html; charset=utf-8'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'truncated JSON', play: json(200, '{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJz'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'empty body', play: json(200, ''), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'JSON null', play: json(200, 'null'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'JSON array', play: json(200, '[]'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'JSON string', play: json(200, '"token"'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'missing access_token', play: answer({ token_type: 'Bearer', expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'empty access_token', play: answer({ access_token: '', token_type: 'Bearer', expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'numeric access_token', play: answer({ access_token: 42, token_type: 'Bearer', expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'negative expires_in', play: answer({ access_token: accessToken, token_type: 'Bearer', expires_in: -120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'zero expires_in', play: answer({ access_token: accessToken, token_type: 'Bearer', expires_in: 0 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'absurd expires_in (10 years)', play: answer({ access_token: accessToken, token_type: 'Bearer', expires_in: 315_360_000 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'expires_in as a string', play: answer({ access_token: accessToken, token_type: 'Bearer', expires_in: '120' }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'missing expires_in', play: answer({ access_token: accessToken, token_type: 'Bearer' }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'token_type MAC', play: answer({ access_token: accessToken, token_type: 'MAC', expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'token_type DPoP', play: answer({ access_token: accessToken, token_type: 'DPoP', expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'missing token_type', play: answer({ access_token: accessToken, expires_in: 120 }), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'valid JSON as text/plain', play: json(200, JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 120 }), 'text/plain'), code: 'TOKEN_RESPONSE_INVALID' },
  { name: 'no Content-Type at all', play: (response) => { response.writeHead(200); response.end(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 120 })); }, code: 'TOKEN_RESPONSE_INVALID' },
  { name: '400 with a non-JSON body', play: json(400, 'Bad Request', 'text/plain'), code: 'TOKEN_REQUEST_REJECTED', status: 400 },
  { name: '400 with JSON lacking error', play: json(400, '{"message":"nope"}'), code: 'TOKEN_REQUEST_REJECTED', status: 400 },
  { name: '401 OAuth error without description', play: json(401, '{"error":"invalid_client"}'), code: 'TOKEN_REQUEST_REJECTED', status: 401 },
  { name: '503 with an empty body', play: json(503, ''), code: 'TOKEN_REQUEST_FAILED', status: 503 },
  { name: '429 with a Retry-After far away (capped)', play: (response) => { response.writeHead(429, { 'retry-after': '86400' }); response.end(); }, code: 'TOKEN_REQUEST_FAILED', status: 429 },
  { name: 'connection closed before any answer', play: (response) => response.socket?.destroy(), code: 'NETWORK_ERROR' },
  {
    name: 'connection closed halfway through the body',
    play: (response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"access_token":"eyJ');
      setTimeout(() => response.socket?.destroy(), 10);
    },
    code: 'NETWORK_ERROR',
  },
];

let server: Server;
let tokenEndpoint: string;
let current: Play = json(500, '');
let requests = 0;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = createServer((request, response) => {
    requests++;
    request.resume();
    request.on('end', () => current(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function clientFor(retry: number) {
  return createMaskinportenClient({
    issuer: tokenEndpoint.replace(/\/token$/, ''),
    tokenEndpoint,
    clientId: 'reliability-client',
    scope: SCOPE,
    resource: RESOURCE,
    key: { privateKey: fixture('rsa-2048.pkcs8.pem'), kid: 'fixture-kid' },
    retry: { limit: retry, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 20 },
    timeout: 2000,
    logger: recordingLogger(),
    fetch: secretSniffingFetch(),
    env: false,
  });
}

describe('malformed token responses', () => {
  it.each(cases)('$name -> $code', async ({ play, code, status }) => {
    current = play;
    requests = 0;
    const error = await failureOf(() => clientFor(1).getToken(), 5000);
    expect(error.code).toBe(code);
    if (status !== undefined) expect((error as { status?: number }).status).toBe(status);
    // Only transient failures are retried (once here); a 200 that is nonsense or a 4xx is not.
    expect(requests).toBe(error.isRetryable ? 2 : 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
  });

  it('a client that failed on nonsense works once the endpoint answers properly', async () => {
    current = json(200, '<html>oops</html>', 'text/html');
    const client = clientFor(0);
    expect((await failureOf(() => client.getToken())).code).toBe('TOKEN_RESPONSE_INVALID');
    current = answer({ access_token: accessToken, token_type: 'Bearer', expires_in: 120 });
    expect((await client.getToken()).scope).toBe(SCOPE);
    expect(unhandled).toEqual([]);
  });

  it('a failed background refresh on nonsense is logged, never an unhandled rejection', async () => {
    let now = Date.now();
    current = answer({ access_token: accessToken, token_type: 'Bearer', expires_in: 120 });
    const client = createMaskinportenClient({
      issuer: tokenEndpoint.replace(/\/token$/, ''),
      tokenEndpoint,
      clientId: 'reliability-client',
      scope: SCOPE,
      key: { privateKey: fixture('rsa-2048.pkcs8.pem'), kid: 'fixture-kid' },
      retry: false,
      clock: () => now,
      logger: recordingLogger(),
      env: false,
    });
    const first = await client.getToken();
    current = json(200, '{"access_token":', 'application/json');
    now += 95_000; // inside the refresh window
    expect(await client.getToken()).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
  });
});
