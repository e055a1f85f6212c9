/**
 * The data path in its newer protocol versions, against a real 3-broker cluster:
 * - @platformatic/kafka (a client that speaks only the flexible versions: Produce v11, Fetch
 *   v17 by topic id, ListOffsets v8, DeleteRecords v2) produces with keys, headers, each codec
 *   it has on Node 20 (none, gzip, snappy, lz4: its zstd needs Node 22's zlib) and acks 0/1/-1;
 * - it (newest versions) and kafkajs (oldest: Produce v3-7, Fetch v4-11, ListOffsets v1-3) and
 *   kcat (librdkafka) read the same records from the same partitions at the same offsets;
 * - listOffsets earliest, latest, by timestamp, max timestamp (v7 spec -3), earliest local (v8
 *   spec -4), before and after DeleteRecords v2;
 * - topic ids on Fetch v13+: an unknown id is UNKNOWN_TOPIC_ID, a topic deleted and recreated
 *   under its name has a new id and the old one reads nothing of it; fetch sessions (KIP-227)
 *   keyed by topic id at v16; OffsetForLeaderEpoch v4.
 * platformatic runs from test/fixtures/platformatic-data.mjs (it is ESM only).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { compress, decompress } from '../../shared/kafka/compression';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatch, decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';
import { uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../shared/kafka/uuid';
import { startCluster, TestCluster } from '../helpers/cluster';
import { runCommand, stopAll, tempDir, waitFor } from '../helpers/processes';
import { createTopicWith } from '../helpers/kafkajs';

jest.setTimeout(180_000);

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'platformatic-data.mjs');
const TOPIC = 'modern';
const PARTITIONS = 3;
const T0 = 1_700_000_000_000;
/** The record with the largest timestamp: in partition 1, inside the gzip batch. */
const MAX_INDEX = 7;
const MAX_TIMESTAMP = T0 + 1_000_000;

