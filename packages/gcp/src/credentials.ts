import type { MaskinportenClient, SkyportenToken } from '@skyporten/core';
import { checkNumber, CloudExchangeError, ConfigError, createRefreshingCache, logEvent, requireAudience, resolveMaskinportenClient, systemClock, traceCloudExchange } from '@skyporten/core/adapter';
import type { Clock, DecodedSkyportenToken, Expiring, Logger, MaskinportenClientOrOptions } from '@skyporten/core/adapter';
import { IdentityPoolClient, type Credentials, type SubjectTokenSupplier } from 'google-auth-library';
import { externalAccountFields } from './credential-config.js';
import { toCloudExchangeError, type ExchangeContext } from './errors.js';
import { resolveDelegates, resolveFederation, TOKEN_LIFETIME_RULE, type GcpFederationOptions, type ResolvedFederation } from './options.js';

/** The scope google-auth-library asks for when none is given. @public */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** A Google access token as google-auth-library's external-account client returns it. */
type GoogleToken = Awaited<ReturnType<IdentityPoolClient['refreshAccessTokenAsync']>>;

/** Options of {@link skyportenCredentials}; the README explains each. @public */
export interface SkyportenCredentialsOptions extends GcpFederationOptions {
  /** The Maskinporten client, or options for one; its `resource` must be an audience the pool provider allows. @default createMaskinportenClient() from the environment */
  maskinporten?: MaskinportenClientOrOptions | undefined;
  /** OAuth scopes of the Google access token. @default ["https://www.googleapis.com/auth/cloud-platform"] */
  scopes?: string[] | undefined;
  /** Lifetime of impersonated tokens, in seconds (600 to 43200; above 3600 needs an organisation policy); ignored without `serviceAccountEmail`. @default 3600 */
  tokenLifetimeSeconds?: number | undefined;
  /** A delegation chain to `serviceAccountEmail`, first hop first: emails or `projects/-/serviceAccounts/<EMAIL>`. @default [] (impersonate directly) */
  delegates?: readonly string[] | undefined;
  /** Through a refresh failing with a retryable error, keep handing out the current token until this many seconds before expiry. @default 60 */
  safetyMarginSeconds?: number | undefined;
  /** Receives debug/warn events; never a token. */
  logger?: Logger | undefined;
  /** Current time in milliseconds, for the subject token's remaining lifetime and the safety margin. @default Date.now */
  clock?: Clock | undefined;
}

