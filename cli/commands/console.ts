/**
 * `samsa console`: the web console in the foreground (console/server/console.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { startConsole } from '../../console/server/console';
import { createLogger, loggingOptionsFromEnv } from '../../shared/logging';
import { coordinatorUrls } from '../broker-discovery';

interface ConsoleArgs {
  port: number;
  host: string;
  coordinator: string;
  bootstrap: string;
  'scrape-interval-ms': number;
  'log-level'?: string;
}

export const consoleCommand: CommandModule<unknown, ConsoleArgs> = {
  command: 'console',
  describe: 'run the web console (cluster overview, topics, messages, groups, znodes, live charts)',
  builder: (yargs) =>
    yargs
      .option('port', { type: 'number', default: Number(process.env.SAMSA_CONSOLE_PORT ?? 8080), describe: 'HTTP port (0 = any free port; env SAMSA_CONSOLE_PORT)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
      .option('coordinator', { type: 'string', default: process.env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181', describe: 'coordinator URL(s), comma-separated (env SAMSA_COORDINATOR)' })
      .option('bootstrap', { type: 'string', default: process.env.SAMSA_BOOTSTRAP ?? '127.0.0.1:9092', describe: 'broker host:port list, comma-separated (env SAMSA_BOOTSTRAP); live brokers are also found through the coordinator' })
      .option('scrape-interval-ms', { type: 'number', default: 1000, describe: "how often each broker's /metrics is read for the charts" })
      .option('log-level', { type: 'string', describe: 'trace, debug, info, warn, error (env SAMSA_LOG_LEVEL)' })
      .check((args) => {
        if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error(`--port must be 0..65535, got ${args.port}`);
        if (!Number.isInteger(args['scrape-interval-ms']) || args['scrape-interval-ms'] < 100) throw new Error('--scrape-interval-ms must be an integer >= 100');
        if (coordinatorUrls(args.coordinator).length === 0) throw new Error('--coordinator needs at least one URL');
        return true;
      })
      .example('$0 console --port 8080', 'then open http://127.0.0.1:8080') as Argv<ConsoleArgs>,
  handler: async (args) => {
    const logger = createLogger(loggingOptionsFromEnv(process.env, args['log-level']));
    let running;
    try {
      running = await startConsole(
        {
          host: args.host,
          port: args.port,
          coordinator: coordinatorUrls(args.coordinator),
          bootstrap: args.bootstrap.split(',').map((entry) => entry.trim()).filter(Boolean),
          scrapeIntervalMs: args['scrape-interval-ms'],
        },
        logger,
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EADDRINUSE' ? `port ${args.port} is in use (pick another with --port)` : error instanceof Error ? error.message : String(error);
      throw new Error(`console: ${reason}`);
    }
    logger.info({ url: running.url }, 'console.ready');
    process.stderr.write(`Samsa console at ${running.url} (Ctrl-C to stop)\n`);
    let stopping = false;
    const stop = (): void => {
      if (stopping) process.exit(1);
      stopping = true;
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    await new Promise<never>(() => undefined);
  },
};
