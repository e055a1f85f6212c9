/**
 * The log cleaner on real logs in temp directories: the latest record per key survives in
 * closed segments (offsets kept, gaps), the active segment is untouched, compressed batches
 * are compacted in their own codec, tombstones go after their delete horizon, a keyless
 * record is refused, a follower copies a compacted log, and every crash point of the swap
 * (a `.cleaned` file, a `.swap` file with or without the old segment's files) reopens to a
 * valid log with the same content.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { CLEANER_CHECKPOINT_FILE, LogCleaner } from '../../../broker/log/cleaner';
import { CompactionSettings, DELETE_HORIZON_BIT } from '../../../broker/log/compaction-plan';
import { DEFAULT_LOG_CONFIG, LogConfig, PartitionLog } from '../../../broker/log/partition-log';
import { KafkaError } from '../../../shared/kafka/errors';
import { buildRecordBatchAsync, Compression, decodeRecords, iterateBatches, RecordBatchError } from '../../../shared/kafka/record-batch';
import { tempDir, waitFor } from '../../helpers/processes';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const COMPACT: CompactionSettings = { deleteRetentionMs: DAY, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0 };

interface Row {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

async function openLog(dir: string, config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  return PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 1024, compaction: COMPACT, ...config }, silent, T0);
}

function keyed(pairs: Array<[string, string | null]>, compression: Compression = 'none', timestamp = T0): Promise<Buffer> {
  return buildRecordBatchAsync(pairs.map(([key, value], i) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: timestamp + i })), { compression });
}

async function readAll(log: PartitionLog): Promise<{ rows: Row[]; codecs: number[]; attributes: number[] }> {
  const rows: Row[] = [];
  const codecs: number[] = [];
  const attributes: number[] = [];
  let offset = log.logStartOffset;
  for (let rounds = 0; rounds < 10_000 && offset < log.logEndOffset; rounds++) {
    const { records } = await log.read(offset, 1 << 20, true);
    if (records.length === 0) break;
    for (const info of iterateBatches(records)) {
      codecs.push(info.attributes & 7);
      attributes.push(info.attributes);
      for (const r of decodeRecords(records.subarray(info.position, info.position + info.size))) rows.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
      offset = info.baseOffset + info.lastOffsetDelta + 1;
    }
  }
  return { rows, codecs, attributes };
}

/** Rolled segments are fsynced with their indexes in the background; the cleaner takes only those. */
async function settled(log: PartitionLog): Promise<void> {
  await waitFor('rolled segments synced', () => {
    const view = log.cleanerView();
    return view.syncedUpTo >= view.segments[view.segments.length - 1]!.baseOffset;
  }, 5000);
}

/** `rounds` values for each of `keys` keys, one batch per record (many segments at 1 KiB). */
async function fill(log: PartitionLog, keys: number, rounds: number, compression: Compression = 'none', perBatch = 1): Promise<void> {
  const pairs: Array<[string, string]> = [];
  for (let round = 0; round < rounds; round++) for (let k = 0; k < keys; k++) pairs.push([`k${k}`, `v${round}-${k}`]);
  for (let i = 0; i < pairs.length; i += perBatch) await log.appendAsLeader(await keyed(pairs.slice(i, i + perBatch), compression), 1, T0);
}

function activeBase(log: PartitionLog): number {
  const segments = log.cleanerView().segments;
  return segments[segments.length - 1]!.baseOffset;
}

/** Below the active segment each key appears once, with its latest value there. */
function expectCompacted(rows: Row[], active: number): void {
  const closed = rows.filter((row) => row.offset < active);
  const keys = closed.map((row) => row.key);
  expect(new Set(keys).size).toBe(keys.length);
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.offset).toBeGreaterThan(rows[i - 1]!.offset);
}

function latestPerKey(rows: Row[]): Map<string | null, string | null> {
  const out = new Map<string | null, string | null>();
  for (const row of rows) out.set(row.key, row.value);
  return out;
}

const cleaner = () => new LogCleaner(silent);
const target = (log: PartitionLog) => ({ log, topic: 't', partition: 0, upTo: log.logEndOffset });

