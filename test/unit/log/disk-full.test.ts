/**
 * Issue 6, "A full disk corrupts the log and then loses acknowledged records", at the
 * PartitionLog level: a log on a small tmpfs is appended to until the disk is full
 * (ENOSPC), the filesystem is grown, 1,000 more records are appended, and then every
 * acknowledged record must be readable at its offset, nothing unacknowledged may be visible,
 * before and after a restart (clean, and from a copy taken without closing: a crash).
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, LogConfig, PartitionLog } from '../../../broker/log/partition-log';
import { KafkaError } from '../../../shared/kafka/errors';
import { buildRecordBatch, decodeRecords, RecordBatchError } from '../../../shared/kafka/record-batch';
import { tempDir } from '../../helpers/processes';
import { mountTmpfs, Tmpfs } from '../../helpers/tmpfs';

const T0 = 1_700_000_000_000;
const silent = pino({ level: 'silent' });
const SMALL = 3 * 1024 * 1024;
const LARGE = 16 * 1024 * 1024;
const RECORDS_PER_BATCH = 10;
const VALUE_BYTES = 1000;
/** Appends tried while the disk is full, after the first failure (a few small ones might still fit). */
const ATTEMPTS_WHEN_FULL = 20;
/** Both write paths: small appends on the event loop (the default), everything through the I/O pool. */
const MODES: Array<[string, LogConfig]> = [
  ['writes of up to 16 KiB inline', { ...DEFAULT_LOG_CONFIG, segmentBytes: 1024 * 1024 }],
  ['every write through the I/O pool', { ...DEFAULT_LOG_CONFIG, segmentBytes: 1024 * 1024, inlineWriteBytesMax: 0 }],
];

const mounts: Tmpfs[] = [];
const probe = mountTmpfs(SMALL, 'disk-full-probe');
if ('unavailable' in probe) console.warn(`skipping the full-disk tests: ${probe.unavailable}`);
else probe.unmount();
const testIfMount = 'unavailable' in probe ? test.skip : test;

function smallDisk(): Tmpfs {
  const mounted = mountTmpfs(SMALL, 'disk-full');
  if ('unavailable' in mounted) throw new Error(mounted.unavailable);
  mounts.push(mounted);
  return mounted;
}

afterAll(() => {
  for (const mounted of mounts) mounted.unmount();
});

function value(offset: number): string {
  return `${String(offset).padStart(10, '0')}-`.padEnd(VALUE_BYTES, 'x');
}

/** Every offset in the log with its value, by reading it all one batch at a time. */
async function contents(log: PartitionLog): Promise<Map<number, string>> {
  const seen = new Map<number, string>();
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const { records } = await log.read(offset, 1, true);
    const decoded = decodeRecords(records);
    if (decoded.length === 0) throw new Error(`nothing readable at ${offset} below the log end ${log.logEndOffset}`);
    for (const record of decoded) seen.set(record.offset, record.value!.toString());
    offset = decoded[decoded.length - 1]!.offset + 1;
  }
  return seen;
}

function expectExactly(seen: Map<number, string>, acknowledged: Map<number, string>): void {
  const missing = [...acknowledged].filter(([offset, v]) => seen.get(offset) !== v).map(([offset]) => offset);
  const extra = [...seen.keys()].filter((offset) => !acknowledged.has(offset));
  expect({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }).toEqual({ missing: [], extra: [] });
  expect(seen.size).toBe(acknowledged.size);
}

