/**
 * Deletion only when the controller names it: a topic marked for deletion stays marked while a
 * replica broker is down (the live replica deletes its logs and acknowledges; DeleteTopics
 * answers REQUEST_TIMED_OUT within its timeout; CreateTopics of the name says it is marked for
 * deletion), and completes when the dead replica returns, deletes and acknowledges. Logs of a
 * topic the tree does not list are never deleted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(90_000);

let cluster: TestCluster;
let client: CoordinatorClient;
const connections: KafkaConnection[] = [];

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2, brokerArgs: ['--session-timeout-ms', '1000'] });
  client = new CoordinatorClient({ servers: [cluster.coordinatorUrl], sessionTimeoutMs: 10_000 });
  await client.connect();
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await client?.close().catch(() => undefined);
  await stopAll();
});

const dirsOf = (dataDir: string, topic: string): string[] => fs.readdirSync(dataDir).filter((name) => name.startsWith(`${topic}-`)).sort();

async function connect(port: number): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { requestTimeoutMs: 15_000 });
  connections.push(connection);
  return connection;
}

describe('topic deletion', () => {
  test('a dead replica keeps the topic marked for deletion until it returns and acknowledges', async () => {
    const [one, two] = cluster.brokers;
    const connection = await connect(one!.port);
    const created = await connection.request<{ topics: Array<{ errorCode: number }> }>(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'doomed', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2, 1] }], configs: [{ name: 'retention.ms', value: '60000' }] }],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(KafkaError.NONE);
    for (const broker of [one!, two!]) await waitFor(`broker ${broker.id} logs`, () => dirsOf(broker.dataDir, 'doomed').length === 2);

    two!.process.child.kill('SIGKILL');
    await two!.process.exited;
    await waitFor('broker 2 gone from the tree', async () => (await client.exists('/brokers/ids/2')) === null, 15_000);

    const deleted = await connection.request<{ responses: Array<{ name: string; errorCode: number; errorMessage?: string | null }> }>(ApiKey.DeleteTopics, 1, { topicNames: ['doomed'], timeoutMs: 1500 });
    expect(deleted.responses[0]!.errorCode).toBe(KafkaError.REQUEST_TIMED_OUT);
    await waitFor('broker 1 acknowledged', async () => (await client.exists('/admin/delete_topics/doomed/1')) !== null);
    expect(dirsOf(one!.dataDir, 'doomed')).toEqual([]);
    expect(one!.process.output()).toMatch(/"topic":"doomed"[^\n]*"reason":"topic deletion carried out by the controller","msg":"log\.deleted"/);
    // Still marked: the assignment, its config and the marker stay; broker 2's logs are untouched while it is down.
    expect(await client.exists('/brokers/topics/doomed')).not.toBeNull();
    expect(await client.exists('/config/topics/doomed')).not.toBeNull();
    expect(await client.exists('/admin/delete_topics/doomed/2')).toBeNull();
    expect(dirsOf(two!.dataDir, 'doomed')).toEqual(['doomed-0', 'doomed-1']);

    const recreate = await connection.request<{ topics: Array<{ errorCode: number; errorMessage: string | null }> }>(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'doomed', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(recreate.topics[0]!.errorCode).toBe(KafkaError.TOPIC_ALREADY_EXISTS);
    expect(recreate.topics[0]!.errorMessage).toContain('marked for deletion');

    const back = await startBroker(cluster.coordinatorUrl, 2, { port: two!.port, dataDir: two!.dataDir, extraArgs: ['--session-timeout-ms', '1000'] });
    cluster.brokers[1] = back;
    await waitFor('deletion completed', async () =>
      (await client.exists('/brokers/topics/doomed')) === null && (await client.exists('/config/topics/doomed')) === null && (await client.exists('/admin/delete_topics/doomed')) === null, 20_000);
    expect(dirsOf(back.dataDir, 'doomed')).toEqual([]);
    const controllerOutput = cluster.brokers.map((b) => b.process.output()).join('\n');
    expect(controllerOutput).toContain('"msg":"topic.deleted"');
  });

  test('logs of a topic the tree does not list are left alone (orphaned), never deleted', async () => {
    const broker = cluster.brokers[0]!;
    const stray = path.join(broker.dataDir, 'stray-0');
    fs.mkdirSync(stray);
    fs.writeFileSync(path.join(stray, '00000000000000000000.log'), Buffer.alloc(0));
    // Any change of the picture makes the brokers look at their logs again.
    await client.create('/brokers/topics/poke', JSON.stringify({ partitions: { '0': [broker.id] } }));
    await waitFor('poke opened', () => dirsOf(broker.dataDir, 'poke').length === 1);
    expect(fs.existsSync(stray)).toBe(true);
    await waitFor('stray reported', () => broker.process.output().includes('"msg":"log.orphaned"'));
  });
});
