// Shared by check-docs.ts and pack-test.ts: TypeScript fences out of markdown (markdown-it), the compiler
// options documentation blocks must pass, and tsc output mapped back to markdown file:line.
import { resolve } from 'node:path';
import MarkdownIt from 'markdown-it';

const root = resolve(import.meta.dirname, '..');
const typescript: ReadonlySet<string> = new Set(['ts', 'typescript', 'mts', 'cts']);

/** One extracted code block: the markdown file, the line of its first source line, and its source. */
export interface Block {
  file: string;
  line: number;
  source: string;
  /** The words after the language in the fence's info string, e.g. `run` in ```ts run. */
  flags: string[];
}

/** The fences of one markdown text whose language is in `languages`; `partial` in the info string skips a block. */
export function extractFences(file: string, text: string, languages: ReadonlySet<string>): Block[] {
  const blocks: Block[] = [];
  for (const token of new MarkdownIt().parse(text, {})) {
    if (token.type !== 'fence' || !token.map) continue;
    const [language, ...flags] = token.info.trim().split(/\s+/);
    if (!language || !languages.has(language) || flags.includes('partial')) continue;
    blocks.push({ file, line: token.map[0] + 2, source: token.content, flags });
  }
  return blocks;
}

/** The TypeScript fences of one markdown text (```ts, typescript, mts, cts); ```ts partial is skipped; ```ts run marks a block test:pack also runs. */
export function extractBlocks(file: string, text: string): Block[] {
  return extractFences(file, text, typescript);
}

/** The settings every documentation block must compile under (a user's strict nodenext project). */
export const docsCompilerOptions = {
  target: 'ES2023',
  lib: ['ES2023', 'DOM'],
  module: 'nodenext',
  moduleResolution: 'nodenext',
  types: ['node'],
  typeRoots: [resolve(root, 'node_modules', '@types')],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  noEmit: true,
};

/** Rewrites `blocks/b<N>.ts(line,col)` in tsc output to `<markdown file>:<line>:<col>`. */
export function locate(output: string, blocks: readonly Block[]): string {
  return output.trim().replace(/^(?:.*?)blocks\/b(\d+)\.ts\((\d+),(\d+)\)/gm, (_match: string, index: string, line: string, column: string) => {
    const block = blocks[Number(index)]!;
    return `${block.file}:${block.line + Number(line) - 1}:${column}`;
  });
}

/** One link of a markdown text: the file, the line it is on, and its target. */
export interface Link {
  file: string;
  line: number;
  href: string;
}

/** Every link (`[text](href)`, `<https://...>`) of one markdown text. */
export function extractLinks(file: string, text: string): Link[] {
  const links: Link[] = [];
  for (const token of new MarkdownIt().parse(text, {})) {
    if (token.type !== 'inline' || !token.map) continue;
    let line = token.map[0] + 1;
    for (const child of token.children ?? []) {
      if (child.type === 'softbreak' || child.type === 'hardbreak') line += 1;
      const href = child.type === 'link_open' ? child.attrGet('href') : null;
      if (href !== null) links.push({ file, line, href });
    }
  }
  return links;
}
