import { defineProject } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.ts';

export default defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: 'exchange',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
