import type { MaskinportenClient } from '@skyporten/core';
import {
  createRefreshingCache,
  logEvent,
  systemClock,
  traceCloudExchange,
  type Clock,
  type Expiring,
  type Logger,
  type RefreshingCache,
} from '@skyporten/core/adapter';
import { IdentityPoolClient, type Credentials } from 'google-auth-library';
import { externalAccountFields } from './credential-config.js';
import type { SkyportenCredentialsOptions } from './credentials.js';
import { isExpiredSubjectToken, toCloudExchangeError, type ExchangeContext } from './errors.js';
import { impersonateThroughChain, resolveDelegates, type DelegationChain, type GoogleToken } from './impersonation.js';
import type { ResolvedFederation } from './options.js';
import { createSubjectTokenSupplier } from './subject-token.js';

/** The scope google-auth-library asks for when none is given. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Refresh a federated (not impersonated) token this long before it expires. */
const FEDERATED_EAGER_REFRESH_MS = 15_000;
/** Exchange only Skyporten tokens with at least this long left when the federated token is used directly. */
const FEDERATED_MINIMUM_SUBJECT_SECONDS = 45;
/** Default of `safetyMarginSeconds`. */
const DEFAULT_SAFETY_MARGIN_SECONDS = 60;

/** A Google access token as core's cache holds it. */
interface CachedToken extends Expiring {
  token: GoogleToken;
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
  /** The delegation chain to the service account, as `projects/-/serviceAccounts/<EMAIL>`; empty for none. */
  readonly delegates: readonly string[];
  /** With delegates: the federated-only client that impersonates through the chain, and what it asks for. */
  readonly #chain: DelegationChain | undefined;
  readonly #context: ExchangeContext;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  /**
   * The token google-auth-library holds, and until when it may still be handed out (core's safety margin).
   * google-auth-library decides when to refresh (its eager threshold), so the cache never refreshes ahead.
   */
  readonly #cache: RefreshingCache<CachedToken>;
  /** After a failed refresh kept the current token: no new attempt before this time (ms). */

  /** Prefer {@link skyportenCredentials}, which validates options and reads the environment. */
  constructor(maskinporten: MaskinportenClient, federation: ResolvedFederation, options: Pick<SkyportenCredentialsOptions, 'scopes' | 'delegates' | 'tokenLifetimeSeconds' | 'safetyMarginSeconds' | 'logger' | 'clock'> = {}) {
    const delegates = resolveDelegates(options.delegates, federation);
    const context: ExchangeContext = { federation, delegates, subject: undefined };
    const clock = options.clock ?? systemClock;
    const federated = federation.serviceAccountImpersonationUrl === undefined;
    const scopes = options.scopes ?? [CLOUD_PLATFORM_SCOPE];
    const subjectTokenSupplier = createSubjectTokenSupplier(maskinporten, {
      ...(federated ? { minimumLifetimeSeconds: FEDERATED_MINIMUM_SUBJECT_SECONDS } : {}),
      clock,
      onToken: (decoded) => {
        context.subject = decoded;
      },
    });
    // With delegates, google-auth-library's own impersonation (which cannot send them) is left out; #exchange
    // impersonates through the chain with a federated-only client.
    const fields = externalAccountFields(delegates.length > 0 ? { ...federation, serviceAccountImpersonationUrl: undefined } : federation, options.tokenLifetimeSeconds);
    super({
      ...fields,
      scopes,
      // Without impersonation the federated token lives only as long as the Skyporten token (about 120 s):
      // google-auth-library's default eager refresh (5 minutes before expiry) would exchange on every request.
      ...(federated ? { eagerRefreshThresholdMillis: FEDERATED_EAGER_REFRESH_MS } : {}),
      subject_token_supplier: subjectTokenSupplier,
    });
    this.maskinporten = maskinporten;
    this.federation = federation;
    this.delegates = delegates;
    // IAM Credentials wants a federated token for cloud-platform (or iam) whatever the target's scopes are.
    this.#chain =
      delegates.length > 0 && federation.serviceAccountImpersonationUrl !== undefined
        ? {
            source: new IdentityPoolClient({ ...fields, scopes: [CLOUD_PLATFORM_SCOPE], subject_token_supplier: subjectTokenSupplier }),
            request: { url: federation.serviceAccountImpersonationUrl, delegates, scopes, lifetimeSeconds: options.tokenLifetimeSeconds },
          }
        : undefined;
    this.#context = context;
    this.#logger = options.logger;
    this.#clock = clock;
    this.#cache = createRefreshingCache(() => this.#load(), {
      clock: this.#clock,
      logger: options.logger,
      name: 'the Google access token',
      safetyMarginSeconds: options.safetyMarginSeconds ?? DEFAULT_SAFETY_MARGIN_SECONDS,
      refreshWindowSeconds: 0,
      keepOnRetryableFailure: true,
    });
  }

  /** Injects a token, as google-auth-library allows; the kept one is forgotten. */
  override setCredentials(credentials: Credentials): void {
    super.setCredentials(credentials);
    this.#cache.invalidate();
  }

  /** What google-auth-library calls when its token is due (or was rejected): a new one, or the current one through an outage. */
  protected override async refreshAccessTokenAsync(): Promise<GoogleToken> {
    // google-auth-library decides when to refresh; core's cache shares the call, and after a retryable failure
    // hands out the held token (one warning, then a cool-down) until its safety margin.
    return (await this.#cache.get({ forceRefresh: true })).token;
  }

  /** One refresh (exchange, then impersonation), once more with a fresh Skyporten token if STS says it expired. */
  async #load(): Promise<CachedToken> {
    let token: GoogleToken;
    try {
      token = await this.#exchange();
    } catch (error) {
      if (!isExpiredSubjectToken(error)) throw error;
      logEvent(this.#logger, 'warn', 'GCP STS says the Skyporten token has expired; retrying once with a fresh token');
      this.maskinporten.invalidate();
      token = await this.#exchange();
    }
    return { token, expiresAt: new Date(token.expiry_date ?? Number.NaN), issuedAt: new Date(this.#clock()) };
  }

  #exchange(): Promise<GoogleToken> {
    const { audience, serviceAccountEmail } = this.federation;
    logEvent(this.#logger, 'debug', 'exchanging the Skyporten token at GCP STS', { audience, serviceAccountEmail, delegates: this.delegates.length });
    const chain = this.#chain;
    const refresh = chain === undefined ? () => super.refreshAccessTokenAsync() : () => this.#throughChain(chain);
    return traceCloudExchange('gcp', { audience, serviceAccountEmail }, () =>
      refresh().catch((error: unknown) => {
        throw toCloudExchangeError(error, this.#context);
      }),
    );
  }

  /** Impersonates through the delegation chain; the token becomes the one google-auth-library hands out. */
  async #throughChain(chain: DelegationChain): Promise<GoogleToken> {
    const token = await impersonateThroughChain(chain, SkyportenIdentityPoolClient.RETRY_CONFIG);
    super.setCredentials({ access_token: token.access_token, expiry_date: token.expiry_date });
    return token;
  }
}
