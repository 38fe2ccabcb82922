import {
  ConfigError,
  logEvent,
  requireAudience,
  SkyportenError,
  systemClock,
  type Clock,
  resolveMaskinportenClient,
  type DecodedSkyportenToken,
  type Logger,
  type MaskinportenClient,
  type MaskinportenClientOrOptions,
} from '@skyporten/core';
import { IdentityPoolClient, type SubjectTokenSupplier } from 'google-auth-library';
import { isExpiredSubjectToken, toCloudExchangeError, type ExchangeContext } from './errors.js';
import { resolveFederation, type GcpFederationOptions, type ResolvedFederation } from './options.js';

/** The scope google-auth-library asks for when none is given. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** Refresh a federated (not impersonated) token this long before it expires. */
const FEDERATED_EAGER_REFRESH_MS = 15_000;
/** Exchange only Skyporten tokens with at least this long left when the federated token is used directly. */
const FEDERATED_MINIMUM_SUBJECT_SECONDS = 45;
/** Default of `safetyMarginSeconds`. */
const DEFAULT_SAFETY_MARGIN_SECONDS = 60;

type RefreshResult = Awaited<ReturnType<IdentityPoolClient['refreshAccessTokenAsync']>>;

/**
 * Options of {@link skyportenCredentials}.
 *
 * @public
 */
export interface SkyportenCredentialsOptions extends GcpFederationOptions {
  /**
   * The Maskinporten client, or options to create one (its `resource` must be an audience the pool provider
   * allows). Left out, it is configured from the environment (`MASKINPORTEN_CLIENT_ID`, ...).
   * @default createMaskinportenClient() from the environment
   */
  maskinporten?: MaskinportenClientOrOptions;
  /** OAuth scopes of the Google access token. @default ["https://www.googleapis.com/auth/cloud-platform"] */
  scopes?: string[];
  /**
   * Lifetime asked for impersonated service account tokens, in seconds (at most 3600 unless the organisation
   * policy allows more). Ignored without `serviceAccountEmail`.
   * @default 3600
   */
  tokenLifetimeSeconds?: number;
  /**
   * When a refresh fails with a retryable error (GCP STS, IAM Credentials or Maskinporten unavailable), keep
   * handing out the current Google access token, with a warning, until this many seconds before it expires;
   * closer to expiry the error is thrown. Capped at a tenth of the token's lifetime (12 s for a 120-s
   * federated token). google-auth-library refreshes 5 minutes before expiry (15 s without impersonation), so
   * this bridges an outage in that window. Non-retryable errors are thrown at once.
   * @default 60
   */
  safetyMarginSeconds?: number;
  /** Receives debug/warn events; never a token. */
  logger?: Logger;
  /** Current time in milliseconds, for the subject token's remaining lifetime and the safety margin. @default Date.now */
  clock?: Clock;
}

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
  return {
    async getSubjectToken() {
      let token = await maskinporten.getToken();
      if (minimumMs > 0 && token.expiresAt.getTime() - clock() < minimumMs) token = await maskinporten.getToken({ forceRefresh: true });
      const decoded = requireAudience(token.accessToken, 'GCP STS');
      options.onToken?.(decoded);
      return token.accessToken;
    },
  };
}

/**
 * An `IdentityPoolClient` that fetches its subject token from Maskinporten, translates GCP failures into
 * `CloudExchangeError`s with hints, shares one refresh between concurrent callers, retries once with a
 * fresh Skyporten token when STS says the token has expired, and keeps handing out its current access token
 * through a refresh that fails with a retryable error until the token is within its safety margin of expiry.
 *
 * @example
 * ```ts
 * const authClient = skyportenCredentials({ audience, serviceAccountEmail }); // a SkyportenIdentityPoolClient
 * console.log(authClient.federation.audience, authClient.federation.serviceAccountEmail);
 * const { token } = await authClient.getAccessToken(); // a Google access token
 * ```
 * @public
 */
export class SkyportenIdentityPoolClient extends IdentityPoolClient {
  /** The Maskinporten client that supplies subject tokens. */
  readonly maskinporten: MaskinportenClient;
  /** The validated federation settings (audience, endpoints, service account). */
  readonly federation: Readonly<ResolvedFederation>;
  readonly #context: ExchangeContext;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  readonly #safetyMarginMs: number;
  #pendingRefresh: Promise<RefreshResult> | undefined;
  /** The access token of the last successful refresh, and when it was obtained (for its lifetime). */
  #lastRefresh: { result: RefreshResult; obtainedAt: number } | undefined;
  /** After a failed refresh kept the current token: no new attempt before this time (ms). */
  #coolDownUntil = 0;

