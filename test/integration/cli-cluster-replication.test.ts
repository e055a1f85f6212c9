/**
 * The replication views of the CLI against real processes: ListOffsets with Kafka's debugging
 * replica id (-2) on a follower and on the leader; `samsa cluster` on 3 brokers with an RF 3
 * topic (every column, counts as Metadata and DescribeConfigs say, epochs as the state znodes
 * say, a paused or killed broker's replicas shown as unreachable, a dead coordinator as '?',
 * never a failed command); `samsa topic elect-leaders`' errors, the znode it writes (Kafka's
 * format) and its wait for the controller — against a coordinator with no controller and a
 * stand-in broker, so the test itself plays the controller's part and nothing races it.
 *
 * What needs replication and the controller's election (lag closing, LEO ahead of the high
 * watermark, elections carried out) is in cli-cluster-replication-e2e.test.ts.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { startCaptureBroker, CaptureBroker } from '../helpers/capture-broker';
import { startCluster, TestCluster } from '../helpers/cluster';
import { freePort, kill, runCommand, SAMSA_BIN, spawnSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const TOPIC = 'rep';
const PARTITIONS = 3;
const RECORDS = 5; // per partition
const ELECTION_PATH = '/admin/preferred_replica_election';

interface Partition {
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
}
interface ReplicaJson {
  broker: number;
  logEndOffset: number | null;
  lag: number | null;
  status: string;
}
interface PartitionJson {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number | null;
  replicas: number[];
  isr: number[];
  minInsyncReplicas: number | null;
  highWatermark: number | null;
  replicaOffsets: ReplicaJson[];
}
interface ClusterJson {
  controller: number;
  brokers: Array<{ id: number }>;
  leaderEpochsError: string | null;
  partitions: PartitionJson[];
  underReplicated: number;
  underMinIsr: number;
  offline: number;
}

const samsa = (args: string[], timeoutMs = 30_000) => runCommand(process.execPath, [SAMSA_BIN, ...args], undefined, { timeoutMs });

let cluster: TestCluster;
let coordinator: CoordinatorClient;
const portOf = (id: number): number => cluster.brokers.find((b) => b.id === id)!.port;
const common = (): string[] => ['--bootstrap', cluster.bootstrap, '--coordinator', cluster.coordinatorUrl];

async function request<T>(port: number, apiKey: number, version: number, body: object): Promise<T> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { clientId: 'cli-cluster-test', requestTimeoutMs: 10_000 });
  try {
    return await connection.request<T>(apiKey, version, body);
  } finally {
    connection.close();
  }
}

async function listOffset(port: number, replicaId: number, partition: number, timestamp: -1 | -2, topic = TOPIC): Promise<{ errorCode: number; offset: number }> {
  const response = await request<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(port, ApiKey.ListOffsets, 1, {
    replicaId,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: BigInt(timestamp) }] }],
  });
  const answer = response.topics[0]!.partitions[0]!;
  return { errorCode: answer.errorCode, offset: Number(answer.offset) };
}

async function partitions(topic = TOPIC): Promise<Partition[]> {
  const response = await request<{ topics: Array<{ name: string; partitions: Partition[] }> }>(cluster.brokers[0]!.port, ApiKey.Metadata, 4, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  return [...response.topics[0]!.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

async function clusterJson(args: string[] = common()): Promise<ClusterJson> {
  const result = await samsa(['cluster', '--json', ...args]);
  if (result.code !== 0) throw new Error(`samsa cluster exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ClusterJson;
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  coordinator = new CoordinatorClient({ servers: [cluster.coordinatorUrl] });
  await coordinator.connect();
  const created = await samsa(['topic', 'create', TOPIC, '--partitions', String(PARTITIONS), '--replication-factor', '3', '--config', 'min.insync.replicas=2', '--bootstrap', cluster.bootstrap]);
  expect(created).toMatchObject({ code: 0 });
  expect(await samsa(['topic', 'create', 'single', '--partitions', '1', '--replication-factor', '1', '--bootstrap', cluster.bootstrap])).toMatchObject({ code: 0 });
  const kafka = new Kafka({ clientId: 'cli-cluster-test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      // acks=1: acknowledged by the leader alone, whatever the ISR is.
      await producer.send({ topic: TOPIC, acks: 1, messages: Array.from({ length: RECORDS }, (_, i) => ({ partition, value: `p${partition}-${i}` })) });
    }
  } finally {
    await producer.disconnect();
  }
});

afterAll(async () => {
  await coordinator?.close();
  await stopAll();
});

describe('ListOffsets with the debugging replica id (-2)', () => {
  test('a follower answers its own log start and log end; as a consumer (-1) it still sends the client to the leader', async () => {
    const [p0] = await partitions();
    const follower = p0!.replicaNodes.find((id) => id !== p0!.leaderId)!;
    const leaderEnd = await listOffset(portOf(p0!.leaderId), -2, 0, -1);
    expect(leaderEnd).toEqual({ errorCode: KafkaError.NONE, offset: RECORDS });

    // Before this change a follower answered NOT_LEADER_OR_FOLLOWER to every replica id.
    const end = await listOffset(portOf(follower), -2, 0, -1);
    expect(end.errorCode).toBe(KafkaError.NONE);
    expect(end.offset).toBeGreaterThanOrEqual(0);
    expect(end.offset).toBeLessThanOrEqual(RECORDS);
    expect(await listOffset(portOf(follower), -2, 0, -2)).toEqual({ errorCode: KafkaError.NONE, offset: 0 });

    expect((await listOffset(portOf(follower), -1, 0, -1)).errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    // Another broker id (a follower's own) keeps the leader-only answer too.
    expect((await listOffset(portOf(follower), follower, 0, -1)).errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
  });

  test('on the leader: -2 answers the log end and the log start; a partition held nowhere here or unknown gets the right error', async () => {
    const p1 = (await partitions())[1]!;
    const leaderPort = portOf(p1.leaderId);
    await waitFor('the high watermark reaches the log end', async () => (await listOffset(leaderPort, -1, 1, -1)).offset === RECORDS, 20_000);
    const deleted = await request<{ topics: Array<{ partitions: Array<{ errorCode: number; lowWatermark: bigint }> }> }>(leaderPort, ApiKey.DeleteRecords, 1, {
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, offset: 2n }] }],
      timeoutMs: 10_000,
    });
    expect(deleted.topics[0]!.partitions[0]).toMatchObject({ errorCode: KafkaError.NONE, lowWatermark: 2n });
    expect(await listOffset(leaderPort, -2, 1, -2)).toEqual({ errorCode: KafkaError.NONE, offset: 2 });
    expect(await listOffset(leaderPort, -2, 1, -1)).toEqual({ errorCode: KafkaError.NONE, offset: RECORDS });
    expect(await listOffset(leaderPort, -1, 1, -2)).toEqual({ errorCode: KafkaError.NONE, offset: 2 });

    // An RF 1 topic: the brokers without its replica hold nothing to answer from.
    const [single] = await partitions('single');
    const elsewhere = cluster.brokers.find((b) => b.id !== single!.leaderId)!;
    expect(await listOffset(elsewhere.port, -2, 0, -1, 'single')).toEqual({ errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER, offset: -1 });
    expect(await listOffset(elsewhere.port, -2, 0, -1, 'missing')).toEqual({ errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, offset: -1 });
    expect((await listOffset(elsewhere.port, -2, 9, -1)).errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('samsa cluster', () => {
  test('3 brokers and an RF 3 topic: leader, epoch, replicas, ISR, high watermark, log ends, lag, and the counts', async () => {
    let view!: ClusterJson;
    let metadata!: Partition[];
    let single!: Partition[];
    // Once replication runs, ISRs may still be settling: wait for a view that Metadata read just after agrees with (view partitions: rep, then single).
    await waitFor('every high watermark, and a view Metadata agrees with', async () => {
      view = await clusterJson();
      [metadata, single] = [await partitions(), await partitions('single')];
      const shownIsr = view.partitions.map((p) => p.isr.join(',')).join(' ');
      return view.partitions.filter((p) => p.topic === TOPIC).every((p) => p.highWatermark === RECORDS) && shownIsr === [...metadata, ...single].map((p) => p.isrNodes.join(',')).join(' ');
    }, 20_000);
    expect(view.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(view.leaderEpochsError).toBeNull();
    const rep = view.partitions.filter((p) => p.topic === TOPIC);
    expect(rep.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const shown of rep) {
      const state = JSON.parse((await coordinator.getData(`/brokers/topics/${TOPIC}/partitions/${shown.partition}/state`)).data) as { leader: number; leaderEpoch: number };
      const meta = metadata[shown.partition]!;
      expect(shown).toMatchObject({ leader: meta.leaderId, leaderEpoch: state.leaderEpoch, replicas: meta.replicaNodes, minInsyncReplicas: 2 });
      expect(shown.replicas).toHaveLength(3);
      expect(shown.replicaOffsets.map((r) => r.broker)).toEqual(shown.replicas);
      const leader = shown.replicaOffsets.find((r) => r.broker === shown.leader)!;
      expect(leader).toEqual({ broker: shown.leader, logEndOffset: RECORDS, lag: null, status: 'ok' });
      for (const follower of shown.replicaOffsets.filter((r) => r.broker !== shown.leader)) {
        expect(follower.status).toBe('ok');
        expect(follower.lag).toBe(RECORDS - follower.logEndOffset!);
      }
    }
    // The counts, from Metadata: rep has min.insync.replicas=2, single the default 1.
    expect(view.partitions.find((p) => p.topic === 'single')!.minInsyncReplicas).toBe(1);
    const all = [...metadata, ...single];
    expect(view.underReplicated).toBe(all.filter((p) => p.isrNodes.length < p.replicaNodes.length).length);
    expect(view.underMinIsr).toBe(metadata.filter((p) => p.isrNodes.length < 2).length + single.filter((p) => p.isrNodes.length < 1).length);
    expect(view.offline).toBe(0);

    const text = await samsa(['cluster', ...common()]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines).toContain(`Partitions: ${view.partitions.length}  under-replicated: ${view.underReplicated}  under-min-ISR: ${view.underMinIsr}  offline: 0`);
    const header = lines.find((line) => line.startsWith('TOPIC'))!;
    expect(header.split(/\s{2,}/)).toEqual(['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'MIN-ISR', 'HW', 'STATE', 'LOG-END (per replica)', 'LAG (per follower)']);
    const p0 = rep[0]!;
    const row = lines.find((line) => line.startsWith(`${TOPIC} `) && line.split(/\s+/)[1] === '0')!;
    expect(row.split(/\s{2,}/).slice(0, 8)).toEqual([TOPIC, '0', String(p0.leader), String(p0.leaderEpoch), p0.replicas.join(','), p0.isr.join(','), '2', String(RECORDS)]);
    // Columns line up: the EPOCH column starts at the same place in the header and every row.
    const epochAt = header.indexOf('EPOCH');
    for (const line of lines.filter((l) => l.startsWith(`${TOPIC} `))) expect(line.slice(epochAt - 2, epochAt)).toBe('  ');
  });

  test('a paused broker shows as unreachable within --timeout-ms; a dead coordinator gives ? epochs; the command succeeds', async () => {
    const paused = cluster.brokers.find((b) => b.id === 3)!;
    process.kill(paused.process.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const deadCoordinator = `ws://127.0.0.1:${await freePort()}`;
      const view = await clusterJson(['--bootstrap', `127.0.0.1:${portOf(1)}`, '--coordinator', deadCoordinator, '--timeout-ms', '1000']);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(view.leaderEpochsError).toContain(deadCoordinator);
      for (const p of view.partitions) {
        expect(p.leaderEpoch).toBeNull();
        if (p.replicas.includes(3)) expect(p.replicaOffsets.find((r) => r.broker === 3)).toEqual({ broker: 3, logEndOffset: null, lag: null, status: 'unreachable' });
      }
      // The other replicas still answer.
      expect(view.partitions.filter((p) => p.topic === TOPIC).every((p) => p.replicaOffsets.some((r) => r.broker !== 3 && r.status === 'ok'))).toBe(true);
      const text = await samsa(['cluster', '--bootstrap', `127.0.0.1:${portOf(1)}`, '--coordinator', deadCoordinator, '--timeout-ms', '1000']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`Leader epochs unknown (?): coordinator ${deadCoordinator}`);
      expect(text.stdout).toMatch(/ 3:unreachable/);
    } finally {
      process.kill(paused.process.pid, 'SIGCONT');
    }
  });

  test("a killed broker's replicas show as unreachable, before and after its registration goes", async () => {
    const victim = cluster.brokers.find((b) => b.id === 2)!;
    await kill(victim.process);
    const check = (view: ClusterJson): void => {
      for (const p of view.partitions.filter((q) => q.replicas.includes(2))) {
        expect(p.replicaOffsets.find((r) => r.broker === 2)).toMatchObject({ logEndOffset: null, status: 'unreachable' });
      }
    };
    check(await clusterJson());
    await waitFor('broker 2 deregistered', async () => (await clusterJson()).brokers.every((b) => b.id !== 2), 20_000);
    const view = await clusterJson();
    check(view);
    const text = await samsa(['cluster', ...common()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ 2:unreachable/);
    expect(text.stdout).toContain(`offline: ${view.offline}`);
  });

  test('elect-leaders of a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, nothing written', async () => {
    const result = await samsa(['topic', 'elect-leaders', 'missing', ...common()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^UNKNOWN_TOPIC_OR_PARTITION: missing/);
    expect(await coordinator.exists(ELECTION_PATH)).toBeNull();
  });
});

describe('samsa topic elect-leaders against a coordinator without a controller (the test plays the controller)', () => {
  let stage: { url: string; broker: CaptureBroker; client: CoordinatorClient };
  const args = (...extra: string[]): string[] => ['topic', 'elect-leaders', 'orders', '--bootstrap', `127.0.0.1:${stage.broker.port}`, '--coordinator', stage.url, ...extra];

  beforeAll(async () => {
    const bare = await startCoordinator();
    const broker = await startCaptureBroker(); // Metadata: partition 0 of any topic, led by broker 1, replicas [1]
    const client = new CoordinatorClient({ servers: [bare.url] });
    await client.connect();
    stage = { url: bare.url, broker, client };
  });
  afterAll(async () => {
    await stage?.client.close();
    await stage?.broker.close();
  });

  test("writes Kafka's znode, waits until the controller deletes it, then prints leaders before and after", async () => {
    const cli = spawnSamsa(args('--json'));
    const written = await waitFor('the election znode', () => stage.client.getData(ELECTION_PATH).catch(() => null), 15_000);
    expect(JSON.parse(written.data)).toEqual({ version: 1, partitions: [{ topic: 'orders', partition: 0 }] });
    expect(written.data).toBe('{"version":1,"partitions":[{"topic":"orders","partition":0}]}');
    await waitFor('the progress line', () => cli.output().includes('requested a preferred leader election for 1 partition(s) of orders'), 10_000);
    expect(cli.child.exitCode).toBeNull(); // still waiting
    await stage.client.delete(ELECTION_PATH); // the controller's part: done
    expect(await cli.exited).toBe(0);
    const printed = JSON.parse(cli.output().split('\n').find((line) => line.startsWith('{'))!) as { topic: string; partitions: unknown[] };
    expect(printed).toMatchObject({ topic: 'orders', partitions: [{ partition: 0, preferred: 1, before: 1, after: 1, result: 'already preferred' }] });
  });

  test('the controller not acting within --timeout-ms: REQUEST_TIMED_OUT, the request stays; a second request: already in progress', async () => {
    const started = Date.now();
    const timedOut = await samsa(args('--timeout-ms', '1500'));
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/^requested a preferred leader election/);
    expect(timedOut.stderr).toContain('\n  still waiting (1 s)\n'); // progress while nothing happens
    expect(timedOut.stderr).toMatch(/\nREQUEST_TIMED_OUT: the controller did not carry out the election within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await stage.client.exists(ELECTION_PATH)).not.toBeNull();

    const again = await samsa(args());
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('NodeExists: a preferred leader election is already in progress (/admin/preferred_replica_election exists)\n');
    await stage.client.delete(ELECTION_PATH);
  });

  test('a partition the topic does not have, and an unreachable coordinator, are one-line errors', async () => {
    const noPartition = await samsa(args('--partition', '0', '--partition', '7'));
    expect(noPartition.code).toBe(1);
    expect(noPartition.stderr).toMatch(/^UNKNOWN_TOPIC_OR_PARTITION: orders-7 \(the topic has 1 partitions\)\n$/);
    expect(await stage.client.exists(ELECTION_PATH)).toBeNull();

    const dead = `ws://127.0.0.1:${await freePort()}`;
    const unreachable = await samsa(['topic', 'elect-leaders', 'orders', '--bootstrap', `127.0.0.1:${stage.broker.port}`, '--coordinator', dead]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^ConnectionLoss: could not reach ws:\/\/127\.0\.0\.1:\d+/);
  });
});
