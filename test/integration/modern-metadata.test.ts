/**
 * Topic ids and the newer versions of the metadata and topic-admin APIs on a real two-broker
 * cluster: ids given at creation, kept in the tree, stable across a restart of every broker,
 * new after a delete and re-create; a topic from before ids existed gets one from the
 * controller; Metadata v12 by id, DeleteTopics v6 by id, CreateTopics v7, CreatePartitions v3,
 * DescribeCluster v0/v1 with Samsa's own client; and @platformatic/kafka's admin (create, list,
 * metadata, partitions, describe cluster, delete) from a fixture script, unchanged.
 */
import path from 'path';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { KafkaError } from '../../shared/kafka/errors';
import { isUuidString, uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../shared/kafka/uuid';
import { BrokerHandle, startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, REPO_ROOT, runCommand, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(90_000);

let cluster: TestCluster;
let tree: CoordinatorClient;
const connections: KafkaConnection[] = [];

async function connect(broker: BrokerHandle = cluster.brokers[0]!): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 30_000 });
  connections.push(connection);
  return connection;
}

const ZERO = uuidToBuffer(ZERO_UUID);
const byName = (name: string) => ({ name, topicId: ZERO });
const byId = (topicId: string) => ({ name: null, topicId: uuidToBuffer(topicId) });

interface MetadataTopic { errorCode: number; name: string | null; topicId: Buffer; partitions: Array<{ leaderId: number; offlineReplicas: number[] }> }

async function metadata(connection: KafkaConnection, version: number, topics: Array<{ name: string | null; topicId: Buffer }> | null): Promise<MetadataTopic[]> {
  const answer = await connection.request(ApiKey.Metadata, version, { topics, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  return answer.topics;
}

async function createTopic(connection: KafkaConnection, name: string, partitions: number): Promise<{ errorCode: number; topicId: Buffer; numPartitions: number; replicationFactor: number; configs: Array<{ name: string; value: string; configSource: number }> | null }> {
  const answer = await connection.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: 2, assignments: [], configs: [{ name: 'retention.ms', value: '3600000' }] }], timeoutMs: 15_000, validateOnly: false });
  return answer.topics[0];
}

/** The id a topic's znode holds ("topic_id"), or null. */
async function idInTree(topic: string): Promise<string | null> {
  const { data } = await tree.getData(`/brokers/topics/${topic}`);
  return (JSON.parse(data) as { topic_id?: string }).topic_id ?? null;
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2 });
  tree = new CoordinatorClient({ servers: [cluster.coordinatorUrl], sessionTimeoutMs: 10_000 });
  await tree.connect();
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await tree?.close();
  await stopAll();
});

