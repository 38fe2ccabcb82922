import { defineConfig, type Options } from 'tsup';

/** The build every library package shares: ESM and CommonJS with declarations, for Node 22, `node:` imports kept. */
export function libraryConfig(entry: string[], overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    removeNodeProtocol: false,
    ...overrides,
  });
}
