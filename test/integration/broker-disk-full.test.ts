/**
 * Issue 6, "A full disk corrupts the log and then loses acknowledged records", with a real
 * broker: its data directory is a small tmpfs. kafkajs produces 1 KiB records until the disk
 * is full (the broker stays up and answers an error), the filesystem is grown, 1,000 more
 * records are produced, and Fetch requests must then read exactly the acknowledged records at
 * their offsets, before and after a restart of the broker. Skipped (with the reason) where
 * mounting a tmpfs is not permitted.
 */
import * as path from 'path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';
import { startBroker } from '../helpers/cluster';
import { kill, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { mountTmpfs, Tmpfs } from '../helpers/tmpfs';

const DISK_BYTES = 24 * 1024 * 1024;
const GROWN_BYTES = 64 * 1024 * 1024;
const RECORDS_PER_SEND = 100;
const VALUE_BYTES = 1024;
/** Sends before the disk must have filled (24 MiB / 100 KiB per send, with a margin). */
const SENDS_MAX = 1000;
const TOPIC = 'full-disk';
/** Fetches of 4 MiB needed for ~26 MB, with a wide margin. */
const FETCHES_MAX = 200;

const probe = mountTmpfs(1024 * 1024, 'broker-disk-probe');
if ('unavailable' in probe) console.warn(`skipping the broker full-disk test: ${probe.unavailable}`);
else probe.unmount();
const testIfMount = 'unavailable' in probe ? test.skip : test;
let disk: Tmpfs | null = null;

afterAll(async () => {
  await stopAll();
  disk?.unmount();
});

function value(key: number): string {
  return `${String(key).padStart(8, '0')}:`.padEnd(VALUE_BYTES, 'y');
}

/** Every record of partition 0 from offset 0 to the end, with Fetch requests (bounded by `FETCHES_MAX`). */
async function readAll(port: number, expected: number): Promise<Map<number, string>> {
  const connection = await KafkaConnection.connect('127.0.0.1', port);
  const seen = new Map<number, string>();
  try {
    let offset = 0;
    for (let i = 0; i < FETCHES_MAX && seen.size < expected; i++) {
      const response = await connection.request(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 4 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const part = response.responses[0].partitions[0];
      expect(part.errorCode).toBe(0);
      for (const batch of iterateBatches(part.records)) {
        for (const record of decodeRecords(part.records.subarray(batch.position, batch.position + batch.size))) seen.set(record.offset, record.value!.toString());
        offset = batch.baseOffset + batch.lastOffsetDelta + 1;
      }
    }
  } finally {
    connection.close();
  }
  return seen;
}

testIfMount(
  'a broker on a full disk answers errors, then keeps every acknowledged record and shows no other, across a restart',
  async () => {
    const mounted = mountTmpfs(DISK_BYTES, 'broker-disk');
    if ('unavailable' in mounted) throw new Error(mounted.unavailable);
    disk = mounted;
    const dataDir = path.join(mounted.dir, 'data');
    const coordinator = await startCoordinator();
    let broker = await startBroker(coordinator.url, 1, { dataDir });
        const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'disk-full', logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();

    const acknowledged = new Map<number, string>();
    let key = 0;
    const send = async (): Promise<boolean> => {
      const values = Array.from({ length: RECORDS_PER_SEND }, () => value(key++));
      try {
        const [result] = await producer.send({ topic: TOPIC, acks: 1, messages: values.map((v) => ({ value: v, partition: 0 })) });
        const base = Number(result!.baseOffset);
        values.forEach((v, i) => acknowledged.set(base + i, v));
        return true;
      } catch {
        return false;
      }
    };

    let failed = false;
    for (let i = 0; i < SENDS_MAX && !failed; i++) failed = !(await send());
    expect(failed).toBe(true);
    for (let i = 0; i < 5; i++) await send(); // more on a full disk: rejected (or, if one fits, acknowledged)
    expect(broker.process.child.exitCode).toBeNull();

    mounted.resize(GROWN_BYTES);
    const before = acknowledged.size;
    for (let i = 0; i < 1000 / RECORDS_PER_SEND; i++) expect(await send()).toBe(true);
    expect(acknowledged.size).toBe(before + 1000);
    await producer.disconnect();

    const check = (seen: Map<number, string>): void => {
      const wrong = [...acknowledged].filter(([offset, v]) => seen.get(offset) !== v).map(([offset]) => offset);
      const extra = [...seen.keys()].filter((offset) => !acknowledged.has(offset));
      expect({ wrong: wrong.slice(0, 10), extra: extra.slice(0, 10), count: seen.size }).toEqual({ wrong: [], extra: [], count: acknowledged.size });
    };
    check(await readAll(broker.port, acknowledged.size));

    await kill(broker.process, 'SIGTERM');
    broker = await startBroker(coordinator.url, 1, { dataDir });
    check(await readAll(broker.port, acknowledged.size));
  },
  180_000,
);
