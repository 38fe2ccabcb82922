// What the reliability tests start from: a mock issuer on loopback with one registered client, Maskinporten
// clients for it that record their emissions and secrets, and core's key fixtures.
import { readFileSync } from 'node:fs';
import { createMaskinportenClient, SkyportenError, type MaskinportenClient, type MaskinportenClientOptions } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten, type MockSkyportenOptions, type RegisteredClient } from '@skyporten/testing';
import { recordEmission, recordingLogger, rememberSecret, secretSniffingFetch } from './emissions.ts';

export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORGANISATION_NUMBER = '991825827';
export const SUBJECT = `0192:${ORGANISATION_NUMBER};${SCOPE}`;

/** A key or certificate fixture of core's tests (packages/core/test/fixtures, made by its generate.ts). */
export function fixture(name: string): string {
  const text = readFileSync(new URL(`../packages/core/test/fixtures/${name}`, import.meta.url), 'utf8');
  if (text.includes('PRIVATE KEY')) rememberSecret(text);
  return text;
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../packages/core/test/fixtures/${name}`, import.meta.url)));
}

export interface World {
  issuer: MockSkyporten;
  registered: RegisteredClient;
  /** A client for the registered integration that records its logs and secrets; `overrides` win. */
  client(overrides?: Partial<MaskinportenClientOptions>): MaskinportenClient;
  /** POSTs that reached the token endpoint since the last `issuer.reset()`. */
  tokenRequests(): number;
  close(): Promise<void>;
}

export async function startWorld(issuerOptions: MockSkyportenOptions = {}): Promise<World> {
  const issuer = await createMockSkyporten(issuerOptions);
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  rememberSecret(registered.privateKey);
  return {
    issuer,
    registered,
    client(overrides = {}) {
      const client = createMaskinportenClient({
        issuer: issuer.issuer,
        tokenEndpoint: issuer.tokenEndpoint,
        clientId: registered.clientId,
        scope: SCOPE,
        resource: RESOURCE,
        key: { privateKey: registered.privateKey, kid: registered.kid },
        retry: { limit: 3, baseDelayMs: 5, maxDelayMs: 50 },
        timeout: 5000,
        logger: recordingLogger(),
        env: false,
        ...overrides,
        fetch: secretSniffingFetch(overrides.fetch),
      });
      recordEmission(client);
      return client;
    },
    tokenRequests: () => issuer.requests.filter((request) => request.method === 'POST').length,
    close: () => issuer.close(),
  };
}

/** A controllable clock, in ms. */
export function manualClock(start = Date.UTC(2026, 0, 5, 8, 0, 0)) {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}

/**
 * Runs `operation`, which must fail, within `withinMs`; records the error's renderings for the hygiene
 * check and returns it. A resolution or a hang fails the test.
 */
export async function failureOf(operation: () => unknown, withinMs = 5000): Promise<SkyportenError & { field?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${withinMs} ms`)), withinMs);
  });
  try {
    await Promise.race([Promise.resolve().then(operation), deadline]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error;
    recordEmission(error);
    if (!SkyportenError.isInstance(error)) {
      throw new Error(`expected a SkyportenError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    return error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a failure, but the operation succeeded');
}

/** Resolves after `ms` of real time. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
