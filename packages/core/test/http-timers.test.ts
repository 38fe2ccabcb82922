import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http.ts';

// Counts the process's active timers. (An unref'd AbortSignal.timeout is not counted: npm run bench's memory per key
// catches that one.)
const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

describe('the per-attempt deadline', () => {
  it('is cleared when the attempt ends: 1,000 finished requests leave no timer keeping the process (and the request state) alive', async () => {
    const http = createHttpClient({ timeoutMs: 60_000, fetch: async () => new Response('{"ok":true}', { status: 200 }) });
    const before = timers();
    for (let index = 0; index < 1000; index += 1) await http('https://issuer.example.org/token', { method: 'post', body: 'x' });
    expect(timers() - before).toBeLessThan(5);
  });

  it('is cleared when the attempt fails, and when the caller aborts', async () => {
    const refused = createHttpClient({ timeoutMs: 60_000, fetch: async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })) });
    const caller = new AbortController();
    caller.abort();
    const aborted = createHttpClient({ timeoutMs: 60_000, fetch: async (_url, init) => Promise.reject((init?.signal as AbortSignal).reason) });
    const before = timers();
    for (let index = 0; index < 200; index += 1) {
      await expect(refused('https://issuer.example.org/token', { method: 'post' })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
      await expect(aborted('https://issuer.example.org/token', { method: 'post', signal: caller.signal })).rejects.toBeDefined();
    }
    expect(timers() - before).toBeLessThan(5);
  });
});
