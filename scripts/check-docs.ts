// Type-checks every TypeScript code block in every README and docs/ page against the PACKED packages.
// Blocks are extracted with markdown-it (docs/decisions/0013-docs-check.md), written one module per block
// into .tmp/docs-check, and checked by ONE tsc program with strict, exactOptionalPropertyTypes,
// noUncheckedIndexedAccess and module nodenext. Errors are reported as <markdown file>:<line>.
// A block that is deliberately incomplete says so in its fence: ```ts partial
// Usage: node scripts/check-docs.ts [--self-test] [--no-pack]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { docsCompilerOptions, extractBlocks, extractFences, extractLinks, locate } from './docs-blocks.ts';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp', 'docs-check');
const selfTest = process.argv.includes('--self-test');

const repository = 'https://github.com/skyporten/skyporten-sdk/';

/** What is wrong with the links of one markdown file, one line each (`file:line: ...`). */
function linkProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const packageReadme = /^packages\/[^/]+\/README\.md$/.test(file);
  for (const { line, href } of extractLinks(file, text)) {
    const at = `${file}:${line}:`;
    if (href.startsWith('#')) continue;
    const inRepository = new RegExp(`^${repository.replaceAll('.', '\\.')}(?:blob|tree)/main/([^#?]+)`).exec(href);
    if (inRepository) {
      const path = decodeURIComponent(inRepository[1]!).replace(/\/$/, '');
      if (!existsSync(join(root, path))) problems.push(`${at} ${href} points at ${path}, which does not exist`);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:, ... elsewhere
    if (packageReadme) problems.push(`${at} relative link ${href} breaks on the npm page; use ${repository}blob/main/...`);
    else if (!existsSync(resolve(root, dirname(file), decodeURIComponent(href.split('#')[0]!)))) problems.push(`${at} relative link ${href} points at nothing`);
  }
  return problems;
}

/**
 * A package README must say which Node it needs (its `engines.node`), put every required peer dependency on an
 * install line (an sh fence), and name every optional one.
 */
function readmeProblems(file: string): string[] {
  const match = /^packages\/([^/]+)\/README\.md$/.exec(file);
  if (!match || !existsSync(join(root, 'packages', match[1]!, 'package.json'))) return [];
  const text = readFileSync(join(root, file), 'utf8');
  const manifest = JSON.parse(readFileSync(join(root, 'packages', match[1]!, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  const problems: string[] = [];
  const node = manifest.engines?.node?.replace(/^>=\s*/, '');
  if (node !== undefined && !text.includes(`Node.js ${node} or later`)) problems.push(`${file}: does not say "Node.js ${node} or later" (engines.node ${manifest.engines!.node})`);
  const installs = extractFences(file, text, new Set(['sh', 'shell', 'bash'])).flatMap((block) => block.source.split('\n')).filter((line) => /^\s*npm (?:i|install)\s/.test(line));
  for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
    const optional = manifest.peerDependenciesMeta?.[peer]?.optional === true;
    const named = optional ? text.includes(peer) : installs.some((line) => line.split(/\s+/).some((word) => word === peer || word.startsWith(`${peer}@`)));
    if (!named) problems.push(`${file}: peer dependency ${peer} ${optional ? 'is not mentioned' : 'is on no install line'}`);
  }
  return problems;
}

function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const dir of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, dir))) {
      if (existsSync(join(root, dir, name, 'README.md'))) files.push(`${dir}/${name}/README.md`);
    }
  }
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      // docs/api is typedoc's output (`npm run docs`, git-ignored), not written by hand.
      if (entry.isDirectory() && path !== 'docs/api') walk(path);
      else if (entry.isDirectory()) continue;
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

const blocks = selfTest
  ? extractBlocks('fixture/broken.md', "# fixture\n\n```ts\nimport { createMaskinportenClient } from '@skyporten/core';\nconst n: number = 'not a number';\ncreateMaskinportenClient;\n```\n")
  : markdownFiles().flatMap((file) => extractBlocks(file, readFileSync(join(root, file), 'utf8')));

