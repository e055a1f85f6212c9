/**
 * The broker's Kafka protocol server against hostile and edge-case input, with real broker
 * processes: random and truncated frames, an oversized size prefix, unknown APIs and versions,
 * NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE, OFFSET_OUT_OF_RANGE, ListOffsets, and a long-poll
 * fetch woken by a produce. After all of it the broker still answers.
 */
import * as net from 'net';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { encodeRequest } from '../../shared/kafka/codec';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatch, decodeRecords } from '../../shared/kafka/record-batch';
import { startCluster, TestCluster } from '../helpers/cluster';
import { stopAll } from '../helpers/processes';

jest.setTimeout(60_000);

let cluster: TestCluster;
const connections: KafkaConnection[] = [];
async function connect(port: number): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { requestTimeoutMs: 10_000 });
  connections.push(connection);
  return connection;
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2 });
  const admin = await connect(cluster.brokers[0]!.port);
  const metadata = await admin.request(ApiKey.Metadata, 4, { topics: [] });
  const controller = metadata.brokers.find((b: { nodeId: number }) => b.nodeId === metadata.controllerId);
  const toController = await connect(controller.port);
  const created = await toController.request(ApiKey.CreateTopics, 3, {
    topics: [{ name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'max.message.bytes', value: '2000' }] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  expect(created.topics[0].errorCode).toBe(0);
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  await stopAll();
});

async function leaderOf(partition: number): Promise<{ leader: KafkaConnection; other: KafkaConnection }> {
  const any = await connect(cluster.brokers[0]!.port);
  const metadata = await any.request(ApiKey.Metadata, 4, { topics: [{ name: 't' }] });
  const leaderId = metadata.topics[0].partitions.find((p: { partitionIndex: number }) => p.partitionIndex === partition).leaderId;
  const leader = cluster.brokers.find((b) => b.id === leaderId)!;
  const other = cluster.brokers.find((b) => b.id !== leaderId)!;
  return { leader: await connect(leader.port), other: await connect(other.port) };
}

const produceBody = (partition: number, records: Buffer, acks = 1) => ({ transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: partition, records }] }] });

function fetchBody(partition: number, offset: number, maxWaitMs = 0) {
  return { replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 't', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' };
}

/** Sends raw bytes on a fresh socket; resolves with what came back and whether the broker closed it. */
function rawExchange(port: number, bytes: Buffer, waitMs = 1500): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => finish(), waitMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(bytes));
  });
}

