import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// The CLI is an application: one ESM bin, dependencies left external (installed with the package).
export default defineConfig({
  entry: ['src/bin.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node22',
  removeNodeProtocol: false,
  banner: { js: '#!/usr/bin/env node' },
  define: { __SKYPORTEN_CLI_VERSION__: JSON.stringify(version) },
});
