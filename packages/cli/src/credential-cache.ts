import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './output.js';

/**
 * The cross-process credential cache of `aws credential-process`, `gcp executable`, `token` and `exchange`.
 *
 * This module is loaded on every cached run before anything else, so it imports only Node built-ins and
 * `output.ts`: a cache hit never loads the core, zod or commander. See docs/decisions/0011-cli-credential-cache.md.
 */

/** The commands whose output is cached. */
export type CachedCommand = 'aws credential-process' | 'gcp executable' | 'token' | 'exchange';

/** Bumped when the entry format or the key's inputs change: old entries are then simply not found. */
const FORMAT_VERSION = 2;

/**
 * Environment variables the cached commands read. Any change gives another key. Secrets among them (an inline
 * key, a passphrase) only enter the SHA-256 of all inputs, never a file.
 */
const KEYED_VARIABLES = [
  /^SKYPORTEN_/,
  /^MASKINPORTEN_/,
  /^GOOGLE_EXTERNAL_ACCOUNT_(AUDIENCE|TOKEN_TYPE)$/,
  /^AWS_(ROLE_ARN|ROLE_SESSION_NAME|REGION|DEFAULT_REGION|ENDPOINT_URL|ENDPOINT_URL_STS)$/,
  /^VAULT_(ADDR|NAMESPACE)$/,
];

/** Variables that only steer the cache; they do not change the result. */
const UNKEYED_VARIABLES = new Set(['SKYPORTEN_CACHE_DIR', 'SKYPORTEN_NO_CACHE']);

/** Arguments that only steer the cache or the logging (and take no value, except `--cache-dir`). */
const UNKEYED_FLAGS = new Set(['--debug', '--no-cache']);

/** Flags and variables that name files: keyed by their absolute path, so the working directory does not matter. */
const PATH_FLAGS = new Set(['--config', '--key-file', '--certificate-file']);
const PATH_VARIABLES = new Set(['SKYPORTEN_CONFIG', 'MASKINPORTEN_PRIVATE_KEY_FILE', 'MASKINPORTEN_CERTIFICATE_FILE']);

/** One command line, split into the parts the cache needs. */
export interface CacheRequest {
  command: CachedCommand;
  /** The SHA-256 (hex) of everything that can change the result. */
  key: string;
  /** The cache directory. */
  directory: string;
  /** The entry's path. */
  path: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

function flagValue(argv: readonly string[], name: string): string | undefined {
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--') return undefined;
    if (argument === name) return argv[index + 1];
    if (argument.startsWith(`${name}=`)) return argument.slice(name.length + 1);
  }
  return undefined;
}

/** The command words (`aws credential-process`), skipping the program's own options before them. */
function commandOf(argv: readonly string[]): { command: CachedCommand; rest: string[] } | undefined {
  const globals: string[] = [];
  let index = 0;
  while (index < argv.length && argv[index]!.startsWith('-')) {
    const argument = argv[index]!;
    if (argument === '--config') {
      globals.push(argument, argv[index + 1] ?? '');
      index += 2;
    } else if (argument === '--debug' || argument.startsWith('--config=')) {
      globals.push(argument);
      index += 1;
    } else {
      return undefined;
    }
  }
  const [first, second] = [argv[index], argv[index + 1]];
  if (first === 'token') return { command: 'token', rest: [...globals, ...argv.slice(index + 1)] };
  if (first === 'exchange') return { command: 'exchange', rest: [...globals, ...argv.slice(index + 1)] };
  if (first === 'aws' && second === 'credential-process') return { command: 'aws credential-process', rest: [...globals, ...argv.slice(index + 2)] };
  if (first === 'gcp' && second === 'executable') return { command: 'gcp executable', rest: [...globals, ...argv.slice(index + 2)] };
  return undefined;
}

/** The cache directory: `--cache-dir`, else SKYPORTEN_CACHE_DIR, else $XDG_CACHE_HOME/skyporten, else ~/.cache/skyporten. */
export function cacheDirectory(argv: readonly string[], env: Environment, cwd: string): string {
  const explicit = flagValue(argv, '--cache-dir') ?? (env.SKYPORTEN_CACHE_DIR || undefined);
  if (explicit !== undefined) return resolve(cwd, explicit);
  const xdg = env.XDG_CACHE_HOME;
  // The XDG specification: a relative XDG_CACHE_HOME is invalid and ignored.
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'skyporten');
  return join(env.HOME || homedir(), '.cache', 'skyporten');
}

