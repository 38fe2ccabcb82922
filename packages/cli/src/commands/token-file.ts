import { existsSync, realpathSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, SkyportenError, requireAudience, type SkyportenToken } from '@skyporten/core';
import { createClient } from '../config.js';
import { EXIT_CODES, formatError } from '../errors.js';
import { formatDuration, json, writeFileAtomic } from '../output.js';
import { addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, type Runtime } from '../runtime.js';

/** What the token file holds: the token alone, or `{"access_token": ..., "expires_at": ...}`. */
export type TokenFileFormat = 'raw' | 'json';

/** What a token file can hold: the Skyporten token, or a target's token (`skyporten exchange --output`). */
export interface FileToken {
  accessToken: string;
  expiresAt: Date;
}

/** Where a kept file's tokens come from: a `MaskinportenClient`, or an exchange (`forceRefresh` asks for a new one). */
export interface TokenSource<T extends FileToken = SkyportenToken> {
  getToken(options?: { forceRefresh?: boolean }): Promise<T>;
}

/** A format, or the file's content for a token (e.g. a Delta Sharing profile). */
export type TokenFileContent<T extends FileToken = SkyportenToken> = TokenFileFormat | ((token: T) => string);

/**
 * When to write the next token: half-way to expiry, so the delay scales with the token's lifetime (a
 * 120-s token is rewritten after 60 s, a 20-s one after 10 s, an hour-long one after 30 min, always well
 * before expiry), and readers that cache the file for a while still refresh in time; not more often than
 * once a second.
 */
export function refreshDelayMs(token: Pick<FileToken, 'expiresAt'>, now: number): number {
  const remaining = token.expiresAt.getTime() - now;
  return Math.max(1_000, remaining / 2);
}

/** The file's content for a token. `expires_at` is ISO-8601; gcloud reads `access_token` (`--credential-source-field-name=access_token`). */
export function tokenFileContent<T extends FileToken>(token: T, format: TokenFileContent<T>): string {
  if (typeof format === 'function') return format(token);
  if (format === 'raw') return token.accessToken;
  return json({ access_token: token.accessToken, expires_at: token.expiresAt.toISOString() });
}

/** Keeps a token file fresh until stopped. */
export interface TokenFileKeeper<T extends FileToken = SkyportenToken> {
  /** The token written last. */
  readonly current: T;
  stop(): void;
}

/** How often a watched file is checked for having been deleted, in ms. */
const PRESENCE_CHECK_MS = 1_000;
/** How long to wait after a retryable failure, in ms. */
const RETRY_MS = 5_000;

/**
 * Writes a token to `path` (atomically, mode 0600) and rewrites it with a fresh token half-way to each expiry.
 * Retryable failures (an issuer outage, a full disk) are reported and retried every 5 s while the token in the
 * file is still valid; when it expires without a successor, or on an error no retry can fix, the file is
 * removed (never an expired token left for readers) and `onFatal` is called. A deleted file is recreated
 * within a second.
 */
