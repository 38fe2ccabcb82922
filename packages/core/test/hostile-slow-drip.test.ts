import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpClient } from '../src/http.ts';

// A server that sends headers and then one byte every 50 ms, for ever: the read timeout must end the request
// AND close the connection (cancelling the locked body stream), not leave a drip running in the background.
let url: string;
let closedAt: number | undefined;
const open = new Set<ServerResponse>();
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  const drip = setInterval(() => response.write(' '), 50);
  open.add(response);
  response.on('close', () => {
    clearInterval(drip);
    open.delete(response);
    closedAt = Date.now();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(async () => {
  for (const response of open) response.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('a slow-drip body: TIMEOUT after the read timeout, and the connection is closed at once', async () => {
  const http = createHttpClient({ timeoutMs: 300 });
  const startedAt = Date.now();
  await expect(http(url, { method: 'get' })).rejects.toMatchObject({ code: 'TIMEOUT' });
  const failedAt = Date.now();
  expect(failedAt - startedAt).toBeLessThan(2_000);
  // The server sees the socket close within a moment of the timeout, not when its drip ends (never).
  for (let waited = 0; closedAt === undefined && waited < 1_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(closedAt).toBeDefined();
  expect(closedAt! - failedAt).toBeLessThan(1_000);
});