describe('topic ids', () => {
  test('given at creation, kept in the tree, the same on every broker and after a restart of every broker; a re-created topic gets another', async () => {
    const connection = await connect();
    const created = await createTopic(connection, 'ids', 3);
    expect(created.errorCode).toBe(KafkaError.NONE);
    const id = uuidFromBuffer(created.topicId);
    expect(id).not.toBe(ZERO_UUID);
    expect(isUuidString(id)).toBe(true);
    expect(await idInTree('ids')).toBe(id);
    // v10 (the first with ids) and v12, on both brokers.
    for (const broker of cluster.brokers) {
      const other = await connect(broker);
      for (const version of [10, 12]) {
        const [topic] = await metadata(other, version, [byName('ids')]);
        expect(topic!.errorCode).toBe(KafkaError.NONE);
        expect(uuidFromBuffer(topic!.topicId)).toBe(id);
      }
    }

    const stopped = cluster.brokers;
    for (const broker of stopped) {
      broker.process.child.kill('SIGTERM');
      await broker.process.exited;
    }
    cluster.brokers = [];
    for (const { id, port, dataDir } of stopped) cluster.brokers.push(await startBroker(cluster.coordinatorUrl, id, { port, dataDir }));
    const after = await connect();
    await waitFor('ids led after the restart', async () => (await metadata(after, 12, [byName('ids')]))[0]!.partitions.every((p) => p.leaderId >= 0), 20_000);
    expect(uuidFromBuffer((await metadata(after, 12, [byName('ids')]))[0]!.topicId)).toBe(id);

    const deleted = await after.request(ApiKey.DeleteTopics, 6, { topics: [byName('ids')], timeoutMs: 15_000 });
    expect(deleted.responses).toEqual([{ name: 'ids', topicId: uuidToBuffer(id), errorCode: KafkaError.NONE, errorMessage: null }]);
    // The deletion is carried out by the controller; the answering broker's picture may show the old topic a moment longer.
    const again = await waitFor('ids created again', async () => {
      const answer = await createTopic(after, 'ids', 1);
      return answer.errorCode === KafkaError.TOPIC_ALREADY_EXISTS ? null : answer;
    }, 15_000);
    expect(again.errorCode).toBe(KafkaError.NONE);
    const newId = uuidFromBuffer(again.topicId);
    expect(newId).not.toBe(ZERO_UUID);
    expect(newId).not.toBe(id);
    expect(await idInTree('ids')).toBe(newId);
    // A client holding the old id does not reach the new topic.
    expect(await metadata(after, 12, [byId(id)])).toEqual([expect.objectContaining({ errorCode: KafkaError.UNKNOWN_TOPIC_ID, name: null, partitions: [] })]);
    expect(uuidFromBuffer((await metadata(after, 12, [byId(newId)]))[0]!.topicId)).toBe(newId);
  });

  test('a topic from before ids existed gets one from the controller (logged); CreatePartitions keeps it', async () => {
    await tree.create('/brokers/topics/legacy', JSON.stringify({ partitions: { '0': [1], '1': [2] } }), { createParents: true });
    const connection = await connect();
    const id = await waitFor('legacy given an id', async () => {
      const [topic] = await metadata(connection, 12, [byName('legacy')]);
      const text = uuidFromBuffer(topic!.topicId);
      return topic!.errorCode === KafkaError.NONE && text !== ZERO_UUID && topic!.partitions.every((p) => p.leaderId >= 0) ? text : null;
    }, 20_000);
    expect(await idInTree('legacy')).toBe(id);
    const logged = cluster.brokers.flatMap((b) => b.process.output().split('\n')).filter((line) => line.includes('"msg":"topic.id_assigned"') && line.includes('"topic":"legacy"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`"topicId":"${id}"`);

    const grown = await connection.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'legacy', count: 3, assignments: null }], timeoutMs: 15_000, validateOnly: false });
    expect(grown.results).toEqual([{ name: 'legacy', errorCode: KafkaError.NONE, errorMessage: null }]);
    expect(await idInTree('legacy')).toBe(id);
    const [topic] = await metadata(connection, 12, [byId(id)]);
    expect(topic).toMatchObject({ errorCode: KafkaError.NONE, name: 'legacy' });
    expect(topic!.partitions).toHaveLength(3);
  });
});

