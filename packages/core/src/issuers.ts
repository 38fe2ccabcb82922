import { ConfigError } from './errors.js';
import { display } from './validation.js';

/** Skyporten's issuer in Digdir's test environment. No trailing slash: `aud` must match it exactly. @public */
export const SKYPORTEN_TEST_ISSUER = 'https://test.sky.maskinporten.no';
/** Skyporten's production issuer. No trailing slash. @public */
export const SKYPORTEN_PROD_ISSUER = 'https://sky.maskinporten.no';
/** Plain Maskinporten's test issuer. It has a trailing slash, unlike Skyporten. @public */
export const MASKINPORTEN_TEST_ISSUER = 'https://test.maskinporten.no/';
/** Plain Maskinporten's production issuer. It has a trailing slash, unlike Skyporten. @public */
export const MASKINPORTEN_PROD_ISSUER = 'https://maskinporten.no/';

/** `'test'` or `'prod'`: picks the Skyporten issuer of that environment. @public */
export type SkyportenEnvironment = 'test' | 'prod';

/** The Skyporten issuer of each environment. @public */
export const SKYPORTEN_ISSUERS: Readonly<Record<SkyportenEnvironment, string>> = Object.freeze({
  test: SKYPORTEN_TEST_ISSUER,
  prod: SKYPORTEN_PROD_ISSUER,
});

const skyportenHosts = new Set(['test.sky.maskinporten.no', 'sky.maskinporten.no']);
const maskinportenHosts = new Set(['test.maskinporten.no', 'maskinporten.no']);

/** True for 127.0.0.0/8, ::1 and localhost: the only hosts where plain http is allowed (tests, mocks). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Checks an issuer and returns it unchanged: the token endpoint (`aud`) and every cloud compare it byte for byte. @internal */
export function validateIssuer(issuer: string, field = 'issuer'): string {
  const url = validateEndpoint(issuer, field);
  if (url.search || url.hash) {
    throw new ConfigError(field, `${field} "${issuer}" must not have a query or fragment.`);
  }
  if (skyportenHosts.has(url.hostname) && issuer.endsWith('/')) {
    throw new ConfigError(
      field,
      `${field} "${issuer}" has a trailing slash, but Skyporten's issuer is "${issuer.replace(/\/+$/, '')}" exactly. ` +
        'The grant\'s aud must equal it byte for byte (the token endpoint answers invalid_grant MP-110 otherwise), ' +
        'and the clouds match the token\'s iss the same way.',
    );
  }
  if (maskinportenHosts.has(url.hostname) && !issuer.endsWith('/')) {
    throw new ConfigError(
      field,
      `${field} "${issuer}" lacks the trailing slash: plain Maskinporten's issuer is "${issuer}/". ` +
        'For Skyporten use environment: \'test\' or \'prod\' instead.',
    );
  }
  return issuer;
}

/** Checks an endpoint URL (issuer, token endpoint): https, or http on a loopback host; returns it parsed. @internal */
export function validateEndpoint(value: string, field: string): URL {
  if (typeof value !== 'string') {
    throw new ConfigError(field, `${field} must be a URL string, e.g. "${SKYPORTEN_TEST_ISSUER}"; got ${display(value)}.`);
  }
  const url = URL.parse(value);
  if (url === null) {
    throw new ConfigError(field, `${field} "${value}" is not a URL. Use environment: 'test' or 'prod', or e.g. "${SKYPORTEN_TEST_ISSUER}".`);
  }
  if (!isSecureEndpoint(url)) {
    throw new ConfigError(
      field,
      `${field} "${value}" must use https:// (plain http is only accepted for loopback hosts such as 127.0.0.1, for tests).`,
    );
  }
  return url;
}

/** The URL of a path under the issuer, whether or not the issuer ends with a slash. @internal */
export function issuerUrl(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}

/** https, or http on a loopback host (local mocks): the one rule for every endpoint the SDK sends a secret to. @internal */
export function isSecureEndpoint(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/** Checks an endpoint option by {@link isSecureEndpoint}'s rule and returns it parsed. @throws ConfigError naming `field`. @internal */
export function checkEndpoint(field: string, value: string): URL {
  const url = URL.parse(value);
  if (url === null) throw new ConfigError(field, `${field} must be an absolute URL (got "${display(value)}").`);
  if (!isSecureEndpoint(url)) throw new ConfigError(field, `${field} must use https (got "${url.origin}"); plain http is accepted only for loopback hosts (local mocks).`);
  return url;
}
