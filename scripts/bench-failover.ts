/**
 * `make bench-failover`: how long a partition is unwritable when its leader dies. A coordinator
 * and 3 brokers, a 6-partition topic with replication factor 3 (min.insync.replicas 2); then,
 * BENCH_FAILOVER_KILLS times (20): SIGKILL partition 0's leader, and poll — Metadata from a
 * surviving broker for the new leader, one acks=all Produce to it — until a produce succeeds.
 * Failover time = SIGKILL → that first acknowledged produce (also printed: SIGKILL → the first
 * Metadata naming another leader). Between kills the killed broker is restarted on its port and
 * data dir and the ISR of every partition is full again. Brokers run without automatic preferred
 * leader elections, so that no leadership moves under a kill. Every loop is bounded.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection } from '../shared/kafka/client';
import { kafkaErrorName } from '../shared/kafka/errors';
import { buildRecordBatch } from '../shared/kafka/record-batch';
import { percentile, printLine } from './bench-results';
import { log, runBenchmark, SamsaBroker, startSamsaBroker, startSamsaCluster, stopSamsaCluster, waitUntil } from './bench-support';

const KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 20);
/** SIGKILL (a crash: noticed when its coordinator connection drops) or SIGSTOP (a pause: noticed when its session times out; SIGCONT after). */
const SIGNAL = (process.env.BENCH_FAILOVER_SIGNAL ?? 'SIGKILL') as 'SIGKILL' | 'SIGSTOP';
if (SIGNAL !== 'SIGKILL' && SIGNAL !== 'SIGSTOP') throw new Error('BENCH_FAILOVER_SIGNAL is SIGKILL or SIGSTOP');
// The aim is stated for default settings: the broker's own 3 s session timeout (the other benchmarks use 10 s).
process.env.BENCH_SESSION_TIMEOUT_MS ??= '3000';
const TOPIC = 'failover';
const PARTITIONS = 6;
const PARTITION = 0;
/** Between two attempts to find the new leader and produce to it: the resolution of the measurement. */
const POLL_MS = 5;
/** A kill whose partition is not writable again within this is reported as failed. */
const FAILOVER_CAP_MS = 30_000;
/** A Produce (or Metadata) unanswered this long counts as a failed attempt. */
const REQUEST_TIMEOUT_MS = 5_000;

interface PartitionMetadata {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  isrNodes: number[];
}

const connections = new Map<number, KafkaConnection>();

async function connectionTo(broker: SamsaBroker): Promise<KafkaConnection> {
  const open = connections.get(broker.id);
  if (open !== undefined && !open.isClosed) return open;
  const fresh = await KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: 1_000 });
  connections.set(broker.id, fresh);
  return fresh;
}

function forget(id: number): void {
  connections.get(id)?.close();
  connections.delete(id);
}

