/**
 * Requests through the replica manager and the purgatory, on a real broker process: Fetch with
 * minBytes 0 answers at once (it used to wait out maxWaitMs), a partition named several times is
 * answered once, acks=all with the leader alone in the ISR, DeleteRecords bounded by the high
 * watermark, and parked long polls that all end leave the broker serving.
 */
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatch } from '../../shared/kafka/record-batch';
import { startCluster, TestCluster } from '../helpers/cluster';
import { stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

let cluster: TestCluster;
const connections: KafkaConnection[] = [];
async function connect(): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', cluster.brokers[0]!.port, { requestTimeoutMs: 40_000 });
  connections.push(connection);
  return connection;
}

const partitionEntry = (partition: number, offset: number) => ({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 });
const fetchBody = (partitions: object[], minBytes: number, maxWaitMs: number) => ({ replicaId: -1, maxWaitMs, minBytes, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'r', partitions }], forgottenTopicsData: [], rackId: '' });
const produceBody = (partition: number, acks: number, values: string[]) => ({
  transactionalId: null,
  acks,
  timeoutMs: 10_000,
  topicData: [{ name: 'r', partitionData: [{ index: partition, records: buildRecordBatch(values.map((value) => ({ key: null, value: Buffer.from(value) }))) }] }],
});

beforeAll(async () => {
  cluster = await startCluster({ brokers: 1 });
  const admin = await connect();
  const created = await admin.request(ApiKey.CreateTopics, 3, { topics: [{ name: 'r', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  expect(created.topics[0].errorCode).toBe(0);
  // Leaders are elected when CreateTopics answers; the leader opens its logs just after (Kafka: the same window).
  await waitFor('both partitions served', async () => {
    const listed = await admin.request(ApiKey.ListOffsets, 3, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'r', partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 1, timestamp: -1n }] }] });
    return listed.topics[0].partitions.every((p: { errorCode: number }) => p.errorCode === 0);
  }, 10_000);
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  await stopAll();
});

/** Resolves with the promise's value, or 'pending' if it has not settled within `ms` (a bound, not a timing claim). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)))]).finally(() => clearTimeout(timer));
}

describe('broker requests', () => {
  test('Fetch with minBytes 0 on an empty partition answers at once, not after maxWaitMs', async () => {
    const connection = await connect();
    const answer = await within(connection.request(ApiKey.Fetch, 11, fetchBody([partitionEntry(0, 0)], 0, 30_000)), 15_000);
    expect(answer).not.toBe('pending');
    expect((answer as { responses: Array<{ partitions: Array<{ errorCode: number; records: Buffer }> }> }).responses[0]!.partitions[0]).toMatchObject({ errorCode: 0 });
  });

  test('a partition named several times in one Fetch is answered once', async () => {
    const connection = await connect();
    const produced = await connection.request(ApiKey.Produce, 7, produceBody(1, 1, ['x', 'y']));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
    const response = await connection.request(ApiKey.Fetch, 11, fetchBody([partitionEntry(1, 0), partitionEntry(0, 0), partitionEntry(1, 0), partitionEntry(1, 0)], 1, 0));
    const answered = response.responses.flatMap((topic: { partitions: Array<{ partitionIndex: number }> }) => topic.partitions.map((p) => p.partitionIndex));
    expect(answered).toEqual([1, 0]);
  });

  test('acks=all with the leader alone in the ISR is acknowledged; DeleteRecords stops at the high watermark', async () => {
    const connection = await connect();
    const produced = await connection.request(ApiKey.Produce, 7, produceBody(0, -1, ['a', 'b', 'c']));
    expect(produced.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0 });
    const end = (await connection.request(ApiKey.ListOffsets, 3, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'r', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })).topics[0].partitions[0].offset;
    const beyond = await connection.request(ApiKey.DeleteRecords, 1, { topics: [{ name: 'r', partitions: [{ partitionIndex: 0, offset: end + 1n }] }], timeoutMs: 5000 });
    expect(beyond.topics[0].partitions[0].errorCode).toBe(KafkaError.OFFSET_OUT_OF_RANGE);
    const deleted = await connection.request(ApiKey.DeleteRecords, 1, { topics: [{ name: 'r', partitions: [{ partitionIndex: 0, offset: -1n }] }], timeoutMs: 5000 });
    expect(deleted.topics[0].partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: end });
  });

  test('200 parked long polls all end (by data or deadline) and the broker keeps serving', async () => {
    const pollers = await Promise.all(Array.from({ length: 20 }, () => connect()));
    const end = Number((await pollers[0]!.request(ApiKey.ListOffsets, 3, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'r', partitions: [{ partitionIndex: 1, timestamp: -1n }] }] })).topics[0].partitions[0].offset);
    const parked = pollers.flatMap((connection, i) => Array.from({ length: 10 }, (_, j) => connection.request(ApiKey.Fetch, 11, fetchBody([partitionEntry(1, end)], 1, i % 2 === 0 ? 20_000 : 300 + j * 10))));
    const producer = await connect();
    const produced = await producer.request(ApiKey.Produce, 7, produceBody(1, 1, ['wake']));
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
    const answers = await Promise.all(parked);
    expect(answers).toHaveLength(200);
    for (const answer of answers) expect(answer.responses[0].partitions[0].errorCode).toBe(0);
    const versions = await producer.request(ApiKey.ApiVersions, 2, {});
    expect(versions.errorCode).toBe(0);
  });
});

/** Top-level keys of one JSON log line, in order, repeats included (JSON.parse would hide them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') {
      let end = i + 1;
      while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(line.slice(i + 1, end));
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

test('no broker log line repeats a key', () => {
  const lines = cluster.brokers[0]!.process.output().split('\n').filter((line) => line.startsWith('{'));
  expect(lines.length).toBeGreaterThan(5);
  const repeated = lines.filter((line) => new Set(topLevelKeys(line)).size !== topLevelKeys(line).length);
  expect(repeated).toEqual([]);
  expect(topLevelKeys('{"a":1,"b":{"a":2},"a":"x\\"y"}')).toEqual(['a', 'b', 'a']);
});
