// The list of test projects. Vitest 4+ no longer reads this file by itself: vitest.config.ts imports it
// and passes it to `test.projects`, so adding a package here is what puts its tests in `npm test`.
export default [
  'packages/core',
  'packages/testing',
  'packages/aws',
  'packages/gcp',
  'packages/azure',
  'packages/exchange',
  'packages/cli',
  'examples/testing-your-code',
];
