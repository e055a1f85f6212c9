/**
 * @platformatic/kafka (the modern pure-JavaScript client: flexible versions only) against a real
 * 3-broker cluster, run as child processes from test/fixtures/platformatic-*.mjs (the package is
 * ESM only; the tests are CommonJS). Beside it, the versions it skips, through kafkajs and the
 * codec client: ApiVersions v0-v4 (with the client software recorded), DescribeConfigs v1-v4,
 * AlterConfigs v0-v2, IncrementalAlterConfigs v0-v1. Then the quick start verbatim, a
 * client negotiating the newest versions (platformatic) and one the oldest (kafkajs) reading the
 * same records from the same partitions, and platformatic's other admin, producer and group calls.
 */
import * as path from 'path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { startCluster, TestCluster } from '../helpers/cluster';
import { kill, REPO_ROOT, runCommand, RunningProcess, spawnProcess, stopAll, waitFor } from '../helpers/processes';
import { createTopicWith } from '../helpers/kafkajs';

jest.setTimeout(120_000);

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
/** A fixture that has not finished by then has hung: its output says where. */
const FIXTURE_TIMEOUT_MS = 60_000;

let cluster: TestCluster;
const connections: KafkaConnection[] = [];

async function connect(clientId = 'platformatic-test'): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', cluster.brokers[0]!.port, { requestTimeoutMs: 20_000, clientId });
  connections.push(connection);
  return connection;
}

const kafka = (): Kafka => new Kafka({ brokers: [cluster.bootstrap], clientId: 'kafkajs-test', logLevel: logLevel.NOTHING });