describe('log cleaner', () => {
  test('keeps the latest record per key in closed segments, offsets with gaps, the active segment as it was; the same after a reopen', async () => {
    const dir = tempDir('clean');
    const log = await openLog(dir);
    await fill(log, 4, 40);
    await settled(log);
    const before = await readAll(log);
    const segmentsBefore = log.segmentCount;
    expect(segmentsBefore).toBeGreaterThan(5);
    const result = await cleaner().clean(target(log), T0);
    expect(result).not.toBeNull();
    expect(result!.recordsAfter).toBeLessThan(result!.recordsBefore);
    expect(result!.bytesAfter).toBeLessThan(result!.bytesBefore);
    const after = await readAll(log);
    const active = activeBase(log);
    expectCompacted(after.rows, active);
    // The latest value of every key is still there, and the active segment is untouched.
    expect(latestPerKey(after.rows)).toEqual(latestPerKey(before.rows));
    expect(after.rows.filter((row) => row.offset >= active)).toEqual(before.rows.filter((row) => row.offset >= active));
    expect(after.rows.length).toBeLessThan(before.rows.length);
    expect(log.logEndOffset).toBe(160);
    expect(Number(fs.readFileSync(path.join(dir, CLEANER_CHECKPOINT_FILE), 'utf8'))).toBe(active);
    // Emptied segments went (all but the first, which keeps the log start).
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    expect(log.logStartOffset).toBe(0);
    // Not due again until new dirty data arrives.
    expect(await cleaner().clean(target(log), T0)).toBeNull();
    await log.close();
    const reopened = await openLog(dir);
    expect((await readAll(reopened)).rows).toEqual(after.rows);
    expect(reopened.logEndOffset).toBe(160);
    // Appends carry on at the log end; reads in a gap land on the next batch.
    expect((await reopened.appendAsLeader(await keyed([['k9', 'new']]), 1, T0)).baseOffset).toBe(160);
    const fromGap = (await reopened.read(1, 1 << 20, true)).records;
    expect([...iterateBatches(fromGap)][0]!.baseOffset).toBeGreaterThan(0);
    await reopened.close();
  });

  test('an unclean restart after compaction (no close) trusts the gaps and keeps everything', async () => {
    const dir = tempDir('clean-crash');
    const log = await openLog(dir);
    await fill(log, 3, 30);
    await settled(log);
    await cleaner().clean(target(log), T0);
    const after = await readAll(log);
    // No close: the clean-shutdown marker is absent, as after a SIGKILL.
    const reopened = await openLog(dir);
    expect((await readAll(reopened)).rows).toEqual(after.rows);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.unrecovered'))).toEqual([]);
    await reopened.close();
    await log.close();
  });

  test.each<Compression>(['gzip', 'lz4', 'zstd', 'snappy'])('%s batches are compacted and written back in the same codec', async (codec) => {
    const log = await openLog(tempDir(`clean-${codec}`));
    await fill(log, 5, 30, codec, 5); // each batch holds one value of every key
    await settled(log);
    const before = await readAll(log);
    expect(await cleaner().clean(target(log), T0)).not.toBeNull();
    const after = await readAll(log);
    expectCompacted(after.rows, activeBase(log));
    expect(latestPerKey(after.rows)).toEqual(latestPerKey(before.rows));
    expect(after.rows.length).toBeLessThan(before.rows.length);
    const id = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec as 'gzip'];
    expect(new Set(after.codecs)).toEqual(new Set([id]));
    // Timestamps are the records' own.
    const original = new Map(before.rows.map((row) => [row.offset, row.timestamp]));
    for (const row of after.rows) expect(row.timestamp).toBe(original.get(row.offset));
    await log.close();
  });

  test('a batch losing some records keeps its base offset and the survivors their offsets', async () => {
    const log = await openLog(tempDir('clean-partial'));
    await log.appendAsLeader(await keyed([['a', '1'], ['b', '1'], ['c', '1']]), 1, T0);
    await log.appendAsLeader(await keyed([['a', '2'], ['x', 'y'.repeat(1100)]]), 1, T0); // rolls
    await log.appendAsLeader(await keyed([['z', '1']]), 1, T0); // rolls: the two above are closed
    await settled(log);
    expect(await cleaner().clean(target(log), T0)).not.toBeNull();
    const { rows } = await readAll(log);
    expect(rows.map((row) => [row.offset, row.key, row.value?.slice(0, 1)])).toEqual([
      [1, 'b', '1'],
      [2, 'c', '1'],
      [3, 'a', '2'],
      [4, 'x', 'y'],
      [5, 'z', '1'],
    ]);
    const first = (await log.read(0, 1 << 20, true)).records;
    const info = [...iterateBatches(first)][0]!;
    expect([info.baseOffset, info.lastOffsetDelta, info.recordCount]).toEqual([0, 2, 2]);
    await log.close();
  });

  test('tombstones stay until delete.retention.ms after their first cleaning, then go', async () => {
    const log = await openLog(tempDir('clean-tomb'), { compaction: { ...COMPACT, minCleanableDirtyRatio: 0 } });
    await log.appendAsLeader(await keyed([['a', '1'], ['b', '1']]), 1, T0);
    await log.appendAsLeader(await keyed([['a', null]]), 1, T0);
    await log.appendAsLeader(await keyed([['pad', 'p'.repeat(1100)]]), 1, T0); // rolls
    await log.appendAsLeader(await keyed([['c', '1']]), 1, T0);
    await settled(log);
    const c = cleaner();
    expect(await c.clean(target(log), T0 + 1000)).not.toBeNull();
    let read = await readAll(log);
    expect(read.rows.map((row) => [row.key, row.value])).toEqual([['b', '1'], ['a', null], ['pad', expect.any(String)], ['c', '1']]);
    const tombIndex = read.rows.findIndex((row) => row.key === 'a');
    expect(read.attributes[tombIndex]! & DELETE_HORIZON_BIT).toBe(DELETE_HORIZON_BIT);
    expect(read.rows[tombIndex]!.timestamp).toBe(T0); // its own timestamp, not the horizon
    // New dirty data, cleaned before the horizon: the tombstone stays.
    await log.appendAsLeader(await keyed([['d', 'd'.repeat(1100)]]), 1, T0);
    await log.appendAsLeader(await keyed([['e', '1']]), 1, T0);
    await settled(log);
    expect(await c.clean(target(log), T0 + 1000 + DAY - 1)).not.toBeNull();
    expect((await readAll(log)).rows.some((row) => row.key === 'a')).toBe(true);
    // After the horizon it goes.
    await log.appendAsLeader(await keyed([['f', 'f'.repeat(1100)]]), 1, T0);
    await log.appendAsLeader(await keyed([['g', '1']]), 1, T0);
    await settled(log);
    expect(await c.clean(target(log), T0 + 1000 + DAY)).not.toBeNull();
    read = await readAll(log);
    expect(read.rows.some((row) => row.key === 'a')).toBe(false);
    expect(read.rows.map((row) => row.key)).toEqual(['b', 'pad', 'c', 'd', 'e', 'f', 'g']);
    await log.close();
  });

  test('min.compaction.lag.ms keeps young segments as they are; the high watermark bounds the cleaning', async () => {
    const log = await openLog(tempDir('clean-lag'), { compaction: { ...COMPACT, minCompactionLagMs: 60_000 } });
    await fill(log, 2, 30);
    await settled(log);
    expect(await cleaner().clean(target(log), T0 + 1000)).toBeNull();
    expect(await cleaner().clean({ ...target(log), upTo: 0 }, T0 + 120_000)).toBeNull();
    expect(await cleaner().clean(target(log), T0 + 120_000)).not.toBeNull();
    await log.close();
  });

  test('a compacted topic refuses a record without a key (INVALID_RECORD), whole batch, compressed or not', async () => {
    const log = await openLog(tempDir('clean-keyless'));
    for (const compression of ['none', 'gzip'] as Compression[]) {
      const keyless = await buildRecordBatchAsync([{ key: Buffer.from('k'), value: Buffer.from('v') }, { key: null, value: Buffer.from('v') }], { compression });
      const refused = await log.appendAsLeader(keyless, 1, T0).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RecordBatchError);
      expect((refused as RecordBatchError).kafkaErrorCode).toBe(KafkaError.INVALID_RECORD);
    }
    expect(log.logEndOffset).toBe(0);
    // A topic that is not compacted takes it.
    const plain = await openLog(tempDir('plain-keyless'), { compaction: null });
    await plain.appendAsLeader(await buildRecordBatchAsync([{ key: null, value: Buffer.from('v') }]), 1, T0);
    expect(plain.logEndOffset).toBe(1);
    await Promise.all([log.close(), plain.close()]);
  });

  test('a follower copies a compacted log from the start: gaps between and inside batches are accepted', async () => {
    const leader = await openLog(tempDir('clean-leader'));
    await fill(leader, 3, 20, 'none', 2);
    await settled(leader);
    await cleaner().clean(target(leader), T0);
    const follower = await openLog(tempDir('clean-follower'), { compaction: null });
    for (let rounds = 0; rounds < 1000 && follower.logEndOffset < leader.logEndOffset; rounds++) {
      const fetchOffset = follower.logEndOffset;
      const { records } = await leader.read(fetchOffset, 300, true);
      await follower.appendAsFollower(Buffer.from(records), T0, fetchOffset);
    }
    expect(follower.logEndOffset).toBe(leader.logEndOffset);
    expect((await readAll(follower)).rows).toEqual((await readAll(leader)).rows);
    // Without the fetch offset a batch past the log end is still refused (a stale fetch after a truncation).
    const stray = await keyed([['q', '1']]);
    stray.writeBigInt64BE(BigInt(follower.logEndOffset + 5), 0);
    await expect(follower.appendAsFollower(stray, T0)).rejects.toThrow('follower append');
    await Promise.all([leader.close(), follower.close()]);
  });
});

