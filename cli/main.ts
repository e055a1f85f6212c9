/**
 * The composition root of the `samsa` command: one yargs program, one module per noun
 * under cli/commands/. Commands parse, call a client, print.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandModules } from './commands';

export async function main(argv: string[]): Promise<void> {
  // `samsa consume ... | head`: a closed pipe ends the command quietly, as for any Unix tool.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  let program = yargs(argv)
    .scriptName('samsa')
    .usage('$0 <command> [options]\n\nSamsa: a ZooKeeper-style coordinator and Kafka-protocol brokers on Node.js.')
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error) {
        // Operating errors print one line naming the error and its context; exit code 1.
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      }
      process.stderr.write(`samsa: ${message}\nRun with --help for usage.\n`);
      process.exit(2);
    });
  for (const module of commandModules) program = program.command(module);
  await program.parseAsync();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
