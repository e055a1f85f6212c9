/**
 * The brokers' cluster side against real processes: a coordinator and three brokers on free
 * ports. Registration, one controller, refusal of a live id, the controller writing partition
 * states for an assignment written straight into the tree (as the admin path does), brokers
 * creating and deleting exactly their assigned log directories, topic creation through the
 * Kafka side (assignment spread, validation errors), and controller failover with the epoch
 * bumped and the dead broker's partitions handled.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { BrokerHandle, startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, spawnSamsa, stopAll, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

const SESSION_TIMEOUT_MS = 3000;

interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
}

let cluster: TestCluster;
let client: CoordinatorClient;
const connections: KafkaConnection[] = [];

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  client = new CoordinatorClient({ servers: [cluster.coordinatorUrl], sessionTimeoutMs: 10_000 });
  await client.connect();
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await client?.close().catch(() => undefined);
  await stopAll();
});

async function json<T>(znode: string): Promise<T | null> {
  try {
    return JSON.parse((await client.getData(znode)).data) as T;
  } catch {
    return null;
  }
}

const controller = (): Promise<{ brokerId: number; epoch: number } | null> => json('/controller');
const controllerEpoch = async (): Promise<number> => Number((await client.getData('/controller_epoch')).data);
const state = (topic: string, partition: number): Promise<PartitionState | null> => json(`/brokers/topics/${topic}/partitions/${partition}/state`);
const liveBrokers = (): BrokerHandle[] => cluster.brokers.filter((b) => b.process.child.exitCode === null && b.process.child.signalCode === null);

/** Partition directories `<topic>-<p>` in a broker's data directory. */
function logDirs(broker: BrokerHandle, topic: string): number[] {
  return fs
    .readdirSync(broker.dataDir)
    .filter((name) => name.startsWith(`${topic}-`) && fs.statSync(path.join(broker.dataDir, name)).isDirectory())
    .map((name) => Number(name.slice(topic.length + 1)))
    .sort((a, b) => a - b);
}

async function connect(broker: BrokerHandle): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 15_000 });
  connections.push(connection);
  return connection;
}

