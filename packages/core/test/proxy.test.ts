import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten } from '@skyporten/testing';

// Node's fetch ignores HTTP(S)_PROXY; the client must route through it when set. This file sets the
// variables for its own worker only.
let issuer: MockSkyporten;
let proxy: Server;
const proxied: string[] = [];

beforeAll(async () => {
  issuer = await createMockSkyporten();
  proxy = createServer((incoming, outgoing) => {
    proxied.push(`${incoming.method} ${incoming.url}`);
    const target = new URL(incoming.url!);
    const forward = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: incoming.method, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    incoming.pipe(forward);
  });
  // undici's proxy agents tunnel with CONNECT, as corporate proxies expect for https.
  proxy.on('connect', (incoming, clientSocket, head) => {
    proxied.push(`CONNECT ${incoming.url}`);
    const [host, port] = incoming.url!.split(':');
    const upstream = connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    upstream.on('error', () => clientSocket.destroy());
    clientSocket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  delete process.env.HTTP_PROXY;
  await issuer.close();
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
});

describe('proxy support', () => {
  it('sends discovery and token requests through HTTP_PROXY', async () => {
    const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
    const client = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: 'entur:skyporten.demo',
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });
    await client.getToken();
    expect(proxied.length).toBeGreaterThanOrEqual(1);
    expect(proxied.every((line) => line === `CONNECT ${issuer.url.host}` || line.includes(issuer.url.host))).toBe(true);
  });
});
