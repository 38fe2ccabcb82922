import type { Command } from 'commander';
import { ConfigError, requireAudience, type SkyportenToken } from '@skyporten/core';
import { checkEndpoint } from '@skyporten/exchange';
import { createClient } from '../config.js';
import { formatDuration, json } from '../output.js';
import { addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, type Runtime } from '../runtime.js';
import { outputPath, writeTokenFile } from './token-file.js';

/**
 * A Delta Sharing profile file (version 1: Delta Sharing PROTOCOL.md, "Profile File Format") whose bearer token is
 * the Skyporten token: open sharing with OIDC federation accepts the identity provider's token itself.
 */
export function deltaSharingProfile(endpoint: string, token: SkyportenToken): string {
  return json({ shareCredentialsVersion: 1, endpoint, bearerToken: token.accessToken, expirationTime: token.expiresAt.toISOString() });
}

const TARGET = 'Delta Sharing';

/** `skyporten databricks ...`. */
export function registerDatabricksCommands(program: Command, runtime: Runtime): void {
  const databricks = program.command('databricks').description('Databricks with Skyporten (workspace federation: see `skyporten exchange --preset databricks`)');
  const command = databricks
    .command('delta-sharing-profile')
    .description('write a Delta Sharing profile whose bearer token is the Skyporten token, for open sharing with OIDC federation (a secret: atomic, mode 0600)')
    .requiredOption('--endpoint <url>', "the sharing server's endpoint from the provider, e.g. https://<host>/api/2.0/delta-sharing/metastores/<id>")
    .option('--output <file>', 'the profile file to write (atomic, mode 0600); without it the profile is printed')
    .option('--watch', 'keep running and rewrite the file half-way to each expiry; stop with Ctrl-C or SIGTERM (needs --output)');
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten databricks delta-sharing-profile --endpoint https://sharing.example.org/api/2.0/delta-sharing/metastores/$ID --output /run/skyporten/share.json --watch --config skyporten.json',
        'python3 -c \'import delta_sharing; print(delta_sharing.SharingClient("/run/skyporten/share.json").list_all_tables())\'',
      ) +
        '\nThe recipient (the provider created it with OIDC federation) is matched on the token\'s issuer, audience (--resource)\n' +
        'and subject. A Skyporten token lives about 120 s: readers must open the profile again after it was rewritten.\n' +
        'With --watch, outages are retried while the token in the file is valid; when it cannot be kept fresh the file is\n' +
        'removed and the command exits 1.\n',
    )
    .action(async () => {
      const flags = flagsOf<{ endpoint: string; output?: string; watch?: boolean }>(command);
      checkEndpoint('--endpoint', flags.endpoint);
      if (flags.watch === true && flags.output === undefined) {
        throw new ConfigError('--output', '--watch needs --output FILE: a profile that is kept fresh must be a file the reader opens again.');
      }
      const content = (token: SkyportenToken) => deltaSharingProfile(flags.endpoint, token);
      const client = createClient(settingsOf(command, runtime).maskinporten, debugLogger(command, runtime));
      const { stdout, stderr, clock, cwd } = runtime.context;
      if (flags.output === undefined) {
        const token = await client.getToken();
        requireAudience(token.accessToken, TARGET);
        stdout.write(content(token));
        return;
      }
      const path = await outputPath(flags.output, cwd);
      const report = (token: SkyportenToken) =>
        stderr.write(`Wrote a Delta Sharing profile to ${path}; its token expires in ${formatDuration((token.expiresAt.getTime() - clock()) / 1000)}.\n`);
      await writeTokenFile(command, runtime, client, path, { watch: flags.watch === true, format: content, cloud: TARGET, onWrite: report });
    });
}
