import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers.ts';

/** Runs the CLI with its stdout a pipe whose reader is gone before anything is written (`skyporten … | head`). */
function runWithClosedStdout(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe('a closed stdout (EPIPE)', () => {
  it.each([[['--help']], [['exchange', '--help']], [['token-file', '--help']], [['--version']]])('%j exits 0 without a word on stderr', async (args) => {
    const result = await runWithClosedStdout(args);
    expect(result.stderr).toBe('');
    expect([result.code, result.signal]).toEqual([0, null]);
  });
});