describe('crash points of the swap', () => {
  /** An uncompacted log in `dir`, closed, and the compacted copy of it in another directory. */
  async function pair(): Promise<{ dir: string; compactedDir: string; original: Row[]; compacted: Row[] }> {
    const dir = tempDir('swap-orig');
    const log = await openLog(dir);
    await fill(log, 3, 30);
    await settled(log);
    await log.close();
    const compactedDir = tempDir('swap-done');
    fs.cpSync(dir, compactedDir, { recursive: true });
    const copy = await openLog(compactedDir);
    const original = (await readAll(copy)).rows;
    await settled(copy);
    await cleaner().clean(target(copy), T0);
    const compacted = (await readAll(copy)).rows;
    await copy.close();
    return { dir, compactedDir, original, compacted };
  }

  async function rowsAfterOpen(dir: string): Promise<Row[]> {
    const log = await openLog(dir);
    const { rows } = await readAll(log);
    await log.close();
    expect(fs.readdirSync(dir).filter((name) => /\.(cleaned|swap|unrecovered)$/.test(name))).toEqual([]);
    return rows;
  }

  test('a .cleaned file (crash before the commit) is deleted; the log is as before', async () => {
    const { dir, compactedDir, original } = await pair();
    fs.copyFileSync(path.join(compactedDir, '00000000000000000000.log'), path.join(dir, '00000000000000000000.log.cleaned'));
    fs.writeFileSync(path.join(dir, '00000000000000000013.log.cleaned'), 'torn');
    expect(await rowsAfterOpen(dir)).toEqual(original);
  });

  test('a .swap file with the old segment and its indexes still there (crash just after the commit) completes the swap', async () => {
    const { dir, compactedDir, original, compacted } = await pair();
    const first = '00000000000000000000.log';
    fs.copyFileSync(path.join(compactedDir, first), path.join(dir, `${first}.swap`));
    const rows = await rowsAfterOpen(dir);
    // Segment 0 is the compacted one; the rest as they were.
    const boundary = fs.readdirSync(dir).filter((n) => n.endsWith('.log')).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b)[1]!;
    expect(compacted.filter((row) => row.offset < boundary).length).toBeLessThan(original.filter((row) => row.offset < boundary).length);
    expect(rows.filter((row) => row.offset < boundary)).toEqual(compacted.filter((row) => row.offset < boundary));
    expect(rows.filter((row) => row.offset >= boundary)).toEqual(original.filter((row) => row.offset >= boundary));
  });

  test('a .swap file after the old indexes went (crash mid-way) completes the swap, indexes rebuilt', async () => {
    const { dir, compactedDir, compacted } = await pair();
    for (const name of fs.readdirSync(compactedDir).filter((n) => n.endsWith('.log'))) {
      fs.copyFileSync(path.join(compactedDir, name), path.join(dir, `${name}.swap`));
      fs.rmSync(path.join(dir, name.replace('.log', '.index')), { force: true });
      fs.rmSync(path.join(dir, name.replace('.log', '.timeindex')), { force: true });
    }
    // Segments the cleaner emptied and removed are still here, whole: they stay (a valid, less compacted log).
    const rows = await rowsAfterOpen(dir);
    const latest = latestPerKey(rows);
    expect(latest).toEqual(latestPerKey(compacted));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.offset).toBeGreaterThan(rows[i - 1]!.offset);
  });

  test('a .swap whose old segment is gone already (crash before the final rename) completes the swap', async () => {
    const { dir, compactedDir, compacted } = await pair();
    fs.rmSync(dir, { recursive: true });
    fs.cpSync(compactedDir, dir, { recursive: true });
    const first = path.join(dir, '00000000000000000000.log');
    fs.renameSync(first, `${first}.swap`);
    fs.rmSync(path.join(dir, '00000000000000000000.index'));
    expect(await rowsAfterOpen(dir)).toEqual(compacted);
  });
});