/**
 * Google Cloud credentials from Skyporten: an `AuthClient` for any `@google-cloud/*` client, e.g.
 * `new Storage({ authClient: skyportenCredentials({ audience, serviceAccountEmail }) })` (see the README).
 * @throws ConfigError when an option is missing or malformed (checked here, before any request).
 * @public
 */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenIdentityPoolClient {
  const federation = resolveFederation(options);
  const { scopes } = options;
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope)))) {
    throw new ConfigError('scopes', 'scopes must be a non-empty array of OAuth scope URLs, e.g. ["https://www.googleapis.com/auth/devstorage.read_only"].');
  }
  checkNumber(options.safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  checkNumber(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds', TOKEN_LIFETIME_RULE);
  const delegates = resolveDelegates(options.delegates, federation); // before the key is read, like the other options
  const maskinporten = resolveMaskinportenClient(options.maskinporten, { env: options.env, clock: options.clock, logger: options.logger });
  if (federation.serviceAccountEmail === undefined) {
    logEvent(options.logger, 'warn', 'No serviceAccountEmail: the federated token from GCP STS is used directly and expires with the Skyporten token (about 120 s)');
  }
  return new SkyportenIdentityPoolClient(maskinporten, federation, { ...options, delegates });
}

/** Options of {@link createSubjectTokenSupplier}. @public */
export interface SubjectTokenSupplierOptions {
  /** Force a fresh Skyporten token when the cached one has less than this many seconds left. @default 0 */
  minimumLifetimeSeconds?: number | undefined;
  /** Current time in milliseconds. @default Date.now */
  clock?: Clock | undefined;
  /** Called with the decoded claims (never the token) of each subject token handed out, e.g. for error hints. */
  onToken?: ((decoded: DecodedSkyportenToken) => void) | undefined;
}

/** An `IdentityPoolClient`'s `subject_token_supplier`: the client's (cached) Skyporten token. @throws ConfigError naming `resource` when it has no `aud`. @public */
export function createSubjectTokenSupplier(maskinporten: MaskinportenClient, options: SubjectTokenSupplierOptions = {}): SubjectTokenSupplier {
  const clock = options.clock ?? systemClock;
  const minimumMs = (options.minimumLifetimeSeconds ?? 0) * 1000;
  const decoded = new WeakMap<SkyportenToken, DecodedSkyportenToken>(); // each token once, however many exchanges present it
  return {
    async getSubjectToken() {
      let token = await maskinporten.getToken();
      if (minimumMs > 0 && token.expiresAt.getTime() - clock() < minimumMs) token = await maskinporten.getToken({ forceRefresh: true });
      const claims = decoded.get(token) ?? requireAudience(token.accessToken, 'GCP STS');
      decoded.set(token, claims);
      options.onToken?.(claims);
      return token.accessToken;
    },
  };
}

/** The `IdentityPoolClient` {@link skyportenCredentials} returns: subject tokens from Maskinporten, hinted errors, outages bridged (see the README). @public */
export class SkyportenIdentityPoolClient extends IdentityPoolClient {
  /** The Maskinporten client that supplies subject tokens. */
  readonly maskinporten: MaskinportenClient;
  /** The validated federation settings (audience, endpoints, service account). */
  readonly federation: Readonly<ResolvedFederation>;
  /** The delegation chain to the service account, as `projects/-/serviceAccounts/<EMAIL>`; empty for none. */
  readonly delegates: readonly string[];
  /** With delegates: the federated-only client that impersonates through the chain. */
  readonly #chainSource: IdentityPoolClient | undefined;
  readonly #context: ExchangeContext;
  readonly #options: SkyportenCredentialsOptions;
  /** google-auth-library's token, held by core's cache only to be kept through an outage (it never refreshes ahead). */
  readonly #cache;

  /** Prefer {@link skyportenCredentials}, which validates options and reads the environment. */
  constructor(maskinporten: MaskinportenClient, federation: ResolvedFederation, options: Pick<SkyportenCredentialsOptions, 'scopes' | 'delegates' | 'tokenLifetimeSeconds' | 'safetyMarginSeconds' | 'logger' | 'clock'> = {}) {
    const delegates = resolveDelegates(options.delegates, federation);
    const context: ExchangeContext = { federation, delegates, subject: undefined };
    const { clock = systemClock, logger } = options;
    const federated = federation.serviceAccountImpersonationUrl === undefined;
    // The federated token lives only as long as the Skyporten token (about 120 s): refresh 15 s ahead (not 5 min), from tokens with 45 s left.
    const minimumLifetimeSeconds = federated ? 45 : 0;
    const subject_token_supplier = createSubjectTokenSupplier(maskinporten, { minimumLifetimeSeconds, clock, onToken: (subject) => Object.assign(context, { subject }) });
    // With delegates, google-auth-library's own impersonation (which cannot send them) is left out: #throughChain does it.
    const fields = externalAccountFields(delegates.length > 0 ? { ...federation, serviceAccountImpersonationUrl: undefined } : federation, options.tokenLifetimeSeconds);
    const eager = federated ? { eagerRefreshThresholdMillis: 15_000 } : {};
    super({ ...fields, scopes: options.scopes ?? [CLOUD_PLATFORM_SCOPE], subject_token_supplier, ...eager });
    this.maskinporten = maskinporten;
    this.federation = federation;
    this.delegates = delegates;
    // IAM Credentials wants a federated token for cloud-platform (or iam) whatever the target's scopes are.
    this.#chainSource = delegates.length > 0 ? new IdentityPoolClient({ ...fields, scopes: [CLOUD_PLATFORM_SCOPE], subject_token_supplier }) : undefined;
    this.#context = context;
    this.#options = options;
    const policy = { safetyMarginSeconds: options.safetyMarginSeconds ?? 60, refreshWindowSeconds: 0, keepOnRetryableFailure: true };
    this.#cache = createRefreshingCache(() => this.#load(), { clock, logger, name: 'the Google access token', ...policy });
  }

  /** Injects a token, as google-auth-library allows; the kept one is forgotten. */
  override setCredentials(credentials: Credentials): void {
    super.setCredentials(credentials);
    this.#cache.invalidate();
  }

  /** What google-auth-library calls when its token is due or rejected; core's cache shares it and bridges outages. */
  protected override async refreshAccessTokenAsync(): Promise<GoogleToken> {
    return (await this.#cache.get({ forceRefresh: true })).token;
  }

  /** One refresh (exchange, then impersonation), once more with a fresh Skyporten token if STS says it expired. */
  async #load(): Promise<Expiring & { token: GoogleToken }> {
    const token = await this.#exchange().catch((error: unknown) => {
      // Only when STS said the subject token had expired: a fresh Skyporten token may succeed.
      if (!CloudExchangeError.isInstance(error) || error.cloudCode !== 'invalid_grant' || !/expired|stale/i.test(error.message)) throw error;
      logEvent(this.#options.logger, 'warn', 'GCP STS says the Skyporten token has expired; retrying once with a fresh token');
      this.maskinporten.invalidate();
      return this.#exchange();
    });
    return { token, expiresAt: new Date(token.expiry_date ?? Number.NaN) };
  }

  #exchange(): Promise<GoogleToken> {
    const { audience, serviceAccountEmail } = this.federation;
    logEvent(this.#options.logger, 'debug', 'exchanging the Skyporten token at GCP STS', { audience, serviceAccountEmail, delegates: this.delegates.length });
    const source = this.#chainSource;
    return traceCloudExchange('gcp', { audience, serviceAccountEmail }, () =>
      (source === undefined ? super.refreshAccessTokenAsync() : this.#throughChain(source)).catch((error: unknown) => {
        throw toCloudExchangeError(error, this.#context);
      }),
    );
  }

  /** `generateAccessToken` with the chain, sent as google-auth-library's `Impersonated` would (see the README). */
  async #throughChain(source: IdentityPoolClient): Promise<GoogleToken> {
    const { scopes = [CLOUD_PLATFORM_SCOPE], tokenLifetimeSeconds = 3600 } = this.#options;
    const response = await source.request<{ accessToken?: unknown; expireTime?: unknown }>({
      ...SkyportenIdentityPoolClient.RETRY_CONFIG,
      url: this.federation.serviceAccountImpersonationUrl ?? '',
      method: 'POST',
      data: { delegates: this.delegates, scope: scopes, lifetime: `${tokenLifetimeSeconds}s` },
      responseType: 'json',
    });
    const { accessToken, expireTime } = response.data;
    const credentials = { access_token: typeof accessToken === 'string' ? accessToken : null, expiry_date: Date.parse(String(expireTime)) };
    super.setCredentials(credentials); // the token google-auth-library hands out, without forgetting the kept one
    return { ...credentials, res: response };
  }
}
