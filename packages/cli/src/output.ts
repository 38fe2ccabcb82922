import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Pretty JSON with a trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** "1 h 2 min", "1 min 58 s", "42 s", "expired 3 s ago". */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `expired ${formatDuration(-seconds)} ago`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  return `${rest} s`;
}

/** A Unix time (seconds) as ISO-8601 with a relative note, e.g. `2026-01-01T12:00:00.000Z (in 1 min 58 s)`. */
export function formatTime(unixSeconds: number, nowMs: number): string {
  const delta = unixSeconds - nowMs / 1000;
  const relative = delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
  return `${new Date(unixSeconds * 1000).toISOString()} (${relative})`;
}

/**
 * Writes a file atomically: a temporary file in the same directory, created exclusively (`O_EXCL`, so a planted
 * file or symlink at that name is never followed) with mode 0600, flushed, then renamed over the target, so a
 * reader never sees a half-written token. A rename replaces a symlink at `path` itself: nothing is written
 * through a link the caller did not resolve. A failure (a full disk, a read-only directory) leaves the target as
 * it was and throws a `ConfigError` whose message names the file and the fix: another `setting` (the flag or
 * variable that chose the path; `--output` unless given).
 */
export async function writeFileAtomic(path: string, content: string, options: { setting?: string } = {}): Promise<void> {
  const mode = 0o600;
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temporary, 'wx', mode);
    created = true;
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    if (created) await rm(temporary, { force: true }).catch(() => {});
    throw await fileWriteError(path, error, options.setting ?? '--output');
  }
}

/** The reason a write failed, in words: what happened to which file and what to do (`setting`: the flag or variable that chose the path). */
export function describeWriteFailure(path: string, error: unknown, setting = '--output'): string {
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `Cannot write ${path}: the disk is full (${code}); the file was left as it was. Free space on that file system or choose another ${setting}.`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `Cannot write ${path}: no permission to create files in ${dirname(path)} (${code}). Choose a directory you can write to (${setting}).`;
    case 'ENOTDIR':
    case 'EISDIR':
      return `Cannot write ${path}: ${code === 'EISDIR' ? 'it is a directory' : 'a part of the path is not a directory'} (${code}).`;
    default:
      return `Cannot write ${path} (${code ?? (error instanceof Error ? error.message : String(error))}).`;
  }
}

// Only on failure: the core (and its size) is not loaded on the fast, cached path.
async function fileWriteError(path: string, error: unknown, setting: string): Promise<Error> {
  const { ConfigError } = await import('@skyporten/core');
  return new ConfigError(setting, describeWriteFailure(path, error, setting), { cause: error });
}
