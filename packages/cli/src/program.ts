import { Command, CommanderError } from 'commander';
import { EXIT_CODES, exitCodeOf, formatError } from './errors.js';
import type { CliContext, Runtime } from './runtime.js';
import { registerAwsCommands } from './commands/aws.js';
import { registerAzureCommands } from './commands/azure.js';
import { registerDatabricksCommands } from './commands/databricks.js';
import { registerDecodeCommand } from './commands/decode.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerExchangeCommand } from './commands/exchange.js';
import { registerExecCommand } from './commands/exec.js';
import { registerGcpCommands } from './commands/gcp.js';
import { registerProviderCommand } from './commands/provider.js';
import { registerTokenCommand } from './commands/token.js';
import { registerTokenFileCommand } from './commands/token-file.js';

/** The CLI's version, replaced at build time. */
declare const __SKYPORTEN_CLI_VERSION__: string | undefined;
const version = typeof __SKYPORTEN_CLI_VERSION__ === 'string' ? __SKYPORTEN_CLI_VERSION__ : '0.0.0-development';

/** Builds the `skyporten` program. Commander prints usage errors itself; `run` turns them into exit code 2. */
export function createProgram(runtime: Runtime): Command {
  const { stdout, stderr } = runtime.context;
  const program = new Command('skyporten')
    .description('Skyporten (Maskinporten tokens as cloud workload identity) for the aws CLI, gcloud, Azure tools and any program.')
    .version(version, '--version', 'print the version')
    .option('--config <file>', 'JSON config file; flags and environment variables win over it (SKYPORTEN_CONFIG)')
    .option('--debug', 'log SDK events to stderr and show stack traces (never secrets)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
      outputError: (text, write) => write(`skyporten: ${text.replace(/^error: /, '')}`),
    })
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 runtime failure (token endpoint, network, cloud), 2 usage or configuration error,\n' +
        '3 doctor found problems; exec passes its command\'s exit code through.\n' +
        'Every command has --help with an example. Docs: https://github.com/skyporten/skyporten-sdk/tree/main/packages/cli\n',
    );
  registerTokenCommand(program, runtime);
  registerTokenFileCommand(program, runtime);
  registerAwsCommands(program, runtime);
  registerGcpCommands(program, runtime);
  registerAzureCommands(program, runtime);
  registerExchangeCommand(program, runtime);
  registerDatabricksCommands(program, runtime);
  registerExecCommand(program, runtime);
  registerDecodeCommand(program, runtime);
  registerDoctorCommand(program, runtime);
  registerProviderCommand(program, runtime);
  return program;
}

/**
 * Runs one command line (without the node and script arguments) and resolves its exit code; never throws.
 *
 * @example
 * ```ts
 * process.exitCode = await run(process.argv.slice(2), context);
 * ```
 */
export async function run(argv: readonly string[], context: CliContext): Promise<number> {
  const runtime: Runtime = { context, exitCode: EXIT_CODES.ok, argv };
  const program = createProgram(runtime);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return runtime.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    context.stderr.write(formatError(error, argv.includes('--debug')));
    return exitCodeOf(error);
  }
}
