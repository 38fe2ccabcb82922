import { defineConfig } from 'tsup';

const shared = {
  entry: ['src/index.ts'],
  dts: true,
  sourcemap: true,
  target: 'node22',
  removeNodeProtocol: false,
} as const;

export default defineConfig([
  { ...shared, format: ['esm'] },
  // ky 2 is ESM-only and has a default export that esbuild's CommonJS interop cannot reach through
  // Node's require(esm); the CommonJS build carries its own copy of ky instead.
  { ...shared, format: ['cjs'], noExternal: ['ky'] },
]);
