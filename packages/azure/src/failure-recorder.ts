import type { ClientAssertionCredentialOptions } from '@azure/identity';

type AdditionalPolicy = NonNullable<ClientAssertionCredentialOptions['additionalPolicies']>[number];

/**
 * What Entra ID answered to a request that failed, read from the response before MSAL reduces it to a
 * message. `skyportenCredentials` records these itself.
 *
 * @public
 */
export interface EntraFailure {
  /** Increases with every failure recorded, so a call can pick only the failures that happened during it. */
  sequence: number;
  /** The HTTP status, e.g. 400 or 429. */
  status: number;
  /** The path of the request, e.g. `/{tenant}/oauth2/v2.0/token`. */
  path: string;
  /** OAuth `error`, e.g. `invalid_request`. */
  error: string | undefined;
  /** The first AADSTS number, e.g. `AADSTS70021`. */
  aadsts: string | undefined;
  /** `error_description`, as sent. */
  description: string | undefined;
  /** MSAL's `client-request-id`, which Entra ID echoes as "Correlation ID". */
  correlationId: string | undefined;
}

/** Keeps the last few Entra ID failures of one credential. */
export interface FailureRecorder {
  policy: AdditionalPolicy;
  /** The sequence number the next failure will get. */
  nextSequence(): number;
  /** The newest failure with `sequence >= since`, preferring one with this correlation id. */
  find(since: number, correlationId: string | undefined): EntraFailure | undefined;
  /**
   * The newest 429/5xx failure whose description `message` repeats: MSAL's throttling replays the last such
   * answer, without a request, for a while (60 s by default) after Entra ID gave it.
   */
  replayed(message: string): EntraFailure | undefined;
}

const KEEP = 20;

/**
 * A pipeline policy for `@azure/identity`'s HTTP client that records failed responses (status, OAuth error,
 * AADSTS code). MSAL turns an error response into an `AuthenticationRequiredError` or
 * `CredentialUnavailableError` without the HTTP status (and loses the body of a failed tenant discovery), so
 * the adapter reads them here. Only 4xx/5xx responses are read; their bodies carry no secret.
 */
export function createFailureRecorder(): FailureRecorder {
  const failures: EntraFailure[] = [];
  let sequence = 0;
  return {
    policy: {
      position: 'perRetry',
      policy: {
        name: 'skyportenEntraFailureRecorder',
        async sendRequest(request, next) {
          const response = await next(request);
          if (response.status >= 400) {
            const body = parseBody(response.bodyAsText);
            const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
            failures.push({
              sequence: sequence++,
              status: response.status,
              path: new URL(request.url).pathname,
              error: typeof body?.error === 'string' ? body.error : undefined,
              aadsts: aadstsCode(description) ?? aadstsFromCodes(body?.error_codes),
              description,
              correlationId: request.headers.get('client-request-id') ?? undefined,
            });
            if (failures.length > KEEP) failures.shift();
          }
          return response;
        },
      },
    },
    nextSequence: () => sequence,
    find(since, correlationId) {
      const recent = failures.filter((failure) => failure.sequence >= since);
      if (correlationId !== undefined) {
        const matching = recent.findLast((failure) => failure.correlationId === correlationId);
        if (matching) return matching;
      }
      return recent.at(-1);
    },
    replayed(message) {
      return failures.findLast(
        (failure) => (failure.status === 429 || failure.status >= 500) && failure.description !== undefined && message.includes(failure.description),
      );
    },
  };
}

function parseBody(text: string | null | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The first `AADSTS<digits>` in a text. */
export function aadstsCode(text: string | undefined): string | undefined {
  return text === undefined ? undefined : /\bAADSTS\d+/.exec(text)?.[0];
}

function aadstsFromCodes(codes: unknown): string | undefined {
  return Array.isArray(codes) && typeof codes[0] === 'number' ? `AADSTS${codes[0]}` : undefined;
}
