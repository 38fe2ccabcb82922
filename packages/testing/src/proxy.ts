import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { listenOnLoopback } from './mock-service.js';

/** A forwarding HTTP proxy on loopback, as started by {@link createTestProxy}. */
export interface TestProxy {
  /** The proxy's URL, for `HTTP_PROXY` / `HTTPS_PROXY`, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Each request line in order: `CONNECT host:port` for tunnels, `GET http://host:port/path` for plain requests. */
  requests: string[];
  /** Stops the proxy and its open tunnels. */
  close(): Promise<void>;
}

/**
 * Starts a forwarding HTTP proxy on 127.0.0.1 that tunnels `CONNECT` and forwards absolute-form requests,
 * recording each request line: for tests that code honours `HTTP_PROXY` / `HTTPS_PROXY`.
 *
 * @example
 * ```ts
 * const proxy = await createTestProxy();
 * process.env.HTTP_PROXY = proxy.url;
 * await client.getToken();
 * expect(proxy.requests).toContain(`CONNECT ${issuer.url.host}`);
 * await proxy.close();
 * ```
 */
export async function createTestProxy(): Promise<TestProxy> {
  const requests: string[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    const target = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const forward = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: incoming.method, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.on('connect', (incoming, clientSocket, head) => {
    requests.push(`CONNECT ${incoming.url}`);
    const [host, port] = (incoming.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    upstream.on('error', () => clientSocket.destroy());
    clientSocket.on('error', () => upstream.destroy());
  });
  const listening = await listenOnLoopback(server);
  return { url: listening.url, requests, close: listening.close };
}
