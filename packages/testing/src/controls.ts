import type { JWK, JWTPayload } from 'jose';
import { toFailure } from './mock-service.js';
import type { IssuerEngine, InjectedFailure, RecordedTokenRequest, RegisterClientOptions, RegisteredClient } from './engine.js';

/**
 * What a test can do with a mock issuer, whether it runs as a loopback server or as msw handlers.
 *
 * @example
 * ```ts
 * const { issuer, tokenEndpoint, registerClient, requests } = await createMockSkyporten();
 * ```
 */
export interface MockIssuerControls {
  /** The issuer string, exactly as in grants' `aud` and tokens' `iss`. */
  issuer: string;
  /** `issuer + "/token"` (without doubling a trailing slash). */
  tokenEndpoint: string;
  /** `issuer + "/jwk"`. */
  jwksUri: string;
  /** `issuer + "/.well-known/openid-configuration"`. */
  metadataUrl: string;
  /**
   * Registers a client (integration). With no `publicKey` or `certificate`, an RSA 2048 pair is generated and
   * its PKCS#8 PEM returned as `privateKey`.
   *
   * @example
   * ```ts
   * const client = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
   * const key = await importPKCS8(client.privateKey, 'RS256');
   * ```
   */
  registerClient(options?: RegisterClientOptions): Promise<RegisteredClient>;
  /** Every request to the token endpoint, in order, with the decoded grant and the answer. Cleared by `reset()`. */
  readonly requests: RecordedTokenRequest[];
  /** @deprecated Use `failNext({ count, ...failure })`; this form goes in the next minor. */
  failNext(count: number, failure: InjectedFailure): void;
  /**
   * The next `failure.count` (default 1) POSTs to the token endpoint answer `failure` instead of being processed
   * (their `jti` is not consumed). Queued after earlier `failNext`/`hang` calls.
   *
   * @example
   * ```ts
   * issuer.failNext({ status: 503, count: 2 });            // JSON server_error, twice
   * issuer.failNext({ status: 502, body: '<html>Bad gateway</html>' });
   * issuer.failNext({ status: 429, retryAfterSeconds: 1 });
   * ```
   */
  failNext(failure: InjectedFailure): void;
  /**
   * The next `count` (default 1) POSTs to the token endpoint are accepted and never answered, until `close()`:
   * for timeout tests. Queued after earlier `failNext`/`hang` calls.
   *
   * @example
   * ```ts
   * issuer.hang();
   * await expect(client.getToken({ signal: AbortSignal.timeout(100) })).rejects.toThrow();
   * ```
   */
  hang(count?: number): void;
  /** Sets the latency added to every response, in milliseconds. */
  setLatency(ms: number): void;
  /** Sets the server clock's offset from the real clock, in seconds (positive: the server is ahead). */
  setClockOffset(seconds: number): void;
  /** Sets `expires_in` and `exp - iat` of tokens issued from now on, in seconds. */
  setTokenLifetime(seconds: number): void;
  /**
   * Signs any claims with the issuer's key, for tests of token consumers (cloud mocks, decoding). Defaults for
   * `iss`, `iat`, `exp` (`iat + expiresInSeconds`, default the token lifetime), `jti`, `token_type` and
   * `client_amr` are overridden by `claims`.
   *
   * @example
   * ```ts
   * const token = await issuer.signAccessToken({ aud: 'https://skyporten.example.org', sub: '0192:991825827;entur:skyporten.demo' });
   * ```
   */
  signAccessToken(claims: Record<string, unknown>, options?: { expiresInSeconds?: number }): Promise<string>;
  /** Verifies a token's signature, `iss`, `exp` (by the server's clock) and optionally `aud`; returns its claims. */
  verifyAccessToken(token: string, options?: { audience?: string | string[] }): Promise<JWTPayload>;
  /** The issuer's JWKS, as served at `jwksUri`. */
  jwks(): {
    /** The public signing keys, as JWKs. */
    keys: JWK[];
  };
  /** Clears recorded requests, queued faults and used `jti`s. Registered clients and settings stay. */
  reset(): void;
}

/** Binds the controls of an engine, so they can be destructured. */
export function createControls(engine: IssuerEngine): MockIssuerControls {
  return {
    issuer: engine.settings.issuer,
    tokenEndpoint: engine.tokenEndpoint,
    jwksUri: engine.jwksUri,
    metadataUrl: engine.metadataUrl,
    requests: engine.requests,
    registerClient: (options) => engine.registerClient(options),
    failNext: (...args: [InjectedFailure] | [number, InjectedFailure]) => engine.failNext(toFailure(args)),
    hang: (count) => engine.hang(count),
    setLatency: (ms) => engine.setLatency(ms),
    setClockOffset: (seconds) => engine.setClockOffset(seconds),
    setTokenLifetime: (seconds) => engine.setTokenLifetime(seconds),
    signAccessToken: (claims, options) => engine.signAccessToken(claims, options),
    verifyAccessToken: (token, options) => engine.verifyAccessToken(token, options),
    jwks: () => engine.jwks(),
    reset: () => engine.reset(),
  };
}
