import type { Command } from 'commander';
import { examples, type Runtime } from '../runtime.js';
import { defineTokenFileCommand } from './token-file.js';

export { keepTokenFile, refreshDelayMs, type TokenFileKeeper } from './token-file.js';

/** `skyporten azure ...`. */
export function registerAzureCommands(program: Command, runtime: Runtime): void {
  const azure = program.command('azure').description('Azure workload identity federation with Skyporten');
  const command = azure
    .command('token-file')
    .description('write the token to a file for AZURE_FEDERATED_TOKEN_FILE consumers (atomic, mode 0600; an alias of `skyporten token-file`)');
  defineTokenFileCommand(command, runtime, 'Entra ID').addHelpText(
    'after',
    examples(
      'skyporten azure token-file --output /var/run/skyporten/azure-token --watch --config /etc/skyporten.json',
      'AZURE_FEDERATED_TOKEN_FILE=/var/run/skyporten/azure-token AZURE_TENANT_ID=... AZURE_CLIENT_ID=... az login --federated-token "$(cat /var/run/skyporten/azure-token)" --service-principal -u $AZURE_CLIENT_ID -t $AZURE_TENANT_ID',
    ) +
      "\nNote: @azure/identity's WorkloadIdentityCredential caches the file's content for minutes, longer than a\n" +
      '~120 s Skyporten token. In JavaScript, use @skyporten/azure in-process instead.\n',
  );
}
