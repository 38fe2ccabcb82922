import { DiscoveryError, SkyportenError } from './errors.js';
import type { HttpClient } from './http.js';
import { issuerUrl } from './issuers.js';
import { parseRetryAfter, withRetry, type WithRetryOptions } from './retry.js';

/** The parts of `/.well-known/openid-configuration` the SDK uses. @public */
export interface IssuerMetadata {
  /** The issuer URL; must equal the one asked for, exactly. */
  issuer: string;
  /** Where the JWT grant is posted. */
  token_endpoint: string;
  /** The issuer's public keys, for verifying its access tokens. */
  jwks_uri?: string | undefined;
  /** Client authentication methods, e.g. `private_key_jwt`. */
  token_endpoint_auth_methods_supported?: string[] | undefined;
  /** Grant types, e.g. `urn:ietf:params:oauth:grant-type:jwt-bearer`. */
  grant_types_supported?: string[] | undefined;
  /** Algorithms accepted for the grant's signature, e.g. `RS256`. */
  token_endpoint_auth_signing_alg_values_supported?: string[] | undefined;
}

/** The first field of a metadata document that is missing or of the wrong type, or undefined. */
function invalidField(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'root: expected an object';
  const document = json as Record<string, unknown>;
  if (typeof document.issuer !== 'string' || document.issuer === '') return 'issuer: expected a string';
  if (!isUrl(document.token_endpoint)) return 'token_endpoint: expected a URL';
  if (document.jwks_uri !== undefined && !isUrl(document.jwks_uri)) return 'jwks_uri: expected a URL';
  for (const field of ['token_endpoint_auth_methods_supported', 'grant_types_supported', 'token_endpoint_auth_signing_alg_values_supported']) {
    const value = document[field];
    if (value !== undefined && !(Array.isArray(value) && value.every((item) => typeof item === 'string'))) return `${field}: expected an array of strings`;
  }
  return undefined;
}

function isUrl(value: unknown): value is string {
  return typeof value === 'string' && URL.canParse(value);
}

/** Validates a metadata answer: 200, JSON, the expected fields, and an `issuer` equal to the configured one byte for byte. @internal */
export function processDiscoveryResponse(
  answer: { status: number; body: string; headers?: Headers },
  issuer: string,
  trustedOrigins: readonly string[] = [],
  now: number = Date.now(),
): IssuerMetadata {
  const where = issuerUrl(issuer, '/.well-known/openid-configuration');
  if (answer.status !== 200) {
    throw new DiscoveryError(`${where} answered HTTP ${answer.status}.`, {
      isRetryable: answer.status >= 500 || answer.status === 429 || answer.status === 408,
      retryAfterMs: parseRetryAfter(answer.headers?.get('retry-after'), now),
      hint: 'Check the issuer URL (environment: "test" or "prod"), or set tokenEndpoint to skip discovery.',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch (error) {
    throw new DiscoveryError(`${where} did not answer JSON.`, { cause: error });
  }
  const invalid = invalidField(json);
  if (invalid !== undefined) throw new DiscoveryError(`${where} is not a valid metadata document (${invalid}).`);
  const metadata = json as IssuerMetadata;
  if (metadata.issuer !== issuer) {
    const hint = `Set issuer to "${metadata.issuer}" (mind the trailing slash).`;
    throw new DiscoveryError(`The metadata says the issuer is "${metadata.issuer}", but "${issuer}" is configured. They must match exactly.`, { hint });
  }
  checkTokenEndpointOrigin(metadata.token_endpoint, issuer, trustedOrigins);
  return metadata;
}

/** The discovered token endpoint receives the grant: only the issuer's own origin or a trusted https one (docs/security.md). */
function checkTokenEndpointOrigin(tokenEndpoint: string, issuer: string, trustedOrigins: readonly string[]): void {
  const issuerOrigin = new URL(issuer).origin;
  const endpoint = URL.parse(tokenEndpoint);
  if (endpoint === null) throw new DiscoveryError(`The metadata's token_endpoint "${tokenEndpoint}" is not a URL.`);
  if (endpoint.origin === issuerOrigin) return;
  if (endpoint.protocol === 'https:' && trustedOrigins.includes(endpoint.origin)) return;
  const hint = 'If that endpoint is right, set tokenEndpoint explicitly (discovery is then skipped).';
  const message = `The metadata names a token endpoint on ${endpoint.origin}, not on the issuer's origin ${issuerOrigin}; the SDK does not send the grant there.`;
  throw new DiscoveryError(message, { hint });
}

/** Fetches and validates the issuer's metadata, with retries. @internal */
export function fetchIssuerMetadata(http: HttpClient, issuer: string, options: FetchMetadataOptions = {}): Promise<IssuerMetadata> {
  const { signal, trustedOrigins = [], retry = {} } = options;
  const clock = retry.clock ?? Date.now;
  return withRetry(async (attempt) => {
    let answer;
    try {
      const url = issuerUrl(issuer, '/.well-known/openid-configuration');
      answer = await http(url, { method: 'get', signal, timeoutMs: attempt.remainingMs, attempt: attempt.attempt });
    } catch (error) {
      if (SkyportenError.isInstance(error) && (error.code === 'ABORTED' || error.code === 'CONFIG_INVALID')) throw error;
      const ours = SkyportenError.isInstance(error);
      throw new DiscoveryError(`Could not fetch the metadata of ${issuer}: ${(error as Error).message}`, {
        cause: error,
        isRetryable: ours ? error.isRetryable : true,
        hint: (ours ? error.hint : undefined) ?? 'Check network access to the issuer.',
      });
    }
    return processDiscoveryResponse(answer, issuer, trustedOrigins, clock());
  }, { ...retry, signal });
}

/** Options of {@link fetchIssuerMetadata}. @internal */
export interface FetchMetadataOptions {
  signal?: AbortSignal | undefined;
  /** Extra https origins a discovered token endpoint may be on. */
  trustedOrigins?: readonly string[] | undefined;
  /** The retry policy and its side effects. */
  retry?: WithRetryOptions;
}
