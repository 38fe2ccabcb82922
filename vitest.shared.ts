import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const packages = ['core', 'testing', 'aws', 'gcp', 'azure', 'exchange', 'cli'];

/**
 * Tests import sibling packages by name; these aliases point them at the sources, so `npm test` needs no
 * build. The packed-install test covers the built output.
 */
export const workspaceAliases = Object.fromEntries([
  // Subpath entries first: an alias for "@skyporten/x" also matches "@skyporten/x/...".
  ['@skyporten/testing/msw', fileURLToPath(new URL('./packages/testing/src/msw.ts', import.meta.url))],
  ['@skyporten/core/adapter', fileURLToPath(new URL('./packages/core/src/adapter.ts', import.meta.url))],
  ...packages.map((name) => [
    `@skyporten/${name}`,
    fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url)),
  ]),
]);

/**
 * A package's test project: its `test/**\/*.test.ts` against the sibling sources, with 20 s per test, and its
 * `*.test-d.ts` type tests when `typeTests` is set (they need the package's tsconfig.typecheck.json).
 */
export function packageProject(name: string, { typeTests = false }: { typeTests?: boolean } = {}) {
  return defineProject({
    resolve: { alias: workspaceAliases },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: 20_000,
      ...(typeTests ? { typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typecheck.json' } } : {}),
    },
  });
}