export async function keepTokenFile<T extends FileToken = SkyportenToken>(
  client: TokenSource<T>,
  path: string,
  runtime: Runtime,
  handlers: {
    onWrite?: (token: T) => void;
    onFatal: (error: unknown) => void;
    debug?: boolean;
    format?: TokenFileContent<T>;
    cloud?: string;
    /** Checks a token before it is written. @default a Skyporten token must have an audience (`requireAudience`, naming `cloud`) */
    check?: (token: T) => void;
    /** Writes the file; tests replace it to order racing writes. @default writeFileAtomic */
    writeFile?: (path: string, content: string) => Promise<void>;
  },
): Promise<TokenFileKeeper<T>> {
  const format = handlers.format ?? 'raw';
  const { clock, stderr } = runtime.context;
  const writeFile = handlers.writeFile ?? writeFileAtomic;
  const check = handlers.check ?? ((token: T) => requireAudience(token.accessToken, handlers.cloud ?? 'the cloud'));
  const write = async (token: T): Promise<T> => {
    check(token);
    await writeFile(path, tokenFileContent(token, format));
    handlers.onWrite?.(token);
    return token;
  };
  let current = await write(await client.getToken());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // File operations run one at a time, in order: the rewrite of a deleted file never lands after a newer token
  // (the file would then hold the old one until it expired), nor after the removal.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task, task);
    queue = result.catch(() => undefined);
    return result;
  };
  const fatal = (error: unknown) => {
    if (stopped) return;
    stopped = true;
    clearInterval(presence);
    if (timer !== undefined) clearTimeout(timer);
    void serially(async () => (await import('node:fs/promises')).rm(path, { force: true })).finally(() => handlers.onFatal(error));
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      client
        .getToken({ forceRefresh: true })
        .then((token) =>
          serially(async () => {
            if (stopped) return token;
            current = await write(token);
            return token;
          }),
        )
        .then(
          (token) => schedule(refreshDelayMs(token, clock())),
          (error: unknown) => {
            if (SkyportenError.isInstance(error) && !error.isRetryable && error.code !== 'CONFIG_INVALID') {
              fatal(error);
              return;
            }
            const left = current.expiresAt.getTime() - clock();
            if (left <= RETRY_MS) {
              fatal(
                new SkyportenError(SkyportenError.isInstance(error) ? error.code : 'CONFIG_INVALID', `Cannot keep ${path} fresh: the token in it expires ${left <= 0 ? 'now' : `in ${formatDuration(left / 1000)}`} and no new one could be had (${error instanceof Error ? error.message : String(error)}). The file was removed.`, {
                  cause: error,
                  hint: 'Check the issuer (skyporten doctor) and the disk, then start again.',
                }),
              );
              return;
            }
            stderr.write(formatError(error, handlers.debug === true).replace(/\n$/, ` (the token in the file is valid for ${formatDuration(left / 1000)}; retrying in 5 s)\n`));
            schedule(RETRY_MS);
          },
        );
    }, delay);
  };
  schedule(refreshDelayMs(current, clock()));
  let rewriting = false;
  const presence = setInterval(() => {
    if (stopped || rewriting || existsSync(path)) return;
    rewriting = true;
    // `current` is read when the write's turn comes: the newest token, or nothing once it has expired.
    serially(async () => {
      if (stopped || existsSync(path) || current.expiresAt.getTime() <= clock()) return false;
      await write(current);
      return true;
    })
      .then((wrote) => wrote && stderr.write(`${path} was deleted; wrote it again.\n`))
      .catch((error: unknown) => stderr.write(formatError(error, handlers.debug === true)))
      .finally(() => (rewriting = false));
  }, PRESENCE_CHECK_MS);
  presence.unref();
  return {
    get current() {
      return current;
    },
    stop() {
      stopped = true;
      clearInterval(presence);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/**
 * The file to write: `--output` resolved; a symlink the user named is followed once, here (so the link stays and
 * its target is replaced atomically); a symlink that appears later is replaced, never written through.
 */
export async function outputPath(output: string, cwd: string): Promise<string> {
  const path = resolve(cwd, output);
  const info = await lstat(path).catch(() => undefined);
  if (info?.isSymbolicLink() === true) {
    try {
      return realpathSync(path);
    } catch {
      throw new ConfigError('--output', `--output ${path} is a symlink to a missing directory.`);
    }
  }
  if (info?.isDirectory() === true) throw new ConfigError('--output', `--output ${path} is a directory: give a file name.`);
  return path;
}

/** Adds the `token-file` options and action to a command (`skyporten token-file` and its alias `skyporten azure token-file`). */
export function defineTokenFileCommand(command: Command, runtime: Runtime, cloud: string): Command {
  command
    .requiredOption('--output <file>', 'the token file to write (atomic, mode 0600)')
    .option('--watch', 'keep running and rewrite the file half-way to each expiry; stop with Ctrl-C or SIGTERM')
    .option('--format <format>', 'raw (the token alone) or json ({"access_token": ..., "expires_at": ...})', 'raw');
  return addMaskinportenOptions(command).action(async () => {
    const flags = flagsOf<{ output: string; watch?: boolean; format: string }>(command);
    if (flags.format !== 'raw' && flags.format !== 'json') {
      throw new ConfigError('--format', `--format is "${flags.format}": use raw or json.`);
    }
    const format: TokenFileFormat = flags.format;
    const path = await outputPath(flags.output, runtime.context.cwd);
    const client = createClient(settingsOf(command, runtime).maskinporten, debugLogger(command, runtime));
    await writeTokenFile(command, runtime, client, path, { watch: flags.watch === true, format, cloud, onWrite: writeReport(runtime, path, 'a token') });
  });
}

/** The line on stderr after each write: `Wrote <what> to <path>; it expires in 1 min 58 s.` */
export function writeReport(runtime: Runtime, path: string, what: string): (token: FileToken) => void {
  const { stderr, clock } = runtime.context;
  return (token) => stderr.write(`Wrote ${what} to ${path}; it expires in ${formatDuration((token.expiresAt.getTime() - clock()) / 1000)}.\n`);
}

/** Writes `path` once (atomically, 0600) or, with `watch`, keeps it fresh with {@link watchTokenFile}. */
export async function writeTokenFile<T extends FileToken = SkyportenToken>(
  command: Command,
  runtime: Runtime,
  client: TokenSource<T>,
  path: string,
  options: { watch: boolean; format: TokenFileContent<T>; cloud: string; onWrite: (token: T) => void; check?: (token: T) => void },
): Promise<void> {
  if (options.watch) return watchTokenFile(command, runtime, client, path, options);
  const token = await client.getToken();
  (options.check ?? ((checked: T) => requireAudience(checked.accessToken, options.cloud)))(token);
  await writeFileAtomic(path, tokenFileContent(token, options.format));
  options.onWrite(token);
}

/**
 * `--watch`: keeps `path` fresh with {@link keepTokenFile} until SIGINT or SIGTERM (resolves), or until it cannot:
 * the error is printed, the file removed and the exit code set to 1.
 */
export function watchTokenFile<T extends FileToken = SkyportenToken>(
  command: Command,
  runtime: Runtime,
  client: TokenSource<T>,
  path: string,
  options: { format: TokenFileContent<T>; cloud: string; onWrite: (token: T) => void; check?: (token: T) => void },
): Promise<void> {
  const { stderr } = runtime.context;
  const { format, cloud, onWrite: report, check } = options;
  return new Promise<void>((resolvePromise, rejectPromise) => {
    let keeper: TokenFileKeeper<T> | undefined;
    let unsubscribe = () => {};
    let finished = false;
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      keeper?.stop();
      unsubscribe();
      if (error === undefined) resolvePromise();
      else rejectPromise(error);
    };
    unsubscribe = runtime.context.onSignal((signal) => {
      stderr.write(`Stopped on ${signal}.\n`);
      finish();
    });
    const debug = flagsOf(command).debug === true;
    // Once the file was written, failing to keep it fresh (an outage past the token's expiry, a full disk) is a
    // runtime failure: exit 1, whatever the error's code.
    const onFatal = (error: unknown) => {
      stderr.write(formatError(error, debug));
      runtime.exitCode = EXIT_CODES.failure;
      finish();
    };
    keepTokenFile(client, path, runtime, { onWrite: report, onFatal, debug, format, cloud, ...(check !== undefined ? { check } : {}) }).then(
      (started) => {
        keeper = started;
        if (finished) started.stop();
      },
      finish,
    );
  });
}

/** `skyporten token-file`. */
export function registerTokenFileCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('token-file')
    .description('write the Skyporten token to a file for AWS_WEB_IDENTITY_TOKEN_FILE, gcloud/google-auth file sources and AZURE_FEDERATED_TOKEN_FILE (atomic, mode 0600)');
  defineTokenFileCommand(command, runtime, 'the cloud').addHelpText(
    'after',
    examples(
      'skyporten token-file --output /run/skyporten/token --watch --config /etc/skyporten.json',
      'skyporten token-file --output /run/skyporten/token.json --format json --watch --config /etc/skyporten.json',
      'gcloud iam workload-identity-pools create-cred-config projects/$NUMBER/locations/global/workloadIdentityPools/$POOL/providers/$PROVIDER --service-account=$SA --credential-source-file=/run/skyporten/token.json --credential-source-type=json --credential-source-field-name=access_token --output-file=gcp.json',
    ) +
      '\nWith --watch the file is rewritten half-way to each expiry; issuer outages are retried while the token in the file is\n' +
      'valid; when it cannot be kept fresh the file is removed and the command exits 1. A deleted file is written again.\n',
  );
}
