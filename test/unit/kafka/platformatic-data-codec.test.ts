/**
 * The data-path APIs' newer versions against a real client's bytes: requests encoded by
 * @platformatic/kafka's own encoders (Produce v9-11 with each codec it has on Node 20, Fetch
 * v12-17, ListOffsets v6-8, DeleteRecords v2, OffsetForLeaderEpoch v4) decode to the right
 * fields with Samsa's codec, and the responses Samsa encodes parse with platformatic's own
 * decoders. platformatic is ESM only: its side runs in test/fixtures/platformatic-data-codec.mjs.
 * (The generic round trips of every advertised version are in codec.test.ts.)
 */
import { execFileSync } from 'child_process';
import { rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import { decodeRequest, encodeResponse } from '../../../shared/kafka/codec';
import { buildRecordBatch, decodeRecords, iterateBatches } from '../../../shared/kafka/record-batch';
import { uuidFromBuffer } from '../../../shared/kafka/uuid';
import { tempDir } from '../../helpers/processes';

const FIXTURE = path.join(__dirname, '../../fixtures/platformatic-data-codec.mjs');
/** The fixture's topic id, in platformatic's (Java's) text form and as Kafka's base64url. */
const TOPIC_ID_HEX = '0a1b2c3d4e5f4a6b8c7d8e9f0a1b2c3d';
const TOPIC_ID = Buffer.from(TOPIC_ID_HEX, 'hex');
const TOPIC_ID_TEXT = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

interface FixtureOutput {
  requests: Record<string, { apiKey: number; version: number; hex: string }>;
  responses: Record<string, { parsed?: any; rest?: number; error?: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const records = buildRecordBatch(
  [
    { key: Buffer.from('user-1'), value: Buffer.from('login'), headers: [{ key: 'source', value: Buffer.from('web') }], timestamp: 1_700_000_000_000 },
    { key: Buffer.from('user-2'), value: Buffer.from('logout'), headers: [], timestamp: 1_700_000_000_001 },
  ],
);
// As the log hands it out: at its offset (the CRC does not cover the base offset).
records.writeBigInt64BE(40n, 0);

const produceBody = { throttleTimeMs: 0, responses: [{ name: 'events', partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 40n, logAppendTimeMs: -1n, logStartOffset: 3n, recordErrors: [], errorMessage: null }] }] };
const fetchBody = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 77,
  responses: [{ topic: 'events', topicId: TOPIC_ID, partitions: [{ partitionIndex: 2, errorCode: 0, highWatermark: 42n, lastStableOffset: 42n, logStartOffset: 3n, abortedTransactions: [], preferredReadReplica: -1, records }] }],
};
const listOffsetsBody = { throttleTimeMs: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 2, errorCode: 0, timestamp: 1_700_000_000_001n, offset: 41n, leaderEpoch: 6 }] }] };
const deleteRecordsBody = { throttleTimeMs: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 2, lowWatermark: 42n, errorCode: 0 }] }] };
const offsetForLeaderEpochBody = { throttleTimeMs: 0, topics: [{ topic: 'events', partitions: [{ errorCode: 0, partition: 2, leaderEpoch: 6, endOffset: 40n }] }] };

const responseCases: Array<{ name: string; apiKey: number; version: number; body: object }> = [
  ...[9, 10, 11].map((version) => ({ name: `produce-v${version}`, apiKey: 0, version, body: produceBody })),
  ...[12, 13, 14, 15, 16, 17].map((version) => ({ name: `fetch-v${version}`, apiKey: 1, version, body: fetchBody })),
  ...[6, 7, 8].map((version) => ({ name: `list-offsets-v${version}`, apiKey: 2, version, body: listOffsetsBody })),
  { name: 'delete-records-v2', apiKey: 21, version: 2, body: deleteRecordsBody },
  { name: 'offset-for-leader-epoch-v4', apiKey: 23, version: 4, body: offsetForLeaderEpochBody },
];

let output: FixtureOutput;
let dir: string;

