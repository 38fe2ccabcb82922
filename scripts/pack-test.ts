// Packs every publishable package, installs the tarballs into fresh ESM and CommonJS projects, and runs a
// ten-line script in each that gets a token from the mock issuer. Proves the published artefacts work,
// not just the sources. Writes .tmp/pack-results.json for the CI summary.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp', 'pack');
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'tarballs'), { recursive: true });

const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'dist')));
const tarballs = packages.map((name) => {
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', join(work, 'tarballs'), '-w', `packages/${name}`], {
    cwd: root,
    encoding: 'utf8',
  });
  const [info] = JSON.parse(output) as { filename: string; size: number; unpackedSize: number }[];
  console.log(`packed ${info!.filename}: ${info!.size} bytes (${info!.unpackedSize} unpacked)`);
  return join(work, 'tarballs', info!.filename);
});

const body = `
const issuer = await createMockSkyporten();
const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
const client = createMaskinportenClient({
  issuer: issuer.issuer, clientId: registered.clientId, scope: 'entur:skyporten.demo',
  resource: 'https://skyporten.example.org', key: { privateKey: registered.privateKey, kid: registered.kid }, env: false,
});
const { subject } = decodeSkyportenToken(await client.getAccessToken());
await issuer.close();
console.log('token for ' + subject);`;

const projects = {
  esm: {
    type: 'module',
    file: 'index.mjs',
    source: `import { createMaskinportenClient, decodeSkyportenToken } from '@skyporten/core';\nimport { createMockSkyporten } from '@skyporten/testing';\n${body}\n`,
  },
  cjs: {
    type: 'commonjs',
    file: 'index.cjs',
    source: `const { createMaskinportenClient, decodeSkyportenToken } = require('@skyporten/core');\nconst { createMockSkyporten } = require('@skyporten/testing');\n(async () => {${body}\n})().catch((error) => { console.error(error); process.exit(1); });\n`,
  },
};

const results: { name: string; passed: boolean }[] = [];
for (const [name, project] of Object.entries(projects)) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `pack-test-${name}`, private: true, type: project.type }));
  writeFileSync(join(dir, project.file), project.source);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: dir, stdio: 'inherit' });
  const run = spawnSync(process.execPath, [project.file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const passed = run.status === 0 && /token for 0192:\d{9};entur:skyporten.demo/.test(run.stdout);
  console.log(`${passed ? '✓' : '✗'} ${name}: ${(run.stdout + run.stderr).trim()}`);
  results.push({ name, passed });
}

// The installed `skyporten` bin runs and answers --version and --help.
const bin = join(work, 'esm', 'node_modules', '@skyporten', 'cli', 'dist', 'bin.js');
if (existsSync(bin)) {
  const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 30_000 });
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 30_000 });
  const passed = version.status === 0 && /^\d+\.\d+\.\d+/.test(version.stdout.trim()) && help.status === 0 && help.stdout.includes('doctor');
  console.log(`${passed ? '✓' : '✗'} cli bin: skyporten --version -> ${version.stdout.trim() || version.stderr.trim()}`);
  results.push({ name: 'cli bin', passed });
}
writeFileSync(join(root, '.tmp', 'pack-results.json'), JSON.stringify(results));
process.exit(results.every((result) => result.passed) ? 0 : 1);
