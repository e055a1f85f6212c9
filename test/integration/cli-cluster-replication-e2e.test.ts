/**
 * The CLI's replication views once replication and the controller's elections run (issue 7):
 * `samsa cluster` in the steady state (full ISRs, every follower's log end equal to the leader's,
 * lag 0), a leader's own log end (ListOffsets replica id -2) running ahead of its high watermark
 * (-1) while an in-sync follower is paused, and `samsa topic elect-leaders` carried out end to
 * end by the controller after a failover moved a leadership away from its preferred replica.
 *
 * DEPENDS on the lead's replication and controller work (followers fetching, the ISR and high
 * watermark, failover, the controller acting on /admin/preferred_replica_election): these tests
 * fail until that lands. What does not depend on it is in cli-cluster-replication.test.ts.
 * Brokers run without the automatic preferred-leader rebalance, so that only elect-leaders can
 * move leadership back, and with a long replica lag time, so that a paused follower stays in
 * the ISR for the length of a test.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const TOPIC = 'rep3';
const PARTITIONS = 3;
const RECORDS = 20; // per partition
const REPLICA_LAG_TIME_MAX_MS = 20_000;
const BROKER_ARGS = ['--auto-leader-rebalance', 'false', '--replica-lag-time-max-ms', String(REPLICA_LAG_TIME_MAX_MS)];

interface Partition {
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
}
interface ClusterJson {
  partitions: Array<{ topic: string; partition: number; leader: number; leaderEpoch: number | null; isr: number[]; highWatermark: number | null; replicaOffsets: Array<{ broker: number; logEndOffset: number | null; lag: number | null; status: string }> }>;
  underReplicated: number;
  underMinIsr: number;
  offline: number;
}

const samsa = (args: string[], timeoutMs = 60_000) => runCommand(process.execPath, [SAMSA_BIN, ...args], undefined, { timeoutMs });

let cluster: TestCluster;
let coordinator: CoordinatorClient;
const brokerOf = (id: number) => cluster.brokers.find((b) => b.id === id)!;
const common = (): string[] => ['--bootstrap', cluster.brokers.map((b) => `127.0.0.1:${b.port}`).join(','), '--coordinator', cluster.coordinatorUrl];

async function request<T>(port: number, apiKey: number, version: number, body: object): Promise<T> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { clientId: 'cli-cluster-e2e', requestTimeoutMs: 10_000 });
  try {
    return await connection.request<T>(apiKey, version, body);
  } finally {
    connection.close();
  }
}

async function latest(port: number, replicaId: number, partition: number): Promise<{ errorCode: number; offset: number }> {
  const response = await request<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(port, ApiKey.ListOffsets, 1, {
    replicaId,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  const answer = response.topics[0]!.partitions[0]!;
  return { errorCode: answer.errorCode, offset: Number(answer.offset) };
}

async function partitions(): Promise<Partition[]> {
  for (const broker of cluster.brokers) {
    try {
      const response = await request<{ topics: Array<{ partitions: Partition[] }> }>(broker.port, ApiKey.Metadata, 4, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
      return [...response.topics[0]!.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
    } catch {
      // that broker is down: ask the next
    }
  }
  throw new Error('no broker answered Metadata');
}

async function clusterJson(): Promise<ClusterJson> {
  const result = await samsa(['cluster', '--json', ...common()]);
  if (result.code !== 0) throw new Error(`samsa cluster exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ClusterJson;
}

/** `via`: the brokers kafkajs may bootstrap from (not a paused one: kafkajs would wait on it). */
async function produce(partition: number, count: number, acks: -1 | 1, via = cluster.brokers.map((b) => b.port)): Promise<void> {
  const kafka = new Kafka({ clientId: 'cli-cluster-e2e', brokers: via.map((port) => `127.0.0.1:${port}`), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, acks, messages: Array.from({ length: count }, (_, i) => ({ partition, value: `v${i}` })) });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3, brokerArgs: BROKER_ARGS });
  coordinator = new CoordinatorClient({ servers: [cluster.coordinatorUrl] });
  await coordinator.connect();
  expect(await samsa(['topic', 'create', TOPIC, '--partitions', String(PARTITIONS), '--replication-factor', '3', '--config', 'min.insync.replicas=2', '--bootstrap', cluster.bootstrap])).toMatchObject({ code: 0 });
  for (let partition = 0; partition < PARTITIONS; partition++) await produce(partition, RECORDS, -1);
});

