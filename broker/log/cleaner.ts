/**
 * The log cleaner: compacts the closed segments of cleanup.policy=compact logs, one log per
 * pass (the broker's timer calls runPass), so a pass does bounded work: at most the offset
 * map's worth of dirty segments, plus the clean ones before them.
 *
 * A pass (Kafka's LogCleaner.doClean): reads the cleaner checkpoint (where the last pass
 * stopped), asks compaction-plan.ts whether the log is due (dirty ratio, compaction lag, the
 * high watermark, never the active segment), builds the offset map over as many whole dirty
 * segments as fit, then rewrites each segment from the log start to the end of the mapped
 * ones: surviving batches are copied byte for byte; a batch that loses records is rebuilt
 * from its surviving records' own bytes (offset and timestamp deltas kept, same baseOffset,
 * producer fields and partitionLeaderEpoch), recompressed with its own codec
 * (shared/kafka/compression.ts); an emptied batch disappears (offsets keep their gaps). Each
 * rewritten segment is written to `<base>.log.cleaned`, fsynced, and handed to
 * PartitionLog.replaceCompacted, which swaps it in under the log's lock (crash-safe: see
 * partition-log.ts) and logs log.compacted. Control and transactional batches stay as they
 * are. The leader-epoch cache is not touched: offsets do not move.
 *
 * Records are parsed here rather than with decodeRecords: the rebuild copies each surviving
 * record's bytes as they are (no re-encoding), which needs their byte ranges.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../shared/logging';
import { compress, decompress } from '../../shared/kafka/compression';
import { crc32c } from '../../shared/kafka/crc32c';
import {
  ATTRIBUTES,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  BatchInfo,
  CONTROL_BIT,
  CRC,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  HEADER_SIZE,
  iterateBatches,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAX_TIMESTAMP,
  RECORD_COUNT,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from '../../shared/kafka/record-batch';
import { cleanableRange, CompactionSettings, DELETE_HORIZON_BIT, OffsetMap, PlanBatch, planBatch } from './compaction-plan';
import { writeFileAtomically } from './file-io';
import { CLEANED_SUFFIX, PartitionLog } from './partition-log';
import type { Segment } from './segment';

/** Per log directory: the offset where the last pass stopped (Kafka keeps one such file per data directory). */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

export interface CleanerLimits {
  /** Keys in the offset map at most (Kafka's dedupe buffer: 128 MiB, 24 bytes a key). A JS map costs ~100 bytes a key plus the key. */
  offsetMapKeysMax: number;
  /** Segments are read in chunks of this size. */
  readChunkBytes: number;
  /** Cleaned bytes are written in chunks of this size. */
  writeChunkBytes: number;
  maxDecompressedBytes: number;
}

export const CLEANER_DEFAULTS: Readonly<CleanerLimits> = Object.freeze({
  offsetMapKeysMax: 500_000,
  readChunkBytes: 4 * 1024 * 1024,
  writeChunkBytes: 1024 * 1024,
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
});

export interface CleanResult {
  segmentsRewritten: number;
  segmentsRemoved: number;
  recordsBefore: number;
  recordsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  dirtyRatio: number;
  /** The new checkpoint: the first offset the next pass treats as dirty. */
  cleanedUpTo: number;
  ms: number;
}

export interface CleanTarget {
  log: PartitionLog;
  topic: string;
  partition: number;
  /** Nothing at or above this offset is cleaned (the partition's high watermark). */
  upTo: number;
}

/**
 * Cleans one due log per pass, taking the logs in turn (a log that was not due lets the next
 * one run in the same pass). Holds the checkpoints in memory after their first read.
 */
export class LogCleaner {
  /** Per log object (a recreated topic's new log starts without one). */
  private readonly checkpoints = new WeakMap<PartitionLog, number>();
  private cursor = 0;

  constructor(
    private readonly logger: Logger,
    private readonly limits: Readonly<CleanerLimits> = CLEANER_DEFAULTS,
  ) {}

