/**
 * One chaos run, setup / run / check: a private cluster under a temp directory, topics with
 * the configured replication factor and min.insync.replicas, producers and consumers running
 * while the seeded schedule injects faults for `seconds`; then faults stop, producers stop,
 * the cluster settles (every broker back, ISRs full, bounded), the final leaders and high
 * watermarks are taken, the cluster stops cleanly, every replica's log is read from disk,
 * and the pure verifier decides. Every process is killed by pid whatever happens; the
 * caller may also call `handle.cluster.killAll()` (a test's afterAll).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { readHighWatermarks } from '../../broker/partition/hw-checkpoint';
import type { Logger } from '../../shared/logging';
import { ChaosCluster } from './cluster';
import { ChaosConsumer } from './consumer';
import { readReplicaLog } from './disk';
import { FaultInjector } from './faults';
import { brokerAddress, ChaosClient, createTopics, highWatermark, Metadata, partitionsOf } from './kafka';
import { ChaosOptions, rerunCommand } from './options';
import { ChaosProducer, chaosKafka, Stopper } from './producer';
import { formatReport } from './report';
import { FaultSchedule } from './schedule';
import { Ack, FinalPartition, percentile, Verdict, verify } from './verify';

/** Bounds of the phases around the faults. */
const SETUP_TIMEOUT_MS = 30_000;
/** How long the idle cluster gets to fill its ISRs before the run measures what it reached. */
const START_ISR_TIMEOUT_MS = 15_000;
/** Every producer should be acknowledged once before the faults start. */
const WARM_UP_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = 60_000;
const PROGRESS_EVERY_MS = 30_000;

export interface ChaosRun {
  verdict: Verdict;
  report: string;
  root: string;
}

export interface ChaosHandle {
  cluster?: ChaosCluster;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** The leader's high watermark for every partition (-1 where it could not be had). */
async function finalHighWatermarks(client: ChaosClient, metadata: Metadata): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    partitionsOf(metadata).map(async ({ topic, partition }) => {
      const address = brokerAddress(metadata, partition.leaderId);
      let hw = -1;
      for (let attempt = 0; attempt < 3 && address !== null && hw < 0; attempt++) hw = await highWatermark(client, address, topic, partition.partitionIndex).catch(() => -1);
      out.set(`${topic}-${partition.partitionIndex}`, hw);
    }),
  );
  return out;
}

/**
 * Each partition's final state after the stop: every replica's log from disk, and the
 * committed point — the highest of the leader's answer before the stop and the replicas'
 * high-watermark checkpoints (any replica's high watermark is at most the committed one, and
 * a new leader's may still lag) — and the leader's log below it as the final log.
 */
async function finalPartitions(cluster: ChaosCluster, metadata: Metadata, watermarks: Map<string, number>): Promise<FinalPartition[]> {
  const checkpoints = new Map<number, Map<string, number>>();
  for (const slot of cluster.brokers.values()) checkpoints.set(slot.id, (await readHighWatermarks(slot.dataDir)).marks);
  return partitionsOf(metadata).map(({ topic, partition }) => {
    const checkpointed = partition.replicaNodes.map((broker) => checkpoints.get(broker)?.get(`${topic}/${partition.partitionIndex}`) ?? -1);
    const highWatermark = Math.max(watermarks.get(`${topic}-${partition.partitionIndex}`) ?? -1, ...checkpointed);
    const replicaLogs = partition.replicaNodes.map((broker) => readReplicaLog(cluster.brokers.get(broker)!.dataDir, broker, topic, partition.partitionIndex));
    const leaderLog = replicaLogs.find((r) => r.broker === partition.leaderId);
    const log = new Map<number, string>();
    if (leaderLog !== undefined && highWatermark >= 0) for (const [offset, value] of leaderLog.records) if (offset < highWatermark) log.set(offset, value);
    return { topic, partition: partition.partitionIndex, leader: partition.leaderId, isr: partition.isrNodes, replicas: partition.replicaNodes, highWatermark, log, replicaLogs };
  });
}

