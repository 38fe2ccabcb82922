import { ConfigError } from './errors.js';

/** A short, printable form of any value for error messages; never throws (no toString is called). @internal */
export function display(value: unknown): string {
  if (typeof value === 'string') return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

const scopePattern = /^[a-z0-9][a-z0-9_.-]*:[A-Za-z0-9_.:/-]+$/;

/** True when `scope` is one Maskinporten scope: `<prefix>:<name>`, e.g. `entur:skyporten.demo`. @public */
export function isValidScope(scope: string): boolean {
  return scopePattern.test(scope);
}

/** Checks scopes (space-separated or an array) and joins them with single spaces, as the grant's `scope` wants them. @internal */
export function normalizeScope(scope: unknown, field = 'scope'): string {
  let items: string[];
  if (typeof scope === 'string') {
    items = scope.split(/\s+/).filter(Boolean);
  } else if (Array.isArray(scope)) {
    items = scope.map((item, index) => {
      if (typeof item !== 'string') throw new ConfigError(field, `${field}[${index}] must be a string.`);
      if (/\s/.test(item.trim())) throw new ConfigError(field, `${field}[${index}] "${item}" contains a space: give one scope per array item.`);
      return item.trim();
    });
  } else {
    throw new ConfigError(field, `${field} is required: the Maskinporten scope(s) registered on the client, e.g. "entur:skyporten.demo".`);
  }
  if (items.length === 0 || items.some((item) => item === '')) {
    throw new ConfigError(field, `${field} is empty: give at least one scope, e.g. "entur:skyporten.demo".`);
  }
  for (const item of items) {
    if (!isValidScope(item)) {
      throw new ConfigError(field, `${field} "${item}" is not a Maskinporten scope: expected "<prefix>:<name>", e.g. "entur:skyporten.demo".`);
    }
  }
  return [...new Set(items)].join(' ');
}

/** Checks the `resource` (the audience the cloud expects): absolute URIs, one or several. @internal */
export function normalizeResource(resource: unknown, field = 'resource'): string | string[] | undefined {
  if (resource === undefined) return undefined;
  const items = typeof resource === 'string' ? [resource] : Array.isArray(resource) ? resource : undefined;
  if (items === undefined || items.length === 0) {
    throw new ConfigError(field, `${field} must be an absolute URI or a non-empty array of them, e.g. "https://skyporten.example.org".`);
  }
  const checked = items.map((item, index) => {
    const label = items.length > 1 ? `${field}[${index}]` : field;
    if (typeof item !== 'string' || !isAbsoluteUri(item)) {
      throw new ConfigError(field, `${label} "${display(item)}" is not an absolute URI: use the audience the cloud expects, e.g. "https://skyporten.example.org".`);
    }
    return item;
  });
  return typeof resource === 'string' ? checked[0] : checked;
}

function isAbsoluteUri(value: string): boolean {
  const url = /\s/.test(value) ? undefined : URL.parse(value);
  return url !== undefined && url !== null && /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) && (url.host !== '' || url.protocol === 'urn:');
}

/** True when `value` is a Norwegian organisation number: nine digits whose last is the modulus-11 check digit. @public */
export function isValidOrganisationNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((total, weight, index) => total + weight * Number(value[index]), 0);
  const check = (11 - (sum % 11)) % 11;
  return check !== 10 && check === Number(value[8]);
}

/** Accepts `123456789` or `0192:123456789` and returns the nine digits, or throws a ConfigError naming `field`. @internal */
export function normalizeOrganisationNumber(value: unknown, field: string): string {
  const text = typeof value === 'string' ? value.trim().replace(/^0192:/, '').replace(/\s/g, '') : '';
  if (!isValidOrganisationNumber(text)) {
    throw new ConfigError(field, `${field} "${display(value)}" is not a valid Norwegian organisation number (nine digits with a modulus-11 check digit, optionally prefixed "0192:").`);
  }
  return text;
}

/** @internal */
export function normalizeClientId(value: unknown, field = 'clientId'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(field, `${field} is required: the Maskinporten client (integration) id, set as the grant's iss.`);
  }
  if (/\s/.test(value)) throw new ConfigError(field, `${field} "${value}" contains whitespace.`);
  return value;
}

/** A numeric option's allowed range (`max: Infinity` for none). @public */
export interface NumberRule {
  /** The smallest value allowed. */
  min: number;
  /** The largest value allowed (`Infinity` for no bound). */
  max: number;
  /** Whole numbers only. @default false */
  integer?: boolean;
}

/** Checks an optional number option (`undefined` passes): a finite number in the rule's range, else a ConfigError. @public */
export function checkNumber(value: unknown, field: string, rule: NumberRule): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= rule.min && value <= rule.max && (!rule.integer || Number.isInteger(value));
  if (ok) return;
  const kind = rule.integer ? 'an integer' : 'a number';
  const range = rule.max === Infinity ? `of ${rule.min} or more` : `from ${rule.min} to ${rule.max}`;
  throw new ConfigError(field, `${field} is invalid: expected ${kind} ${range}, got ${display(value)}.`);
}

/** Checks an optional function option (`undefined` passes). @internal */
export function checkFunction(value: unknown, field: string): void {
  if (value === undefined || typeof value === 'function') return;
  throw new ConfigError(field, `${field} is invalid: expected a function, got ${display(value)}.`);
}
