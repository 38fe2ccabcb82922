import type { MaskinportenClient, SkyportenToken } from '@skyporten/core';
import { requireAudience, systemClock, type Clock, type DecodedSkyportenToken } from '@skyporten/core/adapter';
import type { SubjectTokenSupplier } from 'google-auth-library';

/**
 * Options of {@link createSubjectTokenSupplier}.
 *
 * @public
 */
export interface SubjectTokenSupplierOptions {
  /**
   * Fetch a new Skyporten token instead of the cached one when the cached one has less than this many seconds
   * left. Without impersonation the federated token dies with the subject token, so a nearly expired one is
   * worth little.
   * @default 0
   */
  minimumLifetimeSeconds?: number;
  /** Current time in milliseconds. @default Date.now */
  clock?: Clock;
  /** Called with the decoded claims (never the token) of each subject token handed out, e.g. for error hints. */
  onToken?: (decoded: DecodedSkyportenToken) => void;
}

/**
 * The `getSubjectToken` that google-auth-library calls before each STS exchange: the Skyporten access token
 * from the (caching) Maskinporten client, checked to carry an audience.
 *
 * @example
 * ```ts
 * const client = new IdentityPoolClient({
 *   audience, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
 *   subject_token_supplier: createSubjectTokenSupplier(createMaskinportenClient({ ... })),
 * });
 * ```
 * @throws ConfigError naming `resource` when the token has no `aud`.
 * @public
 */
export function createSubjectTokenSupplier(maskinporten: MaskinportenClient, options: SubjectTokenSupplierOptions = {}): SubjectTokenSupplier {
  const clock = options.clock ?? systemClock;
  const minimumMs = (options.minimumLifetimeSeconds ?? 0) * 1000;
  // Each token is decoded once, however many exchanges present it; the entry goes with the token.
  const decoded = new WeakMap<SkyportenToken, DecodedSkyportenToken>();
  return {
    async getSubjectToken() {
      let token = await maskinporten.getToken();
      if (minimumMs > 0 && token.expiresAt.getTime() - clock() < minimumMs) token = await maskinporten.getToken({ forceRefresh: true });
      let claims = decoded.get(token);
      if (claims === undefined) {
        claims = requireAudience(token.accessToken, 'GCP STS');
        decoded.set(token, claims);
      }
      options.onToken?.(claims);
      return token.accessToken;
    },
  };
}
