import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/adapter.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node22',
  removeNodeProtocol: false,
  // One shared chunk for both entries in both formats: no second copy of module state for CommonJS users of the subpath.
  splitting: true,
});
