/**
 * Micro-benchmark of the partition log alone (no network): appends 64 KiB batches of 1 KiB
 * records to a PartitionLog with a few appends in flight, as a busy partition sees them, then
 * reads everything back in 1 MiB fetches, and prints MB/s for each (one JSON line each).
 * Also times CRC-32C over the same batches (the validation cost on every produce).
 *
 *   node dist/scripts/bench-log.js [--bytes N] [--in-flight N] [--flush-messages N] [--dir DIR]
 *
 * The directory is a fresh temporary one (removed at the end) unless --dir is given.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import pino from 'pino';
import { crc32c } from '../shared/kafka/crc32c';
import { buildRecordBatch } from '../shared/kafka/record-batch';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../broker/log/partition-log';

const RECORD_BYTES = 1024;
const BATCH_RECORDS = 63; // 63 records of 1 KiB plus headers: just under 64 KiB
const DEFAULT_TOTAL_BYTES = 1024 * 1024 * 1024;
const DEFAULT_IN_FLIGHT = 8;
const SEGMENT_BYTES = 256 * 1024 * 1024;
const FETCH_BYTES = 1024 * 1024;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function makeBatch(seed: number): Buffer {
  const value = Buffer.alloc(RECORD_BYTES, seed % 251);
  return buildRecordBatch(Array.from({ length: BATCH_RECORDS }, () => ({ key: null, value, timestamp: Date.now() })));
}

async function main(): Promise<void> {
  const totalBytes = option('bytes', DEFAULT_TOTAL_BYTES);
  const inFlight = Math.max(1, option('in-flight', DEFAULT_IN_FLIGHT));
  const flushMessages = option('flush-messages', Number.POSITIVE_INFINITY);
  const dirAt = process.argv.indexOf('--dir');
  const dir = dirAt >= 0 ? process.argv[dirAt + 1]! : fs.mkdtempSync(path.join(os.tmpdir(), 'bench-log-'));
  const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: SEGMENT_BYTES, flushMessages, retentionMs: -1 };
  const log = await PartitionLog.open(dir, config, pino({ level: 'silent' }), Date.now());

  // A pool of distinct buffers: an append owns its buffer until it resolves (offsets are written into it).
  const pool = Array.from({ length: inFlight }, (_, i) => makeBatch(i));
  const batchBytes = pool[0]!.length;
  const batches = Math.ceil(totalBytes / batchBytes);

  const crcStarted = performance.now();
  let crcBytes = 0;
  for (let i = 0; i < Math.min(batches, 4096); i++) {
    const batch = pool[i % pool.length]!;
    crc32c(batch, 21, batch.length);
    crcBytes += batch.length;
  }
  const crcMs = performance.now() - crcStarted;
  console.log(JSON.stringify({ workload: 'crc32c', MBps: Math.round(crcBytes / 1e6 / (crcMs / 1000)) }));

  let next = 0;
  let maxLoopLagMs = 0;
  let lastTick = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    maxLoopLagMs = Math.max(maxLoopLagMs, now - lastTick - 10);
    lastTick = now;
  }, 10);
  const started = performance.now();
  const worker = async (slot: number): Promise<void> => {
    while (next < batches) {
      next++;
      await log.appendAsLeader(pool[slot]!, 0, Date.now());
    }
  };
  await Promise.all(pool.map((_, slot) => worker(slot)));
  const appendMs = performance.now() - started;
  clearInterval(lagTimer);
  // A run that never let the timer fire (synchronous appends) blocked the loop throughout.
  maxLoopLagMs = Math.max(maxLoopLagMs, performance.now() - lastTick - 10);
  const written = batches * batchBytes;
  console.log(JSON.stringify({ workload: 'append', batches, batchBytes, inFlight, flushMessages, MBps: Math.round(written / 1e6 / (appendMs / 1000)), maxEventLoopLagMs: Math.round(maxLoopLagMs) }));

  const readStarted = performance.now();
  let readBytes = 0;
  for (let offset = 0; offset < log.logEndOffset; ) {
    const { records } = await log.read(offset, FETCH_BYTES, true);
    if (records.length === 0) break;
    readBytes += records.length;
    // The next offset: after the last whole batch read (baseOffset + lastOffsetDelta + 1).
    let position = 0;
    let last = offset;
    while (position < records.length) {
      last = Number(records.readBigInt64BE(position)) + records.readInt32BE(position + 23) + 1;
      position += 12 + records.readInt32BE(position + 8);
    }
    offset = last;
  }
  const readMs = performance.now() - readStarted;
  console.log(JSON.stringify({ workload: 'read', fetchBytes: FETCH_BYTES, MBps: Math.round(readBytes / 1e6 / (readMs / 1000)) }));

  await log.close();
  if (dirAt < 0) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
