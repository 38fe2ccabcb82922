// Packs every publishable package, installs the tarballs into fresh ESM and CommonJS projects, and runs a
// ten-line script in each that gets a token from the mock issuer; then builds one scratch project per package
// README from that README's install lines and type-checks its examples there (see below). Proves the published
// artefacts and their READMEs work, not just the sources. Writes .tmp/pack-results.json for the CI summary.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { docsCompilerOptions, extractBlocks, extractFences, locate } from './docs-blocks.ts';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp', 'pack');
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'tarballs'), { recursive: true });

const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'dist')));
const tarballs: string[] = packages.map((name) => {
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
// One scratch project per package README, as a new user would build it: install exactly the README's
// install lines (`npm i`/`npm install` lines in its sh fences, not `-g`), with `@skyporten/*` names and their
// transitive `@skyporten/*` dependencies resolved to the tarballs (overrides) and everything else from the
// registry (or npm's cache); type-check the README's TypeScript blocks there (docs-blocks.ts: strict,
// exactOptionalPropertyTypes, noUncheckedIndexedAccess, nodenext) with the project's own node_modules; and
// import each installed `@skyporten/*` package (ESM and CommonJS) under Node 24 and Node 22.
const tarballOf = new Map(packages.map((name, index) => [`@skyporten/${name}`, tarballs[index]!]));
const node22 = ensureNode22();
// Outside the repository, so neither tsc nor Node can fall back to the repository's node_modules.
const readmeWork = mkdtempSync(join(tmpdir(), 'skyporten-readme-projects-'));
const readmeStarted = performance.now();
// `--readme=<name>[,<name>]` limits this part to those packages' READMEs (for working on one README).
const onlyReadmes = process.argv.find((arg) => arg.startsWith('--readme='))?.slice('--readme='.length).split(',');
for (const name of packages.filter((name) => onlyReadmes === undefined || onlyReadmes.includes(name))) {
  const started = performance.now();
  const file = `packages/${name}/README.md`;
  if (!existsSync(join(root, file))) continue;
  const text = readFileSync(join(root, file), 'utf8');
  const installs = installLines(file, text);
  const blocks = extractBlocks(file, text);
  const dir = join(readmeWork, name);
  mkdirSync(join(dir, 'blocks'), { recursive: true });
  // The README's own `@skyporten/*` names are installed as tarballs; the others they depend on (e.g. core) are
  // pinned to theirs with overrides, standing in for the registry (npm refuses an override of a direct dependency).
  const direct = new Set(installs.flat());
  const overrides = Object.fromEntries([...tarballOf].filter(([pkg]) => !direct.has(pkg)).map(([pkg, tarball]) => [pkg, `file:${tarball}`]));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `readme-${name}`, private: true, type: 'module', overrides }));
  const notes: string[] = [];
  let passed = installs.length > 0;
  if (!passed) notes.push('no `npm install` line in an sh fence');
  for (const words of installs) {
    if (!passed) break;
    const specs = words.map((word) => tarballOf.get(word) ?? word);
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline', ...specs], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    passed = install.status === 0;
    notes.push(`npm i ${words.join(' ')}: ${passed ? 'ok' : (install.stderr.trim().split('\n').slice(0, 6).join(' | ') || 'failed')}`);
  }
  if (passed && blocks.length > 0) {
    const files = blocks.map((block, index) => {
      writeFileSync(join(dir, 'blocks', `b${index}.ts`), `${block.source}\nexport {};\n`);
      return `blocks/b${index}.ts`;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: docsCompilerOptions, files }));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
    passed = tsc.status === 0;
    notes.push(`tsc ${blocks.length} block${blocks.length === 1 ? '' : 's'}: ${passed ? 'ok' : `\n${locate(tsc.stdout + tsc.stderr, blocks)}\n`}`);
  }
  // Blocks fenced ```ts run are self-contained (local mocks) and are run as written, by Node's type stripping.
  const runnable = blocks.flatMap((block, index) => (block.flags.includes('run') ? [{ block, file: `blocks/b${index}.ts` }] : []));
  const installed = [...new Set(installs.flat().filter((word) => tarballOf.has(word)))];
  for (const [label, node] of [['node 24', process.execPath], ['node 22', node22]] as const) {
    if (!passed) break;
    if (node === undefined) {
      passed = false;
      notes.push(`${label}: not installed`);
      continue;
    }
    // Packages with a bin and no main entry (the CLI) are run instead of imported.
    const script = installed
      .map((pkg) => (tarballOf.get(pkg)!.includes('skyporten-cli-') ? `execFileSync(process.execPath, [createRequire(import.meta.url).resolve(${JSON.stringify(`${pkg}/package.json`)}).replace(/package\.json$/, 'dist/bin.js'), '--version']);` : `await import(${JSON.stringify(pkg)}); createRequire(import.meta.url)(${JSON.stringify(pkg)});`))
      .join('');
    const run = spawnSync(node, ['--input-type=module', '-e', `import { createRequire } from 'node:module'; import { execFileSync } from 'node:child_process'; ${script}`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    passed = run.status === 0;
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    notes.push(`${label} (${version}) loads ${installed.join(', ')}: ${passed ? 'ok' : run.stderr.trim().split('\n').slice(0, 4).join(' | ')}`);
    for (const { block, file } of runnable) {
      if (!passed) break;
      const example = spawnSync(node, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      passed = example.status === 0;
      notes.push(`${label} runs ${block.file}:${block.line}: ${passed ? `ok${example.stdout.trim() ? ` (prints ${example.stdout.trim().split('\n')[0]})` : ''}` : `exit ${example.status ?? example.signal}: ${(example.stderr || example.stdout).trim().split('\n').slice(0, 6).join(' | ')}`}`);
    }
  }
  console.log(`${passed ? '✓' : '✗'} README ${name} (${((performance.now() - started) / 1000).toFixed(1)} s): ${notes.join('; ')}`);
  results.push({ name: `readme-${name}`, passed });
}
const readmesPassed = results.filter((result) => result.name.startsWith('readme-')).every((result) => result.passed);
console.log(`README projects: ${((performance.now() - readmeStarted) / 1000).toFixed(1)} s${readmesPassed ? '' : `; kept in ${readmeWork}`}`);
if (readmesPassed) rmSync(readmeWork, { recursive: true, force: true });

/** The `npm i`/`npm install` lines of a README's sh fences, as words (global installs are not a project's). */
function installLines(file: string, text: string): string[][] {
  return extractFences(file, text, new Set(['sh', 'shell', 'bash', 'console']))
    .flatMap((block) => block.source.split('\n'))
    .map((line) => /^\s*(?:\$\s*)?npm (?:i|install)\s+([^#]+)/.exec(line)?.[1]?.trim().split(/\s+/))
    .filter((words): words is string[] => words !== undefined && !words.some((word) => word === '-g' || word === '--global'))
    .map((words) => words.filter((word) => !word.startsWith('-')));
}

/** Node 22 from the `node` npm package in .tmp/node22 (the same place .ci/run puts it), installed once. */
function ensureNode22(): string | undefined {
  const dir = join(root, '.tmp', 'node22');
  const bin = join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"private":true,"allowScripts":{"node":true}}\n');
    const started = performance.now();
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'node@22'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    console.log(`installed node@22 into .tmp/node22 (${((performance.now() - started) / 1000).toFixed(1)} s): ${install.status === 0 ? 'ok' : install.stderr.trim()}`);
  }
  return existsSync(bin) ? bin : undefined;
}

writeFileSync(join(root, '.tmp', 'pack-results.json'), JSON.stringify(results));
process.exit(results.every((result) => result.passed) ? 0 : 1);