describe.each(MODES)('%s', (_mode, CONFIG) => {
  testIfMount('a full disk rejects appends with KAFKA_STORAGE_ERROR and loses or exposes nothing, before and after a restart', async () => {
    const tmpfs = smallDisk();
    const dir = path.join(tmpfs.dir, 'topic-0');
    const log = await PartitionLog.open(dir, CONFIG, silent, T0);
    const acknowledged = new Map<number, string>();
    // Each batch's values name the offset the test expects it to get; a rejected batch gets none,
    // so the next batch is built for the same offsets.
    const append = async (): Promise<number> => {
      const base = log.logEndOffset;
      const values = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => value(base + i));
      try {
        const result = await log.appendAsLeader(buildRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: T0 }))), 0, T0);
        expect(result.baseOffset).toBe(base);
        values.forEach((v, i) => acknowledged.set(base + i, v));
        return KafkaError.NONE;
      } catch (error) {
        if (!(error instanceof RecordBatchError)) throw error;
        return error.kafkaErrorCode;
      }
    };

    // Fill the disk: bounded by its size (3 MiB / 10 KB batches, plus a margin).
    let failures = 0;
    for (let i = 0; i < 1000 && failures === 0; i++) if ((await append()) !== KafkaError.NONE) failures++;
    expect(failures).toBe(1);
    const codes = new Set<number>();
    for (let i = 0; i < ATTEMPTS_WHEN_FULL; i++) codes.add(await append());
    expect(codes.has(KafkaError.KAFKA_STORAGE_ERROR)).toBe(true);
    expect([...codes].every((code) => code === KafkaError.KAFKA_STORAGE_ERROR || code === KafkaError.NONE)).toBe(true);
    expect(log.offline).toBe(false);
    expect(log.logEndOffset).toBe(acknowledged.size);
    expectExactly(await contents(log), acknowledged);
    const beforeGrow = acknowledged.size;

    // Room again: the next appends work and land right after the acknowledged ones.
    tmpfs.resize(LARGE);
    for (let i = 0; i < 1000 / RECORDS_PER_BATCH; i++) expect(await append()).toBe(KafkaError.NONE);
    expect(acknowledged.size).toBe(beforeGrow + 1000);
    expectExactly(await contents(log), acknowledged);

    // A crash: the directory as it is while the log is open (copied off the tmpfs).
    const crashed = tempDir('disk-full-crash');
    fs.cpSync(dir, crashed, { recursive: true });
    await log.close();

    const reopened = await PartitionLog.open(dir, CONFIG, silent, T0);
    expect(reopened.logEndOffset).toBe(acknowledged.size);
    expectExactly(await contents(reopened), acknowledged);
    await reopened.close();

    const recovered = await PartitionLog.open(crashed, CONFIG, silent, T0);
    expect(recovered.logEndOffset).toBe(acknowledged.size);
    expectExactly(await contents(recovered), acknowledged);
    await recovered.close();
  });

  testIfMount('appends grouped into one write that fails are all rejected, offsets are reused by the next write, no gap', async () => {
    const tmpfs = smallDisk();
    const dir = path.join(tmpfs.dir, 'grouped-0');
    const log = await PartitionLog.open(dir, CONFIG, silent, T0);
    const big = (): Buffer => buildRecordBatch(Array.from({ length: 50 }, () => ({ key: null, value: Buffer.alloc(VALUE_BYTES, 1), timestamp: T0 })));
    // Fill the disk first (bounded: 3 MiB in 50 KB batches).
    for (let i = 0; i < 1000; i++) if (!(await log.appendAsLeader(big(), 0, T0).then(() => true, () => false))) break;
    const end = log.logEndOffset;
    // Room for two and a half batches: a group of many fails part way, after whole batches.
    const stat = fs.statfsSync(tmpfs.dir);
    tmpfs.resize((stat.blocks - stat.bfree) * stat.bsize + Math.floor(2.5 * big().length));
    // Many appends at once: queued behind each other, written as groups; all fail on a full disk.
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => log.appendAsLeader(big(), 0, T0)));
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as RecordBatchError).kafkaErrorCode);
    expect(rejected.length).toBeGreaterThan(0);
    expect(new Set(rejected)).toEqual(new Set([KafkaError.KAFKA_STORAGE_ERROR]));
    const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
    expect(log.logEndOffset).toBe(end + fulfilled * 50);
    // A crash now: whole batches of the failed group that did reach the file must not come back.
    const crashed = tempDir('disk-full-group-crash');
    fs.cpSync(dir, crashed, { recursive: true });
    const recovered = await PartitionLog.open(crashed, CONFIG, silent, T0);
    expect(recovered.logEndOffset).toBe(end + fulfilled * 50);
    await recovered.close();
    tmpfs.resize(LARGE);
    const next = await log.appendAsLeader(big(), 0, T0);
    expect(next.baseOffset).toBe(end + fulfilled * 50);
    const seen = await contents(log);
    expect(seen.size).toBe(next.lastOffset + 1);
    await log.close();
  });
});
