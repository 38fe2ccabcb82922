// The reliability suite: `npx vitest run --config reliability/vitest.config.ts` (what `npm run
// test:reliability` runs). A project of its own, so `npm test` stays fast; loopback only, bounded in time.
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { workspaceAliases } from '../vitest.shared.ts';

export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    name: 'reliability',
    root: import.meta.dirname,
    include: ['**/*.test.ts'],
    setupFiles: ['./secret-hygiene-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 15_000,
    reporters: ['default', 'json'],
    outputFile: { json: process.env.VITEST_JSON_REPORT ?? join(import.meta.dirname, '..', '.tmp', 'vitest-reliability.json') },
  },
});
