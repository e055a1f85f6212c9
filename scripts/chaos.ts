/**
 * `make chaos [SECONDS=600] [SEED=…] [BROKERS=5]`: a seeded fault run against a private
 * Samsa cluster, with its verifier (scripts/chaos/). Prints the report and the seed that
 * reruns it; exits 1 on any lost or divergent record, 2 when the run itself failed.
 * Settings: see scripts/chaos/options.ts (environment variables or --flags; --verbose).
 */
import { randomInt } from 'crypto';
import { createLogger } from '../shared/logging';
import { ChaosOptions, ChaosOptionsError, parseChaosOptions, rerunCommand } from './chaos/options';
import { ChaosHandle, runChaos } from './chaos/run';

function main(): void {
  let options: ChaosOptions;
  try {
    options = parseChaosOptions(process.env, process.argv.slice(2), randomInt(2 ** 31 - 1));
  } catch (error) {
    if (!(error instanceof ChaosOptionsError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: options.verbose ? 'debug' : 'info', pretty: Boolean(process.stderr.isTTY) });
  process.stdout.write(`chaos: seed ${options.seed} (rerun: ${rerunCommand(options)})\n`);
  const handle: ChaosHandle = {};
  // Ctrl-C or a kill of the run: no broker or coordinator outlives it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      handle.cluster?.killAll();
      process.stderr.write(`chaos: interrupted; seed ${options.seed}\n`);
      process.exit(130);
    });
  }
  process.on('exit', () => handle.cluster?.killAll());
  runChaos(options, logger, handle).then(
    (run) => {
      process.stdout.write(run.report);
      process.exit(run.verdict.ok ? 0 : 1);
    },
    (error: unknown) => {
      process.stderr.write(`chaos: the run failed: ${error instanceof Error ? error.stack : String(error)}\nseed ${options.seed}; rerun: ${rerunCommand(options)}\n`);
      process.exit(2);
    },
  );
}

main();