  /** Prefer {@link skyportenCredentials}, which validates options and reads the environment. */
  constructor(maskinporten: MaskinportenClient, federation: ResolvedFederation, options: { scopes?: string[]; tokenLifetimeSeconds?: number; safetyMarginSeconds?: number; logger?: Logger; clock?: Clock } = {}) {
    const context: ExchangeContext = { federation, subject: undefined };
    super({
      type: 'external_account',
      audience: federation.audience,
      subject_token_type: JWT_TOKEN_TYPE,
      token_url: federation.tokenUrl,
      universe_domain: federation.universeDomain,
      scopes: options.scopes ?? [CLOUD_PLATFORM_SCOPE],
      ...(federation.serviceAccountImpersonationUrl === undefined
        ? {}
        : {
            service_account_impersonation_url: federation.serviceAccountImpersonationUrl,
            ...(options.tokenLifetimeSeconds === undefined ? {} : { service_account_impersonation: { token_lifetime_seconds: options.tokenLifetimeSeconds } }),
          }),
      // Without impersonation the federated token lives only as long as the Skyporten token (about 120 s):
      // google-auth-library's default eager refresh (5 minutes before expiry) would exchange on every request.
      ...(federation.serviceAccountImpersonationUrl === undefined ? { eagerRefreshThresholdMillis: FEDERATED_EAGER_REFRESH_MS } : {}),
      subject_token_supplier: createSubjectTokenSupplier(maskinporten, {
        ...(federation.serviceAccountImpersonationUrl === undefined ? { minimumLifetimeSeconds: FEDERATED_MINIMUM_SUBJECT_SECONDS } : {}),
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        onToken: (decoded) => {
          context.subject = decoded;
        },
      }),
    });
    this.maskinporten = maskinporten;
    this.federation = federation;
    this.#context = context;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#safetyMarginMs = (options.safetyMarginSeconds ?? DEFAULT_SAFETY_MARGIN_SECONDS) * 1000;
  }

  protected override refreshAccessTokenAsync(): ReturnType<IdentityPoolClient['refreshAccessTokenAsync']> {
    // Right after a failed refresh, serve the kept token without trying again: otherwise, with
    // google-auth-library's fixed retry backoff, every call during an outage would wait about 2 s.
    const kept = this.#clock() < this.#coolDownUntil ? this.#usableLast() : undefined;
    if (kept !== undefined) return Promise.resolve(kept);
    this.#pendingRefresh ??= this.#refreshOrKeep().finally(() => {
      this.#pendingRefresh = undefined;
    });
    return this.#pendingRefresh;
  }

  async #refreshOrKeep(): Promise<RefreshResult> {
    try {
      const result = await this.#refresh();
      this.#lastRefresh = { result, obtainedAt: this.#clock() };
      this.#coolDownUntil = 0;
      return result;
    } catch (error) {
      const kept = this.#keptThrough(error);
      if (kept === undefined) throw error;
      // google-auth-library hands out its cached token, which a failed refresh left in place.
      return kept;
    }
  }

  /** The last token, if google-auth-library still holds it and it is valid beyond the safety margin. */
  #usableLast(): RefreshResult | undefined {
    const last = this.#lastRefresh;
    if (last === undefined) return undefined;
    const { access_token: accessToken, expiry_date: expiresAt } = last.result;
    // Only the token google-auth-library still holds (setCredentials may have replaced it).
    if (typeof expiresAt !== 'number' || accessToken !== this.credentials.access_token) return undefined;
    const margin = Math.min(this.#safetyMarginMs, (expiresAt - last.obtainedAt) * 0.1);
    return this.#clock() < expiresAt - margin ? last.result : undefined;
  }

  /** The last token, when `error` is retryable and that token is still valid beyond the safety margin. */
  #keptThrough(error: unknown): RefreshResult | undefined {
    if (!SkyportenError.isInstance(error) || !error.isRetryable) return undefined;
    const kept = this.#usableLast();
    if (kept === undefined) return undefined;
    const last = this.#lastRefresh!;
    const expiresAt = kept.expiry_date as number;
    const now = this.#clock();
    const lifetime = expiresAt - last.obtainedAt;
    const margin = Math.min(this.#safetyMarginMs, lifetime * 0.1);
    this.#coolDownUntil = now + Math.min(5_000, Math.max(50, lifetime * 0.05));
    const { status, cloudCode } = error as { status?: unknown; cloudCode?: unknown };
    logEvent(this.#logger, 'warn', 'refreshing the Google access token failed; the current one stays in use until its safety margin', {
      code: error.code,
      status,
      cloudCode,
      expiresAt: new Date(expiresAt).toISOString(),
      usableForSeconds: Math.floor((expiresAt - margin - now) / 1000),
      nextAttemptInMs: this.#coolDownUntil - now,
    });
    return kept;
  }

  async #refresh(): ReturnType<IdentityPoolClient['refreshAccessTokenAsync']> {
    try {
      return await this.#exchange();
    } catch (error) {
      if (!isExpiredSubjectToken(error)) throw error;
      logEvent(this.#logger, 'warn', 'GCP STS says the Skyporten token has expired; retrying once with a fresh token');
      this.maskinporten.invalidate();
      return await this.#exchange();
    }
  }

  async #exchange(): ReturnType<IdentityPoolClient['refreshAccessTokenAsync']> {
    logEvent(this.#logger, 'debug', 'exchanging the Skyporten token at GCP STS', {
      audience: this.federation.audience,
      serviceAccountEmail: this.federation.serviceAccountEmail,
    });
    try {
      return await super.refreshAccessTokenAsync();
    } catch (error) {
      throw toCloudExchangeError(error, this.#context);
    }
  }
}

