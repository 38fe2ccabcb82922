import { fileURLToPath } from 'node:url';
import { run } from './program.js';

const signals = ['SIGINT', 'SIGTERM'] as const;

process.exitCode = await run(process.argv.slice(2), {
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
});