afterAll(async () => {
  await coordinator?.close();
  await stopAll();
});

test('steady state: full ISRs, every replica at the leader’s log end, lag 0, nothing under-replicated', async () => {
  const view = await waitFor('replicas caught up', async () => {
    const shown = await clusterJson();
    const rep = shown.partitions.filter((p) => p.topic === TOPIC);
    return rep.every((p) => p.isr.length === 3 && p.highWatermark === RECORDS && p.replicaOffsets.every((r) => r.logEndOffset === RECORDS)) ? shown : null;
  }, 30_000);
  expect(view).toMatchObject({ underReplicated: 0, underMinIsr: 0, offline: 0 });
  for (const p of view.partitions.filter((q) => q.topic === TOPIC)) {
    expect(p.replicaOffsets.filter((r) => r.broker !== p.leader).map((r) => r.lag)).toEqual([0, 0]);
  }
});

test("a paused in-sync follower: the leader's log end (-2) runs ahead of its high watermark (-1); resumed, the follower's own log end (-2, asked directly) catches up", async () => {
  const [p0] = await partitions();
  const leader = brokerOf(p0!.leaderId);
  const follower = brokerOf(p0!.isrNodes.find((id) => id !== p0!.leaderId)!);
  const before = await latest(leader.port, -1, 0);
  process.kill(follower.process.pid, 'SIGSTOP');
  try {
    await produce(0, 5, 1, [leader.port]);
    const end = await latest(leader.port, -2, 0);
    const highWatermark = await latest(leader.port, -1, 0);
    expect(end).toEqual({ errorCode: KafkaError.NONE, offset: before.offset + 5 });
    expect(highWatermark.errorCode).toBe(KafkaError.NONE);
    expect(highWatermark.offset).toBeLessThan(end.offset);
  } finally {
    process.kill(follower.process.pid, 'SIGCONT');
  }
  await waitFor('the follower catches up (its own log end, asked directly)', async () => (await latest(follower.port, -2, 0)).offset === (await latest(leader.port, -2, 0)).offset, 30_000);
});

test('elect-leaders: after a failover moved a leadership away, the controller gives it back to the preferred replica', async () => {
  const [p0] = await partitions();
  const preferred = p0!.replicaNodes[0]!;
  await waitFor('partition 0 led by its preferred replica', async () => (await partitions())[0]!.leaderId === preferred, 30_000);
  const victim = brokerOf(preferred);
  await kill(victim.process);
  await waitFor('a new leader for partition 0 from its ISR', async () => {
    const leader = (await partitions())[0]!.leaderId;
    return leader >= 0 && leader !== preferred;
  }, 20_000);
  const index = cluster.brokers.indexOf(victim);
  cluster.brokers[index] = await startBroker(cluster.coordinatorUrl, preferred, { port: victim.port, dataDir: victim.dataDir, extraArgs: BROKER_ARGS });
  await waitFor('the restarted broker back in every ISR', async () => (await partitions()).every((p) => p.isrNodes.includes(preferred)), 30_000);
  const moved = (await partitions()).filter((p) => p.leaderId !== p.replicaNodes[0]).map((p) => p.partitionIndex);
  expect(moved).toContain(0); // automatic rebalance is off: only elect-leaders moves it back

  const elected = await samsa(['topic', 'elect-leaders', TOPIC, '--json', ...common()]);
  expect(elected).toMatchObject({ code: 0 });
  const result = JSON.parse(elected.stdout) as { partitions: Array<{ partition: number; preferred: number; before: number; after: number; result: string }> };
  expect(result.partitions.map((p) => p.after)).toEqual(result.partitions.map((p) => p.preferred));
  const partition0 = result.partitions.find((p) => p.partition === 0)!;
  expect(partition0.before).not.toBe(preferred);
  expect(partition0).toMatchObject({ after: preferred, result: 'elected' });
  expect(await coordinator.exists('/admin/preferred_replica_election')).toBeNull();
  expect((await partitions()).map((p) => p.leaderId)).toEqual((await partitions()).map((p) => p.replicaNodes[0]));
  // Text mode on a second run: everything already preferred, nothing to move.
  const again = await samsa(['topic', 'elect-leaders', TOPIC, '--partition', '0', ...common()]);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/^Preferred leader election for rep3 done in \d+\.\d s\nPARTITION\s+PREFERRED\s+BEFORE\s+AFTER\s+RESULT\n0\s+\d\s+\d\s+\d\s+already preferred\n$/);
});
