import type { MaskinportenClient } from '@skyporten/core';
import { checkNumber, CloudExchangeError, ConfigError, createRefreshingCache, logEvent, presentedTokens, resolveMaskinportenClient, systemClock } from '@skyporten/core/adapter';
import { traceCloudExchange, withFreshTokenOnExpiry, type AdapterOptions, type Clock, type DecodedSkyportenToken, type Expiring } from '@skyporten/core/adapter';
import { IdentityPoolClient, type Credentials, type SubjectTokenSupplier } from 'google-auth-library';
import { externalAccountFields } from './credential-config.js';
import { throwCloudExchangeError } from './errors.js';
import { resolveDelegates, resolveFederation, type GcpFederationOptions, type ResolvedFederation } from './options.js';

/** The scope google-auth-library asks for when none is given. @public */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** A Google access token as google-auth-library's external-account client returns it. */
type GoogleToken = Awaited<ReturnType<IdentityPoolClient['refreshAccessTokenAsync']>>;

/** STS said the subject token had expired: a fresh Skyporten token may succeed. */
const isExpiredSubject = (error: unknown) => CloudExchangeError.isInstance(error) && error.cloudCode === 'invalid_grant' && /expired|stale/i.test(error.message);

/** Options of {@link skyportenCredentials}; the README explains each. @public */
export interface SkyportenCredentialsOptions extends GcpFederationOptions, AdapterOptions {
  /** OAuth scopes of the Google access token. @default ["https://www.googleapis.com/auth/cloud-platform"] */
  scopes?: string[] | undefined;
  /** Lifetime of impersonated tokens, in seconds (600 to 43200; above 3600 needs an organisation policy); ignored without `serviceAccountEmail`. @default 3600 */
  tokenLifetimeSeconds?: number | undefined;
  /** A delegation chain to `serviceAccountEmail`, first hop first: emails or `projects/-/serviceAccounts/<EMAIL>`. @default [] (impersonate directly) */
  delegates?: readonly string[] | undefined;
  /** Through a refresh failing with a retryable error, keep handing out the current token until this many seconds before expiry. @default 60 */
  safetyMarginSeconds?: number | undefined;
}

/** Google Cloud credentials from Skyporten: an `AuthClient` for any `@google-cloud/*` client (see the README). @throws ConfigError on a missing or malformed option, before any request. @public */
export function skyportenCredentials(options: SkyportenCredentialsOptions = {}): SkyportenIdentityPoolClient {
  const federation = resolveFederation(options);
  const { scopes } = options;
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && /^\S+$/.test(scope)))) {
    throw new ConfigError('scopes', 'scopes must be a non-empty array of OAuth scope URLs, e.g. ["https://www.googleapis.com/auth/devstorage.read_only"].');
  }
  checkNumber(options.safetyMarginSeconds, 'safetyMarginSeconds', { min: 0, max: Infinity });
  const delegates = resolveDelegates(options.delegates, federation); // before the key is read, like the other options
  const maskinporten = resolveMaskinportenClient(options.maskinporten, options);
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
  const { clock = systemClock, minimumLifetimeSeconds = 0 } = options;
  const getAccessToken = async (): Promise<string> => {
    const token = await maskinporten.getToken();
    const forceRefresh = minimumLifetimeSeconds > 0 && token.expiresAt.getTime() - clock() < minimumLifetimeSeconds * 1000;
    return forceRefresh ? (await maskinporten.getToken({ forceRefresh })).accessToken : token.accessToken;
  };
  const present = presentedTokens({ getAccessToken }, 'GCP STS');
  return {
    async getSubjectToken() {
      const { token, decoded } = await present();
      options.onToken?.(decoded);
      return token;
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
  /** With delegates: a federated-only client (scope cloud-platform, as IAM Credentials wants) that impersonates through the chain (README). */
  readonly #chainSource: IdentityPoolClient | undefined;
  /** The claims of the last subject token handed out, for error hints. */
  readonly #last: { subject?: DecodedSkyportenToken };
  readonly #options: SkyportenCredentialsOptions;
  /** google-auth-library's token, held by core's cache only to be kept through an outage (it never refreshes ahead). */
  readonly #cache;

  /** Prefer {@link skyportenCredentials}, which validates options and reads the environment. */
  constructor(maskinporten: MaskinportenClient, federation: ResolvedFederation, options: Pick<SkyportenCredentialsOptions, 'scopes' | 'delegates' | 'tokenLifetimeSeconds' | 'safetyMarginSeconds' | 'logger' | 'clock'> = {}) {
    const delegates = resolveDelegates(options.delegates, federation);
    const last: { subject?: DecodedSkyportenToken } = {};
    // Federated only, the token lives as long as the Skyporten token: refresh 15 s ahead, from tokens with 45 s left (README).
    const federated = federation.serviceAccountImpersonationUrl === undefined;
    const subject_token_supplier = createSubjectTokenSupplier(maskinporten, { minimumLifetimeSeconds: federated ? 45 : 0, clock: options.clock, onToken: (subject) => Object.assign(last, { subject }) });
    const fields = externalAccountFields(delegates.length > 0 ? { ...federation, serviceAccountImpersonationUrl: undefined } : federation, options.tokenLifetimeSeconds);
    super({ ...fields, scopes: options.scopes ?? [CLOUD_PLATFORM_SCOPE], subject_token_supplier, ...(federated ? { eagerRefreshThresholdMillis: 15_000 } : {}) });
    this.maskinporten = maskinporten;
    this.federation = federation;
    this.delegates = delegates;
    this.#chainSource = delegates.length > 0 ? new IdentityPoolClient({ ...fields, scopes: [CLOUD_PLATFORM_SCOPE], subject_token_supplier }) : undefined;
    this.#last = last;
    this.#options = options;
    const policy = { safetyMarginSeconds: options.safetyMarginSeconds ?? 60, refreshWindowSeconds: 0, keepOnRetryableFailure: true };
    this.#cache = createRefreshingCache(() => this.#load(), { clock: options.clock ?? systemClock, logger: options.logger, name: 'the Google access token', ...policy });
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
    const { audience, serviceAccountEmail } = this.federation;
    const exchange = () => {
      logEvent(this.#options.logger, 'debug', 'exchanging the Skyporten token at GCP STS', { audience, serviceAccountEmail, delegates: this.delegates.length });
      const refresh = this.#chainSource === undefined ? super.refreshAccessTokenAsync() : this.#throughChain(this.#chainSource);
      return refresh.catch((error: unknown) => throwCloudExchangeError(error, this, this.#last.subject));
    };
    const token = await withFreshTokenOnExpiry(this.maskinporten, 'GCP STS', isExpiredSubject, this.#options.logger, () => traceCloudExchange('gcp', { audience, serviceAccountEmail }, exchange));
    return { token, expiresAt: new Date(token.expiry_date ?? Number.NaN) };
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