  async runPass(targets: readonly CleanTarget[], now: number): Promise<CleanResult | null> {
    const compacted = targets.filter((target) => target.log.compaction !== null && !target.log.offline);
    for (let tried = 0; tried < compacted.length; tried++) {
      const target = compacted[(this.cursor + tried) % compacted.length]!;
      try {
        const result = await this.clean(target, now);
        if (result !== null) {
          this.cursor = (this.cursor + tried + 1) % compacted.length;
          return result;
        }
      } catch (error) {
        this.logger.error({ topic: target.topic, partition: target.partition, err: error instanceof Error ? error.message : String(error) }, 'log.cleaner_failed');
      }
    }
    return null;
  }

  /** One pass over one log, or null when it was not due. */
  async clean(target: CleanTarget, now: number): Promise<CleanResult | null> {
    const { log } = target;
    const settings = log.compaction;
    if (settings === null) return null;
    const started = performance.now();
    const view = log.cleanerView();
    const checkpoint = await this.checkpoint(log);
    const segments = view.segments;
    const range = cleanableRange({
      segments,
      firstDirtyOffset: Math.max(checkpoint ?? view.logStartOffset, view.logStartOffset),
      upTo: Math.min(target.upTo, view.syncedUpTo),
      now,
      settings,
    });
    if (!range.due) return null;
    // The offset map over as many whole dirty segments as fit (at least one).
    const map = new OffsetMap(this.limits.offsetMapKeysMax);
    let mappedEnd = range.firstDirtyIndex;
    for (let index = range.firstDirtyIndex; index < range.firstUncleanableIndex; index++) {
      const segment = segments[index]!;
      const local = new OffsetMap(Number.POSITIVE_INFINITY);
      for await (const batch of this.planBatches(segment, segment.size)) if (batch.plan !== null) local.addBatch(batch.plan);
      if (index > range.firstDirtyIndex && !map.hasRoomFor(local.size)) break;
      map.absorb(local);
      mappedEnd = index + 1;
    }
    const where = { topic: target.topic, partition: target.partition };
    const result: CleanResult = { segmentsRewritten: 0, segmentsRemoved: 0, recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0, dirtyRatio: range.dirtyRatio, cleanedUpTo: segments[mappedEnd]!.baseOffset, ms: 0 };
    for (let index = 0; index < mappedEnd; index++) {
      const segment = segments[index]!;
      const outcome = await this.rewrite(log, segment, map, settings, now, where);
      result.recordsBefore += outcome.recordsBefore;
      result.recordsAfter += outcome.recordsAfter;
      result.bytesBefore += outcome.bytesBefore;
      result.bytesAfter += outcome.bytesAfter;
      if (outcome.replaced) {
        result.segmentsRewritten++;
        if (outcome.removed) result.segmentsRemoved++;
      }
    }
    await writeFileAtomically(path.join(log.dir, CLEANER_CHECKPOINT_FILE), String(result.cleanedUpTo), true);
    this.checkpoints.set(log, result.cleanedUpTo);
    result.ms = Math.round(performance.now() - started);
    const seconds = Math.max(result.ms, 1) / 1000;
    this.logger.info({ ...where, ...result, mbPerSecond: Math.round((result.bytesBefore / 1e6 / seconds) * 10) / 10 }, 'log.cleaned');
    return result;
  }

  private async checkpoint(log: PartitionLog): Promise<number | null> {
    const known = this.checkpoints.get(log);
    if (known !== undefined) return known;
    try {
      const value = Number((await fs.promises.readFile(path.join(log.dir, CLEANER_CHECKPOINT_FILE), 'utf8')).trim());
      if (!Number.isSafeInteger(value) || value < 0) return null;
      this.checkpoints.set(log, value);
      return value;
    } catch {
      return null;
    }
  }

  /** Every batch of the segment's first `size` bytes, with its plan input (null plan: kept as it is). */
  private async *planBatches(segment: Segment, size: number): AsyncGenerator<ReadBatch> {
    let position = 0;
    while (position < size) {
      const data = await segment.read(position, Math.min(this.limits.readChunkBytes, size - position), true);
      if (data.length === 0) break;
      let consumed = 0;
      for (const info of iterateBatches(data)) {
        if (position + info.position + info.size > size) break;
        consumed = info.position + info.size;
        const bytes = data.subarray(info.position, info.position + info.size);
        yield this.toPlan(bytes, info);
      }
      if (consumed === 0) break;
      position += consumed;
    }
  }