rmSync(join(work, 'blocks'), { recursive: true, force: true });
mkdirSync(join(work, 'blocks'), { recursive: true });

// The packed packages, unpacked into .tmp/docs-check/node_modules/@skyporten/<name>. Third-party packages
// resolve further up, from the repository's node_modules.
if (!process.argv.includes('--no-pack') || !existsSync(join(work, 'node_modules', '@skyporten'))) {
  rmSync(join(work, 'node_modules'), { recursive: true, force: true });
  mkdirSync(join(work, 'tarballs'), { recursive: true });
  for (const name of readdirSync(join(root, 'packages'))) {
    if (!existsSync(join(root, 'packages', name, 'dist'))) continue;
    const output = execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', join(work, 'tarballs'), '-w', `packages/${name}`], {
      cwd: root,
      encoding: 'utf8',
    });
    const [info] = JSON.parse(output) as { filename: string }[];
    const target = join(work, 'node_modules', '@skyporten', name);
    mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, 'tarballs', info!.filename), '-C', target, '--strip-components=1']);
  }
}

writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'docs-check', private: true, type: 'module' }));
const names = blocks.map((block, index) => {
  const name = `blocks/b${index}.ts`;
  // `export {}` keeps each block its own module without shifting line numbers.
  writeFileSync(join(work, name), `${block.source}\nexport {};\n`);
  return name;
});
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: docsCompilerOptions,
    files: names,
  }),
);

const started = performance.now();
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'], {
  cwd: work,
  encoding: 'utf8',
});
const output = locate(tsc.stdout + tsc.stderr, blocks);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const files = new Set(blocks.map((block) => block.file)).size;
if (tsc.status !== 0) {
  console.error(output.trim());
  console.error(`✗ check:docs: type errors in ${blocks.length} blocks from ${files} files (${seconds} s); mark a deliberately incomplete block \`\`\`ts partial`);
  if (!selfTest) process.exit(1);
}
if (selfTest) {
  // The fixture must fail, at its markdown line, with the TypeScript error; and the link fixture (a package
  // README with a relative link and a repository link to a file that does not exist) must give both problems.
  const expected = [
    "fixture/broken.md:5:7: error TS2322: Type 'string' is not assignable to type 'number'.",
    'packages/fixture/README.md:3: relative link ../../docs/protocol.md',
    `packages/fixture/README.md:4: ${repository}blob/main/docs/no-such-page.md points at docs/no-such-page.md, which does not exist`,
  ];
  const problems = linkProblems('packages/fixture/README.md', `# fixture\n\n[protocol](../../docs/protocol.md)\n[gone](${repository}blob/main/docs/no-such-page.md) and [ok](${repository}blob/main/docs/protocol.md)\n`);
  const missing = expected.filter((line) => !output.includes(line) && !problems.some((problem) => problem.startsWith(line)));
  const extra = problems.length - 2;
  const passed = missing.length === 0 && extra === 0;
  console.log(passed ? `✓ check:docs --self-test: the broken fixtures fail as\n  ${expected.join('\n  ')}` : `✗ check:docs --self-test: expected\n  ${missing.join('\n  ')}\n  got\n  ${[output, ...problems].join('\n  ')}`);
  process.exit(passed ? 0 : 1);
}

// Links: a package README is also the npm page, where relative links break, so it links absolutely; every
// relative link and every link into this repository (github.com/skyporten/skyporten-sdk/{blob,tree}/main/...)
// must point at a file or directory that exists.
const linkFailures = markdownFiles().flatMap((file) => [...linkProblems(file, readFileSync(join(root, file), 'utf8')), ...readmeProblems(file)]);
if (linkFailures.length > 0) {
  console.error(linkFailures.join('\n'));
  console.error(`✗ check:docs: ${linkFailures.length} broken or relative link${linkFailures.length === 1 ? '' : 's'} or package README${linkFailures.length === 1 ? '' : 's'} without Node version or peers`);
  process.exit(1);
}
console.log(`✓ check:docs: ${blocks.length} TypeScript blocks from ${files} files type-check against the packed packages (${seconds} s); links resolve; package READMEs name Node and peers`);
