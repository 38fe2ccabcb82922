import { redact } from './redact.js';

const marker = Symbol.for('skyporten.error');
/** Holds the kinds (class names) of an error's class chain, so `isInstance` is subclass-aware across copies. */
const kindsMarker = Symbol.for('skyporten.error.kinds');
/** A class's own kind (minifiers rename classes); subclasses elsewhere may set it, else the constructor's name is used. */
const kindKey = Symbol.for('skyporten.error.kind');
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

function kindOf(constructor: object): string | undefined {
  if (Object.hasOwn(constructor, kindKey)) return (constructor as Record<symbol, string>)[kindKey];
  const name = (constructor as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function kindsOf(target: object): readonly string[] {
  const kinds: string[] = [];
  for (let current: object | null = target; current !== null && current !== Function.prototype; current = Object.getPrototypeOf(current)) {
    const kind = kindOf(current);
    if (kind !== undefined) kinds.push(kind);
    if (kind === 'SkyportenError') break;
  }
  return Object.freeze(kinds);
}

/** Every code a {@link SkyportenError} can carry (each explained in the README's error table). Branch on `error.code`, not on the message. @public */
export type SkyportenErrorCode =
  | 'CONFIG_INVALID'
  | 'KEY_INVALID'
  | 'CERTIFICATE_INVALID'
  | 'DISCOVERY_FAILED'
  | 'TOKEN_REQUEST_REJECTED'
  | 'TOKEN_REQUEST_FAILED'
  | 'TOKEN_RESPONSE_INVALID'
  | 'TIMEOUT'
  | 'NETWORK_ERROR'
  | 'ABORTED'
  | 'TOKEN_INVALID'
  | 'CLOUD_EXCHANGE_FAILED';

/** Options every SkyportenError constructor takes. @public */
export interface SkyportenErrorOptions {
  /** The underlying error; kept as its name and (redacted) message only, never objects that may hold a grant. */
  cause?: unknown;
  /** One sentence on how to fix it; redacted like the message. @default undefined */
  hint?: string | undefined;
  /** Whether trying again later may succeed. @default false */
  isRetryable?: boolean | undefined;
  /** How long the server asked to wait before trying again (its `Retry-After`), in ms. @default undefined */
  retryAfterMs?: number | undefined;
}

/**
 * The base class of every error the SDK throws; message and hint never contain a key, grant or token.
 * Test with `isInstance` rather than `instanceof` (it also recognises a second copy of the package).
 *
 * @public
 */
export class SkyportenError extends Error {
  /** Brand that {@link SkyportenError.isInstance} looks for, so errors from another copy of this package are recognised. @internal */
  declare readonly [marker]: true;
  /** The error's class name, e.g. `'SkyportenError'` or `'ConfigError'`. */
  override name: string;
  /** What went wrong, as a stable machine-readable code. */
  readonly code: SkyportenErrorCode;
  /** True when trying again later may succeed (network failures, 5xx, 429, timeouts). */
  readonly isRetryable: boolean;
  /** One sentence on how to fix it, when the SDK knows. */
  readonly hint: string | undefined;
  /** How long the server asked to wait before a retry (`Retry-After`), in ms; the retry policy honours it. */
  declare readonly retryAfterMs?: number;

    constructor(code: SkyportenErrorCode, message: string, options: SkyportenErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: sanitizeCause(options.cause) });
    const kinds = kindsOf(new.target);
    Object.defineProperty(this, marker, { value: true });
    Object.defineProperty(this, kindsMarker, { value: kinds });
    this.name = Object.hasOwn(new.target, kindKey) ? kinds[0]! : 'SkyportenError';
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
    this.hint = options.hint === undefined ? undefined : redact(options.hint);
    if (options.retryAfterMs !== undefined) Object.defineProperty(this, 'retryAfterMs', { value: options.retryAfterMs, enumerable: false });
  }

  /** True when `value` is an error of this class or a subclass, also one from another copy of this package. */
  static isInstance<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[marker] !== true) return false;
    // Detached (`expect(x).toSatisfy(SkyportenError.isInstance)`), there is no class to narrow to: any SDK error.
    const kind = this === undefined ? 'SkyportenError' : kindOf(this);
    if (kind === 'SkyportenError') return true;
    const kinds = (value as Record<symbol, unknown>)[kindsMarker];
    return Array.isArray(kinds) && kind !== undefined && kinds.includes(kind);
  }

  /** A plain, secret-free object for structured logs. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.hint !== undefined) json.hint = this.hint;
    json.isRetryable = this.isRetryable;
    for (const key of Object.keys(this)) if (!(key in json) && key !== 'cause') json[key] = (this as unknown as Record<string, unknown>)[key];
    return json;
  }

  /** `Name [CODE]: message`, one line, without the hint (read `hint` for that, so it is never printed twice). */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }

  /** What `console.log` and `util.inspect` print: {@link SkyportenError.toString}, the hint, the stack and the cause's name and message (not the cause's other fields). */
  [inspectCustom](): string {
    const hint = this.hint === undefined ? '' : `\nHint: ${this.hint}`;
    const cause = this.cause instanceof Error ? `\n  [cause]: ${this.cause.name}: ${this.cause.message}` : '';
    const stack = (this.stack ?? '').split('\n').slice(1).join('\n');
    return `${this.toString()}${hint}\n${stack}${cause}`;
  }
}