describe('newer API versions', () => {
  test('Metadata v12 by id: known ids described, unknown ids UNKNOWN_TOPIC_ID (name null); v11 naming an id is an invalid request; all topics carry their ids', async () => {
    const connection = await connect();
    expect((await createTopic(connection, 'm12', 2)).errorCode).toBe(KafkaError.NONE);
    const [byNameAnswer] = await metadata(connection, 12, [byName('m12')]);
    const id = uuidFromBuffer(byNameAnswer!.topicId);
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAg';
    const answered = await metadata(connection, 12, [byId(id), byId(unknown)]);
    expect(answered[0]).toMatchObject({ errorCode: KafkaError.NONE, name: 'm12' });
    expect(answered[0]!.partitions).toHaveLength(2);
    expect(answered[1]).toMatchObject({ errorCode: KafkaError.UNKNOWN_TOPIC_ID, name: null, partitions: [] });
    expect(uuidFromBuffer(answered[1]!.topicId)).toBe(unknown);

    expect(await metadata(connection, 11, [byId(id)])).toEqual([expect.objectContaining({ errorCode: KafkaError.INVALID_REQUEST })]);

    const all = await metadata(connection, 12, null);
    expect(all.find((t) => t.name === 'm12')!.topicId.equals(uuidToBuffer(id))).toBe(true);
    expect(all.every((t) => uuidFromBuffer(t.topicId) !== ZERO_UUID)).toBe(true);
    // No authorizer: a client asking for the authorized operations is told every one the resource has (Kafka's AclOperation bits).
    const withOperations = await connection.request(ApiKey.Metadata, 10, { topics: [byName('m12')], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    expect(withOperations.topics[0].topicAuthorizedOperations).toBe(0b1101_1111_1000); // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
    expect(withOperations.clusterAuthorizedOperations).toBe(0b1_1111_1010_0000); // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
    expect(answered[0]!).toMatchObject({ topicAuthorizedOperations: -2147483648 });
    // v9 (flexible, before ids) still answers.
    expect((await metadata(connection, 9, [{ name: 'm12', topicId: ZERO }]))[0]).toMatchObject({ errorCode: KafkaError.NONE, name: 'm12' });
  });

  test('DeleteTopics v6 by id; an unknown id is UNKNOWN_TOPIC_ID; a name and an id together make the request invalid', async () => {
    const connection = await connect();
    const created = await createTopic(connection, 'd6', 1);
    const id = uuidFromBuffer(created.topicId);

    const both = await connection.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'd6', topicId: uuidToBuffer(id) }, byName('other')], timeoutMs: 15_000 });
    expect(both.responses.map((r: { errorCode: number }) => r.errorCode)).toEqual([KafkaError.INVALID_REQUEST, KafkaError.INVALID_REQUEST]);
    expect((await metadata(connection, 12, [byId(id)]))[0]!.errorCode).toBe(KafkaError.NONE);

    const unknown = 'AAAAAAAAAAAAAAAAAAAAAw';
    const deleted = await connection.request(ApiKey.DeleteTopics, 6, { topics: [byId(id), byId(unknown)], timeoutMs: 15_000 });
    expect(deleted.responses).toEqual([
      { name: 'd6', topicId: uuidToBuffer(id), errorCode: KafkaError.NONE, errorMessage: null },
      { name: null, topicId: uuidToBuffer(unknown), errorCode: KafkaError.UNKNOWN_TOPIC_ID, errorMessage: expect.any(String) },
    ]);
    expect((await metadata(connection, 12, [byId(id)]))[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_ID);
    expect(await tree.exists('/brokers/topics/d6')).toBeNull();
  });

  test('CreateTopics v7 answers partitions, replication factor, configs (override sources) and the id; validateOnly answers the zero id and creates nothing', async () => {
    const connection = await connect();
    const created = await createTopic(connection, 'c7', 2);
    expect(created).toMatchObject({ errorCode: KafkaError.NONE, numPartitions: 2, replicationFactor: 2 });
    expect(created.configs).toContainEqual(expect.objectContaining({ name: 'retention.ms', value: '3600000', configSource: 1 }));
    expect(created.configs).toContainEqual(expect.objectContaining({ name: 'cleanup.policy', value: 'delete', configSource: 5 }));

    const dry = await connection.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'c7-dry', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: true });
    expect(dry.topics[0]).toMatchObject({ name: 'c7-dry', errorCode: KafkaError.NONE, numPartitions: 1, replicationFactor: 1 });
    expect(uuidFromBuffer(dry.topics[0].topicId)).toBe(ZERO_UUID);
    expect(await tree.exists('/brokers/topics/c7-dry')).toBeNull();

    const exists = await connection.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'c7', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    expect(exists.topics[0]).toMatchObject({ errorCode: KafkaError.TOPIC_ALREADY_EXISTS, numPartitions: -1, replicationFactor: -1, configs: null });
  });

  test('DescribeCluster v0 and v1: cluster id, controller and live brokers; controllers (endpoint type 2) are not described by a broker', async () => {
    const connection = await connect();
    const shown = await connection.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    for (const version of [0, 1]) {
      const answer = await connection.request(ApiKey.DescribeCluster, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(answer).toMatchObject({ errorCode: KafkaError.NONE, errorMessage: null, clusterId: shown.clusterId, controllerId: shown.controllerId, clusterAuthorizedOperations: -2147483648 });
      expect(answer.brokers).toEqual(cluster.brokers.map((b) => ({ brokerId: b.id, host: '127.0.0.1', port: b.port, rack: null })));
    }
    expect((await connection.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(0b1_1111_1010_0000);
    const controllers = await connection.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 2 });
    expect(controllers).toMatchObject({ errorCode: KafkaError.MISMATCHED_ENDPOINT_TYPE, endpointType: 2, brokers: [] });
  });

  test('Metadata reports the replicas of a stopped broker as offline', async () => {
    const connection = await connect();
    expect((await createTopic(connection, 'offline', 2)).errorCode).toBe(KafkaError.NONE);
    const second = cluster.brokers[1]!;
    await kill(second.process);
    await waitFor('broker 2 offline in metadata', async () => {
      const [topic] = await metadata(connection, 12, [byName('offline')]);
      return topic!.partitions.every((p) => p.offlineReplicas.length === 1 && p.offlineReplicas[0] === 2);
    }, 30_000);
    cluster.brokers[1] = await startBroker(cluster.coordinatorUrl, 2, { port: second.port, dataDir: second.dataDir });
    await waitFor('broker 2 back in metadata', async () => (await metadata(connection, 12, [byName('offline')]))[0]!.partitions.every((p) => p.offlineReplicas.length === 0), 30_000);
  });
});

