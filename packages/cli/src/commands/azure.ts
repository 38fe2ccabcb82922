import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SkyportenError, requireAudience, type MaskinportenClient, type SkyportenToken } from '@skyporten/core';
import { createClient } from '../config.js';
import { formatDuration, writeFileAtomic } from '../output.js';
import { formatError } from '../errors.js';
import { addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, type Runtime } from '../runtime.js';

/**
 * When to write the next token: half-way to expiry, so the delay scales with the token's lifetime (a
 * 120-s token is rewritten after 60 s, a 20-s one after 10 s, an hour-long one after 30 min, always well
 * before expiry), but not more often than once a second.
 */
export function refreshDelayMs(token: Pick<SkyportenToken, 'expiresAt'>, now: number): number {
  const remaining = token.expiresAt.getTime() - now;
  return Math.max(1_000, remaining / 2);
}

/** Keeps a token file fresh until stopped. */
export interface TokenFileKeeper {
  /** The token written last. */
  readonly current: SkyportenToken;
  stop(): void;
}

/**
 * Writes a token to `path` (atomically, mode 0600) and rewrites it with a fresh token before each expiry.
 * Failures are reported and retried every 5 s; `onFatal` is called for errors no retry can fix.
 */
export async function keepTokenFile(
  client: MaskinportenClient,
  path: string,
  runtime: Runtime,
  handlers: { onWrite?: (token: SkyportenToken) => void; onFatal: (error: unknown) => void; debug?: boolean },
): Promise<TokenFileKeeper> {
  const write = async (forceRefresh: boolean): Promise<SkyportenToken> => {
    const token = await client.getToken({ forceRefresh });
    requireAudience(token.accessToken, 'Entra ID');
    await writeFileAtomic(path, token.accessToken);
    handlers.onWrite?.(token);
    return token;
  };
  let current = await write(false);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      write(true).then(
        (token) => {
          current = token;
          schedule(refreshDelayMs(token, runtime.context.clock()));
        },
        (error: unknown) => {
          if (SkyportenError.isInstance(error) && !error.isRetryable) {
            handlers.onFatal(error);
            return;
          }
          runtime.context.stderr.write(formatError(error, handlers.debug === true).replace(/\n$/, ' (retrying in 5 s)\n'));
          schedule(5_000);
        },
      );
    }, delay);
  };
  schedule(refreshDelayMs(current, runtime.context.clock()));
  return {
    get current() {
      return current;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** `skyporten azure ...`. */
export function registerAzureCommands(program: Command, runtime: Runtime): void {
  const azure = program.command('azure').description('Azure workload identity federation with Skyporten');
  const command = azure
    .command('token-file')
    .description('write the token to a file for AZURE_FEDERATED_TOKEN_FILE consumers (atomic, mode 0600)')
    .requiredOption('--output <file>', 'the token file to write')
    .option('--watch', 'keep running and rewrite the file before each expiry; stop with Ctrl-C or SIGTERM');
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten azure token-file --output /var/run/skyporten/azure-token --watch --config /etc/skyporten.json',
        'AZURE_FEDERATED_TOKEN_FILE=/var/run/skyporten/azure-token AZURE_TENANT_ID=... AZURE_CLIENT_ID=... az login --federated-token "$(cat /var/run/skyporten/azure-token)" --service-principal -u $AZURE_CLIENT_ID -t $AZURE_TENANT_ID',
      ) +
        '\nNote: @azure/identity\'s WorkloadIdentityCredential caches the file\'s content for minutes, longer than a\n' +
        '~120 s Skyporten token. In JavaScript, use @skyporten/azure in-process instead.\n',
    )
    .action(async () => {
      const flags = flagsOf<{ output: string; watch?: boolean }>(command);
      const path = resolve(runtime.context.cwd, flags.output);
      const client = createClient(settingsOf(command, runtime).maskinporten, debugLogger(command, runtime));
      const { stderr, clock } = runtime.context;
      const report = (token: SkyportenToken) =>
        stderr.write(`Wrote a token to ${path}; it expires in ${formatDuration((token.expiresAt.getTime() - clock()) / 1000)}.\n`);
      if (flags.watch !== true) {
        const token = await client.getToken();
        requireAudience(token.accessToken, 'Entra ID');
        await writeFileAtomic(path, token.accessToken);
        report(token);
        return;
      }
      await new Promise<void>((resolvePromise, rejectPromise) => {
        let keeper: TokenFileKeeper | undefined;
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
        keepTokenFile(client, path, runtime, { onWrite: report, onFatal: finish, debug: flagsOf(command).debug === true }).then(
          (started) => {
            keeper = started;
            if (finished) started.stop();
          },
          finish,
        );
      });
    });
}
