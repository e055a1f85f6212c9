/**
 * Every codec Kafka allows, across real clients: kcat (librdkafka) compresses with
 * -z gzip|snappy|lz4|zstd, the broker validates (decompresses) and stores those batches, and
 * `samsa consume` shows every value at its offset; `samsa produce --compression` writes each
 * codec and kcat reads it back.
 *
 * kcat's batches are taken through a stand-in broker (test/helpers/capture-broker.ts): this
 * librdkafka sends gzip, snappy and lz4 uncompressed to a broker whose ApiVersions starts
 * Produce at version 3, as Samsa's does (librdkafka issue #4956). The captured bytes, exactly
 * as librdkafka made them, then go to the real broker with the repo's Kafka client.
 */
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { COMPRESSION_MASK, iterateBatches } from '../../shared/kafka/record-batch';
import { startCaptureBroker } from '../helpers/capture-broker';
import { startCluster, TestCluster } from '../helpers/cluster';
import { runCommand, SAMSA_BIN, stopAll } from '../helpers/processes';

jest.setTimeout(120_000);

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

const run = runCommand;

const samsa = (args: string[], input?: string) => run(process.execPath, [SAMSA_BIN, ...args], input);

/** Values that compress well (repeats) and values that do not, some long enough to span codec blocks. */
function lines(codec: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i % 50 === 7 ? `${codec}-${i}-${'abcdefgh'.repeat(20_000)}` : `${codec}-${i}-${Math.sin(i).toString(36)}`));
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 1 });
  for (const codec of CODECS) {
    for (const topic of [`kcat-${codec}`, `samsa-${codec}`]) {
      const created = await samsa(['topic', 'create', topic, '--partitions', '1', '--replication-factor', '1', '--bootstrap', cluster.bootstrap]);
      expect(created).toMatchObject({ code: 0 });
    }
  }
});
afterAll(async () => {
  await stopAll();
});

describe('compressed batches between kcat and samsa', () => {
  test.each(CODECS)('kcat -z %s compresses; the broker takes the batches; samsa consume shows every record at its offset', async (codec) => {
    const topic = `kcat-${codec}`;
    const values = lines(codec, 300);
    const capture = await startCaptureBroker();
    let batches: Buffer[];
    try {
      // linger.ms: let librdkafka put many records in each compressed batch
      const produced = await run('kcat', ['-b', `127.0.0.1:${capture.port}`, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=50'], `${values.join('\n')}\n`);
      expect(produced).toMatchObject({ code: 0 });
      batches = capture.batches.get(topic) ?? [];
    } finally {
      await capture.close();
    }
    const codecId = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec];
    expect(batches.length).toBeGreaterThan(0);
    // librdkafka really compressed them (v2 batches in the codec asked for)
    expect(batches.map((batch) => [batch.readInt8(16), batch.readInt16BE(21) & COMPRESSION_MASK])).toEqual(batches.map(() => [2, codecId]));
    const connection = await KafkaConnection.connect('127.0.0.1', cluster.brokers[0]!.port, { requestTimeoutMs: 10_000 });
    try {
      for (const records of batches) {
        const response = await connection.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
        expect(response.responses[0].partitionResponses[0].errorCode).toBe(0);
      }
    } finally {
      connection.close();
    }
    const consumed = await samsa(['consume', topic, '--from-beginning', '--max', String(values.length), '--timeout-ms', '10000', '--json', '--bootstrap', cluster.bootstrap]);
    expect({ code: consumed.code, stderr: consumed.stderr }).toEqual({ code: 0, stderr: '' });
    const records = consumed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { partition: number; offset: number; value: string });
    expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect(records.map((r) => r.value)).toEqual(values);
  });

  // lz4 needs FindCoordinator listed too (librdkafka's feature map), which comes with consumer groups.
  test.each(['gzip', 'snappy', 'zstd'] as const)('kcat -z %s straight to the broker stores compressed batches (Produce listed from v0, KAFKA-18659)', async (codec) => {
    const topic = `direct-${codec}`;
    const values = lines(codec, 100);
    const produced = await run('kcat', ['-b', cluster.bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=50'], `${values.join('\n')}\n`);
    expect(produced).toMatchObject({ code: 0 });
    const connection = await KafkaConnection.connect('127.0.0.1', cluster.brokers[0]!.port, { requestTimeoutMs: 10_000 });
    try {
      const fetched = await connection.request(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 64 << 20 }] }], forgottenTopicsData: [], rackId: '',
      });
      const records: Buffer = fetched.responses[0].partitions[0].records;
      expect(records.length).toBeGreaterThan(61);
      const codecId = { gzip: 1, snappy: 2, zstd: 4 }[codec];
      // librdkafka sends a batch uncompressed when compressing does not make it smaller (one short record).
      const codecs = new Set([...iterateBatches(records)].map((batch) => records.readInt16BE(batch.position + 21) & COMPRESSION_MASK));
      expect(codecs.has(codecId)).toBe(true);
      expect([...codecs].every((id) => id === codecId || id === 0)).toBe(true);
      // A Produce v2 (message format v1) is listed but not served: a clear error, and the connection stays usable.
      const old = await connection.request(ApiKey.Produce, 2, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: Buffer.alloc(30) }] }] });
      expect(old.responses[0].partitionResponses[0].errorCode).toBe(35); // UNSUPPORTED_VERSION
      expect((await connection.request(ApiKey.ApiVersions, 2, {})).errorCode).toBe(0);
    } finally {
      connection.close();
    }
    const read = await run('kcat', ['-b', cluster.bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%s\\n']);
    expect(read.stdout.split('\n').filter(Boolean)).toEqual(values);
  });

  test.each(CODECS)('samsa produce --compression %s; kcat reads every record back', async (codec) => {
    const topic = `samsa-${codec}`;
    const values = lines(codec, 120);
    const produced = await samsa(['produce', topic, '--compression', codec, '--bootstrap', cluster.bootstrap], `${values.join('\n')}\n`);
    expect(produced).toMatchObject({ code: 0 });
    const read = await run('kcat', ['-b', cluster.bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%o %s\\n']);
    expect(read.code).toBe(0);
    const records = read.stdout.split('\n').filter(Boolean).map((line) => line.split(' '));
    expect(records.map(([offset]) => Number(offset))).toEqual(values.map((_, i) => i));
    expect(records.map(([, value]) => value)).toEqual(values);
  });
});