/** An option or environment variable is missing or malformed (`CONFIG_INVALID`). @public */
export class ConfigError extends SkyportenError {
  /** The option path or environment variable at fault, e.g. `scope` or `MASKINPORTEN_CLIENT_ID`. */
  readonly field: string;
  constructor(field: string, message: string, options: SkyportenErrorOptions = {}) {
    super('CONFIG_INVALID', message, options);
    this.field = field;
  }
}

/** The private key or certificate chain cannot be used (`KEY_INVALID`, `CERTIFICATE_INVALID`). @public */
export class KeyError extends SkyportenError {
  /** The option at fault, e.g. `key.privateKey` or `key.certificateChain`. */
  readonly field: string;
  constructor(code: 'KEY_INVALID' | 'CERTIFICATE_INVALID', field: string, message: string, options: SkyportenErrorOptions = {}) {
    super(code, message, options);
    this.field = field;
  }
}

/** The issuer's metadata could not be fetched or does not describe the configured issuer (`DISCOVERY_FAILED`). @public */
export class DiscoveryError extends SkyportenError {
  constructor(message: string, options: SkyportenErrorOptions = {}) {
    super('DISCOVERY_FAILED', message, options);
  }
}

/** The token endpoint refused the grant, kept failing, or answered nonsense; the fields come from its OAuth error. @public */
export class TokenRequestError extends SkyportenError {
  /** HTTP status of the last response, when there was one. */
  readonly status: number | undefined;
  /** OAuth `error`, e.g. `invalid_grant`. */
  readonly error: string | undefined;
  /** OAuth `error_description` as sent by the server. */
  readonly errorDescription: string | undefined;
  /** The Maskinporten code found in the description, e.g. `MP-110`. */
  readonly mpCode: string | undefined;
  /** The trace id found in the description; quote it when you contact Digdir. */
  readonly traceId: string | undefined;

  constructor(
    code: 'TOKEN_REQUEST_REJECTED' | 'TOKEN_REQUEST_FAILED' | 'TOKEN_RESPONSE_INVALID',
    message: string,
    details: Partial<Pick<TokenRequestError, 'status' | 'error' | 'errorDescription' | 'mpCode' | 'traceId'>> & SkyportenErrorOptions = {},
  ) {
    super(code, message, details);
    this.status = details.status;
    this.error = details.error;
    this.errorDescription = details.errorDescription === undefined ? undefined : redact(details.errorDescription);
    this.mpCode = details.mpCode;
    this.traceId = details.traceId;
  }
}

/** A request got no answer within the configured `timeout`, after every retry (`TIMEOUT`, retryable). @public */
export class TimeoutError extends SkyportenError {
  constructor(message: string, options: SkyportenErrorOptions = {}) {
    super('TIMEOUT', message, { isRetryable: true, ...options });
  }
}

/** The connection failed (DNS, refused, reset) after every retry (`NETWORK_ERROR`, retryable). @public */
export class NetworkError extends SkyportenError {
  constructor(message: string, options: SkyportenErrorOptions = {}) {
    super('NETWORK_ERROR', message, { isRetryable: true, ...options });
  }
}

/** Keeps a cause's name and message (redacted) but drops objects such as requests that hold the grant. */
function sanitizeCause(cause: unknown): unknown {
  if (SkyportenError.isInstance(cause)) return cause;
  if (!(cause instanceof Error)) return undefined;
  const copy = new Error(redact(cause.message));
  copy.name = cause.name;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') (copy as Error & { code?: string }).code = code;
  return copy;
}

/** The clouds the adapters talk to. @public */
export type CloudName = 'aws' | 'gcp' | 'azure';

/** A cloud (AWS STS, GCP STS / IAM Credentials, Entra ID) refused or failed the token exchange; `hint` says what to check. @public */
export class CloudExchangeError extends SkyportenError {
  /** Which cloud answered. */
  readonly cloud: CloudName;
  /** HTTP status of the cloud's answer, when there was one. */
  readonly status: number | undefined;
  /** The cloud's own error code, e.g. `InvalidIdentityToken`, `invalid_grant`, `AADSTS70021`. */
  readonly cloudCode: string | undefined;

  constructor(
    cloud: CloudName,
    message: string,
    details: { status?: number | undefined; cloudCode?: string | undefined; hint?: string | undefined; cause?: unknown; isRetryable?: boolean | undefined } = {},
  ) {
    super('CLOUD_EXCHANGE_FAILED', message, details);
    this.cloud = cloud;
    this.status = details.status;
    this.cloudCode = details.cloudCode;
  }
}

// Each class's kind, spelled out: a minifier may rename the classes themselves.
const classKinds = { SkyportenError, ConfigError, KeyError, DiscoveryError, TokenRequestError, TimeoutError, NetworkError, CloudExchangeError };
for (const [kind, type] of Object.entries(classKinds)) Object.defineProperty(type, kindKey, { value: kind });
