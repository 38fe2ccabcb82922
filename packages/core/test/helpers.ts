import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';

/** Reads a fixture made by fixtures/generate.ts. */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
}

/** A controllable clock, in ms. */
export function manualClock(start = Date.UTC(2026, 10, 28, 12, 0, 0)) {
  let now = start;
  const clock = () => now;
  return Object.assign(clock, {
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  });
}

/** Awaits a promise expected to reject and returns the rejection. */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Calls a function expected to throw and returns what it threw. */
export function thrownBy(run: () => unknown): any {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the call returned');
}

/** Writes 64-KiB chunks into `response` until it is destroyed, as fast as the socket drains; `onChunk` counts each one's bytes. */
export function pumpForever(response: ServerResponse, onChunk: (bytes: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const pump = () => {
    while (!response.destroyed) {
      onChunk(chunk.length);
      if (!response.write(chunk)) break;
    }
    if (!response.destroyed) response.once('drain', pump);
  };
  pump();
}
