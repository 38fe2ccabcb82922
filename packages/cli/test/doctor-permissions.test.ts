import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filePermissionChecks } from '../src/commands/doctor.ts';
import { createFixture, runCli, type Fixture } from './helpers.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await createFixture();
});
afterAll(() => fixture.close());

describe('doctor: file permissions', () => {
  it('warns when the key file or the config file is readable by group or others, and passes 0600', async () => {
    const loose = join(fixture.directory, 'loose.pem');
    await copyFile(fixture.keyFile, loose);
    await chmod(loose, 0o644);
    const config = join(fixture.directory, 'loose-config.json');
    await writeFile(config, JSON.stringify({ keyPassphrase: 'not-used' }));
    await chmod(config, 0o664);
    const flags = fixture.flags.map((flag) => (flag === fixture.keyFile ? loose : flag));
    const result = await runCli(['doctor', '--config', config, ...flags], { env: fixture.env });
    expect(result.stdout).toMatch(/^! key file permissions: .*loose\.pem is mode 644: group or others can read it\.$/m);
    expect(result.stdout).toMatch(/chmod 600 .*loose\.pem/);
    expect(result.stdout).toMatch(/^! config file permissions: .*loose-config\.json is mode 664: group or others can change it\.$/m);
    const strict = await runCli(['doctor', ...fixture.flags], { env: fixture.env });
    expect(strict.stdout).toMatch(/^✓ key file permissions: .* is mode 600$/m);
  });

  it('skips files that are not configured or do not exist', () => {
    expect(filePermissionChecks([['key file', undefined], ['config file', '/nonexistent/skyporten.json']])).toEqual([]);
  });
});