/**
 * Google Cloud credentials from Skyporten: an external-account `AuthClient` (google-auth-library's
 * `IdentityPoolClient`) for any `@google-cloud/*` client. Each refresh takes the cached Skyporten token from
 * Maskinporten, exchanges it at GCP STS for a federated token, and (with `serviceAccountEmail`) impersonates
 * the data provider's service account. google-auth-library caches the resulting access token until shortly
 * before it expires; concurrent requests share one refresh. When that refresh fails with a retryable error
 * (an outage of STS, IAM Credentials or Maskinporten) while the cached access token is still valid, callers
 * keep getting the cached one (a warning is logged) until `safetyMarginSeconds` before it expires.
 *
 * Without `serviceAccountEmail` the federated token is used directly: it expires with the Skyporten token
 * (about 120 seconds), so long downloads can outlive it, and the resource must grant the federated principal.
 *
 * @example
 * ```ts
 * import { Storage } from '@google-cloud/storage';
 * import { skyportenCredentials } from '@skyporten/gcp';
 *
 * const storage = new Storage({
 *   authClient: skyportenCredentials({
 *     maskinporten: { environment: 'test', clientId, scope: 'entur:skyporten.demo', resource: 'https://skyporten.entur.org', key },
 *     audience: '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/providers/maskinporten',
 *     serviceAccountEmail: 'reader@data-provider.iam.gserviceaccount.com',
 *   }),
 * });
 * const [content] = await storage.bucket('skyporten-public-demo').file('hello.txt').download();
 * ```
 * @throws ConfigError when an option is missing or malformed (checked here, before any request).
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenIdentityPoolClient {
  const federation = resolveFederation(options);
  if (options.scopes !== undefined && (!Array.isArray(options.scopes) || options.scopes.length === 0 || !options.scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope)))) {
    throw new ConfigError('scopes', 'scopes must be a non-empty array of OAuth scope URLs, e.g. ["https://www.googleapis.com/auth/devstorage.read_only"].');
  }
  const margin = options.safetyMarginSeconds;
  if (margin !== undefined && (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0)) {
    throw new ConfigError('safetyMarginSeconds', `safetyMarginSeconds must be a number of seconds, 0 or more, got ${String(margin)}.`);
  }
  const lifetime = options.tokenLifetimeSeconds;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 600 || lifetime > 43200)) {
    throw new ConfigError('tokenLifetimeSeconds', `tokenLifetimeSeconds must be a whole number of seconds from 600 to 43200 (above 3600 needs an organisation policy), got ${String(lifetime)}.`);
  }
  const maskinporten = resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger });
  if (federation.serviceAccountEmail === undefined) {
    logEvent(
      options.logger,
      'warn',
      'No serviceAccountEmail: the federated token from GCP STS is used directly and expires with the Skyporten token (about 120 s)',
    );
  }
  return new SkyportenIdentityPoolClient(maskinporten, federation, {
    ...(options.scopes === undefined ? {} : { scopes: options.scopes }),
    ...(options.tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds: options.tokenLifetimeSeconds }),
    ...(margin === undefined ? {} : { safetyMarginSeconds: margin }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}
