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

const KEEP = 20;

/**
 * A pipeline policy for `@azure/identity`'s HTTP client that records failed responses (status, OAuth error,
 * AADSTS code). MSAL turns an error response into an `AuthenticationRequiredError` or
 * `CredentialUnavailableError` without the HTTP status (and loses the body of a failed tenant discovery), so
 * the adapter reads them here. Only 4xx/5xx responses are read; their bodies carry no secret.
 */
export function createFailureRecorder() {
  const failures: EntraFailure[] = [];
  let sequence = 0;
  const policy: AdditionalPolicy = {
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
  };
  return {
    policy,
    /** The sequence number the next failure will get: pass it to `failureOf` to see only later failures. */
    nextSequence: () => sequence,
    /**
     * The failed response behind `error`: the newest one since `since` (preferring one with the correlation id
     * MSAL puts in its message), else, when no request failed, the 429/5xx answer whose description the message
     * repeats: MSAL's throttling replays it without a request for a while (60 s by default) after Entra ID gave it.
     */
    failureOf(error: unknown, since: number): { failure: EntraFailure | undefined; throttled: boolean } {
      const message = error instanceof Error ? error.message : String(error);
      const correlationId = /Correlation ID: ([\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12})/i.exec(message)?.[1];
      const recent = failures.filter((failure) => failure.sequence >= since);
      const found = recent.findLast((failure) => correlationId !== undefined && failure.correlationId === correlationId) ?? recent.at(-1);
      if (found !== undefined) return { failure: found, throttled: false };
      const replayed = failures.findLast((failure) => (failure.status === 429 || failure.status >= 500) && failure.description !== undefined && message.includes(failure.description));
      return { failure: replayed, throttled: replayed !== undefined };
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