export async function runChaos(options: ChaosOptions, logger: Logger, handle: ChaosHandle = {}): Promise<ChaosRun> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-chaos-'));
  const now = (): number => performance.now();
  const cluster = await ChaosCluster.create(root, options.brokers, options.sessionTimeoutMs, logger);
  handle.cluster = cluster;
  const findings: string[] = [];
  const producing: Stopper = { stopped: false };
  const consuming: Stopper = { stopped: false };
  const injecting: Stopper = { stopped: false };
  const client = new ChaosClient(cluster.bootstrap(), 'chaos-admin');
  try {
    logger.info({ seed: options.seed, root, brokers: options.brokers, seconds: options.seconds }, 'chaos.start');
    await cluster.startCoordinator();
    await Promise.all([...cluster.brokers.keys()].map((id) => cluster.startBroker(id)));
    const bootstrap = cluster.bootstrap();
    const topics = Array.from({ length: options.topics }, (_, i) => `chaos-${i}`);
    if (!(await waitUntil(async () => (await client.metadata([])).brokers.length === options.brokers, SETUP_TIMEOUT_MS))) throw new Error('not every broker registered');
    await createTopics(client, topics, options.partitions, options.replicationFactor, { 'min.insync.replicas': String(options.minInsyncReplicas) }, Date.now() + SETUP_TIMEOUT_MS);

    const injector = new FaultInjector(cluster, client, new FaultSchedule(options.seed), topics, options.replicationFactor, logger, now);
    await injector.waitWhole(START_ISR_TIMEOUT_MS, options.replicationFactor);
    const startMetadata = await client.metadata(topics);
    const isrAtStart = Math.min(...partitionsOf(startMetadata).map((p) => p.partition.isrNodes.length));
    // Heals wait for the ISR the idle cluster reached, up to min.insync.replicas (acks=all available again).
    injector.isrTarget = Math.min(isrAtStart, options.minInsyncReplicas);
    if (isrAtStart < options.minInsyncReplicas) logger.warn({ isrAtStart, minInsyncReplicas: options.minInsyncReplicas }, 'chaos.isr_below_min_insync');

    const acks: Ack[] = [];
    const targets = partitionsOf(startMetadata).map((p) => ({ topic: p.topic, partition: p.partition.partitionIndex }));
    const producers = Array.from({ length: options.producers }, (_, i) => new ChaosProducer(i, chaosKafka(bootstrap, `chaos-p${i}`), targets, acks, now));
    const consumers = Array.from({ length: options.consumers }, (_, i) => new ChaosConsumer(`c${i}`, new ChaosClient(bootstrap, `chaos-c${i}`), topics, logger));
    const producerRuns = producers.map((p) => p.run(producing));
    const consumerRuns = consumers.map((c) => c.run(consuming));
    if (!(await waitUntil(() => producers.every((p) => p.acknowledged > 0), WARM_UP_TIMEOUT_MS))) {
      findings.push(`not every producer was acknowledged within ${WARM_UP_TIMEOUT_MS} ms of the start, before any fault`);
    }

    logger.info({ seconds: options.seconds }, 'chaos.faults_start');
    const faultRun = injector.run(injecting);
    const started = Date.now();
    const durationMs = options.seconds * 1000;
    const goOn = (): boolean => {
      const elapsed = Date.now() - started;
      return elapsed < durationMs || (injector.faults.length < options.minFaults && elapsed < 2 * durationMs);
    };
    let progressAt = started;
    while (goOn()) {
      await sleep(200);
      if (Date.now() - progressAt < PROGRESS_EVERY_MS) continue;
      progressAt = Date.now();
      logger.info({ elapsedS: Math.round((progressAt - started) / 1000), faults: injector.faults.length, acknowledged: acks.length, healTimeouts: injector.healTimeouts }, 'chaos.progress');
    }
    injecting.stopped = true;
    await faultRun;
    // Producers run on until each has been acknowledged after the last fault started, so the
    // last faults' unavailability is measured too (bounded).
    const lastFaultAt = injector.faults.at(-1)?.startedAtMs ?? 0;
    if (!(await waitUntil(() => producers.every((p) => p.acknowledgedSince(lastFaultAt)), SETTLE_TIMEOUT_MS))) {
      findings.push(`not every producer was acknowledged within ${SETTLE_TIMEOUT_MS} ms of the faults' end`);
    }
    producing.stopped = true;
    await Promise.all(producerRuns);

    const settleProblem = await injector.waitWhole(SETTLE_TIMEOUT_MS, isrAtStart);
    consuming.stopped = true;
    await Promise.all(consumerRuns);
    const finalMetadata = await client.metadata(topics);
    const watermarks = await finalHighWatermarks(client, finalMetadata);
    client.close();
    const forced = await cluster.stop();
    for (const name of forced) findings.push(`${name} did not stop within its timeout after SIGTERM (killed)`);
    findings.push(...injector.findings, ...cluster.unexpectedExits);

    const partitions = await finalPartitions(cluster, finalMetadata, watermarks);
    const verdict = verify({ acks, reads: consumers.flatMap((c) => c.reads()), partitions, faults: injector.faults, sends: producers.map((p) => p.timeline) });
    // Kept for a post-mortem (process logs, data) when anything went wrong, or when asked.
    const removable = verdict.ok && findings.length === 0 && !options.keep;
    const recoveries = injector.faults.flatMap((f) => (f.recoveredAfterMs === null ? [] : [f.recoveredAfterMs])).sort((a, b) => a - b);
    const report = formatReport(verdict, {
      seed: options.seed,
      rerun: rerunCommand(options),
      seconds: options.seconds,
      brokers: options.brokers,
      isrAtStart,
      minInsyncReplicas: options.minInsyncReplicas,
      settled: settleProblem === null,
      settleProblem,
      consumerOutOfRange: consumers.reduce((n, c) => n + c.outOfRange, 0),
      recoveryP50Ms: percentile(recoveries, 50),
      recoveryMaxMs: recoveries.length === 0 ? 0 : recoveries[recoveries.length - 1]!,
      findings,
      root: removable ? '(removed)' : root,
    });
    if (removable) fs.rmSync(root, { recursive: true, force: true });
    return { verdict, report, root };
  } finally {
    // After a failure too: no producer, consumer or fault loop outlives the run.
    injecting.stopped = producing.stopped = consuming.stopped = true;
    client.close();
    cluster.killAll();
  }
}
