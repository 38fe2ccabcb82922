import type { Command } from 'commander';
import { createClient } from '../config.js';
import { json } from '../output.js';
import { addMaskinportenOptions, debugLogger, examples, settingsOf, type Runtime } from '../runtime.js';

/** `skyporten token`: prints a Skyporten access token. */
export function registerTokenCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('token')
    .description('print a Skyporten access token (this command prints a secret: keep its output private)')
    .option('--json', 'print the token response with its expiry as JSON');
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten token --env test --client-id $CLIENT_ID --kid $KID --key-file maskinporten.pem --scope entur:skyporten.demo --resource https://skyporten.entur.org',
        'skyporten token --json --config skyporten.json',
      ),
    )
    .action(async () => {
      const client = createClient(settingsOf(command, runtime).maskinporten, debugLogger(command, runtime));
      const token = await client.getToken();
      const { stdout } = runtime.context;
      if (command.opts<{ json?: boolean }>().json !== true) {
        stdout.write(`${token.accessToken}\n`);
        return;
      }
      stdout.write(
        json({
          access_token: token.accessToken,
          token_type: token.tokenType,
          scope: token.scope,
          expires_in: Math.max(0, Math.floor((token.expiresAt.getTime() - runtime.context.clock()) / 1000)),
          expires_at: token.expiresAt.toISOString(),
          issued_at: token.issuedAt.toISOString(),
        }),
      );
    });
}