/** Runs a fixture with node; returns its parsed JSON output (the last line), failing with its output if it failed. */
async function fixture<T>(name: string, args: string[]): Promise<T> {
  const result = await runCommand(process.execPath, [path.join(FIXTURES, name), ...args], undefined, { timeoutMs: FIXTURE_TIMEOUT_MS });
  if (result.code !== 0) throw new Error(`${name} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

const createTopic = (name: string, partitions: number, replicationFactor: number): Promise<void> => createTopicWith(kafka(), name, partitions, replicationFactor);

beforeAll(async () => {
  // Debug logs on the brokers: the client software line (kafka.client_software) is a debug line.
  const level = process.env.SAMSA_LOG_LEVEL;
  process.env.SAMSA_LOG_LEVEL = 'debug';
  try {
    cluster = await startCluster({ brokers: 3 });
  } finally {
    if (level === undefined) delete process.env.SAMSA_LOG_LEVEL;
    else process.env.SAMSA_LOG_LEVEL = level;
  }
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  await stopAll();
});

describe('ApiVersions', () => {
  test('v0-v4 list the same ranges; v3/v4 record the client software; an invalid name is INVALID_REQUEST', async () => {
    const lists = [];
    for (let version = 0; version <= 4; version++) {
      const connection = await connect();
      const body = version >= 3 ? { clientSoftwareName: 'samsa-test', clientSoftwareVersion: `4.${version}` } : {};
      const response = await connection.request(ApiKey.ApiVersions, version, body);
      expect(response.errorCode).toBe(KafkaError.NONE);
      lists.push(response.apiKeys);
    }
    for (const list of lists) expect(list).toEqual(lists[0]);
    const listed = new Map(lists[0].map((entry: { apiKey: number; minVersion: number; maxVersion: number }) => [entry.apiKey, [entry.minVersion, entry.maxVersion]]));
    expect(listed.get(ApiKey.ApiVersions)).toEqual([0, 4]);
    expect(listed.get(ApiKey.DescribeConfigs)).toEqual([1, 4]);
    expect(listed.get(ApiKey.AlterConfigs)).toEqual([0, 2]);
    expect(listed.get(ApiKey.IncrementalAlterConfigs)).toEqual([0, 1]);

    const invalid = await (await connect()).request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'bad name', clientSoftwareVersion: '1.0' });
    expect(invalid).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST, apiKeys: [] });

    // Both valid identities were logged with the connection's client id; the invalid one was not.
    const logged = (): string[] => cluster.brokers[0]!.process.output().split('\n').filter((line) => line.includes('"msg":"kafka.client_software"'));
    expect(logged().some((line) => line.includes('"clientSoftwareName":"samsa-test"') && line.includes('"clientSoftwareVersion":"4.3"') && line.includes('"clientId":"platformatic-test"'))).toBe(true);
    expect(logged().some((line) => line.includes('"clientSoftwareVersion":"4.4"'))).toBe(true);
    expect(logged().some((line) => line.includes('bad name'))).toBe(false);
  });
});

describe('configs with @platformatic/kafka (DescribeConfigs v4, AlterConfigs v2, IncrementalAlterConfigs v1)', () => {
  interface Entry {
    name: string;
    value: string | null;
    readOnly: boolean;
    configSource: number;
    isSensitive: boolean;
    synonyms: Array<{ name: string; value: string | null; source: number }>;
    configType: number;
    documentation: string | null;
  }
  type Described = Record<string, Entry>;
  interface Output {
    initial: Described;
    afterAlter: Described;
    afterAppend: Described;
    afterSubtract: Described;
    appendToNonList: Array<{ apiId: string; serverErrorMessage: string }> | 'no error';
    invalidValue: Array<{ apiId: string; serverErrorMessage: string }> | 'no error';
    afterFailures: Described;
    broker: Described;
  }

  test('describe with synonyms and documentation, alter, then SET / APPEND / SUBTRACT / DELETE', async () => {
    await createTopic('configs-p', 2, 3);
    const out = await fixture<Output>('platformatic-configs.mjs', [cluster.bootstrap, 'configs-p', String(cluster.brokers[0]!.id)]);

    // Not overridden: the broker default, its source, the broker setting as synonym, type and text (v3+).
    expect(out.initial['retention.ms']).toEqual({
      name: 'retention.ms',
      value: '604800000',
      readOnly: false,
      configSource: 5,
      isSensitive: false,
      synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }],
      configType: 5, // LONG
      documentation: expect.stringContaining('retention policy'),
    });
    expect(out.initial['cleanup.policy']).toMatchObject({ value: 'delete', configType: 7 /* LIST */ });
    expect(Object.keys(out.initial)).toHaveLength(10);

    // AlterConfigs v2: an override (source DYNAMIC_TOPIC_CONFIG), listed before the broker synonym.
    expect(out.afterAlter['retention.ms']).toMatchObject({
      value: '3600000',
      configSource: 1,
      synonyms: [
        { name: 'retention.ms', value: '3600000', source: 1 },
        { name: 'log.retention.ms', value: '604800000', source: 5 },
      ],
    });
    expect(Object.keys(out.afterAlter).sort()).toEqual(['retention.ms', 'segment.bytes']);

    // APPEND to the default list and SET keep the earlier override.
    expect(out.afterAppend['cleanup.policy']).toMatchObject({ value: 'delete,compact', configSource: 1 });
    expect(out.afterAppend['segment.bytes']).toMatchObject({ value: '2048', configSource: 1 });
    expect(out.afterAppend['retention.ms']).toMatchObject({ value: '3600000', configSource: 1 });

    // SUBTRACT from the list; DELETE brings the default back.
    expect(out.afterSubtract['cleanup.policy']).toMatchObject({ value: 'compact', configSource: 1 });
    expect(out.afterSubtract['retention.ms']).toMatchObject({ value: '604800000', configSource: 5 });
    expect(out.afterSubtract['segment.bytes']).toMatchObject({ value: '2048' });

    // Errors reach the client with Kafka's codes, and change nothing.
    expect(out.appendToNonList).toEqual([{ apiId: 'INVALID_CONFIG', serverErrorMessage: expect.stringContaining('list configs only') }]);
    expect(out.invalidValue).toEqual([{ apiId: 'INVALID_CONFIG', serverErrorMessage: expect.stringContaining('segment.bytes must be an integer') }]);
    expect(out.afterFailures['segment.bytes']!.value).toBe('2048');
    expect(out.afterFailures['cleanup.policy']!.value).toBe('compact');

    // A broker resource: read-only static settings, with type and documentation.
    expect(out.broker['num.partitions']).toMatchObject({ readOnly: true, configType: 3, documentation: expect.stringContaining('partitions') });
    expect(out.broker['log.retention.ms']).toMatchObject({ value: '604800000', configSource: 5, synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }] });

    // The admin's connection said what it is (ApiVersions v3).
    const logged = cluster.brokers.map((broker) => broker.process.output()).join('\n');
    expect(logged).toMatch(/"clientId":"configs-fixture","clientSoftwareName":"platformatic-kafka","clientSoftwareVersion":"1\.35\.0"/);
  });

  test('the older versions answer the same: DescribeConfigs v1-v3 (codec client), v2 (kafkajs); AlterConfigs v0/v1; IncrementalAlterConfigs v0', async () => {
    await createTopic('configs-old', 1, 1);
    const connection = await connect();
    const resource = (keys: string[] | null) => ({ resourceType: 2, resourceName: 'configs-old', configurationKeys: keys });

    for (const [version, retention] of [[0, '1000'], [1, null]] as const) {
      const configs = [{ name: 'cleanup.policy', value: 'compact' }, ...(retention === null ? [] : [{ name: 'retention.ms', value: retention }])];
      const altered = await connection.request(ApiKey.AlterConfigs, version, { resources: [{ resourceType: 2, resourceName: 'configs-old', configs }], validateOnly: false });
      expect(altered.responses[0]).toMatchObject({ errorCode: KafkaError.NONE });
    }
    const incremental = await connection.request(ApiKey.IncrementalAlterConfigs, 0, {
      resources: [{ resourceType: 2, resourceName: 'configs-old', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'delete' }, { name: 'min.insync.replicas', configOperation: 0, value: '1' }] }],
      validateOnly: false,
    });
    expect(incremental.responses[0]).toMatchObject({ errorCode: KafkaError.NONE, errorMessage: null });
    const validateOnly = await connection.request(ApiKey.IncrementalAlterConfigs, 0, { resources: [{ resourceType: 2, resourceName: 'configs-old', configs: [{ name: 'min.insync.replicas', configOperation: 1, value: null }] }], validateOnly: true });
    expect(validateOnly.responses[0].errorCode).toBe(KafkaError.NONE);

    const v1 = await connection.request(ApiKey.DescribeConfigs, 1, { resources: [resource(['cleanup.policy', 'min.insync.replicas'])], includeSynonyms: true });
    const byName = (configs: Array<{ name: string }>) => Object.fromEntries(configs.map((c) => [c.name, c])) as unknown as Record<string, { value: string; configSource: number; synonyms: unknown[]; configType: number; documentation: string | null }>;
    const one = byName(v1.results[0].configs);
    // AlterConfigs v1 replaced the overrides that v0 set: retention.ms is back to the default.
    expect(v1.results[0].configs.map((c: { name: string }) => c.name)).toEqual(['min.insync.replicas', 'cleanup.policy']);
    expect(byName((await connection.request(ApiKey.DescribeConfigs, 2, { resources: [resource(['retention.ms'])], includeSynonyms: false })).results[0].configs)['retention.ms']).toMatchObject({ value: '604800000', configSource: 5 });
    expect(one['cleanup.policy']).toMatchObject({ value: 'compact,delete', configSource: 1 });
    expect(one['cleanup.policy']!.synonyms).toEqual([
      { name: 'cleanup.policy', value: 'compact,delete', source: 1 },
      { name: 'log.cleanup.policy', value: 'delete', source: 5 },
    ]);
    // min.insync.replicas is still overridden: validateOnly changed nothing.
    expect(one['min.insync.replicas']).toMatchObject({ value: '1', configSource: 1 });

    // v3 without documentation asked: the type, and null documentation (Kafka's answer).
    const v3 = byName((await connection.request(ApiKey.DescribeConfigs, 3, { resources: [resource(['cleanup.policy'])], includeSynonyms: false, includeDocumentation: false })).results[0].configs);
    expect(v3['cleanup.policy']).toMatchObject({ configType: 7, documentation: null, synonyms: [] });

    const admin = kafka().admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({ resources: [{ type: 2, name: 'configs-old', configNames: ['cleanup.policy'] }], includeSynonyms: true });
      expect(described.resources[0]!.configEntries[0]).toMatchObject({ configName: 'cleanup.policy', configValue: 'compact,delete', configSynonyms: [{ configName: 'cleanup.policy', configValue: 'compact,delete', configSource: 1 }, { configName: 'log.cleanup.policy', configValue: 'delete', configSource: 5 }] });
    } finally {
      await admin.disconnect();
    }
  });

  test('IncrementalAlterConfigs: unknown topic, broker resource, bad requests', async () => {
    const connection = await connect();
    const response = await connection.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        { resourceType: 2, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }] },
        { resourceType: 4, resourceName: String(cluster.brokers[0]!.id), configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] },
        { resourceType: 2, resourceName: 'configs-old', configs: [{ name: 'retention.ms', configOperation: 9, value: '1' }] },
        { resourceType: 2, resourceName: 'configs-old', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }, { name: 'retention.ms', configOperation: 1, value: null }] },
      ],
      validateOnly: false,
    });
    expect(response.responses.map((r: { errorCode: number }) => r.errorCode)).toEqual([KafkaError.UNKNOWN_TOPIC_OR_PARTITION, KafkaError.INVALID_REQUEST, KafkaError.INVALID_REQUEST, KafkaError.INVALID_REQUEST]);
  });
});

describe('the issue\'s quick start with @platformatic/kafka, and kafkajs reading the same records', () => {
  interface Read {
    topic: string;
    partition: number;
    offset: string;
    key: string;
    value: string;
    headers: Record<string, string>;
  }

  test('createTopics (3 partitions, 3 replicas), send with key and headers, consume from earliest', async () => {
    const read = await fixture<Read[]>('platformatic-quickstart.mjs', [cluster.bootstrap]);
    expect(read).toEqual([{ topic: 'events', partition: expect.any(Number), offset: '0', key: 'user-1', value: 'login', headers: { source: 'web' } }]);
    const admin = kafka().admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: ['events'] });
      expect(metadata.topics[0]!.partitions).toHaveLength(3);
      for (const partition of metadata.topics[0]!.partitions) expect(partition.replicas).toHaveLength(3);
      // Group g committed what it read (autocommit).
      const offsets = await admin.fetchOffsets({ groupId: 'g', topics: ['events'] });
      expect(offsets[0]!.partitions.find((p) => p.partition === read[0]!.partition)!.offset).toBe('1');
    } finally {
      await admin.disconnect();
    }
  });

  test('platformatic (newest versions) and kafkajs (oldest) read the same records from the same partitions', async () => {
    // More records, from kafkajs this time (Produce v7, record batches v2 with headers), keyed across the partitions.
    const producer = kafka().producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'events', messages: Array.from({ length: 30 }, (_, i) => ({ key: `user-${i % 7}`, value: `event-${i}`, headers: { seq: String(i) } })) });
    } finally {
      await producer.disconnect();
    }
    const byPlatformatic = await fixture<Read[]>('platformatic-read.mjs', [cluster.bootstrap, 'events', '31', 'newest-reader']);

    const byKafkajs: Read[] = [];
    const consumer = kafka().consumer({ groupId: 'oldest-reader', maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: ['events'], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          byKafkajs.push({ topic, partition, offset: message.offset, key: String(message.key), value: String(message.value), headers });
        },
      });
      await waitFor('kafkajs read 31 records', () => byKafkajs.length >= 31, 30_000);
    } finally {
      await consumer.disconnect();
    }
    const order = (records: Read[]) => [...records].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    expect(byKafkajs).toHaveLength(31);
    expect(order(byPlatformatic)).toEqual(order(byKafkajs));
    // The records are spread: more than one partition, offsets dense from 0 in each.
    const partitions = new Set(byKafkajs.map((r) => r.partition));
    expect(partitions.size).toBeGreaterThan(1);
    for (const partition of partitions) {
      const offsets = order(byKafkajs).filter((r) => r.partition === partition).map((r) => Number(r.offset));
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });
});

describe('@platformatic/kafka admin, producer options and group calls', () => {
  test('create, list, add partitions, gzip/snappy/lz4 (zstd needs Node 22 in platformatic) and acks 0/1/all, listOffsets, deleteRecords, group read, group calls, delete', async () => {
    const out = await fixture<Record<string, any>>('platformatic-admin.mjs', [cluster.bootstrap]); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(out.created).toEqual([expect.objectContaining({ name: 'admin-p', partitions: 2, replicas: 2 })]);
    expect(out.listed).toBe(true);
    expect(out.partitions).toBe(4);
    expect(out.sent).toBe(10);
    // Records per partition: codec i on partitions i and i+1 mod 4, plus acks=all and acks=0 on partition 3.
    expect(out.latest).toEqual({ 0: 2, 1: 2, 2: 2, 3: 4 });
    expect(out.deleted).toEqual([{ name: 'admin-p', partitions: [{ partition: 0, lowWatermark: '1' }] }]);
    expect(out.earliest).toEqual({ 0: 1, 1: 0, 2: 0, 3: 0 });
    const read = out.read as Array<{ partition: number; offset: string; key: string; value: string; headers: Record<string, string> }>;
    expect(read).toHaveLength(9);
    for (const compression of ['none', 'gzip', 'snappy', 'lz4']) {
      for (const j of [0, 1]) {
        if (compression === 'none' && j === 0) continue; // partition 0 offset 0: deleted
        expect(read).toContainEqual(expect.objectContaining({ key: `k-${compression}-${j}`, value: `v-${compression}-${j}`, headers: { codec: compression } }));
      }
    }
    expect(read.map((r) => r.key)).toEqual(expect.arrayContaining(['k-all', 'k-none']));
    expect(out.groups).toEqual([expect.objectContaining({ id: 'admin-g', protocolType: 'consumer' })]);
    expect(out.described).toEqual([{ id: 'admin-g', state: 'EMPTY', protocolType: 'consumer', members: 0 }]);
    const committed = out.committed[0].topics[0].partitions.map((p: { partitionIndex: number; committedOffset: string }) => [p.partitionIndex, p.committedOffset]);
    expect(new Map(committed)).toEqual(new Map([[0, '2'], [1, '2'], [2, '2'], [3, '4']]));
    expect(out.listedAfterDelete).toBe(false);
  });
});

describe('@platformatic/kafka consumer group rebalance', () => {
  interface Join {
    member: string;
    generationId: number;
    partitions: number[];
  }
  const joins = (member: RunningProcess): Join[] =>
    member
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{"member"'))
      .map((line) => JSON.parse(line) as Join);
  const last = (member: RunningProcess): Join | undefined => joins(member).at(-1);
  const spawnMember = (name: string): RunningProcess => spawnProcess(process.execPath, [path.join(FIXTURES, 'platformatic-member.mjs'), cluster.bootstrap, 'rebalance-p', 'rebalance-g', name]);

  test('a second member takes half the partitions; when it leaves, the first has them all again', async () => {
    await createTopic('rebalance-p', 4, 2);
    const a = spawnMember('a');
    await waitFor('a owns all 4 partitions', () => last(a)?.partitions.length === 4, 30_000);
    const b = spawnMember('b');
    // Both in the same generation, the partitions split between them.
    const split = await waitFor(
      'a and b split the partitions',
      () => {
        const [ja, jb] = [last(a), last(b)];
        return ja !== undefined && jb !== undefined && ja.generationId === jb.generationId && ja.partitions.length > 0 && jb.partitions.length > 0 ? [ja, jb] : null;
      },
      30_000,
    );
    expect([...split[0].partitions, ...split[1].partitions].sort()).toEqual([0, 1, 2, 3]);
    await kill(b, 'SIGTERM');
    expect(await b.exited).toBe(0);
    const after = await waitFor('a owns all 4 again', () => (last(a)!.generationId > split[0].generationId && last(a)!.partitions.length === 4 ? last(a) : null), 30_000);
    expect(after.partitions).toEqual([0, 1, 2, 3]);
    await kill(a, 'SIGTERM');
  });
});