/**
 * The cache request for a command line, or undefined when the command is not cached or the cache is off
 * (`--no-cache`, SKYPORTEN_NO_CACHE=1, `--help`, `exchange --output`).
 *
 * The key hashes the raw inputs: the arguments (without `--debug`, `--no-cache`, `--cache-dir`; without
 * `--json` for `token`, which only changes the printing; file paths made absolute, so the working directory
 * does not matter), the variables the command reads and the config file's bytes. Whatever changes the
 * result therefore changes the key: issuer, client, scope, resource, consumer org, key id and key file, role ARN, session name, duration,
 * region, endpoints, the GCP audience and token type.
 */
export function cacheRequestOf(argv: readonly string[], env: Environment, cwd: string): CacheRequest | undefined {
  const parsed = commandOf(argv);
  if (parsed === undefined) return undefined;
  if (parsed.rest.includes('--no-cache') || parsed.rest.includes('--help') || parsed.rest.includes('-h')) return undefined;
  // `exchange --output` writes a file: never answered (printed) from the cache.
  if (parsed.command === 'exchange' && parsed.rest.some((argument) => argument === '--output' || argument.startsWith('--output='))) return undefined;
  if (env.SKYPORTEN_NO_CACHE !== undefined && env.SKYPORTEN_NO_CACHE !== '' && env.SKYPORTEN_NO_CACHE !== '0') return undefined;
  const keyed: string[] = [];
  for (let index = 0; index < parsed.rest.length; index += 1) {
    const argument = parsed.rest[index]!;
    if (UNKEYED_FLAGS.has(argument) || argument.startsWith('--cache-dir=')) continue;
    if (argument === '--cache-dir') {
      index += 1;
      continue;
    }
    if ((parsed.command === 'token' || parsed.command === 'exchange') && argument === '--json') continue;
    if (PATH_FLAGS.has(argument) && index + 1 < parsed.rest.length) {
      keyed.push(argument, resolve(cwd, parsed.rest[index + 1]!));
      index += 1;
      continue;
    }
    const [name, value] = argument.split(/=(.*)/s, 2);
    keyed.push(value !== undefined && PATH_FLAGS.has(name!) ? `${name}=${resolve(cwd, value)}` : argument);
  }
  const variables = Object.keys(env)
    .filter((name) => !UNKEYED_VARIABLES.has(name) && KEYED_VARIABLES.some((pattern) => pattern.test(name)))
    .sort()
    .map((name) => [name, PATH_VARIABLES.has(name) && env[name] ? resolve(cwd, env[name]) : env[name]]);
  const configPath = flagValue(parsed.rest, '--config') ?? (env.SKYPORTEN_CONFIG || undefined);
  let config = '';
  if (configPath !== undefined) {
    try {
      config = createHash('sha256').update(readFileSync(resolve(cwd, configPath))).digest('hex');
    } catch {
      config = 'unreadable';
    }
  }
  const key = createHash('sha256')
    .update(JSON.stringify({ version: FORMAT_VERSION, command: parsed.command, argv: keyed, variables, config }))
    .digest('hex');
  const directory = cacheDirectory(argv, env, cwd);
  return { command: parsed.command, key, directory, path: join(directory, `${parsed.command.replace(' ', '-')}-${key.slice(0, 40)}.json`) };
}

/** What is stored: only what the command prints anyway, with its expiry. */
export interface CacheEntry<T = unknown> {
  version: typeof FORMAT_VERSION;
  command: CachedCommand;
  /** The request's full key: an entry copied or renamed to another command line's file name is not served there. */
  key: string;
  /** When the output was obtained, ms since the epoch. */
  obtainedAt: number;
  /** When the credentials in it expire, ms since the epoch. */
  expiresAt: number;
  /** What the command prints (or prints from). */
  output: T;
}

/** Reports a cache file or directory that was not trusted. */
export type CacheWarn = (message: string) => void;

const currentUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Prepares the cache directory: created 0700 when missing. Returns false (after a warning) when it cannot be
 * trusted: not a directory, owned by another user, or writable by group or others (anyone could plant
 * credentials there). A directory of ours that others can only read is made 0700.
 */
export async function prepareDirectory(directory: string, warn: CacheWarn): Promise<boolean> {
  try {
    await mkdir(resolve(directory, '..'), { recursive: true });
    await mkdir(directory, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    const info = await lstat(directory);
    const uid = currentUid();
    if (!info.isDirectory()) {
      warn(`the cache directory ${directory} is not a directory (a symlink or a file): not using the cache. Remove it or give --cache-dir.`);
      return false;
    }
    if (uid !== undefined && info.uid !== uid) {
      warn(`the cache directory ${directory} belongs to user ${info.uid}, not to you (${uid}): not using the cache. Give --cache-dir (or SKYPORTEN_CACHE_DIR) a directory of your own.`);
      return false;
    }
    if ((info.mode & 0o022) !== 0) {
      warn(`the cache directory ${directory} is writable by group or others (mode ${(info.mode & 0o777).toString(8)}): not using the cache. Run chmod 700 ${directory}.`);
      return false;
    }
    if ((info.mode & 0o077) !== 0) await chmod(directory, 0o700);
    return true;
  } catch (error) {
    warn(`the cache directory ${directory} cannot be used (${(error as NodeJS.ErrnoException).code ?? String(error)}): not using the cache.`);
    return false;
  }
}

function isEntry(value: unknown, command: CachedCommand): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<CacheEntry>;
  return (
    entry.version === FORMAT_VERSION &&
    entry.command === command &&
    typeof entry.key === 'string' &&
    typeof entry.obtainedAt === 'number' &&
    Number.isFinite(entry.obtainedAt) &&
    typeof entry.expiresAt === 'number' &&
    Number.isFinite(entry.expiresAt) &&
    entry.expiresAt > entry.obtainedAt &&
    typeof entry.output === 'object' &&
    entry.output !== null
  );
}

/**
 * Reads an entry. Undefined when there is none, or after a warning when it is not to be trusted: not a regular
 * file, owned by another user, readable or writable by others, not valid JSON, not an entry of this command, or
 * written for another key (copied or renamed from another command line's entry). (It is replaced on the next write.)
 */