describe('a 3-broker cluster', () => {
  test('every broker registers its endpoint under /brokers/ids, and the cluster has an id', async () => {
    const { children } = await client.getChildren('/brokers/ids');
    expect(children.sort()).toEqual(['1', '2', '3']);
    for (const broker of cluster.brokers) {
      const registration = await json<{ host: string; port: number; rack: string | null; startedAt: string }>(`/brokers/ids/${broker.id}`);
      expect(registration).toMatchObject({ host: '127.0.0.1', port: broker.port, rack: null });
      expect(Number.isNaN(Date.parse(registration!.startedAt))).toBe(false);
      const stat = await client.exists(`/brokers/ids/${broker.id}`);
      expect(stat!.ephemeralOwner).not.toBe('0');
    }
    expect((await client.getData('/cluster/id')).data).toMatch(/^[A-Za-z0-9_-]{10,}$/);
  });

  test('exactly one controller, holding the current epoch', async () => {
    const current = await waitFor('/controller', controller);
    expect([1, 2, 3]).toContain(current.brokerId);
    expect(current.epoch).toBe(await controllerEpoch());
    const { children } = await client.getChildren('/controller_election');
    expect(children).toHaveLength(3);
  });

  test('a second broker with a live id refuses to start, naming the id', async () => {
    const dataDir = tempDir('dup');
    const duplicate = spawnSamsa(['broker', '--id', '2', '--port', '0', '--host', '127.0.0.1', '--coordinator', cluster.coordinatorUrl, '--data-dir', dataDir, '--session-timeout-ms', '500']);
    expect(await duplicate.exited).toBe(1);
    expect(duplicate.output()).toContain('broker id 2 is already registered by a live session');
    // The live broker 2 is untouched.
    expect((await client.getChildren('/brokers/ids')).children.sort()).toEqual(['1', '2', '3']);
  });

  test('an assignment written to the tree gets partition states from the controller, and each broker opens exactly its replicas; a deletion marker removes them', async () => {
    const topic = 'direct';
    const assignment: Record<string, number[]> = { '0': [1, 2], '1': [2, 3], '2': [3, 1], '3': [2] };
    await client.create(`/brokers/topics/${topic}`, JSON.stringify({ partitions: assignment }));
    const epoch = await controllerEpoch();
    for (const [p, replicas] of Object.entries(assignment)) {
      const written = await waitFor(`state of ${topic}-${p}`, () => state(topic, Number(p)));
      // Every replica is live and empty, so all are in sync from the start (Kafka's rule).
      expect(written).toEqual({ leader: replicas[0], leaderEpoch: 0, isr: replicas, controllerEpoch: epoch });
    }
    for (const broker of cluster.brokers) {
      const expected = Object.entries(assignment).filter(([, replicas]) => replicas.includes(broker.id)).map(([p]) => Number(p)).sort((a, b) => a - b);
      await waitFor(`broker ${broker.id} logs of ${topic}`, () => JSON.stringify(logDirs(broker, topic)) === JSON.stringify(expected));
    }

    await client.create(`/admin/delete_topics/${topic}`);
    await waitFor('topic znodes gone', async () => (await client.exists(`/brokers/topics/${topic}`)) === null && (await client.exists(`/admin/delete_topics/${topic}`)) === null);
    for (const broker of cluster.brokers) await waitFor(`broker ${broker.id} logs of ${topic} deleted`, () => logDirs(broker, topic).length === 0);
  });

  test('a controller whose epoch was moved past it writes nothing, resigns, and a successor with a newer epoch writes the states', async () => {
    const deposed = await waitFor('/controller', controller);
    const { data, stat } = await client.getData('/controller_epoch');
    const bumped = Number(data) + 10;
    await client.setData('/controller_epoch', String(bumped), stat.version); // as a rival controller would
    await client.create('/brokers/topics/fenced', JSON.stringify({ partitions: { '0': [1, 2, 3] } }));
    const successor = await waitFor('a successor controller', async () => {
      const current = await controller();
      return current !== null && current.epoch > bumped ? current : null;
    });
    expect(successor.brokerId).not.toBe(deposed.brokerId); // the deposed one went to the back of the line
    expect(cluster.brokers.find((b) => b.id === deposed.brokerId)!.process.output()).toContain('"msg":"controller.deposed"');
    const written = await waitFor('state of fenced-0', () => state('fenced', 0));
    expect(written.controllerEpoch).toBe(successor.epoch);
    await client.create('/admin/delete_topics/fenced');
    await waitFor('fenced deleted', async () => (await client.exists('/brokers/topics/fenced')) === null);
  });

  test('CreateTopics on any broker spreads leaders evenly, never two replicas of a partition on one broker, and writes config overrides', async () => {
    const connection = await connect(cluster.brokers[2]!);
    const created = await connection.request<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(ApiKey.CreateTopics, 4, {
      topics: [
        { name: 'spread', numPartitions: 6, replicationFactor: 2, assignments: [], configs: [{ name: 'retention.ms', value: '60000' }] },
        { name: 'too-many-replicas', numPartitions: 1, replicationFactor: 4, assignments: [], configs: [] },
        { name: 'bad-config', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'segment.bytes', value: 'big' }] },
        { name: 'bad/name', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'no-partitions', numPartitions: 0, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    const codes = Object.fromEntries(created.topics.map((t) => [t.name, t.errorCode]));
    expect(codes).toEqual({
      spread: KafkaError.NONE,
      'too-many-replicas': KafkaError.INVALID_REPLICATION_FACTOR,
      'bad-config': KafkaError.INVALID_CONFIG,
      'bad/name': KafkaError.INVALID_TOPIC_EXCEPTION,
      'no-partitions': KafkaError.INVALID_PARTITIONS,
    });
    for (const name of ['too-many-replicas', 'bad-config', 'no-partitions']) expect(await client.exists(`/brokers/topics/${name}`)).toBeNull();

    const topic = await json<{ partitions: Record<string, number[]> }>('/brokers/topics/spread');
    const leaders = new Map<number, number>();
    for (let p = 0; p < 6; p++) {
      const replicas = topic!.partitions[String(p)]!;
      expect(replicas).toHaveLength(2);
      expect(new Set(replicas).size).toBe(2);
      const written = await state('spread', p); // CreateTopics answered only once every partition has a leader
      expect(written!.leader).toBe(replicas[0]);
      leaders.set(written!.leader, (leaders.get(written!.leader) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([2, 2, 2]);
    expect(await json('/config/topics/spread')).toEqual({ 'retention.ms': '60000' });

    const again = await connection.request<{ topics: Array<{ errorCode: number }> }>(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'spread', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(again.topics[0]!.errorCode).toBe(KafkaError.TOPIC_ALREADY_EXISTS);
  });

  test('SIGKILL of the controller: another broker takes over within the session timeout with a higher epoch; its partitions move to the in-sync replica and come back when it returns', async () => {
    const before = await waitFor('/controller', controller);
    const epochBefore = await controllerEpoch();
    const victim = cluster.brokers.find((b) => b.id === before.brokerId)!;
    const topic = await json<{ partitions: Record<string, number[]> }>('/brokers/topics/spread');
    const led = Object.entries(topic!.partitions).filter(([, replicas]) => replicas[0] === victim.id).map(([p]) => Number(p));
    expect(led.length).toBe(2);

    const killedAt = Date.now();
    await kill(victim.process);
    const after = await waitFor('a new controller', async () => {
      const current = await controller();
      return current !== null && current.brokerId !== victim.id ? current : null;
    }, SESSION_TIMEOUT_MS + 5000);
    expect(Date.now() - killedAt).toBeLessThan(SESSION_TIMEOUT_MS + 3000);
    expect(after.epoch).toBeGreaterThan(epochBefore);
    expect(await controllerEpoch()).toBe(after.epoch);
    expect(liveBrokers().map((b) => b.id)).toContain(after.brokerId);

    // Replication factor 2: the other replica was in sync, so it leads now (leader epoch + 1) and the dead broker leaves the ISR.
    for (const p of led) {
      const other = topic!.partitions[String(p)]!.find((id) => id !== victim.id)!;
      await waitFor(`partition ${p} led by ${other}`, async () => (await state('spread', p))?.leader === other);
      expect(await state('spread', p)).toMatchObject({ leader: other, leaderEpoch: 1, isr: [other], controllerEpoch: after.epoch });
    }

    const restarted = await startBroker(cluster.coordinatorUrl, victim.id, { dataDir: victim.dataDir });
    cluster.brokers[cluster.brokers.indexOf(victim)] = restarted;
    // Back in sync, it is the first replica again: the controller's preferred election hands leadership back.
    for (const p of led) {
      await waitFor(`partition ${p} led again by ${victim.id}`, async () => (await state('spread', p))?.leader === victim.id, 30_000);
      expect(await state('spread', p)).toMatchObject({ leader: victim.id, leaderEpoch: 2, controllerEpoch: after.epoch });
    }
    expect(logDirs(restarted, 'spread')).toEqual(Object.entries(topic!.partitions).filter(([, r]) => r.includes(victim.id)).map(([p]) => Number(p)).sort((a, b) => a - b));
  });
});
