/**
 * A partition's log: a directory of segments (segment.ts), the log start and end offsets,
 * retention, recovery and the leader-epoch cache that replication will use to truncate
 * divergent suffixes. No timers inside: the broker calls applyRetention / flushIfDue on its
 * own schedule, and time comes in as `now`.
 *
 * Appends are synchronous: the bytes are in the file (the OS page cache) before append
 * returns, so a process crash (SIGKILL) never loses an acknowledged batch. Surviving a machine
 * crash needs fsync: flush.messages / flush.ms (off by default, as in Kafka).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../shared/logging';
import { KafkaError } from '../../shared/kafka/errors';
import { BASE_OFFSET, PARTITION_LEADER_EPOCH, RecordBatchError, validateBatches } from '../../shared/kafka/record-batch';
import { BatchLocation, Segment, SEGMENT_POSITION_MAX } from './segment';

export interface LogConfig {
  segmentBytes: number;
  /** -1: keep for ever. */
  retentionMs: number;
  /** -1: no size limit. */
  retentionBytes: number;
  maxMessageBytes: number;
  /** fsync after this many records (Kafka's flush.messages); Infinity = never by count. */
  flushMessages: number;
  /** fsync when the oldest unflushed append is this old (flush.ms); Infinity = never by time. */
  flushMs: number;
  indexIntervalBytes: number;
}

/** Kafka's defaults. */
export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  maxMessageBytes: 1_048_588,
  flushMessages: Number.POSITIVE_INFINITY,
  flushMs: Number.POSITIVE_INFINITY,
  indexIntervalBytes: 4096,
});

export class OffsetOutOfRangeError extends RecordBatchError {
  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super(KafkaError.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
  }
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** -1: CreateTime topics only (LogAppendTime is not offered). */
  logAppendTime: -1;
}

export interface ReadResult {
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
}

const LOG_START_FILE = 'log-start-offset';
const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';

export class PartitionLog {
  private segments: Segment[] = [];
  private startOffset = 0;
  private unflushedMessages = 0;
  private firstUnflushedAt = -1;
  /** [epoch, startOffset] pairs, increasing. */
  private epochs: Array<{ epoch: number; startOffset: number }> = [];

  private constructor(
    readonly dir: string,
    private config: LogConfig,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, config: LogConfig, logger: Logger, now: number): Promise<PartitionLog> {
    fs.mkdirSync(dir, { recursive: true });
    const log = new PartitionLog(dir, config, logger.child({ component: 'log', dir: path.basename(dir) }));
    log.load(now);
    return log;
  }

  private load(now: number): void {
    fs.rmSync(path.join(this.dir, `${LEADER_EPOCH_FILE}.tmp`), { force: true });
    fs.rmSync(path.join(this.dir, `${LOG_START_FILE}.tmp`), { force: true });
    const bases = fs
      .readdirSync(this.dir)
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b);
    let truncatedBytes = 0;
    bases.forEach((base, index) => {
      const opened = Segment.open(this.dir, base, this.config.indexIntervalBytes, index === bases.length - 1);
      truncatedBytes += opened.truncatedBytes;
      this.segments.push(opened.segment);
    });
    if (this.segments.length === 0) this.segments.push(Segment.create(this.dir, 0, this.config.indexIntervalBytes, now));
    this.startOffset = this.segments[0]!.baseOffset;
    const saved = readNumber(path.join(this.dir, LOG_START_FILE));
    if (saved !== null && saved > this.startOffset && saved <= this.logEndOffset) this.startOffset = saved;
    const checkpointed = this.readEpochCheckpoint();
    this.rebuildEpochs();
    this.logger[truncatedBytes > 0 ? 'warn' : 'info'](
      {
        segments: this.segments.length,
        logStartOffset: this.startOffset,
        logEndOffset: this.logEndOffset,
        truncatedBytes,
        activeSegment: this.active.baseOffset,
        leaderEpochs: this.epochs.length,
        epochCheckpointMatched: checkpointed === JSON.stringify(this.epochs),
        at: now,
      },
      'log.recovered',
    );
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get sizeInBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  /**
   * Validates the batches, gives them the next offsets and the leader epoch (rewriting bytes
   * 0-7 and 12-15 in place: not covered by the CRC), and appends them. `records` is modified:
   * after the call it holds exactly the stored bytes. Written to the segment file before return.
   */
  appendAsLeader(records: Buffer, leaderEpoch: number, now: number): AppendResult {
    const { batches } = validateBatches(records, this.config.maxMessageBytes);
    const baseOffset = this.logEndOffset;
    let next = baseOffset;
    const locations: BatchLocation[] = batches.map((batch) => {
      records.writeBigInt64BE(BigInt(next), batch.position + BASE_OFFSET);
      records.writeInt32BE(leaderEpoch, batch.position + PARTITION_LEADER_EPOCH);
      const location = { baseOffset: next, lastOffset: next + batch.lastOffsetDelta, position: batch.position, size: batch.size, maxTimestamp: batch.maxTimestamp, leaderEpoch };
      next += batch.lastOffsetDelta + 1;
      return location;
    });
    this.write(records, locations, baseOffset, now);
    return { baseOffset, lastOffset: next - 1, logAppendTime: -1 };
  }

