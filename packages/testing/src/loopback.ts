import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts a server on a free port of 127.0.0.1 and returns the port and an idempotent `close()` that ends
 * open connections too (keep-alive sockets from SDK clients would otherwise hold it open).
 *
 * @internal
 */
export async function listenOnLoopback(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
