/**
 * The partition log: offsets, exact bytes read back, segment rolls, index lookups, retention
 * by time and size, DeleteRecords, recovery of a torn tail, truncation, and no acknowledged
 * batch lost when the writing process is killed with SIGKILL.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, LogConfig, OffsetOutOfRangeError, PartitionLog } from '../../../broker/log/partition-log';
import { LogManager } from '../../../broker/log/log-manager';
import { KafkaError } from '../../../shared/kafka/errors';
import { buildRecordBatch, buildRecordBatchAsync, decodeRecords, iterateBatches, RecordBatchError } from '../../../shared/kafka/record-batch';
import { kill, REPO_ROOT, spawnProcess, stopAll, tempDir, waitFor } from '../../helpers/processes';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;

function batch(values: string[], timestamp = T0): Buffer {
  return buildRecordBatch(values.map((value) => ({ key: null, value: Buffer.from(value), timestamp })));
}

function values(records: Buffer): string[] {
  return [...iterateBatches(records)].flatMap((info) => decodeRecords(records.subarray(info.position, info.position + info.size)).map((r) => r.value!.toString()));
}

async function openLog(config: Partial<LogConfig> = {}, dir = tempDir('log')): Promise<PartitionLog> {
  return PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, ...config }, silent, T0);
}

afterAll(stopAll);

describe('partition log', () => {
  test('assigns offsets, rewrites base offset and leader epoch, reads back the exact batches', async () => {
    const log = await openLog();
    expect([log.logStartOffset, log.logEndOffset]).toEqual([0, 0]);
    const first = batch(['a', 'b', 'c']);
    expect(await log.appendAsLeader(first, 4, T0)).toEqual({ baseOffset: 0, lastOffset: 2, logAppendTime: -1 });
    expect(await log.appendAsLeader(batch(['d']), 5, T0)).toEqual({ baseOffset: 3, lastOffset: 3, logAppendTime: -1 });
    expect(log.logEndOffset).toBe(4);
    const all = (await log.read(0, 1 << 20, true)).records;
    expect(values(all)).toEqual(['a', 'b', 'c', 'd']);
    expect(all.subarray(0, first.length).equals(first)).toBe(true); // stored as received (after the rewrite)
    expect(all.readInt32BE(12)).toBe(4);
    // A fetch in the middle of a batch returns the whole batch; at the end, nothing.
    expect(values((await log.read(1, 1 << 20, true)).records)).toEqual(['a', 'b', 'c', 'd']);
    expect(values((await log.read(3, 1 << 20, true)).records)).toEqual(['d']);
    expect((await log.read(4, 1 << 20, true)).records.length).toBe(0);
    await expect(log.read(5, 100, true)).rejects.toThrow(OffsetOutOfRangeError);
    expect(log.leaderEpochStartOffsets()).toEqual([{ epoch: 4, startOffset: 0 }, { epoch: 5, startOffset: 3 }]);
    expect(log.endOffsetForEpoch(4)).toBe(3);
    await log.close();
  });

  test('byte limits: whole batches only, at least one; the high watermark bounds reads', async () => {
    const log = await openLog();
    const size = batch(['x'.repeat(100)]).length;
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batch([`${i}`.repeat(100)]), 0, T0);
    expect([...iterateBatches((await log.read(0, size * 3 + 10, true)).records)]).toHaveLength(3);
    expect([...iterateBatches((await log.read(0, 5, true)).records)]).toHaveLength(1);
    expect((await log.read(0, 5, false)).records.length).toBe(0);
    expect([...iterateBatches((await log.read(0, 1 << 20, true, 4)).records)]).toHaveLength(4);
    await log.close();
  });

  test('rolls segments at segment.bytes and finds offsets through the sparse index', async () => {
    const dir = tempDir('log');
    const log = await openLog({ segmentBytes: 1000, indexIntervalBytes: 200 }, dir);
    for (let i = 0; i < 100; i++) await log.appendAsLeader(batch([`v${i}`, `w${i}`], T0 + i), 0, T0 + i);
    expect(log.segmentCount).toBeGreaterThan(5);
    const files = fs.readdirSync(dir).filter((name) => name.endsWith('.log')).sort();
    expect(files).toHaveLength(log.segmentCount);
    expect(files.every((name) => fs.statSync(path.join(dir, name)).size <= 1000)).toBe(true);
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.every((name) => /^\d{20}\.log$/.test(name))).toBe(true);
    for (const offset of [0, 1, 57, 120, 199]) {
      const got = decodeRecords((await log.read(offset, 1, true)).records);
      expect(got.some((r) => r.offset === offset)).toBe(true);
    }
    expect(await log.offsetForTimestamp(T0 + 42)).toBe(84);
    expect(await log.offsetForTimestamp(T0 + 1000)).toBeNull();
    await log.close();
    expect(fs.existsSync(path.join(dir, files[0]!.replace('.log', '.index')))).toBe(true);
    expect(fs.existsSync(path.join(dir, files[0]!.replace('.log', '.timeindex')))).toBe(true);
  });

  test('retention by time and by bytes deletes whole old segments and moves the log start', async () => {
    const log = await openLog({ segmentBytes: 500, retentionMs: 60_000 });
    for (let i = 0; i < 30; i++) await log.appendAsLeader(batch([`old-${i}`]), 0, T0);
    for (let i = 0; i < 30; i++) await log.appendAsLeader(batch([`new-${i}`], T0 + 120_000), 0, T0 + 120_000);
    const before = log.segmentCount;
    const result = await log.applyRetention(T0 + 120_000);
    expect(result.deletedSegments).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(before - result.deletedSegments);
    expect(log.logStartOffset).toBeGreaterThan(0);
    expect(log.logStartOffset).toBeLessThanOrEqual(30);
    let code = 0;
    try {
      await log.read(0, 100, true);
    } catch (error) {
      code = (error as RecordBatchError).kafkaErrorCode;
    }
    expect(code).toBe(KafkaError.OFFSET_OUT_OF_RANGE);
    log.updateConfig({ ...DEFAULT_LOG_CONFIG, segmentBytes: 500, retentionMs: -1, retentionBytes: 1000 });
    await log.applyRetention(T0 + 120_000);
    expect(log.sizeInBytes).toBeLessThan(1000 + 500);
    expect(values((await log.read(log.logEndOffset - 1, 1 << 20, true)).records)).toEqual(['new-29']);
    await log.close();
  });

  test('recovery: a torn tail is truncated, everything before it kept; the log start survives restarts', async () => {
    const dir = tempDir('log');
    const log = await openLog({}, dir);
    for (let i = 0; i < 5; i++) await log.appendAsLeader(batch([`r${i}`]), 0, T0);
    await log.deleteRecordsBefore(2);
    await log.close();
    const segment = path.join(dir, '00000000000000000000.log');
    const whole = fs.statSync(segment).size;
    const half = batch(['torn']).subarray(0, 40);
    fs.appendFileSync(segment, half);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const reopened = await PartitionLog.open(dir, DEFAULT_LOG_CONFIG, logger, T0);
    expect(fs.statSync(segment).size).toBe(whole);
    expect(lines.some((line) => line.includes('"truncatedBytes":40') && line.includes('"msg":"log.recovered"'))).toBe(true);
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([2, 5]);
    expect((await reopened.appendAsLeader(batch(['after']), 0, T0)).baseOffset).toBe(5);
    expect(values((await reopened.read(2, 1 << 20, true)).records)).toEqual(['r2', 'r3', 'r4', 'after']);
    // A corrupt last batch (bad CRC) is cut too.
    await reopened.close();
    const bytes = fs.readFileSync(segment);
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(segment, bytes);
    const again = await PartitionLog.open(dir, DEFAULT_LOG_CONFIG, silent, T0);
    expect(again.logEndOffset).toBe(5);
    await again.close();
  });

  test('every offset and every timestamp is found through the sparse indexes, across segments', async () => {
    const dir = tempDir('log');
    const log = await openLog({ segmentBytes: 2000, indexIntervalBytes: 150 }, dir);
    // Timestamps go up and down (CreateTime from many producers); batches of 1-3 records.
    const expected: Array<{ offset: number; timestamp: number }> = [];
    for (let i = 0; i < 120; i++) {
      const count = 1 + (i % 3);
      const timestamp = T0 + ((i * 37) % 50) * 1000;
      const { baseOffset } = await log.appendAsLeader(batch(Array.from({ length: count }, (_, j) => `${i}.${j}`), timestamp), 0, T0);
      for (let j = 0; j < count; j++) expected.push({ offset: baseOffset + j, timestamp });
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    for (const { offset } of expected) {
      const got = decodeRecords((await log.read(offset, 1, true)).records);
      expect(got[0]!.offset).toBeLessThanOrEqual(offset);
      expect(got.some((r) => r.offset === offset)).toBe(true);
    }
    // Reference: the first batch (in log order) with a timestamp >= ts.
    for (let ts = T0 - 1; ts <= T0 + 51_000; ts += 500) {
      const hit = expected.find((e) => e.timestamp >= ts);
      const want = hit === undefined ? null : expected.filter((e) => e.timestamp === hit.timestamp && e.offset <= hit.offset)[0]!.offset;
      expect([ts, await log.offsetForTimestamp(ts)]).toEqual([ts, want]);
    }
    // Reopening (indexes rebuilt by the scan) gives the same answers.
    const middle = await log.offsetForTimestamp(T0 + 25_000);
    await log.close();
    const reopened = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 2000, indexIntervalBytes: 150 }, silent, T0);
    expect(await reopened.offsetForTimestamp(T0 + 25_000)).toBe(middle);
    expect(decodeRecords((await reopened.read(100, 1, true)).records).some((r) => r.offset === 100)).toBe(true);
    await reopened.close();
  });

  test('compressed batches (snappy, lz4, zstd) are stored and served byte for byte', async () => {
    const log = await openLog();
    const sent: Buffer[] = [];
    for (const compression of ['snappy', 'lz4', 'zstd'] as const) {
      const compressed = await buildRecordBatchAsync(['p', 'q', 'r'].map((value) => ({ key: null, value: Buffer.from(value), timestamp: T0 })), { compression });
      await log.appendAsLeader(compressed, 7, T0);
      sent.push(compressed);
    }
    expect(log.logEndOffset).toBe(9);
    const stored = (await log.read(0, 1 << 20, true)).records;
    expect(stored.equals(Buffer.concat(sent))).toBe(true);
    expect([...iterateBatches(stored)].map((b) => [b.baseOffset, b.compression, b.partitionLeaderEpoch])).toEqual([
      [0, 'snappy', 7],
      [3, 'lz4', 7],
      [6, 'zstd', 7],
    ]);
    await log.close();
  });

  test.each([
    ['a bad CRC', (b: Buffer): void => void (b[b.length - 1]! ^= 1), KafkaError.CORRUPT_MESSAGE],
    ['magic 1', (b: Buffer): void => void (b[16] = 1), KafkaError.CORRUPT_MESSAGE],
    ['a truncated batch', (b: Buffer): void => void b.writeInt32BE(b.length, 8), KafkaError.CORRUPT_MESSAGE],
  ])('an append with %s is refused and leaves the log as it was', async (_name, damage, code) => {
    const log = await openLog({ maxMessageBytes: 10_000 });
    await log.appendAsLeader(batch(['ok']), 0, T0);
    const bad = batch(['bad']);
    damage(bad);
    let got = 0;
    try {
      await log.appendAsLeader(bad, 0, T0);
    } catch (error) {
      got = (error as RecordBatchError).kafkaErrorCode;
    }
    expect(got).toBe(code);
    let tooLarge = 0;
    try {
      await log.appendAsLeader(batch(['x'.repeat(20_000)]), 0, T0);
    } catch (error) {
      tooLarge = (error as RecordBatchError).kafkaErrorCode;
    }
    expect(tooLarge).toBe(KafkaError.MESSAGE_TOO_LARGE);
    expect(log.logEndOffset).toBe(1);
    expect(values((await log.read(0, 1 << 20, true)).records)).toEqual(['ok']);
    await log.close();
  });

  test.each([
    ['negative', -1],
    ['NaN', Number.NaN],
    ['zero', 0],
  ])('a %s maxBytes reads at most the one batch minOneBatch allows', async (_name, maxBytes) => {
    const log = await openLog();
    for (let i = 0; i < 5; i++) await log.appendAsLeader(batch([`${i}`]), 0, T0);
    expect(values((await log.read(0, maxBytes, true)).records)).toEqual(['0']);
    expect((await log.read(0, maxBytes, false)).records.length).toBe(0);
    await expect(log.read(Number.NaN, 100, true)).rejects.toThrow(OffsetOutOfRangeError);
    await log.close();
  });

  test('the leader-epoch cache is rebuilt from the batches when its checkpoint is lost', async () => {
    const dir = tempDir('log');
    const log = await openLog({ segmentBytes: 400 }, dir);
    for (let i = 0; i < 12; i++) await log.appendAsLeader(batch([`${i}`]), [1, 1, 1, 3, 3, 3, 3, 3, 4, 4, 4, 4][i]!, T0);
    const epochs = log.leaderEpochStartOffsets();
    expect(epochs).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 3 }, { epoch: 4, startOffset: 8 }]);
    expect([log.endOffsetForEpoch(1), log.endOffsetForEpoch(2), log.endOffsetForEpoch(3), log.endOffsetForEpoch(4)]).toEqual([3, 3, 8, 12]);
    await log.close();
    fs.rmSync(path.join(dir, 'leader-epoch-checkpoint'));
    const reopened = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 400 }, silent, T0);
    expect(reopened.leaderEpochStartOffsets()).toEqual(epochs);
    expect(fs.existsSync(path.join(dir, 'leader-epoch-checkpoint'))).toBe(true);
    await reopened.close();
  });

  test('truncateTo cuts at a batch boundary: a batch straddling the offset goes too', async () => {
    const log = await openLog({ segmentBytes: 300 });
    await log.appendAsLeader(batch(['a', 'b', 'c']), 1, T0); // 0..2
    await log.appendAsLeader(batch(['d', 'e', 'f']), 2, T0); // 3..5
    await log.appendAsLeader(batch(['g']), 2, T0); // 6
    await log.truncateTo(4, T0);
    expect(log.logEndOffset).toBe(3);
    expect(values((await log.read(0, 1 << 20, true)).records)).toEqual(['a', 'b', 'c']);
    expect(log.leaderEpochStartOffsets()).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect((await log.appendAsLeader(batch(['h']), 3, T0)).baseOffset).toBe(3);
    await log.truncateTo(0, T0);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([0, 0]);
    expect((await log.read(0, 100, true)).records.length).toBe(0);
    expect((await log.appendAsLeader(batch(['i']), 3, T0)).baseOffset).toBe(0);
    await log.close();
  });

  test('truncateTo cuts a suffix; appendAsFollower keeps the leader offsets', async () => {
    const leader = await openLog({ segmentBytes: 300 });
    for (let i = 0; i < 10; i++) await leader.appendAsLeader(batch([`${i}`]), i < 5 ? 1 : 2, T0);
    await leader.truncateTo(6, T0);
    expect(leader.logEndOffset).toBe(6); // single-record batches: the cut is exactly at 6
    expect(values((await leader.read(0, 1 << 20, true)).records).length).toBeGreaterThan(0);
    const follower = await openLog();
    let offset = 0;
    while (offset < leader.logEndOffset) {
      const chunk = (await leader.read(offset, 1 << 20, true)).records;
      await follower.appendAsFollower(Buffer.from(chunk), T0);
      offset = follower.logEndOffset;
    }
    expect(follower.logEndOffset).toBe(6);
    expect(follower.leaderEpochStartOffsets()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]);
    await expect(follower.appendAsFollower(batch(['gap']), T0)).rejects.toThrow(RecordBatchError);
    // Batches inside one follower append must follow each other.
    const next = batch(['n1']);
    next.writeBigInt64BE(6n, 0);
    const skipped = batch(['n2']);
    skipped.writeBigInt64BE(9n, 0);
    await expect(follower.appendAsFollower(Buffer.concat([next, skipped]), T0)).rejects.toThrow(RecordBatchError);
    expect(follower.logEndOffset).toBe(6);
    await leader.close();
    await follower.close();
  });

  test('a writer killed with SIGKILL loses no acknowledged batch', async () => {
    const dir = tempDir('log');
    // The writer runs the built code (dist/), as the broker does: `make test` builds first.
    expect(fs.existsSync(path.join(REPO_ROOT, 'dist', 'broker', 'log', 'partition-log.js'))).toBe(true);
    const writer = spawnProcess(process.execPath, [path.join(REPO_ROOT, 'test', 'fixtures', 'log-writer.js'), dir]);
    await waitFor('some appends', () => writer.output().split('\n').length > 2000, 20_000);
    await kill(writer, 'SIGKILL');
    const acknowledged = writer.output().split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
    const last = acknowledged[acknowledged.length - 1]!;
    const log = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024 }, silent, T0);
    expect(log.logEndOffset).toBeGreaterThan(last);
    const seen = new Set<number>();
    for (let offset = 0; offset < log.logEndOffset; ) {
      const records = decodeRecords((await log.read(offset, 1, true)).records);
      for (const record of records) seen.add(record.offset);
      offset = records[records.length - 1]!.offset + 1;
    }
    expect(acknowledged.every((offset) => seen.has(offset))).toBe(true);
    await log.close();
  });

  test('the log manager opens one directory per partition and finds them again', async () => {
    const dataDir = tempDir('logs');
    const manager = new LogManager(dataDir, silent);
    const log = await manager.open('orders', 3, DEFAULT_LOG_CONFIG, T0);
    await log.appendAsLeader(batch(['x']), 0, T0);
    expect(manager.get('orders', 3)).toBe(log);
    expect(manager.onDisk()).toEqual([{ topic: 'orders', partition: 3 }]);
    await manager.delete('orders', 3);
    expect(fs.existsSync(path.join(dataDir, 'orders-3'))).toBe(false);
    await manager.closeAll();
  });
});
