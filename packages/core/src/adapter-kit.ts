import type { GetOptions } from './cache.js';
import type { MaskinportenClient, MaskinportenClientOrOptions } from './client.js';
import type { Clock } from './clock.js';
import type { Environment } from './env.js';
import { logEvent, type Logger } from './logger.js';
import { requireAudience, type DecodedSkyportenToken } from './token.js';

/** The options every cloud adapter's `skyportenCredentials` takes besides its cloud's own. @public */
export interface AdapterOptions {
  /** The Maskinporten client, or options for one (left-out ones from `env`); its `resource` must be an audience the cloud trusts. @default a client from the environment */
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /** Receives debug/info/warn events; never a token or a secret. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the credential cache (and the Maskinporten client when created here). @default Date.now */
  clock?: Clock | undefined;
  /** Where left-out options are read from; `false` reads nothing. @default process.env */
  env?: Environment | false | undefined;
}

/** The environment an adapter reads left-out options from (`false`: none). @internal */
export function environmentOf(env: Environment | false | undefined): Environment {
  return env === false ? {} : (env ?? process.env);
}

/** A Skyporten token as presented to a cloud, with its claims. @public */
export interface PresentedToken {
  /** The access token, the cloud's subject token or client assertion. */
  token: string;
  /** Its claims, for log lines and error hints. */
  decoded: DecodedSkyportenToken;
}

/** The client's current token, checked to carry an audience for `cloud`; each token is decoded once, however often it is asked for. @internal */
export function presentedTokens(client: Pick<MaskinportenClient, 'getAccessToken'>, cloud: string): (options?: GetOptions) => Promise<PresentedToken> {
  let last: PresentedToken | undefined;
  return async (options) => {
    const token = await client.getAccessToken(options);
    if (last?.token !== token) last = { token, decoded: requireAudience(token, cloud) };
    return last;
  };
}

/** Runs `exchange`, and once more after a fresh Skyporten token when `cloud` rejected the token as expired (`isExpired`). @internal */
export function withFreshTokenOnExpiry<T>(client: Pick<MaskinportenClient, 'invalidate'>, cloud: string, isExpired: (error: unknown) => boolean, logger: Logger | undefined, exchange: () => Promise<T>): Promise<T> {
  return exchange().catch((error: unknown) => {
    if (!isExpired(error)) throw error;
    logEvent(logger, 'warn', `${cloud} found the Skyporten token expired; retrying once with a fresh token`);
    client.invalidate();
    return exchange();
  });
}
