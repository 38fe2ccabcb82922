// Type-checks every TypeScript code block in every README and docs/ page against the PACKED packages.
// Blocks are extracted with markdown-it (docs/decisions/0013-docs-check.md), written one module per block
// into .tmp/docs-check, and checked by ONE tsc program with strict, exactOptionalPropertyTypes,
// noUncheckedIndexedAccess and module nodenext. Errors are reported as <markdown file>:<line>.
// A block that is deliberately incomplete says so in its fence: ```ts partial
// Usage: node scripts/check-docs.ts [--self-test] [--no-pack]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import MarkdownIt from 'markdown-it';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp', 'docs-check');
const selfTest = process.argv.includes('--self-test');
const languages = new Set(['ts', 'typescript', 'mts', 'cts']);

/** One extracted code block: where it came from and its source. */
interface Block {
  file: string;
  line: number;
  source: string;
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
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

/** Extracts the TypeScript fences of one markdown text; `partial` in the info string skips a block. */
export function extractBlocks(file: string, text: string): Block[] {
  const tokens = new MarkdownIt().parse(text, {});
  const blocks: Block[] = [];
  for (const token of tokens) {
    if (token.type !== 'fence' || !token.map) continue;
    const [language, ...flags] = token.info.trim().split(/\s+/);
    if (!language || !languages.has(language) || flags.includes('partial')) continue;
    blocks.push({ file, line: token.map[0] + 2, source: token.content });
  }
  return blocks;
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
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023', 'DOM'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
    },
    files: names,
  }),
);

const started = performance.now();
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'], {
  cwd: work,
  encoding: 'utf8',
});
const output = (tsc.stdout + tsc.stderr).replace(/^blocks\/b(\d+)\.ts\((\d+),(\d+)\)/gm, (_match: string, index: string, line: string, column: string) => {
  const block = blocks[Number(index)]!;
  return `${block.file}:${block.line + Number(line) - 1}:${column}`;
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const files = new Set(blocks.map((block) => block.file)).size;
if (tsc.status !== 0) {
  console.error(output.trim());
  console.error(`✗ check:docs: type errors in ${blocks.length} blocks from ${files} files (${seconds} s); mark a deliberately incomplete block \`\`\`ts partial`);
  process.exit(selfTest ? 0 : 1);
}
if (selfTest) {
  console.error('✗ check:docs --self-test: the broken fixture block type-checked');
  process.exit(1);
}
console.log(`✓ check:docs: ${blocks.length} TypeScript blocks from ${files} files type-check against the packed packages (${seconds} s)`);