beforeAll(() => {
  dir = tempDir('platformatic-codec');
  const file = path.join(dir, 'responses.json');
  writeFileSync(file, JSON.stringify(responseCases.map(({ name, apiKey, version, body }) => ({ name, apiKey, version, hex: encodeResponse(apiKey, version, 1234, body).toString('hex') }))));
  output = JSON.parse(execFileSync(process.execPath, [FIXTURE, file], { encoding: 'utf8', timeout: 30_000 })) as FixtureOutput;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const decoded = (name: string): any => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const request = output.requests[name];
  if (request === undefined) throw new Error(`the fixture encoded no ${name}`);
  return decodeRequest(request.apiKey, request.version, Buffer.from(request.hex, 'hex'), 0);
};

describe('requests encoded by @platformatic/kafka decode with Samsa’s codec', () => {
  for (const version of [9, 10, 11]) {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4']) {
      test(`Produce v${version}, ${compression}: acks, topic, partition, keys, values, headers`, () => {
        const request = decoded(compression === 'none' ? `produce-v${version}` : `produce-v${version}-${compression}`);
        expect(request.transactionalId).toBeNull();
        expect(request.acks).toBe(compression === 'none' ? -1 : 1);
        expect(request.timeoutMs).toBe(30000);
        expect(request.topicData).toHaveLength(1);
        expect(request.topicData[0].name).toBe('events');
        expect(request.topicData[0].partitionData.map((p: { index: number }) => p.index)).toEqual([2]);
        const batch = request.topicData[0].partitionData[0].records as Buffer;
        const [info] = [...iterateBatches(batch)];
        expect(info!.compression).toBe(compression);
        const out = decodeRecords(batch);
        expect(out.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp])).toEqual([
          ['user-0', 'value-0', 1_700_000_000_000],
          ['user-1', 'value-1', 1_700_000_000_001],
        ]);
        expect(out[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['source', 'web']]);
      });
    }
  }

  for (const version of [12, 13, 14, 15, 16, 17]) {
    test(`Fetch v${version}: session, partitions, ${version >= 13 ? 'topic id' : 'topic name'}, forgotten topics, rack`, () => {
      const request = decoded(`fetch-v${version}`);
      if (version < 15) expect(request.replicaId).toBe(-1);
      else expect(request.replicaState?.replicaId).toBeUndefined(); // a consumer sends no ReplicaState (the handler takes -1)
      expect([request.maxWaitMs, request.minBytes, request.maxBytes, request.isolationLevel, request.sessionId, request.sessionEpoch]).toEqual([500, 1, 52428800, 0, 0, 0]);
      expect(request.topics).toHaveLength(1);
      if (version >= 13) expect(uuidFromBuffer(request.topics[0].topicId)).toBe(uuidFromBuffer(TOPIC_ID));
      else expect(request.topics[0].topic).toBe('events');
      expect(request.topics[0].partitions).toMatchObject([{ partition: 2, currentLeaderEpoch: 7, fetchOffset: 42n, lastFetchedEpoch: 6, logStartOffset: -1n, partitionMaxBytes: 1048576 }]);
      if (version >= 13) {
        expect(request.forgottenTopicsData).toHaveLength(1);
        expect(request.forgottenTopicsData[0].partitions).toEqual([5]);
        expect(Buffer.compare(request.forgottenTopicsData[0].topicId, TOPIC_ID)).toBe(0);
      } else {
        expect(request.forgottenTopicsData).toEqual([]);
      }
      expect(request.rackId).toBe('rack-a');
    });
  }

  for (const version of [6, 7, 8]) {
    test(`ListOffsets v${version}: replica, isolation, partition, leader epoch, timestamp spec`, () => {
      const request = decoded(`list-offsets-v${version}`);
      expect(request.replicaId).toBe(-1);
      expect(request.isolationLevel).toBe(0);
      expect(request.topics).toMatchObject([{ name: 'events', partitions: [{ partitionIndex: 2, currentLeaderEpoch: 7, timestamp: -3n }] }]);
    });
  }

  test('DeleteRecords v2', () => {
    expect(decoded('delete-records-v2')).toEqual({ topics: [{ name: 'events', partitions: [{ partitionIndex: 2, offset: 42n }] }], timeoutMs: 30000 });
  });

  test('OffsetForLeaderEpoch v4', () => {
    expect(decoded('offset-for-leader-epoch-v4')).toEqual({ replicaId: -1, topics: [{ topic: 'events', partitions: [{ partition: 2, currentLeaderEpoch: 7, leaderEpoch: 6 }] }] });
  });
});

