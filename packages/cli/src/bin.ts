import { fileURLToPath } from 'node:url';
import type { CliContext } from './runtime.js';

const signals = ['SIGINT', 'SIGTERM'] as const;
const argv = process.argv.slice(2);

// A reader that stops early (`skyporten --help | head`) closes the pipe: the rest of the output is not wanted,
// which is no failure. Any other stdout error is left as it was (unhandled: a crash with its stack).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** The CLI's version, replaced at build time. */
declare const __SKYPORTEN_CLI_VERSION__: string | undefined;

// Start-up matters: the aws CLI runs credential_process for every command. `--version` and a cache hit are
// answered before commander, zod or the core are loaded; everything else loads the full program.
async function main(): Promise<number> {
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${typeof __SKYPORTEN_CLI_VERSION__ === 'string' ? __SKYPORTEN_CLI_VERSION__ : '0.0.0-development'}\n`);
    return 0;
  }
  // `gcp executable` stays silent on stderr (Google's Node library reads stdout and stderr together).
  const quiet = argv.includes('executable') && !argv.includes('--debug');
  const warn = (message: string) => (quiet ? undefined : process.stderr.write(`skyporten: warning: ${message}\n`));
  if (argv.includes('token') || argv.includes('credential-process') || argv.includes('executable')) {
    const { lookupBeforeLoading, printOutput } = await import('./credential-cache.js');
    const hit = await lookupBeforeLoading(argv, process.env, process.cwd(), Date.now, warn).catch(() => undefined);
    if (hit !== undefined) {
      await printOutput(hit.request.command, hit.output, argv, { env: process.env, clock: Date.now, stdout: process.stdout });
      return 0;
    }
  }
  const { run } = await import('./program.js');
  const context: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    clock: Date.now,
    selfCommand: [process.execPath, fileURLToPath(import.meta.url)],
    onSignal(handler) {
      for (const signal of signals) process.on(signal, handler);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
  return run(argv, context);
}

process.exitCode = await main();