describe('Kafka protocol server', () => {
  test('produce and fetch on the leader; NOT_LEADER_OR_FOLLOWER elsewhere; MESSAGE_TOO_LARGE; OFFSET_OUT_OF_RANGE', async () => {
    const { leader, other } = await leaderOf(0);
    const batch = buildRecordBatch([{ key: Buffer.from('a'), value: Buffer.from('one') }, { key: null, value: Buffer.from('two') }]);
    const produced = await leader.request(ApiKey.Produce, 7, produceBody(0, Buffer.from(batch)));
    expect(produced.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0n });
    const wrong = await other.request(ApiKey.Produce, 7, produceBody(0, Buffer.from(batch)));
    expect(wrong.responses[0].partitionResponses[0].errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    const big = buildRecordBatch([{ key: null, value: Buffer.alloc(3000, 1) }]);
    const tooBig = await leader.request(ApiKey.Produce, 7, produceBody(0, big));
    expect(tooBig.responses[0].partitionResponses[0].errorCode).toBe(KafkaError.MESSAGE_TOO_LARGE);
    const corrupt = Buffer.from(batch);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect((await leader.request(ApiKey.Produce, 7, produceBody(0, corrupt))).responses[0].partitionResponses[0].errorCode).toBe(KafkaError.CORRUPT_MESSAGE);

    const fetched = await leader.request(ApiKey.Fetch, 11, fetchBody(0, 0));
    const part = fetched.responses[0].partitions[0];
    expect(part).toMatchObject({ errorCode: 0, highWatermark: 2n, logStartOffset: 0n });
    expect(decodeRecords(part.records).map((r) => r.value!.toString())).toEqual(['one', 'two']);
    expect((await leader.request(ApiKey.Fetch, 11, fetchBody(0, 99))).responses[0].partitions[0].errorCode).toBe(KafkaError.OFFSET_OUT_OF_RANGE);
    expect((await other.request(ApiKey.Fetch, 11, fetchBody(0, 0))).responses[0].partitions[0].errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);

    const offsets = await leader.request(ApiKey.ListOffsets, 3, { replicaId: -1, isolationLevel: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -2n }, { partitionIndex: 0, timestamp: -1n }] }] });
    expect(offsets.topics[0].partitions.map((p: { offset: bigint }) => p.offset)).toEqual([0n, 2n]);
  });

  test('a long-poll fetch waits for data and returns when a produce lands', async () => {
    const { leader } = await leaderOf(1);
    // Requests on one connection are answered in order, so the produce goes on a second one.
    const fetcher = await connect(Number(leader.address.split(':').pop()));
    const before = (await leader.request(ApiKey.ListOffsets, 3, { replicaId: -1, isolationLevel: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 1, timestamp: -1n }] }] })).topics[0].partitions[0].offset;
    const waiting = fetcher.request(ApiKey.Fetch, 11, fetchBody(1, Number(before), 20_000));
    let settled = false;
    void waiting.then(() => (settled = true));
    await leader.request(ApiKey.ApiVersions, 0, {}); // a round trip through the same broker: the fetch is still parked
    expect(settled).toBe(false);
    await leader.request(ApiKey.Produce, 7, produceBody(1, buildRecordBatch([{ key: null, value: Buffer.from('woke') }])));
    const response = await waiting;
    expect(decodeRecords(response.responses[0].partitions[0].records).map((r) => r.value!.toString())).toEqual(['woke']);
  });

  test('ApiVersions with an unknown version answers UNSUPPORTED_VERSION with the list; unknown APIs close the connection', async () => {
    const port = cluster.brokers[0]!.port;
    const v9 = encodeRequest(ApiKey.ApiVersions, 0, 7, 'x', {});
    v9.writeInt16BE(9, 6); // api_version
    const answer = await rawExchange(port, v9);
    expect(answer.data.readInt32BE(4)).toBe(7); // correlation id, response header v0
    expect(answer.data.readInt16BE(8)).toBe(KafkaError.UNSUPPORTED_VERSION);
    expect(answer.data.readInt32BE(10)).toBeGreaterThan(5); // the api list follows
    const unknown = encodeRequest(ApiKey.ApiVersions, 0, 8, 'x', {});
    unknown.writeInt16BE(999, 4);
    expect((await rawExchange(port, unknown)).closed).toBe(true);
    const produceV99 = encodeRequest(ApiKey.ApiVersions, 0, 9, 'x', {});
    produceV99.writeInt16BE(0, 4);
    produceV99.writeInt16BE(99, 6);
    expect((await rawExchange(port, produceV99)).closed).toBe(true);
  });

  test('random frames, truncated frames and an oversized size prefix never hurt the broker', async () => {
    const port = cluster.brokers[0]!.port;
    const huge = Buffer.alloc(8);
    huge.writeInt32BE(0x7fffffff, 0);
    expect((await rawExchange(port, huge)).closed).toBe(true);
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const valid = encodeRequest(ApiKey.Metadata, 4, 1, 'fuzz', { topics: [{ name: 't' }], allowAutoTopicCreation: false });
    const exchanges: Array<Promise<{ data: Buffer; closed: boolean }>> = [];
    for (let i = 0; i < 60; i++) {
      let bytes: Buffer;
      if (i % 3 === 0) {
        bytes = Buffer.from(Array.from({ length: 4 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      } else if (i % 3 === 1) {
        // A valid header with the body cut short, but the size prefix saying so (a truncated request).
        const cut = 12 + Math.floor(random() * (valid.length - 12));
        bytes = Buffer.from(valid.subarray(0, cut));
        bytes.writeInt32BE(cut - 4, 0);
      } else {
        bytes = Buffer.from(valid);
        for (let j = 0; j < 4; j++) bytes[12 + Math.floor(random() * (bytes.length - 12))] = Math.floor(random() * 256);
      }
      exchanges.push(rawExchange(port, bytes, 800));
    }
    await Promise.all(exchanges);
    const after = await connect(port);
    const versions = await after.request(ApiKey.ApiVersions, 2, {});
    expect(versions.errorCode).toBe(0);
    expect(cluster.brokers[0]!.process.child.exitCode).toBeNull();
  });
});