async function partitions(broker: SamsaBroker): Promise<PartitionMetadata[]> {
  const response = await (await connectionTo(broker)).request(ApiKey.Metadata, 4, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
  const topic = response.topics[0];
  if (topic === undefined || topic.errorCode !== 0) return [];
  return [...(topic.partitions as PartitionMetadata[])].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/** One acks=all Produce of one record to `broker`: the partition's error code. */
async function produce(broker: SamsaBroker, sequence: number): Promise<number> {
  const response = await (await connectionTo(broker)).request(ApiKey.Produce, 7, {
    transactionalId: null, acks: -1, timeoutMs: REQUEST_TIMEOUT_MS,
    topicData: [{ name: TOPIC, partitionData: [{ index: PARTITION, records: buildRecordBatch([{ key: null, value: Buffer.from(`failover-${sequence}`) }]) }] }],
  });
  return response.responses[0].partitionResponses[0].errorCode as number;
}

/** Every broker sees every partition with a leader and all 3 replicas in sync. */
async function fullIsr(brokers: SamsaBroker[]): Promise<boolean> {
  for (const broker of brokers) {
    const parts = await partitions(broker).catch(() => []);
    if (parts.length !== PARTITIONS || !parts.every((p) => p.errorCode === 0 && p.leaderId >= 0 && p.isrNodes.length === 3)) return false;
  }
  return true;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-failover-'));
  const cluster = await startSamsaCluster(root, 3, ['--no-auto-leader-rebalance']);
  const brokers = cluster.brokers;
  try {
    const created = await (await connectionTo(brokers[0]!)).request(ApiKey.CreateTopics, 3, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }], timeoutMs: 20_000, validateOnly: false,
    });
    if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics: ${kafkaErrorName(created.topics[0].errorCode)}`);
    const failovers: number[] = [];
    const elections: number[] = [];
    let sequence = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      await waitUntil('a full ISR on every partition', () => fullIsr(brokers), 60_000);
      const leaderId = (await partitions(brokers[0]!))[PARTITION]!.leaderId;
      const victim = brokers.find((b) => b.id === leaderId)!;
      if ((await produce(victim, sequence++)) !== 0) throw new Error(`acks=all produce to leader ${leaderId} failed before the kill`);
      const survivors = brokers.filter((b) => b !== victim);
      const exited = new Promise<void>((resolve) => victim.process.child.once('exit', () => resolve()));
      const killedAt = performance.now();
      victim.process.child.kill(SIGNAL);
      forget(victim.id);
      let electedMs: number | undefined;
      let failoverMs: number | undefined;
      let newLeader = -1;
      let produceMs = 0;
      let attempts = 0;
      const errors = new Map<string, number>();
      while (failoverMs === undefined && performance.now() - killedAt < FAILOVER_CAP_MS) {
        attempts++;
        try {
          const seen = (await partitions(survivors[attempts % survivors.length]!))[PARTITION];
          const leader = survivors.find((b) => b.id === seen?.leaderId);
          if (leader !== undefined) {
            electedMs ??= performance.now() - killedAt;
            const sentAt = performance.now();
            const error = await produce(leader, sequence++);
            produceMs = performance.now() - sentAt;
            if (error === 0) {
              failoverMs = performance.now() - killedAt;
              newLeader = leader.id;
            } else errors.set(kafkaErrorName(error), (errors.get(kafkaErrorName(error)) ?? 0) + 1);
          }
        } catch (error) {
          errors.set((error as Error).name, (errors.get((error as Error).name) ?? 0) + 1);
        }
        if (failoverMs === undefined) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      printLine({ kill, victim: victim.id, newLeader, metadataMs: electedMs === undefined ? null : Number(electedMs.toFixed(1)), failoverMs: failoverMs === undefined ? null : Number(failoverMs.toFixed(1)), lastProduceMs: Number(produceMs.toFixed(1)), attempts, errors: Object.fromEntries(errors) });
      if (failoverMs === undefined) throw new Error(`partition ${PARTITION} not writable ${FAILOVER_CAP_MS} ms after killing broker ${victim.id}`);
      failovers.push(failoverMs);
      if (electedMs !== undefined) elections.push(electedMs);
      if (SIGNAL === 'SIGSTOP') {
        log(`resuming broker ${victim.id}`);
        victim.process.child.kill('SIGCONT');
        continue;
      }
      await exited;
      log(`restarting broker ${victim.id}`);
      brokers[brokers.indexOf(victim)] = await startSamsaBroker(cluster.coordinatorPort, victim.id, victim.port, victim.dataDir, cluster.brokerArgs);
    }
    const sorted = [...failovers].sort((a, b) => a - b);
    const sortedElections = [...elections].sort((a, b) => a - b);
    printLine({
      failover: `${SIGNAL} of the leader → first acknowledged acks=all produce on the new leader`, kills: failovers.length,
      p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), minMs: Number(sorted[0]!.toFixed(1)), maxMs: Number(sorted[sorted.length - 1]!.toFixed(1)),
      metadataP50Ms: percentile(sortedElections, 50), metadataP99Ms: percentile(sortedElections, 99),
    });
  } finally {
    for (const id of [...connections.keys()]) forget(id);
    await stopSamsaCluster(cluster);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