export async function readEntry(request: CacheRequest, warn: CacheWarn, isValidOutput: (output: unknown) => boolean): Promise<CacheEntry | undefined> {
  let text: string;
  try {
    const info = await lstat(request.path);
    const uid = currentUid();
    if (!info.isFile()) {
      warn(`ignoring the cache entry ${request.path}: not a regular file. It will be replaced.`);
      return undefined;
    }
    if (uid !== undefined && info.uid !== uid) {
      warn(`ignoring the cache entry ${request.path}: it belongs to user ${info.uid}, not to you. It will be replaced.`);
      return undefined;
    }
    if ((info.mode & 0o077) !== 0) {
      warn(`ignoring the cache entry ${request.path}: its mode is ${(info.mode & 0o777).toString(8)}, not 600. It will be replaced.`);
      return undefined;
    }
    text = await readFile(request.path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    warn(`ignoring the corrupt cache entry ${request.path} (not JSON). It will be replaced.`);
    return undefined;
  }
  if (!isEntry(parsed, request.command) || !isValidOutput(parsed.output)) {
    warn(`ignoring the corrupt cache entry ${request.path} (not a ${request.command} entry). It will be replaced.`);
    return undefined;
  }
  if (parsed.key !== request.key) {
    warn(`ignoring the cache entry ${request.path}: it was written for other settings (copied or renamed). It will be replaced.`);
    return undefined;
  }
  return parsed;
}

/**
 * How long before expiry a cached entry stops being served, in ms.
 *
 * AWS credentials: botocore (the aws CLI, boto3) refreshes credential_process credentials that expire within
 * 15 minutes (its "advisory" window) on every request, and insists within 10 minutes (its "mandatory" window).
 * So the cache hands out the same credentials until 15 minutes are left when they live long enough for that to
 * leave half their lifetime, and never later than 11 minutes before expiry: 10 minutes for botocore's mandatory
 * window, 1 minute for clock skew and the command's own run. 900-s credentials are thus served for 4 minutes,
 * 3600-s ones for 45 minutes.
 *
 * Skyporten tokens (`token`, `gcp executable`): served while at least half of their lifetime, and at most
 * 60 s, is left: a 120-s token for its first 60 s, so a reader always gets at least a minute.
 */
export function refreshMarginMs(command: CachedCommand, lifetimeMs: number): number {
  if (command === 'aws credential-process') return Math.min(15 * 60_000, Math.max(11 * 60_000, lifetimeMs / 2));
  return Math.min(60_000, lifetimeMs / 2);
}

/** True when the entry is served: far enough from its expiry (see {@link refreshMarginMs}). */
export function isFresh(entry: CacheEntry, now: number): boolean {
  return entry.expiresAt - now > refreshMarginMs(entry.command, entry.expiresAt - entry.obtainedAt) && entry.obtainedAt <= now + 60_000;
}

/** A held lock on an entry; `release` never throws. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the entry's lock (proper-lockfile: an atomic `mkdir` of `<entry>.lock`, refreshed while held, taken over
 * when stale after 15 s, so a killed holder does not block others for long). Undefined when it cannot be had
 * within about 30 s: the caller then goes ahead without it rather than hang.
 */
export async function lockEntry(request: CacheRequest, warn: CacheWarn): Promise<HeldLock | undefined> {
  const { lock } = await import('proper-lockfile');
  try {
    const release = await lock(request.path, {
      realpath: false,
      lockfilePath: `${request.path}.lock`,
      stale: 15_000,
      retries: { retries: 150, factor: 1.2, minTimeout: 20, maxTimeout: 250, randomize: true },
      onCompromised: () => warn(`the cache lock ${request.path}.lock was taken over by another process.`),
    });
    return { release: () => release().catch(() => {}) };
  } catch (error) {
    warn(`could not lock ${request.path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): going ahead without the lock.`);
    return undefined;
  }
}

/** Entries untouched for this long are removed when another is written: no credential lives longer than 12 h. */
const ENTRY_RETENTION_MS = 24 * 60 * 60_000;

/** Removes this cache's old entries (`<command>-<hash>.json` untouched for a day); errors are ignored. */
async function removeOldEntries(directory: string, now: number): Promise<void> {
  const { readdir, rm, stat } = await import('node:fs/promises');
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^(aws-credential-process|gcp-executable|token|exchange)-[0-9a-f]{40}\.json$/.test(name)) continue;
    const path = join(directory, name);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > ENTRY_RETENTION_MS) await rm(path, { force: true }).catch(() => {});
  }
}

/**
 * Writes an entry (atomically, 0600) and removes day-old ones. A failure (a full disk) is a warning: the command
 * still prints its result, and the old entry, if any, stays as it was (never served once stale).
 */
export async function writeEntry(request: CacheRequest, entry: CacheEntry, warn: CacheWarn): Promise<void> {
  try {
    await writeFileAtomic(request.path, JSON.stringify(entry), { setting: '--cache-dir (or --no-cache)' });
  } catch (error) {
    warn(`could not write the cache entry: ${(error as Error).message} The credentials are printed, not cached.`);
  }
  await removeOldEntries(request.directory, entry.obtainedAt);
}

/** Output checks per command, so a tampered or truncated entry is never printed. */
export const OUTPUT_CHECKS: Record<CachedCommand, (output: unknown) => boolean> = {
  'aws credential-process': (output) => {
    const value = output as Record<string, unknown>;
    return (
      value.Version === 1 &&
      ['AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration'].every((name) => typeof value[name] === 'string' && value[name] !== '')
    );
  },
  'gcp executable': (output) => {
    const value = output as Record<string, unknown>;
    return value.version === 1 && value.success === true && typeof value.id_token === 'string' && typeof value.expiration_time === 'number';
  },
  token: (output) => {
    const value = output as Record<string, unknown>;
    return typeof value.access_token === 'string' && value.access_token.split('.').length === 3 && typeof value.expires_at === 'string';
  },
  // The target's token (Databricks, Vault, ...) need not be a JWT.
  exchange: (output) => {
    const value = output as Record<string, unknown>;
    return typeof value.access_token === 'string' && value.access_token !== '' && typeof value.token_type === 'string' && typeof value.expires_at === 'string';
  },
};

