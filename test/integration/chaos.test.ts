/**
 * The short chaos run of `make test`: a private cluster of real processes (coordinator + 5
 * brokers, CHAOS_TEST_BROKERS to use fewer), topics with replication factor 3 and
 * min.insync.replicas=2, kafkajs producers with acks=all and codec consumers, and at least 20
 * seeded faults over about 60 s (kills and restarts of brokers, the controller and the
 * coordinator, pauses, brokers cut off from the coordinator). The verifier must find nothing
 * lost and nothing divergent. The seed is random per run (CHAOS_SEED to replay one) and is
 * in every failure message with the command that reruns it. Every process is killed by pid
 * when the run ends, and again in afterAll should the run itself throw.
 */
import { randomInt } from 'crypto';
import { createLogger } from '../../shared/logging';
import { parseChaosOptions } from '../../scripts/chaos/options';
import { ChaosHandle, ChaosRun, runChaos } from '../../scripts/chaos/run';

// 60 s of faults (up to 60 s more to reach 20 faults), settling, a clean stop, the check.
jest.setTimeout(300_000);

const handle: ChaosHandle = {};

afterAll(() => {
  handle.cluster?.killAll();
});

test('60 s of seeded faults: nothing acknowledged is lost, nothing diverges', async () => {
  const options = parseChaosOptions(
    { SECONDS: '60', MIN_FAULTS: '20', BROKERS: process.env.CHAOS_TEST_BROKERS ?? '5', ...(process.env.CHAOS_SEED === undefined ? {} : { SEED: process.env.CHAOS_SEED }) },
    [],
    randomInt(2 ** 31 - 1),
  );
  const logger = createLogger({ level: 'warn', pretty: false });
  let run: ChaosRun;
  try {
    run = await runChaos(options, logger, handle);
  } catch (error) {
    throw new Error(`the chaos run failed (seed ${options.seed}): ${error instanceof Error ? error.stack : String(error)}`);
  }
  const { verdict, report } = run;
  process.stderr.write(report); // the seed and the command that reruns it, whatever follows
  expect(verdict.lost).toBe(0);
  expect(verdict.divergentReads + verdict.readConflicts + verdict.divergentReplicas).toBe(0);
  expect(verdict.faults).toBeGreaterThanOrEqual(20);
  expect(verdict.acknowledged).toBeGreaterThanOrEqual(1000);
  expect(verdict.ok).toBe(true);
  // Every broker, the coordinator and the proxies' peers are gone: the run cleaned up after itself.
  expect(handle.cluster!.pids()).toEqual([]);
});