  private toPlan(bytes: Buffer, info: BatchInfo): ReadBatch {
    const control = (info.attributes & CONTROL_BIT) !== 0;
    const transactional = (info.attributes & TRANSACTIONAL_BIT) !== 0;
    if (control || transactional) return { bytes, info, plan: null, body: bytes, records: [] };
    let body: Buffer = bytes.subarray(HEADER_SIZE);
    try {
      if (info.compression !== 'none') body = decompress(info.compression, body, this.limits.maxDecompressedBytes);
      const records = parseRecords(body, info);
      const plan: PlanBatch = {
        baseOffset: info.baseOffset,
        control,
        transactional,
        deleteHorizonMs: (info.attributes & DELETE_HORIZON_BIT) !== 0 ? info.baseTimestamp : null,
        records: records.map((record) => ({ offset: info.baseOffset + record.offsetDelta, key: record.key === null ? null : record.key.toString('latin1'), tombstone: record.tombstone })),
      };
      return { bytes, info, plan, body, records };
    } catch (error) {
      // Stored batches passed validation; one that no longer parses is kept as it is, not judged.
      this.logger.warn({ baseOffset: info.baseOffset, err: error instanceof Error ? error.message : String(error) }, 'log.cleaner_batch_unreadable');
      return { bytes, info, plan: null, body: bytes, records: [] };
    }
  }

  private async rewrite(
    log: PartitionLog,
    segment: Segment,
    map: OffsetMap,
    settings: CompactionSettings,
    now: number,
    where: { topic: string; partition: number },
  ): Promise<{ replaced: boolean; removed: boolean; recordsBefore: number; recordsAfter: number; bytesBefore: number; bytesAfter: number }> {
    const readSize = segment.size;
    const file = `${segment.logPath}${CLEANED_SUFFIX}`;
    const counts = { recordsBefore: 0, recordsAfter: 0, bytesBefore: readSize, bytesAfter: 0 };
    let changed = false;
    const handle = await fs.promises.open(file, 'w');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      await handle.writev(pending);
      pending = [];
      pendingBytes = 0;
    };
    const emit = async (bytes: Buffer): Promise<void> => {
      pending.push(bytes);
      pendingBytes += bytes.length;
      counts.bytesAfter += bytes.length;
      if (pendingBytes >= this.limits.writeChunkBytes) await flush();
    };
    try {
      for await (const batch of this.planBatches(segment, readSize)) {
        counts.recordsBefore += batch.info.recordCount;
        if (batch.plan === null) {
          counts.recordsAfter += batch.info.recordCount;
          await emit(batch.bytes);
          continue;
        }
        const { body, records } = batch;
        const decision = planBatch(batch.plan, map, { now, deleteRetentionMs: settings.deleteRetentionMs });
        if (decision.action === 'keep') {
          counts.recordsAfter += batch.info.recordCount;
          await emit(batch.bytes);
        } else if (decision.action === 'drop') {
          changed = true;
        } else {
          changed = true;
          counts.recordsAfter += decision.keep.length;
          await emit(await rebuildBatch(batch.bytes, batch.info, body, records, decision.keep, decision.deleteHorizonMs));
        }
      }
      await flush();
      if (changed) await handle.datasync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fs.promises.rm(file, { force: true });
      throw error;
    }
    await handle.close();
    if (!changed) {
      await fs.promises.rm(file, { force: true });
      return { replaced: false, removed: false, ...counts };
    }
    const empty = counts.bytesAfter === 0;
    if (empty) await fs.promises.rm(file, { force: true });
    const details = { ...where, recordsBefore: counts.recordsBefore, recordsAfter: counts.recordsAfter, bytesBefore: counts.bytesBefore, bytesAfter: counts.bytesAfter };
    const replaced = await log.replaceCompacted(segment, readSize, empty ? null : file, details);
    return { replaced, removed: replaced && empty, ...counts };
  }
}

// ---------------------------------------------------------------------------
// Records: byte ranges of each record in a batch's (decompressed) body

/** A batch as read: its bytes, and (plan not null) its records decompressed and parsed for the planner. */
interface ReadBatch {
  bytes: Buffer;
  info: BatchInfo;
  /** Null: the batch is kept as it is (control, transactional, unreadable). */
  plan: PlanBatch | null;
  body: Buffer;
  records: RawRecord[];
}

