import type { IncomingMessage } from 'node:http';

/** Reads a whole request body as UTF-8, refusing bodies over `maxBytes` (a mock must not buffer without end). @internal */
export async function readBody(request: IncomingMessage, maxBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error('Request body too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
