import { assertNumberOption } from './mock-service.js';

export { assertNumberOption };

/**
 * Options shared by `createMockSkyporten` (a loopback HTTP server) and `createMockSkyportenHandlers`
 * (msw handlers).
 *
 * @example
 * ```ts
 * let now = Date.UTC(2030, 0, 1);
 * const issuer = await createMockSkyporten({ clock: () => now, clockOffsetSeconds: 30, tokenLifetimeSeconds: 60 });
 * ```
 */
export interface MockSkyportenOptions {
  /**
   * Lifetime of issued access tokens: `expires_in` and `exp - iat`.
   * @default 120
   */
  tokenLifetimeSeconds?: number | undefined;
  /**
   * Seconds added to the real clock (or `clock`) to get the server's clock, for clock-skew tests. The server
   * validates `iat`/`exp`, stamps tokens and sends the `Date` header with the skewed clock.
   * @default 0
   */
  clockOffsetSeconds?: number | undefined;
  /**
   * Milliseconds added before every response (token, metadata and JWKS).
   * @default 0
   */
  latencyMs?: number | undefined;
  /**
   * The real clock, in milliseconds since the epoch; inject one to use fake time.
   * @default Date.now
   */
  clock?: (() => number) | undefined;
  /**
   * Largest accepted `exp - iat` of a grant, in seconds.
   * @default 120
   */
  maxGrantLifetimeSeconds?: number | undefined;
  /**
   * How far a grant's `iat` may be from the server's clock, in seconds.
   * @default 10
   */
  allowedClockSkewSeconds?: number | undefined;
  /**
   * The issuer string; only used by `createMockSkyportenHandlers`. The server always uses `http://127.0.0.1:PORT`.
   * @default "https://test.sky.maskinporten.no"
   */
  issuer?: string | undefined;
  /**
   * Whether the issuer ends with `/`, like plain Maskinporten (`https://test.maskinporten.no/`). Skyporten's does not.
   * @default false
   */
  trailingSlash?: boolean | undefined;
}

/** Options with defaults applied; validated once. */
export interface ResolvedSettings {
  issuer: string;
  tokenLifetimeSeconds: number;
  clockOffsetSeconds: number;
  latencyMs: number;
  clock: () => number;
  maxGrantLifetimeSeconds: number;
  allowedClockSkewSeconds: number;
}

/** The issuer string with or without its trailing slash, as `trailingSlash` asks. */
export function applyTrailingSlash(issuer: string, trailingSlash: boolean | undefined): string {
  const bare = issuer.replace(/\/+$/, '');
  return trailingSlash === true ? `${bare}/` : bare;
}

/** Applies defaults to {@link MockSkyportenOptions} and validates them. */
export function resolveSettings(options: MockSkyportenOptions, issuer: string): ResolvedSettings {
  const settings: ResolvedSettings = {
    issuer,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 120,
    clockOffsetSeconds: options.clockOffsetSeconds ?? 0,
    latencyMs: options.latencyMs ?? 0,
    clock: options.clock ?? Date.now,
    maxGrantLifetimeSeconds: options.maxGrantLifetimeSeconds ?? 120,
    allowedClockSkewSeconds: options.allowedClockSkewSeconds ?? 10,
  };
  assertNumberOption('tokenLifetimeSeconds', settings.tokenLifetimeSeconds, 1);
  assertNumberOption('clockOffsetSeconds', settings.clockOffsetSeconds, Number.NEGATIVE_INFINITY);
  assertNumberOption('latencyMs', settings.latencyMs, 0);
  assertNumberOption('maxGrantLifetimeSeconds', settings.maxGrantLifetimeSeconds, 1);
  assertNumberOption('allowedClockSkewSeconds', settings.allowedClockSkewSeconds, 0);
  if (typeof settings.clock !== 'function') throw new TypeError('Option clock must be a function returning milliseconds since the epoch.');
  return settings;
}
