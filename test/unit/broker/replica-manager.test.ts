/**
 * The replica manager with real partition logs in a temp directory: the one door the handlers
 * use (leadership errors, acks, long polls in the purgatory, duplicate partitions, reads for a
 * replica) and keeping in step with the cluster picture without ever deleting a log that a
 * controller-carried deletion does not name.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import type { ClusterSnapshot, PartitionState } from '../../../broker/cluster/metadata-cache';
import { DEFAULT_TOPIC_CONFIG } from '../../../broker/config';
import { LogManager } from '../../../broker/log/log-manager';
import { ReplicaManager } from '../../../broker/partition/replica-manager';
import { ManualClock } from '../../../shared/clock';
import { KafkaError } from '../../../shared/kafka/errors';
import { buildRecordBatch, iterateBatches } from '../../../shared/kafka/record-batch';
import { tempDir } from '../../helpers/processes';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;

function batch(count: number, size = 100): Buffer {
  return buildRecordBatch(Array.from({ length: count }, () => ({ key: null, value: Buffer.alloc(size, 1), timestamp: T0 })));
}

interface TopicSpec {
  partitions: number[][];
  states?: Array<Partial<PartitionState> | null>;
}

function snapshot(topics: Record<string, TopicSpec>, extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const view: ClusterSnapshot = {
    loaded: true,
    clusterId: 'c',
    controllerId: 1,
    controllerEpoch: 1,
    brokers: [{ id: 1, host: '127.0.0.1', port: 1, rack: null }],
    topics: new Map(),
    topicsById: new Map(),
    assignments: new Map(),
    states: new Map(),
    overrides: new Map(),
    pendingDeletions: new Set(),
    deletionAcks: new Map(),
    shuttingDown: new Set(),
    preferredElection: null,
    ...extra,
  };
  for (const [name, spec] of Object.entries(topics)) {
    view.assignments.set(name, { partitions: spec.partitions, version: 0 });
    const partitions = spec.partitions.map((replicas, p) => {
      const given = spec.states?.[p];
      const state: PartitionState | null = given === null ? null : { leader: replicas[0]!, leaderEpoch: 0, isr: [replicas[0]!], controllerEpoch: 1, ...given };
      if (state !== null) view.states.set(`${name}/${p}`, { state, version: 0 });
      return { partition: p, replicas, leader: state?.leader ?? -1, leaderEpoch: state?.leaderEpoch ?? 0, isr: state?.isr ?? [] };
    });
    view.topics.set(name, { name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions, markedForDeletion: view.pendingDeletions.has(name) });
  }
  return view;
}

let managers: ReplicaManager[] = [];
let fenced = false;
const acknowledged: string[] = [];

function manager(dataDir = tempDir('replicas')): { replicas: ReplicaManager; dataDir: string; clock: ManualClock } {
  const clock = new ManualClock(T0);
  const replicas = new ReplicaManager(
    { brokerId: 1, topicDefaults: DEFAULT_TOPIC_CONFIG, flushMessages: Number.POSITIVE_INFINITY, flushMs: Number.POSITIVE_INFINITY, inlineWriteBytesMax: 16 * 1024, retentionCheckIntervalMs: 60_000,
      replicaLagTimeMaxMs: 5000, replicaFetchWaitMaxMs: 500, replicaFetchMaxBytes: 1 << 20, replicaFetchResponseMaxBytes: 10 << 20, replicaFetchBackoffMs: 200, highWatermarkCheckpointIntervalMs: 1000 },
    {
      logs: new LogManager(dataDir, silent), clock, fenced: () => fenced, acknowledgeDeletion: async (topic) => void acknowledged.push(topic), logger: silent,
      writeState: async () => { throw new Error('no coordinator in this test'); },
    },
  );
  managers.push(replicas);
  return { replicas, dataDir, clock };
}

afterEach(async () => {
  fenced = false;
  acknowledged.length = 0;
  for (const replicas of managers) await replicas.close();
  managers = [];
});

const fetchOne = (topic: string, partition: number, fetchOffset: number, over: { minBytes?: number; maxWaitMs?: number; currentLeaderEpoch?: number; replicaId?: number } = {}) => ({
  replicaId: over.replicaId ?? -1,
  maxWaitMs: over.maxWaitMs ?? 0,
  minBytes: over.minBytes ?? 1,
  maxBytes: 1 << 20,
  entries: [{ topic, partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: over.currentLeaderEpoch ?? -1 }],
});

describe('ReplicaManager: requests', () => {
  test('errors: unknown partition, not the leader, fenced, leader epochs', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1], [2, 1]], states: [{}, { leader: 2, isr: [2, 1], leaderEpoch: 4 }] } }));
    const produce = (partition: number) => replicas.appendRecords(1, 1000, [{ topic: 't', partition, records: batch(1) }]);
    expect((await replicas.appendRecords(1, 1000, [{ topic: 'nope', partition: 0, records: batch(1) }]))[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce(7))[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce(1))[0]!.errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect((await produce(0))[0]).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 0 });
    fenced = true;
    expect((await produce(0))[0]!.errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect((await replicas.fetch(fetchOne('t', 0, 0)))[0]!.errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect((await replicas.deleteRecords('t', 0, 0)).errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect((await replicas.listOffset('t', 0, -1)).errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    fenced = false;
    await replicas.sync(snapshot({ t: { partitions: [[1], [2, 1]], states: [{ leaderEpoch: 3 }, { leader: 2, isr: [2, 1] }] } }));
    expect((await replicas.fetch(fetchOne('t', 0, 0, { currentLeaderEpoch: 2 })))[0]!.errorCode).toBe(KafkaError.FENCED_LEADER_EPOCH);
    expect((await replicas.fetch(fetchOne('t', 0, 0, { currentLeaderEpoch: 4 })))[0]!.errorCode).toBe(KafkaError.UNKNOWN_LEADER_EPOCH);
    expect((await replicas.fetch(fetchOne('t', 0, 0, { currentLeaderEpoch: 3 })))[0]).toMatchObject({ errorCode: KafkaError.NONE, highWatermark: 1 });
  });

  test('a stale state (older leader epoch) does not take leadership back', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1, 2]], states: [{ leader: 2, leaderEpoch: 5, isr: [2, 1] }] } }));
    await replicas.sync(snapshot({ t: { partitions: [[1, 2]], states: [{ leader: 1, leaderEpoch: 4, isr: [1] }] } }));
    expect(replicas.get('t', 0)!.role).toBe('follower');
    expect((await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(1) }]))[0]!.errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
  });

  test('minBytes 0 answers at once; a long poll is woken by an append and leaves nothing behind', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1]] } }));
    const immediate = await replicas.fetch(fetchOne('t', 0, 0, { minBytes: 0, maxWaitMs: 30_000 }));
    expect(immediate[0]).toMatchObject({ errorCode: KafkaError.NONE, highWatermark: 0 });
    expect(replicas.purgatory.size).toBe(0);
    const parked = replicas.fetch(fetchOne('t', 0, 0, { minBytes: 1, maxWaitMs: 30_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(replicas.purgatory.size).toBe(1);
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(3) }]);
    const woken = await parked;
    expect(woken[0]).toMatchObject({ errorCode: KafkaError.NONE, highWatermark: 3 });
    expect([...iterateBatches(woken[0]!.records)]).toHaveLength(1);
    expect(replicas.purgatory.size).toBe(0);
    expect(replicas.purgatory.watchedKeyCount).toBe(0);
  });

  test('a long poll waits for minBytes across appends, and a leadership change answers it at once', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1, 2]], states: [{ isr: [1] }] } }));
    const parked = replicas.fetch(fetchOne('t', 0, 0, { minBytes: 5000, maxWaitMs: 30_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(2) }]);
    expect(replicas.purgatory.size).toBe(1); // ~300 bytes < 5000
    await replicas.sync(snapshot({ t: { partitions: [[1, 2]], states: [{ leader: 2, leaderEpoch: 1, isr: [2] }] } }));
    expect((await parked)[0]!.errorCode).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect(replicas.purgatory.size).toBe(0);
  });

  test('a partition named twice is read and answered once', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1], [1]] } }));
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(2) }]);
    const entry = (partition: number, fetchOffset: number) => ({ topic: 't', partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 });
    const results = await replicas.fetch({ replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, entries: [entry(0, 0), entry(1, 0), entry(0, 0), entry(0, 0)] });
    expect(results.map((r) => [r.partition, r.errorCode])).toEqual([[0, 0], [1, 0]]);
  });

  test.each([
    ['read together (the partition limits fit in maxBytes)', 1 << 20],
    ['read in order (maxBytes binds)', 1500],
  ])('the byte budget: %s — only the first partition with data may pass its limit, by one whole batch', async (_mode, maxBytes) => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1], [1], [1]] } }));
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 1, records: batch(10, 100) }, { topic: 't', partition: 2, records: batch(10, 100) }]);
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 1, records: batch(1, 10) }, { topic: 't', partition: 2, records: batch(1, 10) }]);
    const entry = (partition: number) => ({ topic: 't', partition, fetchOffset: 0, partitionMaxBytes: 500, currentLeaderEpoch: -1 });
    const results = await replicas.fetch({ replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes, entries: [entry(0), entry(1), entry(2)] });
    const batchesOf = (records: Buffer) => [...iterateBatches(records)].map((b) => b.recordCount);
    expect(results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    expect(batchesOf(results[0]!.records)).toEqual([]); // empty partition
    expect(batchesOf(results[1]!.records)).toEqual([10]); // first with data: its 1 KiB batch whole, over the 500-byte limit
    expect(batchesOf(results[2]!.records)).toEqual([]); // the same batch does not fit its limit, and it is not first
  });

  test('acks=all: at once with the leader alone in the ISR, NOT_ENOUGH_REPLICAS under min.insync.replicas, REQUEST_TIMED_OUT while a follower lags', async () => {
    const { replicas } = manager();
    const overrides = new Map([['strict', { 'min.insync.replicas': '2' }]]);
    await replicas.sync(snapshot({ solo: { partitions: [[1]] }, strict: { partitions: [[1, 2]] }, pair: { partitions: [[1, 2]], states: [{ isr: [1, 2] }] } }, { overrides }));
    expect((await replicas.appendRecords(-1, 1000, [{ topic: 'solo', partition: 0, records: batch(1) }]))[0]).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 0 });
    expect((await replicas.appendRecords(-1, 1000, [{ topic: 'strict', partition: 0, records: batch(1) }]))[0]!.errorCode).toBe(KafkaError.NOT_ENOUGH_REPLICAS);
    expect(replicas.get('strict', 0)!.log.logEndOffset).toBe(0); // refused before writing
    const timedOut = await replicas.appendRecords(-1, 50, [{ topic: 'pair', partition: 0, records: batch(1) }]);
    expect(timedOut[0]!.errorCode).toBe(KafkaError.REQUEST_TIMED_OUT);
    expect(replicas.purgatory.size).toBe(0);
    // The follower catches up (a replica fetch from offset 1 = its log end): a waiting acks=all produce completes.
    const waiting = replicas.appendRecords(-1, 30_000, [{ topic: 'pair', partition: 0, records: batch(1) }]);
    await new Promise((resolve) => setImmediate(resolve));
    await replicas.fetch(fetchOne('pair', 0, 1, { replicaId: 2 }));
    expect(replicas.get('pair', 0)!.highWatermark).toBe(1);
    await replicas.fetch(fetchOne('pair', 0, 2, { replicaId: 2 }));
    expect((await waiting)[0]).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 1 });
  });

  test('only an assigned follower may fetch as a replica (CVE-2018-1288)', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1, 2]], states: [{ isr: [1, 2] }] } }));
    expect((await replicas.fetch(fetchOne('t', 0, 0, { replicaId: 3 })))[0]!.errorCode).toBe(KafkaError.CLUSTER_AUTHORIZATION_FAILED);
    expect((await replicas.fetch(fetchOne('t', 0, 0, { replicaId: 1 })))[0]!.errorCode).toBe(KafkaError.CLUSTER_AUTHORIZATION_FAILED);
    expect((await replicas.fetch(fetchOne('t', 0, 0, { replicaId: 2 })))[0]!.errorCode).toBe(KafkaError.NONE);
  });

  test('DeleteRecords never passes the high watermark; -1 means the high watermark', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1]] } }));
    await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(4) }]);
    expect((await replicas.deleteRecords('t', 0, 5)).errorCode).toBe(KafkaError.OFFSET_OUT_OF_RANGE);
    expect(await replicas.deleteRecords('t', 0, 2)).toEqual({ errorCode: KafkaError.NONE, lowWatermark: 2 });
    expect(await replicas.deleteRecords('t', 0, -1)).toEqual({ errorCode: KafkaError.NONE, lowWatermark: 4 });
    expect(await replicas.listOffset('t', 0, -2)).toEqual({ errorCode: KafkaError.NONE, offset: 4, timestamp: -1, leaderEpoch: 0 });
  });
});

describe('ReplicaManager: ListOffsets specs (v7 max timestamp, v8 earliest local) and record-exact timestamp lookups', () => {
  const records = (timestamps: number[]) => timestamps.map((timestamp, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp }));

  test('by timestamp: the first RECORD at or after it, with its own timestamp; -3: the record with the largest timestamp, in a compressed batch too; -4 = -2', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1]], states: [{ leaderEpoch: 3 }] } }));
    // Offsets 0-2, then 3-5 gzip-compressed holding the largest timestamp in its middle (offset 4), then 6-7.
    for (const [batchRecords, compression] of [[records([T0, T0 + 10, T0 + 20]), 'none'], [records([T0 + 30, T0 + 900, T0 + 40]), 'gzip'], [records([T0 + 50, T0 + 60]), 'none']] as const) {
      await replicas.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: buildRecordBatch([...batchRecords], { compression }) }]);
    }
    expect(await replicas.listOffset('t', 0, T0 + 15)).toEqual({ errorCode: KafkaError.NONE, offset: 2, timestamp: T0 + 20, leaderEpoch: 3 });
    expect(await replicas.listOffset('t', 0, T0 + 35)).toEqual({ errorCode: KafkaError.NONE, offset: 4, timestamp: T0 + 900, leaderEpoch: 3 });
    expect(await replicas.listOffset('t', 0, T0 + 901)).toMatchObject({ errorCode: KafkaError.NONE, offset: -1, timestamp: -1 });
    expect(await replicas.listOffset('t', 0, -3)).toEqual({ errorCode: KafkaError.NONE, offset: 4, timestamp: T0 + 900, leaderEpoch: 3 });
    expect(await replicas.listOffset('t', 0, -1)).toEqual({ errorCode: KafkaError.NONE, offset: 8, timestamp: -1, leaderEpoch: 3 });
    await replicas.deleteRecords('t', 0, 1);
    expect(await replicas.listOffset('t', 0, -2)).toMatchObject({ offset: 1 });
    expect(await replicas.listOffset('t', 0, -4)).toMatchObject({ offset: 1 });
    // A stale leader epoch from the client is fenced.
    expect((await replicas.listOffset('t', 0, -1, 2)).errorCode).toBe(KafkaError.FENCED_LEADER_EPOCH);
  });

  test('an empty log has no max-timestamp record', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ t: { partitions: [[1]] } }));
    expect(await replicas.listOffset('t', 0, -3)).toEqual({ errorCode: KafkaError.NONE, offset: -1, timestamp: -1, leaderEpoch: -1 });
  });
});

describe('ReplicaManager: keeping in step with the cluster, never deleting what it is not told to', () => {
  async function withData(): Promise<{ dataDir: string }> {
    const { replicas, dataDir } = manager();
    await replicas.sync(snapshot({ keep: { partitions: [[1], [1]] } }));
    await replicas.appendRecords(1, 1000, [{ topic: 'keep', partition: 0, records: batch(5) }, { topic: 'keep', partition: 1, records: batch(2) }]);
    await replicas.close();
    managers = managers.filter((m) => m !== replicas);
    return { dataDir };
  }

  test('an empty tree (a wiped coordinator) or a picture not yet loaded deletes nothing', async () => {
    const { dataDir } = await withData();
    const before = fs.readdirSync(dataDir).sort();
    const { replicas } = manager(dataDir);
    await replicas.sync({ ...snapshot({}), loaded: false });
    await replicas.sync(snapshot({}));
    await replicas.sync(snapshot({ other: { partitions: [[1]] } }));
    expect(fs.readdirSync(dataDir).sort()).toEqual([...before, 'other-0'].sort());
    // When the topic is back in the tree, the data is there.
    await replicas.sync(snapshot({ keep: { partitions: [[1], [1]] } }));
    expect(replicas.get('keep', 0)!.log.logEndOffset).toBe(5);
    expect((await replicas.listOffset('keep', 1, -1)).offset).toBe(2);
  });

  test('a deletion the controller names deletes the logs and is acknowledged once', async () => {
    const { dataDir } = await withData();
    const { replicas } = manager(dataDir);
    await replicas.sync(snapshot({ keep: { partitions: [[1], [1]] } }));
    const marked = snapshot({ keep: { partitions: [[1], [1]] } }, { pendingDeletions: new Set(['keep']) });
    await replicas.sync(marked);
    expect(fs.existsSync(path.join(dataDir, 'keep-0'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'keep-1'))).toBe(false);
    expect(replicas.get('keep', 0)).toBeNull();
    expect(acknowledged).toEqual(['keep']);
    const shown = snapshot({ keep: { partitions: [[1], [1]] } }, { pendingDeletions: new Set(['keep']), deletionAcks: new Map([['keep', new Set([1])]]) });
    await replicas.sync(shown);
    expect(acknowledged).toEqual(['keep']);
  });

  test('a broker assigned a topic being deleted acknowledges even with nothing on disk', async () => {
    const { replicas } = manager();
    await replicas.sync(snapshot({ gone: { partitions: [[1]] } }, { pendingDeletions: new Set(['gone']) }));
    expect(acknowledged).toEqual(['gone']);
    // Not a replica of it: its own logs of that name are not the ones named, and it does not acknowledge.
    const { replicas: second, dataDir } = manager();
    fs.mkdirSync(path.join(dataDir, 'other-0'));
    await second.sync(snapshot({ other: { partitions: [[2]] } }, { pendingDeletions: new Set(['other']) }));
    expect(acknowledged).toEqual(['gone']);
    expect(fs.existsSync(path.join(dataDir, 'other-0'))).toBe(true);
  });
});
