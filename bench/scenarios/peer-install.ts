// Install footprint of `npm install <package>` for the SDK and both peers, computed offline from the
// dependency closure on disk: each package's dependencies, optional dependencies and non-optional peer
// dependencies, resolved the way Node resolves them (nearest node_modules up the tree) from the versions this
// repository's lockfile installed. A registry package's installed directory (nested node_modules left out) is
// its unpacked tarball; the SDK's own files are what `npm pack` would publish (`--dry-run`, no network).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { round } from '../measure.ts';
import type { BenchResult } from '../result.ts';
import { directoryBytes } from './install-footprint.ts';
import type { SideBySide } from './peers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bench = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The installed directory of `name` as seen from `from`: the nearest node_modules/<name> up to the repository root. */
function resolvePackage(name: string, from: string): string {
  for (let directory = from; ; directory = dirname(directory)) {
    const candidate = join(directory, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (directory === root.replace(/\/$/, '') || directory === dirname(directory)) break;
  }
  throw new Error(`install footprint: ${name} (needed from ${from}) is not installed; run npm ci`);
}

interface Footprint {
  packages: string[];
  bytes: number;
}

/** Every package `npm install` of the package at `directory` would add, and their bytes. */
function closure(directory: string, ownBytes?: number): Footprint {
  const seen = new Map<string, string>();
  let bytes = 0;
  const visit = (path: string, own?: number) => {
    if (seen.has(path)) return;
    const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as Manifest;
    seen.set(path, `${manifest.name}@${manifest.version}`);
    bytes += own ?? directoryBytes(path, true);
    const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional === true).map(([name]) => name));
    const names = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
    ]);
    for (const name of names) visit(resolvePackage(name, path));
  };
  visit(realpathSync(directory), ownBytes);
  return { packages: [...seen.values()].sort(), bytes };
}

export async function peerInstall(): Promise<BenchResult[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '-w', '@skyporten/core', '--loglevel=error'], { cwd: root, encoding: 'utf8' });
  const packed = (JSON.parse(stdout) as Array<{ unpackedSize: number }>)[0]!;
  const footprints = {
    sdk: closure(join(root, 'packages', 'core'), packed.unpackedSize),
    'openid-client': closure(resolvePackage('openid-client', bench)),
    oauth4webapi: closure(resolvePackage('oauth4webapi', bench)),
  };
  const ratio = round(footprints.sdk.bytes / footprints['openid-client'].bytes);
  const explainedBy = decisionRecordOnInstall();
  const one = (value: number) => ({ median: value, min: value, max: value });
  const details: SideBySide = {
    sideUnit: 'bytes',
    ratio,
    sides: Object.fromEntries(Object.entries(footprints).map(([side, footprint]) => [side, one(footprint.bytes)])),
    versus: 'openid-client',
    bestPeer: footprints.oauth4webapi.bytes < footprints['openid-client'].bytes ? 'oauth4webapi' : 'openid-client',
    ratioSpread: { min: ratio, max: ratio },
    rounds: [ratio],
    packageCounts: Object.fromEntries(Object.entries(footprints).map(([side, footprint]) => [side, footprint.packages.length])),
    packages: Object.fromEntries(Object.entries(footprints).map(([side, footprint]) => [side, footprint.packages])),
    explainedBy,
  };
  const met = ratio <= 3 || explainedBy !== undefined;
  const target = '<= 3 (or a decision record)';
  return [{ id: 'peers.installBytesRatio', label: 'npm install <package>: bytes, packages', value: ratio, unit: 'x', target, met, details }];
}

/**
 * A decision record in docs/decisions that weighs the SDK's install footprint against openid-client's, if any:
 * one that names openid-client and says "install footprint" or "install size" in so many words.
 */
function decisionRecordOnInstall(): string | undefined {
  const directory = join(root, 'docs', 'decisions');
  if (!existsSync(directory)) return undefined;
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.md')).sort()) {
    const text = readFileSync(join(directory, file), 'utf8').toLowerCase();
    if (text.includes('openid-client') && /install (footprint|size)/.test(text)) return `docs/decisions/${file}`;
  }
  return undefined;
}
