// The cache a careful engineer writes around a token request in a few lines: reuse the token until 60 s
// before it expires, and let concurrent callers share one in-flight request. Both peers use it.

/**
 * @param {() => Promise<import('./types.ts').PeerToken>} fetchToken
 * @returns {() => Promise<import('./types.ts').PeerToken>}
 */
export function minimalCache(fetchToken) {
  /** @type {import('./types.ts').PeerToken | undefined} */
  let cached;
  /** @type {Promise<import('./types.ts').PeerToken> | undefined} */
  let inFlight;
  return async () => {
    if (cached !== undefined && Date.now() < cached.expiresAt - 60_000) return cached;
    inFlight ??= fetchToken().then((token) => (cached = token)).finally(() => (inFlight = undefined));
    return inFlight;
  };
}