describe('responses encoded by Samsa parse with @platformatic/kafka’s decoders', () => {
  const parsed = (name: string): any => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = output.responses[name];
    expect(response?.error).toBeUndefined();
    // Every byte read but the body's final (empty) tagged-field section, which platformatic leaves unread.
    expect(response?.rest).toBe(1);
    return response!.parsed;
  };

  for (const version of [9, 10, 11]) {
    test(`Produce v${version}`, () => {
      expect(parsed(`produce-v${version}`)).toEqual({
        responses: [{ name: 'events', partitionResponses: [{ index: 2, errorCode: 0, baseOffset: '40', logAppendTimeMs: '-1', logStartOffset: '3', recordErrors: [], errorMessage: null }] }],
        throttleTimeMs: 0,
      });
    });
  }

  for (const version of [12, 13, 14, 15, 16, 17]) {
    test(`Fetch v${version}: session id, ${version >= 13 ? 'topic id' : 'topic name'}, offsets, records`, () => {
      const response = parsed(`fetch-v${version}`);
      expect([response.errorCode, response.sessionId]).toEqual([0, 77]);
      const topic = response.responses[0];
      // platformatic's v12 decoder keeps the topic name in its `topicId` field.
      expect(topic.topicId).toBe(version >= 13 ? TOPIC_ID_TEXT : 'events');
      const partition = topic.partitions[0];
      expect([partition.partitionIndex, partition.errorCode, partition.highWatermark, partition.lastStableOffset, partition.logStartOffset, partition.preferredReadReplica]).toEqual([2, 0, '42', '42', '3', -1]);
      const batches = partition.records;
      expect(batches).toHaveLength(1);
      expect(batches[0].firstOffset).toBe('40');
      expect(batches[0].records.map((r: { key: string; value: string; offsetDelta: number }) => [r.offsetDelta, r.key, r.value])).toEqual([
        [0, 'user-1', 'login'],
        [1, 'user-2', 'logout'],
      ]);
    });
  }

  for (const version of [6, 7, 8]) {
    test(`ListOffsets v${version}`, () => {
      expect(parsed(`list-offsets-v${version}`)).toEqual({ throttleTimeMs: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 2, errorCode: 0, timestamp: '1700000000001', offset: '41', leaderEpoch: 6 }] }] });
    });
  }

  test('DeleteRecords v2', () => {
    expect(parsed('delete-records-v2')).toEqual({ throttleTimeMs: 0, topics: [{ name: 'events', partitions: [{ partitionIndex: 2, lowWatermark: '42', errorCode: 0 }] }] });
  });

  // platformatic 1.35's OffsetForLeaderEpoch v4 decoder (which none of its clients calls) reads
  // Partition before ErrorCode, against Kafka's schema; so the layout is checked byte by byte.
  test('OffsetForLeaderEpoch v4 (in Kafka’s field order, byte by byte)', () => {
    const frame = encodeResponse(23, 4, 1234, offsetForLeaderEpochBody);
    const body = Buffer.concat([
      Buffer.from([0, 0, 0, 0]), // throttle_time_ms
      Buffer.from([2, 7]), Buffer.from('events'), // topics: compact array of 1, compact string
      Buffer.from([2]), // partitions: compact array of 1
      Buffer.from([0, 0]), Buffer.from([0, 0, 0, 2]), Buffer.from([0, 0, 0, 6]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 40]), Buffer.from([0]), // error_code partition leader_epoch end_offset TAG_BUFFER
      Buffer.from([0]), // topic TAG_BUFFER
      Buffer.from([0]), // body TAG_BUFFER
    ]);
    expect(frame.subarray(9).toString('hex')).toBe(body.toString('hex'));
    expect(output.responses['offset-for-leader-epoch-v4']?.error).toMatch(/OffsetForLeaderEpoch\(v4\)/);
  });
});