  /** Appends batches copied from the leader, keeping their offsets (replication). */
  appendAsFollower(records: Buffer, now: number): AppendResult {
    const { batches } = validateBatches(records, SEGMENT_POSITION_MAX);
    const first = batches[0]!;
    if (first.baseOffset !== this.logEndOffset) {
      throw new RecordBatchError(KafkaError.OFFSET_OUT_OF_RANGE, `follower append at ${first.baseOffset}, log ends at ${this.logEndOffset}`);
    }
    for (let i = 1; i < batches.length; i++) {
      const previous = batches[i - 1]!;
      if (batches[i]!.baseOffset !== previous.baseOffset + previous.lastOffsetDelta + 1) {
        throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `follower batch at ${batches[i]!.baseOffset} does not follow ${previous.baseOffset + previous.lastOffsetDelta}`);
      }
    }
    const locations = batches.map((batch) => ({ baseOffset: batch.baseOffset, lastOffset: batch.baseOffset + batch.lastOffsetDelta, position: batch.position, size: batch.size, maxTimestamp: batch.maxTimestamp, leaderEpoch: batch.partitionLeaderEpoch }));
    const last = locations[locations.length - 1]!;
    this.write(records, locations, first.baseOffset, now);
    return { baseOffset: first.baseOffset, lastOffset: last.lastOffset, logAppendTime: -1 };
  }

  private write(records: Buffer, locations: BatchLocation[], baseOffset: number, now: number): void {
    const lastOffset = locations[locations.length - 1]!.lastOffset;
    const segmentBytes = Math.min(this.config.segmentBytes, SEGMENT_POSITION_MAX);
    const full = this.active.size + records.length > segmentBytes || lastOffset - this.active.baseOffset > SEGMENT_POSITION_MAX;
    if (this.active.size > 0 && full) this.roll(baseOffset, now);
    this.active.append(records, locations, now);
    for (const location of locations) {
      this.noteEpoch(location.leaderEpoch, location.baseOffset);
      this.unflushedMessages += location.lastOffset - location.baseOffset + 1;
    }
    if (this.firstUnflushedAt < 0) this.firstUnflushedAt = now;
    if (this.unflushedMessages >= this.config.flushMessages) this.flush();
    else this.flushIfDue(now);
  }

  private roll(baseOffset: number, now: number): void {
    this.active.flush();
    this.active.saveIndexes();
    this.segments.push(Segment.create(this.dir, baseOffset, this.config.indexIntervalBytes, now));
    this.logger.info({ baseOffset, segments: this.segments.length }, 'log.rolled');
  }

  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` (at least one whole
   * batch with `minOneBatch`, as Kafka does), never past `upTo` (the high watermark).
   */
  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean, upTo = this.logEndOffset): ReadResult {
    const result = (records: Buffer): ReadResult => ({ records, logStartOffset: this.startOffset, logEndOffset: this.logEndOffset });
    if (!(fetchOffset >= this.startOffset && fetchOffset <= this.logEndOffset)) throw new OffsetOutOfRangeError(fetchOffset, this.startOffset, this.logEndOffset);
    // A negative or non-numeric limit reads nothing (or the one batch minOneBatch allows), never everything.
    const limit = Number.isFinite(maxBytes) && maxBytes > 0 ? Math.floor(maxBytes) : 0;
    if (fetchOffset >= upTo || (limit === 0 && !minOneBatch)) return result(Buffer.alloc(0));
    const index = this.segmentIndexFor(fetchOffset);
    for (let i = index; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const location = segment.findBatch(fetchOffset);
      if (location === null) continue;
      if (location.baseOffset >= upTo) return result(Buffer.alloc(0));
      const data = segment.read(location.position, limit, minOneBatch);
      return result(this.cutAt(data, upTo));
    }
    return result(Buffer.alloc(0));
  }

  /** Drops batches at or past `upTo` from a read. */
  private cutAt(data: Buffer, upTo: number): Buffer {
    if (upTo >= this.logEndOffset) return data;
    let position = 0;
    while (position + 12 <= data.length) {
      if (Number(data.readBigInt64BE(position)) >= upTo) break;
      position += 12 + data.readInt32BE(position + 8);
    }
    return data.subarray(0, Math.min(position, data.length));
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The base offset of the first batch whose max timestamp is >= `timestamp`, or null (batch granularity). */
  offsetForTimestamp(timestamp: number): number | null {
    for (const segment of this.segments) {
      const location = segment.findByTimestamp(timestamp);
      if (location !== null) return Math.max(location.baseOffset, this.startOffset);
    }
    return null;
  }

  /** Deletes whole segments (never the active one) past retention.ms or beyond retention.bytes. */
  applyRetention(now: number): { deletedSegments: number; logStartOffset: number } {
    let deleted = 0;
    let total = this.sizeInBytes;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      // Kafka's rule: the segment's largest timestamp, or its last modification when it has none.
      const newest = oldest.maxTimestamp >= 0 ? oldest.maxTimestamp : oldest.lastModifiedMs;
      const expired = this.config.retentionMs >= 0 && now - newest > this.config.retentionMs;
      const tooBig = this.config.retentionBytes >= 0 && total - oldest.size >= this.config.retentionBytes;
      if (!expired && !tooBig) break;
      total -= oldest.size;
      this.dropOldest();
      deleted++;
    }
    if (deleted > 0) this.logger.info({ deletedSegments: deleted, logStartOffset: this.startOffset }, 'log.retention');
    return { deletedSegments: deleted, logStartOffset: this.startOffset };
  }

  private dropOldest(): void {
    const oldest = this.segments.shift()!;
    oldest.remove();
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    this.saveStartOffset();
  }

  /** DeleteRecords: moves the log start offset forward (whole segments below it are removed). */
  deleteRecordsBefore(offset: number): number {
    if (offset > this.logEndOffset || offset < 0) throw new OffsetOutOfRangeError(offset, this.startOffset, this.logEndOffset);
    if (offset <= this.startOffset) return this.startOffset;
    this.startOffset = offset;
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset) this.dropOldest();
    this.startOffset = offset;
    this.saveStartOffset();
    return this.startOffset;
  }

  /**
   * Removes every batch that holds an offset at or after `offset` (replication: a follower
   * cutting a divergent suffix). As in Kafka the cut is at a batch boundary, so a batch that
   * straddles `offset` goes too and the log may end below `offset`; the follower fetches it
   * again from the leader. Below the first segment, the log is emptied and restarts at `offset`.
   */
  truncateTo(offset: number, now = 0): void {
    if (offset >= this.logEndOffset) return;
    if (offset <= this.segments[0]!.baseOffset) {
      this.truncateFullyAndStartAt(Math.max(0, offset), now);
      return;
    }
    while (this.segments.length > 1 && this.active.baseOffset >= offset) this.segments.pop()!.remove();
    const segment = this.active;
    const location = segment.findBatch(offset);
    segment.truncateAt(location === null ? segment.size : location.position);
    if (this.logEndOffset < this.startOffset) {
      this.startOffset = this.logEndOffset;
      this.saveStartOffset();
    }
    this.epochs = this.epochs.filter((entry) => entry.startOffset < this.logEndOffset);
    this.saveEpochs();
    this.logger.warn({ offset, logEndOffset: this.logEndOffset }, 'log.truncated');
  }

  /** Drops every segment and starts an empty log at `offset`. */
  truncateFullyAndStartAt(offset: number, now: number): void {
    for (const segment of this.segments) segment.remove();
    this.segments = [Segment.create(this.dir, offset, this.config.indexIntervalBytes, now)];
    this.active.nextOffset = offset;
    this.startOffset = offset;
    this.saveStartOffset();
    this.epochs = [];
    this.saveEpochs();
    this.logger.warn({ offset }, 'log.truncated_fully');
  }

  // -------------------------------------------------------------------------
  // Leader epochs

  leaderEpochStartOffsets(): Array<{ epoch: number; startOffset: number }> {
    return this.epochs.map((entry) => ({ ...entry }));
  }

  /** The end offset of `epoch` on this log: the start of the next higher epoch, or the log end. */
  endOffsetForEpoch(epoch: number): number {
    const next = this.epochs.find((entry) => entry.epoch > epoch);
    return next === undefined ? this.logEndOffset : next.startOffset;
  }

  private noteEpoch(epoch: number, startOffset: number): void {
    if (this.noteEpochInMemory(epoch, startOffset)) this.saveEpochs();
  }

  private noteEpochInMemory(epoch: number, startOffset: number): boolean {
    const last = this.epochs[this.epochs.length - 1];
    if (epoch < 0 || (last !== undefined && last.epoch >= epoch)) return false;
    this.epochs.push({ epoch, startOffset });
    return true;
  }

  /**
   * The epoch cache is rebuilt from the batches themselves (every batch carries its leader
   * epoch and the scan at open reads every header anyway), so a crash between an append and
   * the checkpoint write cannot lose an entry. The checkpoint file is then rewritten.
   */
  private rebuildEpochs(): void {
    this.epochs = [];
    for (const segment of this.segments) {
      for (const entry of segment.epochStarts()) this.noteEpochInMemory(entry.epoch, entry.startOffset);
    }
    this.saveEpochs();
  }

  private readEpochCheckpoint(): string | null {
    try {
      return fs.readFileSync(path.join(this.dir, LEADER_EPOCH_FILE), 'utf8');
    } catch {
      return null;
    }
  }

  private saveEpochs(): void {
    writeAtomically(path.join(this.dir, LEADER_EPOCH_FILE), JSON.stringify(this.epochs));
  }

  private saveStartOffset(): void {
    writeAtomically(path.join(this.dir, LOG_START_FILE), String(this.startOffset));
  }

  // -------------------------------------------------------------------------

  flush(): void {
    this.active.flush();
    this.unflushedMessages = 0;
    this.firstUnflushedAt = -1;
  }

  /** fsync when flush.ms has passed since the oldest unflushed append. */
  flushIfDue(now: number): void {
    if (this.firstUnflushedAt >= 0 && now - this.firstUnflushedAt >= this.config.flushMs) this.flush();
  }

  /** Clean shutdown: fsync the active segment (as Kafka does) and write the indexes. */
  close(): void {
    this.active.flush();
    for (const segment of this.segments) segment.close();
  }

  async delete(): Promise<void> {
    for (const segment of this.segments) segment.remove();
    this.segments = [];
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}

function readNumber(file: string): number | null {
  try {
    const value = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.tmp`;
  fs.writeFileSync(temporary, content);
  fs.renameSync(temporary, file);
}
