// Runs in every test file of the suite: after the file, nothing the SDK emitted may contain a secret it handled.
import { afterAll, expect } from 'vitest';
import { takeLeaks } from './emissions.ts';

afterAll(() => {
  expect(takeLeaks()).toEqual([]);
});