interface Produced {
  index: number;
  partition: number;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

const message = (index: number, client: string): Produced => ({
  index,
  partition: index % PARTITIONS,
  key: `key-${index}`,
  value: `value-${index} from ${client}`,
  headers: { source: client, n: String(index) },
  timestamp: index === MAX_INDEX ? MAX_TIMESTAMP : T0 + index * 10,
});
const range = (from: number, to: number, client: string): Produced[] => Array.from({ length: to - from }, (_, i) => message(from + i, client));

/** What platformatic sends, one send() each: every codec it has, every acks level. */
const SENDS = [
  { acks: -1, compression: 'none', messages: range(0, 6, 'platformatic') },
  { acks: 1, compression: 'gzip', messages: range(6, 9, 'platformatic') },
  { acks: -1, compression: 'snappy', messages: range(9, 12, 'platformatic') },
  { acks: -1, compression: 'lz4', messages: range(12, 15, 'platformatic') },
  { acks: 0, compression: 'none', messages: range(15, 18, 'platformatic') },
];
const KAFKAJS = range(18, 21, 'kafkajs');
const ALL = [...SENDS.flatMap((send) => send.messages), ...KAFKAJS];

/** Each partition's records in the order they were sent, at offsets 0, 1, 2... */
const EXPECTED: ReadRecord[] = Array.from({ length: PARTITIONS }, (_, partition) =>
  ALL.filter((m) => m.partition === partition).map((m, offset) => ({ partition, offset, key: m.key, value: m.value, headers: m.headers })),
).flat();

let cluster: TestCluster;
let kafka: Kafka;
let dir: string;

const byPosition = (a: ReadRecord, b: ReadRecord) => a.partition - b.partition || a.offset - b.offset;
const comparable = (records: ReadRecord[]): ReadRecord[] => records.map(({ partition, offset, key, value, headers }) => ({ partition, offset, key, value, headers })).sort(byPosition);

async function platformatic<T>(command: string, ...args: string[]): Promise<T> {
  const result = await runCommand(process.execPath, [FIXTURE, command, cluster.bootstrap, ...args], undefined, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`platformatic ${command} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

const createTopic = (topic: string, partitions: number): Promise<void> => createTopicWith(kafka, topic, partitions, 3);

async function connectTo(brokerId: number): Promise<KafkaConnection> {
  const broker = cluster.brokers.find((b) => b.id === brokerId)!;
  return KafkaConnection.connect('127.0.0.1', broker.port, { clientId: 'modern-data-test' });
}

interface PartitionInfo { leaderId: number; leaderEpoch: number }

/** Metadata v12 (by name): the topic's id and its partitions' leaders. */
async function describe12(topic: string): Promise<{ topicId: string; partitions: PartitionInfo[] }> {
  const connection = await connectTo(cluster.brokers[0]!.id);
  try {
    const response = await connection.request(ApiKey.Metadata, 12, { topics: [{ name: topic, topicId: uuidToBuffer(ZERO_UUID) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const found = response.topics[0];
    if (found.errorCode !== KafkaError.NONE) throw new Error(`metadata for ${topic}: error ${found.errorCode}`);
    const partitions = [...found.partitions].sort((a: { partitionIndex: number }, b: { partitionIndex: number }) => a.partitionIndex - b.partitionIndex);
    return { topicId: uuidFromBuffer(found.topicId), partitions: partitions.map((p: PartitionInfo) => ({ leaderId: p.leaderId, leaderEpoch: p.leaderEpoch })) };
  } finally {
    connection.close();
  }
}

const fetchV16 = (topicId: string, partition: number, fetchOffset: bigint, session = { sessionId: 0, sessionEpoch: -1 }, forgotten: Array<{ topicId: Buffer; partitions: number[] }> = []) => ({
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 1 << 20,
  isolationLevel: 0,
  ...session,
  topics: topicId === '' ? [] : [{ topicId: uuidToBuffer(topicId), partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
  forgottenTopicsData: forgotten,
  rackId: '',
});

const valuesOf = (records: Buffer | null): string[] => {
  if (records === null) return [];
  return [...iterateBatches(records)].flatMap((batch) => decodeRecords(records.subarray(batch.position, batch.position + batch.size)).map((r) => r.value!.toString()));
};

/** kafkajs reads snappy and lz4 only through plug-in codecs: Samsa's own (shared/kafka/compression.ts). */
const DECOMPRESSED_MAX = 64 * 1024 * 1024;
for (const [type, codec] of [[CompressionTypes.Snappy, 'snappy'], [CompressionTypes.LZ4, 'lz4']] as const) {
  CompressionCodecs[type] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(codec, buffer, DECOMPRESSED_MAX),
  });
}

beforeAll(async () => {
  dir = tempDir('modern-data');
  cluster = await startCluster({ brokers: 3 });
  kafka = new Kafka({ brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), clientId: 'modern-data-kafkajs', logLevel: logLevel.NOTHING });
  await createTopic(TOPIC, PARTITIONS);
});

afterAll(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the broker advertises the newest data-path versions, so platformatic uses Produce v11, Fetch v17, ListOffsets v8', async () => {
  const connection = await connectTo(cluster.brokers[0]!.id);
  try {
    const ranges = await connection.negotiate();
    // Produce is listed from v0 (v0-2 answered UNSUPPORTED_VERSION, KAFKA-18659: api-versions.ts).
    expect(ranges.get(ApiKey.Produce)).toEqual({ min: 0, max: 11 });
    expect(ranges.get(ApiKey.Fetch)).toEqual({ min: 4, max: 17 });
    expect(ranges.get(ApiKey.ListOffsets)).toEqual({ min: 1, max: 8 });
    expect(ranges.get(ApiKey.DeleteRecords)).toEqual({ min: 0, max: 2 });
    expect(ranges.get(ApiKey.OffsetForLeaderEpoch)).toEqual({ min: 0, max: 4 });
  } finally {
    connection.close();
  }
});

test('platformatic produces with keys, headers, none/gzip/snappy/lz4 and acks -1/1/0; kafkajs produces after it', async () => {
  const spec = path.join(dir, 'produce.json');
  fs.writeFileSync(spec, JSON.stringify(SENDS.map(({ acks, compression, messages }) => ({ acks, compression, messages: messages.map(({ partition, key, value, headers, timestamp }) => ({ topic: TOPIC, partition, key, value, headers, timestamp })) }))));
  const results = await platformatic<Array<{ offsets: Array<{ topic: string; partition: number; offset: string }> | null }>>('produce', spec);
  // acks 1 and -1 answer each partition's base offset; acks 0 has no answer at all.
  expect(results.map((r) => r.offsets?.map((o) => [o.partition, Number(o.offset)]).sort() ?? null)).toEqual([
    [[0, 0], [1, 0], [2, 0]],
    [[0, 2], [1, 2], [2, 2]],
    [[0, 3], [1, 3], [2, 3]],
    [[0, 4], [1, 4], [2, 4]],
    null,
  ]);
  // The acks=0 records land too (nobody is told when): wait for the log ends before kafkajs writes.
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor('the acks=0 records', async () => (await admin.fetchTopicOffsets(TOPIC)).every((p) => p.high === '6'), 20_000);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: KAFKAJS.map(({ partition, key, value, headers, timestamp }) => ({ partition, key, value, headers, timestamp: String(timestamp) })) });
  } finally {
    await producer.disconnect();
  }
});

describe('the newest (platformatic) and the oldest (kafkajs) versions read the same records from the same partitions', () => {
  let newest: ReadRecord[];

  test('platformatic: Fetch v17 by topic id, at each partition leader', async () => {
    const read = await platformatic<{ topicId: string; responseTopicIds: string[]; records: ReadRecord[] }>('read', TOPIC, String(ALL.length));
    // The answer names the topic by its id (v13+), the id Metadata gave.
    const { topicId } = await describe12(TOPIC);
    expect(read.topicId.replace(/-/g, '')).toBe(uuidToBuffer(topicId).toString('hex'));
    expect(read.responseTopicIds).toEqual([read.topicId]);
    newest = comparable(read.records);
    expect(newest).toEqual(EXPECTED);
  });

  test('kafkajs: Fetch v11 by name, in a group from the beginning', async () => {
    const consumer = kafka.consumer({ groupId: 'modern-data-kafkajs', maxWaitTimeInMs: 200 });
    const records: ReadRecord[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          records.push({ partition, offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString(), headers });
        },
      });
      await waitFor('kafkajs reads every record', () => records.length >= ALL.length, 60_000);
    } finally {
      await consumer.disconnect();
    }
    expect(comparable(records)).toEqual(newest);
  });

  test('kcat (librdkafka) reads them too', async () => {
    const result = await runCommand('kcat', ['-C', '-b', cluster.bootstrap, '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%p|%o|%k|%s|%h\\n'], undefined, { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const records = result.stdout.trim().split('\n').map((line) => {
      const [partition, offset, key, value, headers] = line.split('|');
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value!, headers: Object.fromEntries(headers!.split(',').map((h) => h.split('='))) };
    });
    expect(comparable(records)).toEqual(newest);
  });
});

describe('listOffsets (ListOffsets v8) and DeleteRecords v2 with platformatic', () => {
  type Offsets = Record<'earliest' | 'latest' | 'maxTimestamp' | 'earliestLocal' | 'byTimestamp', Record<string, { offset: number; timestamp: number }>>;
  const perPartition = (partition: number) => ALL.filter((m) => m.partition === partition);
  const target = T0 + 45;

  test('earliest, latest, max timestamp (-3: the record itself, inside a gzip batch), earliest local (-4), by timestamp (the first record at or after it)', async () => {
    const found = await platformatic<Offsets>('offsets', TOPIC, String(target));
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = perPartition(partition);
      expect(found.earliest[partition]!.offset).toBe(0);
      expect(found.earliestLocal[partition]!.offset).toBe(0);
      expect(found.latest[partition]!.offset).toBe(records.length);
      const max = records.reduce((best, m, offset) => (m.timestamp > best.timestamp ? { offset, timestamp: m.timestamp } : best), { offset: -1, timestamp: -1 });
      expect(found.maxTimestamp[partition]).toEqual(max);
      const at = records.findIndex((m) => m.timestamp >= target);
      expect(found.byTimestamp[partition]).toEqual({ offset: at, timestamp: records[at]!.timestamp });
    }
    expect(found.maxTimestamp[1]).toEqual({ offset: perPartition(1).findIndex((m) => m.index === MAX_INDEX), timestamp: MAX_TIMESTAMP });
  });

  test('DeleteRecords v2 moves the log start; earliest and earliest local follow it', async () => {
    const deleted = await platformatic<Array<{ name: string; partitions: Array<{ partition: number; lowWatermark: string }> }>>('delete-records', TOPIC, '0', '2');
    expect(deleted).toEqual([{ name: TOPIC, partitions: [{ partition: 0, lowWatermark: '2' }] }]);
    const found = await platformatic<Offsets>('offsets', TOPIC, String(T0));
    expect([found.earliest[0]!.offset, found.earliestLocal[0]!.offset, found.byTimestamp[0]!.offset]).toEqual([2, 2, 2]);
    expect(found.earliest[1]!.offset).toBe(0);
  });
});

describe('topic ids on Fetch v13+, fetch sessions, OffsetForLeaderEpoch v4', () => {
  test('an unknown topic id is UNKNOWN_TOPIC_ID; a topic recreated under its name has a new id and the old id reads nothing of it', async () => {
    const topic = 'recreated';
    const producer = kafka.producer();
    await producer.connect();
    try {
      await createTopic(topic, 1);
      await producer.send({ topic, acks: -1, messages: [{ value: 'first life' }] });
      const first = await describe12(topic);
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [topic], timeout: 20_000 });
        await waitFor('the topic is gone', async () => !(await admin.listTopics()).includes(topic), 30_000);
      } finally {
        await admin.disconnect();
      }
      await createTopic(topic, 1);
      await producer.send({ topic, acks: -1, messages: [{ value: 'second life' }] });
      const second = await describe12(topic);
      expect(second.topicId).not.toBe(first.topicId);

      const connection = await connectTo(second.partitions[0]!.leaderId);
      try {
        const stale = await connection.request(ApiKey.Fetch, 17, fetchV16(first.topicId, 0, 0n));
        expect(stale.responses).toHaveLength(1);
        expect(uuidFromBuffer(stale.responses[0].topicId)).toBe(first.topicId);
        expect(stale.responses[0].partitions[0].errorCode).toBe(KafkaError.UNKNOWN_TOPIC_ID);
        expect(valuesOf(stale.responses[0].partitions[0].records)).toEqual([]);

        const fresh = await connection.request(ApiKey.Fetch, 13, { ...fetchV16(second.topicId, 0, 0n), replicaId: -1 });
        expect(uuidFromBuffer(fresh.responses[0].topicId)).toBe(second.topicId);
        expect(fresh.responses[0].partitions[0].errorCode).toBe(KafkaError.NONE);
        expect(valuesOf(fresh.responses[0].partitions[0].records)).toEqual(['second life']);

        const never = await connection.request(ApiKey.Fetch, 16, fetchV16('AAAAAAAAAAAAAAAAAAAAAg', 0, 0n));
        expect(never.responses[0].partitions[0].errorCode).toBe(KafkaError.UNKNOWN_TOPIC_ID);
      } finally {
        connection.close();
      }
    } finally {
      await producer.disconnect();
    }
  });

  test('a fetch session at v16: opened with epoch 0, then only what changed; partitions forgotten by id; a wrong epoch is refused', async () => {
    const topic = 'sessions';
    await createTopic(topic, 1);
    const { topicId, partitions } = await describe12(topic);
    const connection = await connectTo(partitions[0]!.leaderId);
    const append = (value: string) => connection.request(ApiKey.Produce, 11, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ key: null, value: Buffer.from(value) }]) }] }] });
    try {
      const produced = await append('one');
      expect(produced.responses[0].partitionResponses[0]).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 0n });
      const opened = await connection.request(ApiKey.Fetch, 16, fetchV16(topicId, 0, 0n, { sessionId: 0, sessionEpoch: 0 }));
      expect(opened.errorCode).toBe(KafkaError.NONE);
      expect(opened.sessionId).toBeGreaterThan(0);
      expect(valuesOf(opened.responses[0].partitions[0].records)).toEqual(['one']);
      const session = (sessionEpoch: number) => ({ sessionId: opened.sessionId, sessionEpoch });

      // The client moves its position to 1 (named again); nothing new there: the partition is left out.
      const quiet = await connection.request(ApiKey.Fetch, 16, fetchV16(topicId, 0, 1n, session(1)));
      expect(quiet.responses).toEqual([]);
      // A record arrives: the next incremental fetch (naming nothing) lists it, by topic id.
      await append('two');
      const news = await connection.request(ApiKey.Fetch, 16, fetchV16('', 0, 0n, session(2)));
      expect(news.responses.map((t: { topicId: Buffer }) => uuidFromBuffer(t.topicId))).toEqual([topicId]);
      expect(valuesOf(news.responses[0].partitions[0].records)).toEqual(['two']);
      // Forgotten by id: the session no longer holds it.
      const forgot = await connection.request(ApiKey.Fetch, 16, fetchV16('', 0, 0n, session(3), [{ topicId: uuidToBuffer(topicId), partitions: [0] }]));
      expect(forgot.responses).toEqual([]);
      await append('three');
      expect((await connection.request(ApiKey.Fetch, 16, fetchV16('', 0, 0n, session(4)))).responses).toEqual([]);
      expect((await connection.request(ApiKey.Fetch, 16, fetchV16('', 0, 0n, session(9)))).errorCode).toBe(KafkaError.INVALID_FETCH_SESSION_EPOCH);
    } finally {
      connection.close();
    }
  });

  test('OffsetForLeaderEpoch v4 (flexible): where the current epoch ends on the leader', async () => {
    const { partitions } = await describe12(TOPIC);
    const { leaderId, leaderEpoch } = partitions[1]!;
    const connection = await connectTo(leaderId);
    try {
      const response = await connection.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 1, currentLeaderEpoch: leaderEpoch, leaderEpoch }] }] });
      expect(response.topics[0].partitions[0]).toEqual({ errorCode: KafkaError.NONE, partition: 1, leaderEpoch, endOffset: BigInt(ALL.filter((m) => m.partition === 1).length) });
      const fenced = await connection.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 1, currentLeaderEpoch: leaderEpoch + 1, leaderEpoch }] }] });
      expect(fenced.topics[0].partitions[0].errorCode).toBe(KafkaError.UNKNOWN_LEADER_EPOCH);
    } finally {
      connection.close();
    }
  });
});

test('a platformatic group consumer in earliest mode reads every record', async () => {
  const consumed = await platformatic<{ records: ReadRecord[] }>('consume', TOPIC, 'modern-data-platformatic', String(ALL.length - 2));
  // Partition 0 starts at 2 since DeleteRecords.
  expect(comparable(consumed.records)).toEqual(EXPECTED.filter((r) => r.partition !== 0 || r.offset >= 2));
});
