// Prints the one closing line CI reads, `N passed, N failed`, from the result files the suites wrote:
// vitest JSON reports (.tmp/vitest-*.json) and plain [{ name, passed }] lists (.tmp/*-results.json).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dir = resolve(import.meta.dirname, '..', '.tmp');
let passed = 0;
let failed = 0;
let skipped = 0;
const files = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
for (const name of files) {
  const data = JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
  if (name.startsWith('vitest-')) {
    const report = data as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; success: boolean; numFailedTestSuites: number };
    passed += report.numPassedTests;
    failed += report.numFailedTests + (report.success || report.numFailedTests > 0 ? 0 : Math.max(1, report.numFailedTestSuites));
    skipped += report.numPendingTests + report.numTodoTests;
    console.log(`${name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  } else if (name.endsWith('-results.json')) {
    const results = data as { name: string; passed: boolean }[];
    const good = results.filter((result) => result.passed).length;
    passed += good;
    failed += results.length - good;
    console.log(`${name}: ${good} passed, ${results.length - good} failed`);
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
