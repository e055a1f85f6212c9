/**
 * The partition log's asynchronous side: appends queued while a write is in flight keep their
 * order and contiguous offsets; reads in flight survive the deletion of their segment;
 * index files are trusted after a clean shutdown and after a crash below the recovery point,
 * and refused (rebuilt) when they fail the sanity check; the leader-epoch cache stays right
 * with trusted segments; CRC-32C native and JavaScript agree.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, LogConfig, PartitionLog } from '../../../broker/log/partition-log';
import { crc32c, crc32cJs } from '../../../shared/kafka/crc32c';
import { buildRecordBatch, decodeRecords } from '../../../shared/kafka/record-batch';
import { tempDir, waitFor } from '../../helpers/processes';

const T0 = 1_700_000_000_000;
const silent = pino({ level: 'silent' });

function batch(values: string[], timestamp = T0): Buffer {
  return buildRecordBatch(values.map((value) => ({ key: null, value: Buffer.from(value), timestamp })));
}

function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function allValues(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const records = decodeRecords((await log.read(offset, 1, true)).records);
    out.push(...records.map((r) => `${r.offset}:${r.value!.toString()}`));
    offset = records[records.length - 1]!.offset + 1;
  }
  return out;
}

const SMALL: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 2000, indexIntervalBytes: 200 };

test('appends made while a write is in flight keep call order and contiguous offsets; flush.messages=1 group-commits', async () => {
  for (const config of [SMALL, { ...SMALL, flushMessages: 1 }]) {
    const log = await PartitionLog.open(tempDir('log-io'), config, silent, T0);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.appendAsLeader(batch([`${i}a`, `${i}b`]), 1, T0)));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    expect(log.logEndOffset).toBe(400);
    const values = await allValues(log);
    expect(values[0]).toBe('0:0a');
    expect(values[399]).toBe('399:199b');
    expect(log.segmentCount).toBeGreaterThan(5);
    await log.close();
  }
});

test('a read in flight while its segment is deleted (retention, DeleteRecords, truncation) still returns the data it asked for', async () => {
  const log = await PartitionLog.open(tempDir('log-io'), { ...SMALL, retentionMs: -1, retentionBytes: 0 }, silent, T0);
  for (let i = 0; i < 50; i++) await log.appendAsLeader(batch([`v${2 * i}`, `v${2 * i + 1}`]), 1, T0);
  // Odd offsets are inside batches: each read looks its batch up on disk first, then reads it.
  const reads = Array.from({ length: 50 }, (_, i) => log.read(2 * i + 1, 1 << 20, true));
  const deletions = [log.deleteRecordsBefore(40), log.applyRetention(T0), log.truncateTo(90, T0)];
  const done = await Promise.all(reads);
  await Promise.all(deletions);
  done.forEach(({ records }, i) => {
    const decoded = decodeRecords(records);
    expect(decoded.some((r) => r.offset === 2 * i + 1 && r.value!.toString() === `v${2 * i + 1}`)).toBe(true);
  });
  expect(log.logEndOffset).toBe(90);
  expect(log.logStartOffset).toBeGreaterThanOrEqual(40);
  await log.close();
});

test('a clean shutdown makes the next start trust the index files; a damaged index is rebuilt', async () => {
  const dir = tempDir('log-io');
  const log = await PartitionLog.open(dir, SMALL, silent, T0);
  for (let i = 0; i < 300; i++) await log.appendAsLeader(batch([`v${i}`], T0 + i), 1 + Math.floor(i / 100), T0);
  const values = await allValues(log);
  const epochs = log.leaderEpochStartOffsets();
  const segments = log.segmentCount;
  await log.close();
  expect(fs.existsSync(path.join(dir, 'clean-shutdown'))).toBe(true);

  const first = capture();
  const reopened = await PartitionLog.open(dir, SMALL, first.logger, T0);
  const recovered = first.lines().find((line) => line.msg === 'log.recovered')!;
  expect(recovered).toMatchObject({ cleanShutdown: true, trustedSegments: segments - 1, recoveredSegments: 1, indexesRebuilt: [] });
  expect(fs.existsSync(path.join(dir, 'clean-shutdown'))).toBe(false);
  expect(await allValues(reopened)).toEqual(values);
  expect(reopened.leaderEpochStartOffsets()).toEqual(epochs);
  expect(await reopened.offsetForTimestamp(T0 + 150)).toBe(150);
  expect((await reopened.appendAsLeader(batch(['next']), 4, T0)).baseOffset).toBe(300);
  await reopened.close();

  // An index whose last entry points at the wrong batch is not trusted.
  const index = path.join(dir, '00000000000000000000.index');
  const bytes = fs.readFileSync(index);
  bytes.writeUInt32BE(bytes.readUInt32BE(bytes.length - 8) + 1, bytes.length - 8);
  fs.writeFileSync(index, bytes);
  const second = capture();
  const again = await PartitionLog.open(dir, SMALL, second.logger, T0);
  const line = second.lines().find((l) => l.msg === 'log.recovered')!;
  expect(line.indexesRebuilt).toEqual([expect.stringContaining('00000000000000000000')]);
  expect(await allValues(again)).toEqual([...values, '300:next']);
  expect(again.leaderEpochStartOffsets()).toEqual([...epochs, { epoch: 4, startOffset: 300 }]);
  await again.close();
});

test('after a crash, segments below the recovery point are trusted and the rest recovered, epochs intact', async () => {
  const dir = tempDir('log-io');
  const log = await PartitionLog.open(dir, SMALL, silent, T0);
  for (let i = 0; i < 300; i++) await log.appendAsLeader(batch([`v${i}`]), 1 + Math.floor(i / 70), T0);
  // The recovery point follows the rolls in the background: wait until it reaches the active segment.
  const activeBase = Number(fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort().pop()!.slice(0, 20));
  await waitFor('recovery point', () => Number(fs.readFileSync(path.join(dir, 'recovery-point'), 'utf8')) === activeBase, 10_000);
  const crashed = tempDir('log-io-crash');
  fs.cpSync(dir, crashed, { recursive: true });
  const values = await allValues(log);
  const epochs = log.leaderEpochStartOffsets();
  const segments = log.segmentCount;
  await log.close();

  const captured = capture();
  const recovered = await PartitionLog.open(crashed, SMALL, captured.logger, T0);
  expect(captured.lines().find((l) => l.msg === 'log.recovered')).toMatchObject({ cleanShutdown: false, trustedSegments: segments - 1 });
  expect(await allValues(recovered)).toEqual(values);
  expect(recovered.leaderEpochStartOffsets()).toEqual(epochs);
  await recovered.close();

  // Without a recovery point (as written by older versions), everything is recovered.
  fs.rmSync(path.join(crashed, 'recovery-point'));
  fs.rmSync(path.join(crashed, 'clean-shutdown'));
  const again = capture();
  const scanned = await PartitionLog.open(crashed, SMALL, again.logger, T0);
  expect(again.lines().find((l) => l.msg === 'log.recovered')).toMatchObject({ cleanShutdown: false, trustedSegments: 0 });
  expect(await allValues(scanned)).toEqual(values);
  expect(scanned.leaderEpochStartOffsets()).toEqual(epochs);
  await scanned.close();
});

test('calls on a closed log are refused with KAFKA_STORAGE_ERROR', async () => {
  const log = await PartitionLog.open(tempDir('log-io'), SMALL, silent, T0);
  await log.appendAsLeader(batch(['x']), 0, T0);
  await log.close();
  await expect(log.appendAsLeader(batch(['y']), 0, T0)).rejects.toMatchObject({ kafkaErrorCode: 56 });
  await expect(log.read(0, 100, true)).rejects.toMatchObject({ kafkaErrorCode: 56 });
});

test('CRC-32C: the native and JavaScript implementations agree at every length', () => {
  const data = Buffer.alloc(70_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff;
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  for (const length of [0, 1, 7, 8, 100, 255, 256, 257, 1000, 4096, 65_536, 70_000]) {
    for (const start of [0, 3]) {
      const end = Math.min(data.length, start + length);
      expect([length, start, crc32c(data, start, end)]).toEqual([length, start, crc32cJs(data, start, end)]);
    }
  }
});

describe('closing an empty log', () => {
  test('is clean: empty indexes are written, the clean-shutdown marker is there', async () => {
    const dir = tempDir('empty-close');
    const log = await PartitionLog.open(dir, DEFAULT_LOG_CONFIG, silent, T0);
    await log.close();
    expect(fs.existsSync(path.join(dir, 'clean-shutdown'))).toBe(true);
    expect(fs.statSync(path.join(dir, '00000000000000000000.index')).size).toBe(0);
  });
});

describe('offsets past 2^32', () => {
  test('are written into batches exactly (the two 32-bit halves)', async () => {
    const log = await PartitionLog.open(tempDir('big-offsets'), DEFAULT_LOG_CONFIG, silent, T0);
    const start = 2 ** 32 + 5;
    await log.truncateFullyAndStartAt(start, T0);
    const appended = await log.appendAsLeader(buildRecordBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]), 0, T0);
    expect(appended.baseOffset).toBe(start);
    const { records } = await log.read(start + 1, 1 << 20, true);
    expect(decodeRecords(records).map((r) => [r.offset, r.value!.toString()])).toEqual([[start, 'a'], [start + 1, 'b']]);
    await log.close();
  });
});
