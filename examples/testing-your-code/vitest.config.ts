import { defineProject } from 'vitest/config';

// The example's own test project. Inside this repository it is also listed in the root vitest.workspace.ts.
// @skyporten/* resolve like in your project: to the installed (here: built) packages.
export default defineProject({
  test: { name: 'testing-your-code', include: ['test/**/*.test.ts'], testTimeout: 20_000 },
});