/** Locks held by this process, taken by the fast path in `bin.ts` and released by the command that fills the entry. */
const heldLocks = new Map<string, HeldLock>();

/** Hands a lock taken before the full program loaded to the command that computes the entry. */
export function adoptLock(request: CacheRequest, held: HeldLock): void {
  heldLocks.set(request.path, held);
}

/**
 * The cached output for a request, or the result of `compute` (stored for the next process). Between a miss
 * and `compute` it holds the entry's lock and reads once more, so N processes started together make one request.
 */
export async function withCredentialCache<T>(
  request: CacheRequest | undefined,
  options: { clock: () => number; warn: CacheWarn },
  compute: () => Promise<{ output: T; expiresAt: number }>,
): Promise<T> {
  if (request === undefined || !(await prepareDirectory(request.directory, options.warn))) return (await compute()).output;
  const check = OUTPUT_CHECKS[request.command];
  let held = heldLocks.get(request.path);
  heldLocks.delete(request.path);
  try {
    if (held === undefined) {
      const before = await readEntry(request, options.warn, check);
      if (before !== undefined && isFresh(before, options.clock())) return before.output as T;
      held = await lockEntry(request, options.warn);
      const after = await readEntry(request, () => {}, check);
      if (after !== undefined && isFresh(after, options.clock())) return after.output as T;
    }
    const obtainedAt = options.clock();
    const result = await compute();
    await writeEntry(request, { version: FORMAT_VERSION, command: request.command, key: request.key, obtainedAt, expiresAt: result.expiresAt, output: result.output }, options.warn);
    return result.output;
  } finally {
    await held?.release();
  }
}

/**
 * The fast path `bin.ts` takes before loading anything else: a fresh entry is returned for printing. On a miss
 * the entry's lock is taken (and adopted for the command that will fill it), and the entry read once more, so
 * that the processes waiting for the one that asks Maskinporten never load the full program. Nothing is read
 * from a directory that cannot be trusted (the full program then says why, once).
 */
export async function lookupBeforeLoading(
  argv: readonly string[],
  env: Environment,
  cwd: string,
  clock: () => number,
  warn: CacheWarn,
): Promise<{ request: CacheRequest; output: unknown } | undefined> {
  const request = cacheRequestOf(argv, env, cwd);
  if (request === undefined) return undefined;
  const check = OUTPUT_CHECKS[request.command];
  if (!(await prepareDirectory(request.directory, () => {}))) return undefined;
  const entry = await readEntry(request, warn, check);
  if (entry !== undefined && isFresh(entry, clock())) return { request, output: entry.output };
  const held = await lockEntry(request, warn);
  const after = await readEntry(request, () => {}, check);
  if (after !== undefined && isFresh(after, clock())) {
    await held?.release();
    return { request, output: after.output };
  }
  if (held !== undefined) adoptLock(request, held);
  return undefined;
}

/** The Skyporten token as `token` stores it: what `token --json` prints, without the relative `expires_in`. */
export interface CachedToken {
  access_token: string;
  token_type: string;
  scope: string;
  expires_at: string;
  issued_at: string;
}

/** What a cached command prints for its output: the same text whether it came from the cache or not. */
export async function printOutput(
  command: CachedCommand,
  output: unknown,
  argv: readonly string[],
  context: { env: Environment; clock: () => number; stdout: { write(text: string): unknown } },
): Promise<void> {
  if (command === 'aws credential-process') {
    context.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return;
  }
  if (command === 'gcp executable') {
    const outputFile = context.env.GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE;
    if (outputFile !== undefined && outputFile !== '') await writeFileAtomic(outputFile, JSON.stringify(output), { setting: 'GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE' });
    context.stdout.write(`${JSON.stringify(output)}\n`);
    return;
  }
  const token = output as CachedToken;
  if (!argv.includes('--json')) {
    context.stdout.write(`${token.access_token}\n`);
    return;
  }
  const expiresIn = Math.max(0, Math.floor((Date.parse(token.expires_at) - context.clock()) / 1000));
  const { access_token, token_type, scope, expires_at, issued_at } = token;
  context.stdout.write(`${JSON.stringify({ access_token, token_type, scope, expires_in: expiresIn, expires_at, issued_at }, null, 2)}\n`);
}