describe('@platformatic/kafka', () => {
  test('admin: createTopics, listTopics, metadata, createPartitions, describe cluster, deleteTopics', async () => {
    const fixture = path.join(REPO_ROOT, 'test', 'fixtures', 'platformatic-admin-topics.mjs');
    const run = await runCommand(process.execPath, [fixture, `127.0.0.1:${cluster.brokers[0]!.port}`, 'pk'], undefined, { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout.trim());
    expect(out.error).toBeUndefined();
    expect(run.code).toBe(0);
    // platformatic prints ids as dashed hex; the tree holds Kafka's base64 text of the same 16 bytes.
    const dashed = (text: string): string => uuidToBuffer(text).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    expect(out.created).toEqual([{ id: expect.any(String), name: 'pk', partitions: 2, replicas: 1, retention: '3600000' }]);
    expect(out.listed).toContain('pk');
    expect(out.metadata).toMatchObject({ controllerId: expect.any(Number), brokers: [1, 2], topicId: out.created[0].id, partitions: 2 });
    expect(out.metadata.leaders.every((leader: number) => leader === 1 || leader === 2)).toBe(true);
    expect(out.afterCreatePartitions).toEqual({ topicId: out.created[0].id, partitions: 4 });
    expect(out.describeCluster).toEqual({ errorCode: 0, clusterId: out.metadata.clusterId, controllerId: out.metadata.controllerId, brokers: cluster.brokers.map((b) => ({ brokerId: b.id, host: '127.0.0.1', port: b.port })) });
    expect(out.listedAfterDelete).not.toContain('pk');
    // The id platformatic saw is the one the creating broker logged (and wrote to the tree), as dashed hex.
    const createdLine = cluster.brokers.flatMap((b) => b.process.output().split('\n')).find((line) => line.includes('"msg":"topic.created"') && line.includes('"topic":"pk"'));
    expect(createdLine).toBeDefined();
    expect(dashed((JSON.parse(createdLine!) as { topicId: string }).topicId)).toBe(out.created[0].id);
  });
});
