// Shapes shared by the side-by-side peers (bench/peers/*.mjs, plain JavaScript so that a fresh process runs them
// without type stripping, which costs tens of ms at start-up and would blur the fresh-process rows).

/** What every side needs to get a token from the mock issuer. Loopback only. */
export interface PeerConfig {
  issuer: string;
  tokenEndpoint: string;
  clientId: string;
  kid: string;
  /** PKCS#8 PEM of the registered test key. */
  privateKeyPem: string;
  scope: string;
  resource: string;
}

/** A token as the hand-written caches keep it. */
export interface PeerToken {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** The one call every side offers: resolves a valid access token. */
export type GetToken = () => Promise<{ accessToken: string }>;

/** Each side's module (`sdk`, `openid-client`, `oauth4webapi`, `naive`) exports this. */
export type CreateTokenSource = (config: PeerConfig) => GetToken;
