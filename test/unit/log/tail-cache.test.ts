/**
 * The in-memory tail of a log: what it answers equals what the file answers, for every fetch
 * offset, limit and high watermark; it steps aside (null) for what it does not hold.
 */
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../../broker/log/partition-log';
import { TAIL_BYTES_MAX, TAIL_ENTRY_BYTES_MAX, TailCache } from '../../../broker/log/tail-cache';
import { buildRecordBatch, iterateBatches } from '../../../shared/kafka/record-batch';
import { tempDir } from '../../helpers/processes';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;

/** `counts` batches of that many 50-byte records, numbered from `base`, as one append. */
function append(base: number, counts: number[]): Buffer {
  let next = base;
  return Buffer.concat(
    counts.map((count) => {
      const batch = buildRecordBatch(Array.from({ length: count }, () => ({ key: null, value: Buffer.alloc(50, 7), timestamp: T0 })));
      batch.writeBigInt64BE(BigInt(next), 0);
      next += count;
      return batch;
    }),
  );
}

const offsetsOf = (records: Buffer | null): number[] => (records === null ? [] : [...iterateBatches(records)].map((b) => b.baseOffset));

describe('TailCache', () => {
  test('reads whole batches from the one holding the offset, across appends, within the limit and below upTo', () => {
    const cache = new TailCache();
    cache.add(0, 10, 14, append(10, [2, 3])); // batches at 10, 12
    cache.add(0, 15, 15, append(15, [1])); // 15
    cache.add(0, 16, 19, append(16, [4])); // 16
    expect(cache.read(9, 1 << 20, true, 100)).toBeNull(); // before the run: the file answers
    expect(offsetsOf(cache.read(13, 1 << 20, true, 100))).toEqual([12, 15, 16]);
    expect(offsetsOf(cache.read(10, 1 << 20, true, 16))).toEqual([10, 12, 15]);
    const oneBatch = cache.read(10, 1, true, 100)!;
    expect(offsetsOf(oneBatch)).toEqual([10]); // the first batch whole, past the limit
    expect(cache.read(10, 1, false, 100)!.length).toBe(0);
    expect(cache.read(20, 1 << 20, true, 100)).toBeNull(); // the log end: nothing cached there
  });

  test('a read stops at the end of the segment its first batch is in', () => {
    const cache = new TailCache();
    cache.add(0, 0, 1, append(0, [2]));
    cache.add(2, 2, 3, append(2, [2]));
    expect(offsetsOf(cache.read(0, 1 << 20, true, 100))).toEqual([0]);
    expect(offsetsOf(cache.read(2, 1 << 20, true, 100))).toEqual([2]);
  });

  test('a gap or an append too large to keep starts the run afresh; old entries go past the byte cap', () => {
    const cache = new TailCache();
    cache.add(0, 0, 1, append(0, [2]));
    cache.add(0, 5, 5, append(5, [1])); // not contiguous
    expect(cache.read(0, 1 << 20, true, 100)).toBeNull();
    expect(offsetsOf(cache.read(5, 1 << 20, true, 100))).toEqual([5]);
    const large = buildRecordBatch([{ key: null, value: Buffer.alloc(TAIL_ENTRY_BYTES_MAX, 1), timestamp: T0 }]);
    large.writeBigInt64BE(6n, 0);
    cache.add(0, 6, 6, large);
    expect(cache.read(5, 1 << 20, true, 100)).toBeNull();
    expect(cache.read(6, 1 << 20, true, 100)).toBeNull();
    let next = 7;
    const perAppend = append(0, [100]).length;
    for (let i = 0; i < Math.ceil((2 * TAIL_BYTES_MAX) / perAppend); i++, next += 100) cache.add(0, next, next + 99, append(next, [100]));
    expect(cache.read(7, 1 << 20, true, 1e9)).toBeNull(); // evicted
    expect(offsetsOf(cache.read(next - 100, 1 << 20, true, 1e9))).toEqual([next - 100]);
  });

  test('a log answers from its tail exactly what it answers from the file', async () => {
    const dir = tempDir('tail');
    const log = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 8 * 1024 }, silent, T0);
    let seed = 7;
    // The high bits: an LCG's low bits cycle with a short period.
    const random = (n: number): number => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    for (let i = 0; i < 120; i++) {
      const counts = Array.from({ length: 1 + random(3) }, () => 1 + random(4));
      const records = buildRecordBatch(Array.from({ length: counts.reduce((a, b) => a + b, 0) }, () => ({ key: null, value: Buffer.alloc(20 + random(200), 1), timestamp: T0 })));
      await log.appendAsLeader(i % 3 === 0 ? Buffer.concat(counts.map(() => records)) : records, 0, T0);
    }
    const end = log.logEndOffset;
    const cachedReads: Buffer[] = [];
    const cases: Array<[number, number, boolean, number]> = [];
    for (let i = 0; i < 300; i++) cases.push([Math.max(0, end - 1 - random(60)), [1, 300, 2000, 1 << 20][random(4)]!, random(2) === 0, end - random(30)]);
    for (const [offset, maxBytes, minOne, upTo] of cases) cachedReads.push((await log.read(offset, maxBytes, minOne, upTo)).records);
    const hits = (log as unknown as { tail: TailCache }).tail.hits;
    expect(hits).toBeGreaterThan(100); // many reads came from memory
    expect(log.segmentCount).toBeGreaterThan(5); // and crossed segment ends
    await log.close();
    const fresh = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 8 * 1024 }, silent, T0);
    for (let i = 0; i < cases.length; i++) {
      const [offset, maxBytes, minOne, upTo] = cases[i]!;
      expect([i, (await fresh.read(offset, maxBytes, minOne, upTo)).records.toString('hex')]).toEqual([i, cachedReads[i]!.toString('hex')]);
    }
    await fresh.close();
  });
});
