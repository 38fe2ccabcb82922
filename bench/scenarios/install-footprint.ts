// What `npm install @skyporten/core` pulls in: the packed tarball installed into an empty temporary project
// (production dependencies only, no scripts), then its node_modules counted.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../result.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Bytes of the files under `path`; with `skipNodeModules`, nested node_modules directories left out. */
export function directoryBytes(path: string, skipNodeModules = false): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (skipNodeModules && entry.name === 'node_modules') continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) total += directoryBytes(full, skipNodeModules);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function installFootprint(): Promise<BenchResult[]> {
  const directory = mkdtempSync(join(tmpdir(), 'skyporten-footprint-'));
  try {
    const packed = JSON.parse(npm(['pack', '-w', '@skyporten/core', '--pack-destination', directory, '--json'], root)) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
    }>;
    const tarball = packed[0]!;
    const project = join(directory, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'footprint', private: true, version: '0.0.0' }));
    npm(['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', join(directory, tarball.filename)], project);
    const lock = JSON.parse(readFileSync(join(project, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const packages = Object.keys(lock.packages).filter((path) => path.startsWith('node_modules/'));
    const bytes = directoryBytes(join(project, 'node_modules'));
    return [
      { id: 'tarballBytes', label: '@skyporten/core tarball (packed)', value: tarball.size, unit: 'bytes' },
      { id: 'installPackages', label: 'npm install @skyporten/core: packages', value: packages.length, unit: 'packages', details: { packages: packages.map((path) => path.slice('node_modules/'.length)) } },
      { id: 'installBytes', label: 'npm install @skyporten/core: node_modules size', value: bytes, unit: 'bytes' },
    ];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
