import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  removeNodeProtocol: false,
  esbuildOptions(options) {
    // msw-handlers.ts reads `import.meta.url` only when `__filename` is absent, i.e. never in the CJS build.
    options.logOverride = { ...options.logOverride, 'empty-import-meta': 'silent' };
  },
});