export interface RawRecord {
  /** Where its length prefix starts and where it ends. */
  start: number;
  end: number;
  /** Where its attributes byte is (just after the length prefix). */
  attributesAt: number;
  /** Where the offset delta starts (just after the timestamp delta). */
  afterTimestamp: number;
  timestamp: number;
  offsetDelta: number;
  key: Buffer | null;
  tombstone: boolean;
}

export function parseRecords(body: Buffer, info: BatchInfo): RawRecord[] {
  const cursor = { at: 0 };
  const out: RawRecord[] = [];
  for (let index = 0; index < info.recordCount; index++) {
    const start = cursor.at;
    const length = readVarint(body, cursor);
    const attributesAt = cursor.at;
    const end = attributesAt + length;
    if (length <= 0 || end > body.length) throw new Error(`record ${index} overruns the batch`);
    cursor.at++;
    const timestampDelta = readVarint(body, cursor);
    const afterTimestamp = cursor.at;
    const offsetDelta = readVarint(body, cursor);
    const keyLength = readVarint(body, cursor);
    const key = keyLength < 0 ? null : body.subarray(cursor.at, cursor.at + keyLength);
    if (keyLength > 0) cursor.at += keyLength;
    const valueLength = readVarint(body, cursor);
    if (cursor.at > end) throw new Error(`record ${index} fields overrun it`);
    out.push({ start, end, attributesAt, afterTimestamp, timestamp: info.baseTimestamp + timestampDelta, offsetDelta, key, tombstone: valueLength < 0 });
    cursor.at = end;
  }
  return out;
}

/** Zigzag varint/varlong as a number (exact below 2^53: every delta here). */
function readVarint(buf: Buffer, cursor: { at: number }): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.at >= buf.length) throw new Error('truncated varint');
    const byte = buf[cursor.at++]!;
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    multiplier *= 0x80;
  }
  throw new Error('varint longer than 10 bytes');
}

function varintBytes(value: number): Buffer {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (zigzag >= 0x80) {
    bytes.push((zigzag % 0x80) | 0x80);
    zigzag = Math.floor(zigzag / 0x80);
  }
  bytes.push(zigzag);
  return Buffer.from(bytes);
}

/**
 * The batch with only the records at `keep`, in its own codec. With a delete horizon newly
 * set, baseTimestamp becomes the horizon and each kept record's timestamp delta is re-encoded
 * against it (the record's timestamp is unchanged); otherwise records are copied as they are.
 */
export async function rebuildBatch(batch: Buffer, info: BatchInfo, body: Buffer, records: readonly RawRecord[], keep: readonly number[], deleteHorizonMs: number | null): Promise<Buffer> {
  const setHorizon = deleteHorizonMs !== null && (info.attributes & DELETE_HORIZON_BIT) === 0;
  const baseTimestamp = setHorizon ? deleteHorizonMs : info.baseTimestamp;
  const parts: Buffer[] = [];
  let maxTimestamp = -1;
  for (const index of keep) {
    const record = records[index]!;
    maxTimestamp = Math.max(maxTimestamp, record.timestamp);
    if (!setHorizon) {
      parts.push(body.subarray(record.start, record.end));
      continue;
    }
    const inner = Buffer.concat([body.subarray(record.attributesAt, record.attributesAt + 1), varintBytes(record.timestamp - baseTimestamp), body.subarray(record.afterTimestamp, record.end)]);
    parts.push(varintBytes(inner.length), inner);
  }
  const payload = Buffer.concat(parts);
  const compressed = info.compression === 'none' ? payload : await compress(info.compression, payload);
  const out = Buffer.allocUnsafe(HEADER_SIZE + compressed.length);
  batch.copy(out, 0, 0, HEADER_SIZE);
  compressed.copy(out, HEADER_SIZE);
  const attributes = info.attributes | (deleteHorizonMs !== null ? DELETE_HORIZON_BIT : 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH);
  out.writeInt16BE(attributes, ATTRIBUTES);
  out.writeInt32BE(records[keep[keep.length - 1]!]!.offsetDelta, LAST_OFFSET_DELTA);
  out.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP);
  // A LogAppendTime batch's records all read its maxTimestamp: it stays.
  if ((attributes & TIMESTAMP_TYPE_BIT) === 0) out.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP);
  out.writeInt32BE(keep.length, RECORD_COUNT);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES, out.length), CRC);
  return out;
}
