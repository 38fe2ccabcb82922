import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const packagesDir = new URL('../../', import.meta.url).pathname;
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));

// A second copy of a package (two versions installed) has its own classes: `instanceof` says no where isInstance says yes.
it('no package tests an SDK error with instanceof (isInstance works across duplicate installs)', () => {
  const offenders = readdirSync(packagesDir).flatMap((name) =>
    sourceFiles(join(packagesDir, name, 'src')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, index) => ({ where: `${name}/src/${file.split(`/${name}/src/`)[1]}:${index + 1}`, line }))
        .filter(({ line }) => /\binstanceof\s+(SkyportenError|ConfigError|KeyError|DiscoveryError|TokenRequestError|TimeoutError|NetworkError|CloudExchangeError|TokenExchangeError)\b/.test(line))
        .map(({ where }) => where),
    ),
  );
  expect(offenders).toEqual([]);
});
