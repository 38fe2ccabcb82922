import type { Command } from 'commander';
import { createClient } from '../config.js';
import { cacheRequestOf, printOutput, withCredentialCache, type CachedToken } from '../credential-cache.js';
import { addCacheOptions, addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, warner, type Runtime } from '../runtime.js';

/** `skyporten token`: prints a Skyporten access token. */
export function registerTokenCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('token')
    .description('print a Skyporten access token (this command prints a secret: keep its output private)')
    .option('--json', 'print the token response with its expiry as JSON');
  addCacheOptions(command);
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten token --env test --client-id $CLIENT_ID --kid $KID --key-file maskinporten.pem --scope entur:skyporten.demo --resource https://skyporten.entur.org',
        'skyporten token --json --config skyporten.json',
      ) + '\nThe token is cached across processes while at least half its lifetime (at most 60 s) is left; --no-cache asks every time.\n',
    )
    .action(async () => {
      const { env, cwd, clock } = runtime.context;
      const request = flagsOf<{ cache?: boolean }>(command).cache === false ? undefined : cacheRequestOf(runtime.argv, env, cwd);
      const token = await withCredentialCache<CachedToken>(request, { clock, warn: warner(runtime) }, async () => {
        const client = createClient(settingsOf(command, runtime).maskinporten, debugLogger(command, runtime));
        const fresh = await client.getToken();
        return {
          output: {
            access_token: fresh.accessToken,
            token_type: fresh.tokenType,
            scope: fresh.scope,
            expires_at: fresh.expiresAt.toISOString(),
            issued_at: fresh.issuedAt.toISOString(),
          },
          expiresAt: fresh.expiresAt.getTime(),
        };
      });
      await printOutput('token', token, runtime.argv, runtime.context);
    });
}
