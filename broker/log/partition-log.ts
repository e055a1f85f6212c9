/**
 * A partition's log: a directory of segments (segment.ts), the log start and end offsets,
 * retention, recovery and the leader-epoch cache that replication uses to truncate divergent
 * suffixes. No timers inside: the broker calls applyRetention / flushIfDue on its own
 * schedule, and time comes in as `now`.
 *
 * Appends. Validation (CRCs, sizes) is synchronous and a bad batch rejects its append with
 * the log untouched. Valid appends queue; one write is in flight per log. The next write
 * takes the whole queue, assigns offsets at that moment (so a failed write never leaves a gap
 * nor reuses an offset), rewrites baseOffset and partitionLeaderEpoch in the producers' own
 * buffers (bytes the CRC does not cover) and writes them with one positional writev in
 * libuv's pool. An append resolves once its bytes are in the file (the page cache: a SIGKILL
 * loses nothing acknowledged) and, when flush.messages / flush.ms say so, once fsynced; an
 * fsync is a group commit covering every write that finished before it started.
 *
 * A failed write (ENOSPC, EIO) is cut back off so the segment is exactly as before; its
 * appends are rejected with KAFKA_STORAGE_ERROR and the next append tries again (the disk may
 * have room by then). When the cut itself fails, or an fsync fails, the log goes offline as
 * Kafka's does: every call is refused with KAFKA_STORAGE_ERROR until the broker restarts.
 *
 * Start-up (Kafka's scheme). A clean shutdown writes every segment's indexes, the checkpoints
 * and then a `clean-shutdown` marker. At open, non-active segments with a marker present, or
 * wholly below the `recovery-point` checkpoint without one, are trusted: their index files are
 * read after a sanity check, and only what follows the last index entry is scanned. The
 * active segment and everything from the recovery point on are recovered (every batch read
 * and CRC-checked; a torn tail is cut). The recovery point moves up when a rolled segment has
 * been fsynced with its indexes. The leader-epoch cache takes the `leader-epoch-checkpoint`
 * entries for trusted segments and the batches themselves for the rest.
 *
 * Deletions happen only through retention (log.retention), DeleteRecords
 * (log.records_deleted), truncation for replication (log.truncated, log.truncated_fully),
 * compaction (log.compacted: cleaner.ts rewrites closed segments, replaceCompacted swaps them
 * in) and topic deletion (log.deleted), each logged with its own event.
 *
 * Compaction swaps a segment crash-safely (Kafka's scheme): the cleaner writes and fsyncs
 * `<base>.log.cleaned`; under the lock it is renamed to `<base>.log.swap` (the commit point,
 * directory fsynced), the old index files go and the swap file is renamed over `<base>.log`.
 * At open, a `.cleaned` file is an unfinished pass (deleted: the old segment is intact) and a
 * `.swap` file a committed one (completed; its indexes are rebuilt by scanning). Compacted
 * segments end where their last kept batch ends, so segments need not be contiguous: a gap
 * after a segment is a hole (a lost tail) only when that segment may have lost data.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../shared/logging';
import { KafkaError } from '../../shared/kafka/errors';
import { readInt64Number } from '../../shared/kafka/int64';
import { BASE_OFFSET, BatchInfo, PARTITION_LEADER_EPOCH, RecordBatchError, validateBatches } from '../../shared/kafka/record-batch';
import { syncDirectory, writeFileAtomically } from './file-io';
import type { CompactionSettings } from './compaction-plan';
import { BatchLocation, OpenMode, Segment, SEGMENT_POSITION_MAX, segmentName, SegmentWriteError } from './segment';
import { TailCache } from './tail-cache';

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
  /**
   * A write of at most this many bytes goes to the file on the event loop (a copy into the
   * page cache: microseconds) instead of through the I/O thread pool, whose round trip was most
   * of the produce-to-consume latency of small records. Larger writes and every fsync stay off
   * the event loop. 0: every write through the pool.
   */
  inlineWriteBytesMax: number;
  /** cleanup.policy includes 'compact': the cleaner rewrites this log, and records need keys. Absent/null: not compacted. */
  compaction?: CompactionSettings | null;
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
  inlineWriteBytesMax: 16 * 1024,
});

export class OffsetOutOfRangeError extends RecordBatchError {
  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super(KafkaError.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** KAFKA_STORAGE_ERROR: a write or fsync failed, or the log is offline. */
export class LogStorageError extends RecordBatchError {
  constructor(message: string) {
    super(KafkaError.KAFKA_STORAGE_ERROR, message);
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
const RECOVERY_POINT_FILE = 'recovery-point';
const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';
/** Where recovery moves segments it cannot keep in line (after corruption in a non-last segment): kept, never deleted. */
const UNRECOVERED_SUFFIX = '.unrecovered';
/** A compacted segment being written (not yet committed). */
export const CLEANED_SUFFIX = '.cleaned';
/** A compacted segment committed to replace the one of its base offset. */
export const SWAP_SUFFIX = '.swap';
const EMPTY = Buffer.alloc(0);

interface PendingAppend {
  records: Buffer;
  batches: BatchInfo[];
  /** The leader epoch to stamp, or null for a follower append (offsets and epochs kept). */
  leaderEpoch: number | null;
  /** A follower append: the log end offset its fetch was made at (null: unknown, the batches must start there). */
  fetchOffset: number | null;
  now: number;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export class PartitionLog {
  private segments: Segment[] = [];
  private startOffset = 0;
  /** Segments wholly below this offset are fsynced with their index files (trusted after a crash). */
  private recoveryPoint = 0;
  private unflushedMessages = 0;
  private firstUnflushedAt = -1;
  private readonly dirty = new Set<Segment>();
  /** [epoch, startOffset] pairs, increasing. */
  private epochs: Array<{ epoch: number; startOffset: number }> = [];
  private isOffline = false;
  private closing = false;
  private queue: PendingAppend[] = [];
  private drainScheduled = false;
  /** Mutations (writes, rolls, truncations, retention) run one at a time on this chain. */
  private lock: Promise<void> = Promise.resolve();
  /** Roll follow-ups and checkpoint writes, in order, off the append path. */
  private background: Promise<void> = Promise.resolve();
  private syncInFlight: Promise<void> | null = null;
  /** The last appends in memory: tail reads skip the I/O pool. */
  private readonly tail = new TailCache();
  private checkpointTail: Promise<void> = Promise.resolve();
  private checkpointQueued: Promise<void> | null = null;
  private syncQueued: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    private config: LogConfig,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, config: LogConfig, logger: Logger, now: number): Promise<PartitionLog> {
    await fs.promises.mkdir(dir, { recursive: true });
    const log = new PartitionLog(dir, config, logger.child({ dir: path.basename(dir) }));
    await log.load(now);
    return log;
  }

  private async load(now: number): Promise<void> {
    const started = performance.now();
    let names = await fs.promises.readdir(this.dir);
    await Promise.all(names.filter((name) => name.endsWith('.tmp')).map((name) => fs.promises.rm(path.join(this.dir, name), { force: true })));
    if (await this.finishCompaction(names)) names = await fs.promises.readdir(this.dir);
    const bases = names
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b);
    const clean = names.includes(CLEAN_SHUTDOWN_FILE);
    const recoveryPoint = (await readNumber(path.join(this.dir, RECOVERY_POINT_FILE))) ?? 0;
    let truncatedBytes = 0;
    let trusted = 0;
    const distrusted: string[] = [];
    for (let index = 0; index < bases.length; index++) {
      const base = bases[index]!;
      const next = bases[index + 1];
      const trust = next !== undefined && (clean || next <= recoveryPoint);
      const mode: OpenMode = trust ? 'trust-indexes' : 'recover';
      const opened = await Segment.open(this.dir, base, this.config.indexIntervalBytes, mode);
      this.segments.push(opened.segment);
      if (opened.trusted) trusted++;
      if (opened.distrust !== null) distrusted.push(`${opened.segment.name}: ${opened.distrust}`);
      truncatedBytes += opened.truncatedBytes;
      // A segment that was fsynced (trusted) and kept whole may end before the next begins: compaction dropped its last batches.
      const hole = next !== undefined && (opened.segment.nextOffset > next || (opened.segment.nextOffset < next && (!trust || opened.truncatedBytes > 0)));
      if (hole) {
        // A hole before the next segment (a crash lost part of a segment that was not yet
        // fsynced): the later segments cannot follow on. Kafka deletes them; they are set
        // aside instead, never deleted, and the log continues from here.
        const later = bases.slice(index + 1);
        for (const laterBase of later) {
          for (const suffix of ['.log', '.index', '.timeindex']) {
            const file = path.join(this.dir, `${String(laterBase).padStart(20, '0')}${suffix}`);
            await fs.promises.rename(file, `${file}${UNRECOVERED_SUFFIX}`).catch(() => undefined);
          }
        }
        this.logger.error({ segment: opened.segment.name, endsAt: opened.segment.nextOffset, nextSegment: next, setAside: later.length, suffix: UNRECOVERED_SUFFIX }, 'log.recovery_set_aside');
        break;
      }
    }
    if (this.segments.length === 0) this.segments.push(await Segment.create(this.dir, 0, this.config.indexIntervalBytes, now));
    this.startOffset = this.segments[0]!.baseOffset;
    const saved = await readNumber(path.join(this.dir, LOG_START_FILE));
    if (saved !== null && saved > this.startOffset && saved <= this.logEndOffset) this.startOffset = saved;
    await this.loadEpochs();
    // Trusted up to the first segment that had to be recovered; recovered ones become trusted
    // once fsynced with fresh index files (in the background).
    const firstRecovered = this.segments.findIndex((segment) => !segment.indexesSaved);
    this.recoveryPoint = firstRecovered < 0 ? this.active.baseOffset : this.segments[firstRecovered]!.baseOffset;
    if (clean) {
      // Gone for good before anything is appended, so a crash from now on is seen as one.
      await fs.promises.rm(path.join(this.dir, CLEAN_SHUTDOWN_FILE), { force: true });
      await syncDirectory(this.dir);
    }
    await this.writeCheckpoints();
    const recovered = this.segments.slice(0, -1).filter((segment) => !segment.indexesSaved);
    if (recovered.length > 0) {
      this.inBackground('index recovered segments', async () => {
        for (const segment of recovered) {
          if (segment.removed) continue;
          await segment.sync();
          await segment.saveIndexes();
        }
        if (this.segments.slice(0, -1).every((segment) => segment.indexesSaved)) this.recoveryPoint = Math.max(this.recoveryPoint, this.active.baseOffset);
        await this.writeCheckpoints();
      });
    }
    this.logger[truncatedBytes > 0 || distrusted.length > 0 ? 'warn' : 'info'](
      {
        segments: this.segments.length,
        logStartOffset: this.startOffset,
        logEndOffset: this.logEndOffset,
        truncatedBytes,
        activeSegment: this.active.baseOffset,
        leaderEpochs: this.epochs.length,
        cleanShutdown: clean,
        trustedSegments: trusted,
        recoveredSegments: this.segments.length - trusted,
        indexesRebuilt: distrusted,
        ms: Math.round(performance.now() - started),
        at: now,
      },
      'log.recovered',
    );
  }

  /**
   * What a crash left of a compaction: `.cleaned` files (uncommitted) are deleted, `.swap`
   * files (committed) replace their segment. Returns whether anything changed.
   */
  private async finishCompaction(names: string[]): Promise<boolean> {
    let changed = false;
    for (const name of names.filter((entry) => entry.endsWith(CLEANED_SUFFIX))) {
      await fs.promises.rm(path.join(this.dir, name), { force: true });
      this.logger.warn({ file: name }, 'log.compaction_rolled_back');
      changed = true;
    }
    for (const name of names.filter((entry) => /^\d{20}\.log\.swap$/.test(entry))) {
      await completeSwap(this.dir, Number(name.slice(0, 20)));
      this.logger.warn({ file: name, segment: name.slice(0, 20) }, 'log.compaction_swap_completed');
      changed = true;
    }
    if (changed) await syncDirectory(this.dir);
    return changed;
  }

  /**
   * Entries of the checkpoint below the first segment that was scanned (the trusted part),
   * then the epoch changes of the scanned segments. Without a usable checkpoint the trusted
   * segments' batch headers are read for their epochs.
   */
  private async loadEpochs(): Promise<void> {
    this.epochs = [];
    // Everything up to the last trusted segment is covered by the checkpoint (it is written
    // before the recovery point moves, and at a clean shutdown before the marker).
    let trustedUpTo = -1;
    this.segments.forEach((segment, index) => {
      if (!segment.epochsComplete) trustedUpTo = index;
    });
    if (trustedUpTo >= 0) {
      const scannedFrom = this.segments[trustedUpTo + 1]?.baseOffset ?? this.logEndOffset;
      const checkpoint = await readEpochCheckpoint(path.join(this.dir, LEADER_EPOCH_FILE));
      if (checkpoint !== null) {
        for (const entry of checkpoint) if (entry.startOffset < scannedFrom) this.noteEpochInMemory(entry.epoch, entry.startOffset);
      } else {
        this.logger.warn({ segments: trustedUpTo + 1 }, 'log.epoch_checkpoint_missing');
        for (const segment of this.segments.slice(0, trustedUpTo + 1)) for (const entry of await segment.scanEpochs()) this.noteEpochInMemory(entry.epoch, entry.startOffset);
      }
    }
    for (const segment of this.segments.slice(trustedUpTo + 1)) {
      for (const entry of segment.epochStarts()) this.noteEpochInMemory(entry.epoch, entry.startOffset);
    }
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** End of what is written to the segment file (readable). Advances only when a write has completed. */
  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** True after a storage error that could not be undone: every call then rejects with KAFKA_STORAGE_ERROR. */
  get offline(): boolean {
    return this.isOffline;
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

  /** This log's compaction settings, or null when its topic is not compacted. */
  get compaction(): CompactionSettings | null {
    return this.config.compaction ?? null;
  }

  /**
   * What the cleaner may read: the segments as they are now (the active one last) and the
   * offset below which every segment is fsynced with its indexes (only those are cleaned, so a
   * compacted segment is always one that recovery trusts).
   */
  cleanerView(): { segments: readonly Segment[]; logStartOffset: number; syncedUpTo: number } {
    return { segments: [...this.segments], logStartOffset: this.startOffset, syncedUpTo: this.recoveryPoint };
  }

  /**
   * Swaps in the compacted copy of `old` (an fsynced file at `cleanedFile`; null when nothing
   * of it survives: the segment is deleted, unless it is the first, which keeps the log start).
   * Refused (false, the cleaned file deleted) when `old` changed since it was read: removed by
   * retention or DeleteRecords, cut by a truncation, or made active again. Under the lock, so
   * no append, truncation or retention sees a half-swapped log.
   */
  replaceCompacted(old: Segment, readSize: number, cleanedFile: string | null, details: Record<string, unknown>): Promise<boolean> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return this.exclusive(async () => {
      const index = this.segments.indexOf(old);
      if (index < 0 || index === this.segments.length - 1 || old.removed || old.size !== readSize) {
        if (cleanedFile !== null) await fs.promises.rm(cleanedFile, { force: true });
        return false;
      }
      // The recovery point on disk must cover this segment, so that recovery trusts its gaps.
      await this.writeCheckpoints();
      this.tail.clear();
      this.dirty.delete(old);
      if (cleanedFile === null && index > 0) {
        this.segments.splice(index, 1);
        await this.undoable('remove compacted segment', () => old.remove());
        this.logger.info({ ...details, segment: old.name, removed: true }, 'log.compacted');
        return true;
      }
      const file = cleanedFile ?? `${old.logPath}${CLEANED_SUFFIX}`;
      if (cleanedFile === null) await fs.promises.writeFile(file, EMPTY);
      try {
        await fs.promises.rename(file, `${old.logPath}${SWAP_SUFFIX}`);
        await syncDirectory(this.dir);
      } catch (error) {
        await fs.promises.rm(file, { force: true }).catch(() => undefined);
        throw error;
      }
      // Committed: a restart from here on completes the swap. The old segment's descriptor still
      // reads the replaced file, so reads in flight finish on it; its names now belong to the new one.
      await this.undoable('compaction swap', () => completeSwap(this.dir, old.baseOffset));
      old.removed = true;
      void old.close();
      const opened = await this.undoable('open compacted segment', () => Segment.open(this.dir, old.baseOffset, this.config.indexIntervalBytes, 'recover'));
      this.segments[index] = opened.segment;
      await this.undoable('index compacted segment', () => opened.segment.saveIndexes());
      this.logger.info({ ...details, segment: old.name, removed: false }, 'log.compacted');
      return true;
    });
  }

  /** The error every call gets while the log cannot serve, or null. */
  private refusal(): LogStorageError | null {
    if (this.isOffline) return new LogStorageError(`log ${this.dir} is offline after a storage error`);
    if (this.closing) return new LogStorageError(`log ${this.dir} is closed`);
    return null;
  }

  // -------------------------------------------------------------------------
  // Appends

  /**
   * Appends a producer's batches: validated now, given offsets and `leaderEpoch` when written.
   * `records` is modified in place (baseOffset, partitionLeaderEpoch) and must not be reused
   * until the promise settles; after that it holds exactly the stored bytes.
   */
  appendAsLeader(records: Buffer, leaderEpoch: number, now: number): Promise<AppendResult> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    let batches: BatchInfo[];
    try {
      batches = validateBatches(records, this.config.maxMessageBytes, { requireKeys: (this.config.compaction ?? null) !== null }).batches;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(records, batches, leaderEpoch, now);
  }

  /**
   * Appends batches copied from the leader, keeping their offsets and epochs (replication).
   * With `fetchOffset` (the log end the fetch asked from), the batches may start past it: the
   * leader compacted what lay between (Kafka's followers accept such gaps the same way).
   */
  appendAsFollower(records: Buffer, now: number, fetchOffset: number | null = null): Promise<AppendResult> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    let batches: BatchInfo[];
    try {
      // Replicated batches were checked record by record by the leader; a follower checks sizes and CRCs (Kafka does the same).
      batches = validateBatches(records, SEGMENT_POSITION_MAX, { origin: 'replication' }).batches;
      for (let i = 1; i < batches.length; i++) {
        const previous = batches[i - 1]!;
        // With the fetch offset known, gaps are normal (compacted on the leader); going back never is.
        const expected = previous.baseOffset + previous.lastOffsetDelta + 1;
        if (fetchOffset === null ? batches[i]!.baseOffset !== expected : batches[i]!.baseOffset < expected) {
          throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `follower batch at ${batches[i]!.baseOffset} does not follow ${previous.baseOffset + previous.lastOffsetDelta}`);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(records, batches, null, now, fetchOffset);
  }

  private enqueue(records: Buffer, batches: BatchInfo[], leaderEpoch: number | null, now: number, fetchOffset: number | null = null): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ records, batches, leaderEpoch, fetchOffset, now, resolve, reject });
      if (this.drainScheduled) return;
      this.drainScheduled = true;
      void this.exclusive(() => this.drain());
    });
  }

  /** Runs `task` after every mutation queued before it. */
  private exclusive<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.lock.then(task);
    this.lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * One write of everything queued (split only where a segment must roll). Synchronous while
   * the writes are (small ones, on the event loop: no promise per append); it continues
   * asynchronously from the first write that goes through the I/O pool or must roll.
   */
  private drain(): void | Promise<void> {
    this.drainScheduled = false;
    const group = this.queue;
    this.queue = [];
    return this.drainFrom(group, 0);
  }

  private drainFrom(group: PendingAppend[], index: number): void | Promise<void> {
    try {
      while (index < group.length) {
        const refused = this.refusal();
        if (refused !== null) throw refused;
        const next = this.writeChunk(group, index);
        if (typeof next !== 'number') {
          const from = index;
          return next.then(
            (after) => this.drainFrom(group, after),
            (error: unknown) => rejectFrom(group, from, error),
          );
        }
        index = next;
      }
    } catch (error) {
      rejectFrom(group, index, error);
    }
  }

  /**
   * Writes appends from `group[from]` on, as many as fit in the active segment (rolling first
   * when even the first does not), and returns the index of the first one not written. Appends
   * of the chunk are settled here; an error thrown (or a rejection) concerns `group[from..]`.
   * Returns a number when the write was made on the event loop, a promise otherwise.
   */
  private writeChunk(group: PendingAppend[], from: number): number | Promise<number> {
    const segmentBytes = Math.min(this.config.segmentBytes, SEGMENT_POSITION_MAX);
    let next = this.logEndOffset;
    let bytes = 0;
    let index = from;
    // The appends written are group[from, index), their results in `results`.
    const results: AppendResult[] = [];
    const buffers: Buffer[] = [];
    const locations: BatchLocation[] = [];
    for (; index < group.length; index++) {
      const append = group[index]!;
      const first = append.batches[0]!;
      const last = append.batches[append.batches.length - 1]!;
      const follower = append.leaderEpoch === null;
      const gapFromFetch = follower && first.baseOffset > next && append.fetchOffset === next;
      if (follower && first.baseOffset !== next && !gapFromFetch) {
        // A follower append that no longer lines up (a truncation came first): it alone fails.
        if (results.length === 0 && index === from) {
          append.reject(new RecordBatchError(KafkaError.OFFSET_OUT_OF_RANGE, `follower append at ${first.baseOffset}, log ends at ${next}`));
          return index + 1;
        }
        break;
      }
      let count = 0;
      if (follower) count = last.baseOffset + last.lastOffsetDelta - first.baseOffset + 1;
      else for (const batch of append.batches) count += batch.lastOffsetDelta + 1;
      const lastOffset = (follower ? first.baseOffset : next) + count - 1;
      const fits = this.active.size + bytes + append.records.length <= segmentBytes && lastOffset - this.active.baseOffset <= SEGMENT_POSITION_MAX;
      if (!fits) {
        if (results.length > 0) break;
        // Nothing of this chunk is prepared yet (index === from): roll, then start the chunk again.
        if (this.active.size > 0) return this.roll(append.now).then(() => this.writeChunk(group, from));
      }
      const base = follower ? first.baseOffset : next;
      for (const batch of append.batches) {
        if (follower) next = batch.baseOffset; // offsets as the leader has them, gaps included
        const leaderEpoch = append.leaderEpoch ?? batch.partitionLeaderEpoch;
        if (append.leaderEpoch !== null) {
          // Two 32-bit halves, not writeBigInt64BE(BigInt(...)): that allocates BigInts per batch (offsets stay below 2^53).
          append.records.writeUInt32BE(Math.floor(next / 0x1_0000_0000), batch.position + BASE_OFFSET);
          append.records.writeUInt32BE(next >>> 0, batch.position + BASE_OFFSET + 4);
          append.records.writeInt32BE(leaderEpoch, batch.position + PARTITION_LEADER_EPOCH);
        }
        locations.push({ baseOffset: next, lastOffset: next + batch.lastOffsetDelta, position: bytes + batch.position, size: batch.size, maxTimestamp: batch.maxTimestamp, leaderEpoch });
        next += batch.lastOffsetDelta + 1;
      }
      buffers.push(append.records);
      bytes += append.records.length;
      results.push({ baseOffset: base, lastOffset: next - 1, logAppendTime: -1 });
    }
    if (results.length === 0) return index;
    const segment = this.active;
    const now = group[index - 1]!.now;
    if (bytes <= this.config.inlineWriteBytesMax) {
      try {
        segment.appendInline(buffers, bytes, locations, now);
      } catch (error) {
        return this.chunkFailed(error, segment, bytes, group, from, index);
      }
      this.chunkWritten(segment, group, from, results, locations, now);
      return index;
    }
    return segment.append(buffers, bytes, locations, now).then(
      () => {
        this.chunkWritten(segment, group, from, results, locations, now);
        return index;
      },
      (error: unknown) => this.chunkFailed(error, segment, bytes, group, from, index),
    );
  }

  /** A chunk's write failed: its appends are rejected; the next chunk is tried (the disk may have room by then). */
  private chunkFailed(error: unknown, segment: Segment, bytes: number, group: PendingAppend[], from: number, to: number): number {
    const failure = this.writeFailed(error, segment, bytes, to - from);
    for (let index = from; index < to; index++) group[index]!.reject(failure);
    return to;
  }

  /** A chunk's bytes are in the file: the tail cache, epochs and flush accounting follow, then its appends settle. */
  private chunkWritten(segment: Segment, group: PendingAppend[], from: number, results: AppendResult[], locations: BatchLocation[], now: number): void {
    for (let i = 0; i < results.length; i++) this.tail.add(segment.baseOffset, results[i]!.baseOffset, results[i]!.lastOffset, group[from + i]!.records);
    for (const location of locations) this.noteEpoch(location.leaderEpoch, location.baseOffset);
    this.dirty.add(segment);
    this.unflushedMessages += results[results.length - 1]!.lastOffset + 1 - results[0]!.baseOffset;
    if (this.firstUnflushedAt < 0) this.firstUnflushedAt = now;
    const mustSync = this.unflushedMessages >= this.config.flushMessages || now - this.firstUnflushedAt >= this.config.flushMs;
    if (!mustSync) {
      for (let i = 0; i < results.length; i++) group[from + i]!.resolve(results[i]!);
    } else {
      // Resolved after the group commit; the next write need not wait for it.
      this.sync().then(
        () => results.forEach((result, i) => group[from + i]!.resolve(result)),
        (error) => results.forEach((_, i) => group[from + i]!.reject(error)),
      );
    }
  }

  /** Logs a failed write and returns what its appends are rejected with; offline when the segment could not be cut back. */
  private writeFailed(error: unknown, segment: Segment, bytes: number, appends: number): LogStorageError {
    const rolledBack = error instanceof SegmentWriteError && error.rolledBack;
    const cause = error instanceof SegmentWriteError ? error.cause : error;
    const code = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
    if (!rolledBack) this.goOffline(`write of ${bytes} bytes failed (${code}) and could not be undone`);
    this.logger.error({ segment: segment.name, position: segment.size, bytes, appends, code, rolledBack, logEndOffset: this.logEndOffset }, 'log.append_failed');
    return new LogStorageError(`write to ${segment.logPath} failed (${code})${rolledBack ? '' : '; the log is offline'}`);
  }

  private goOffline(reason: string): void {
    if (this.isOffline) return;
    this.tail.clear();
    this.isOffline = true;
    this.logger.error({ reason, logEndOffset: this.logEndOffset }, 'log.offline');
    const queued = this.queue;
    this.queue = [];
    for (const append of queued) append.reject(new LogStorageError(`log ${this.dir} is offline: ${reason}`));
  }

  /**
   * A new active segment at the log end. The old one's fsync, index files and the recovery
   * point that trusts it follow in the background, in order.
   */
  private async roll(now: number): Promise<void> {
    const old = this.active;
    const baseOffset = this.logEndOffset;
    let segment: Segment;
    try {
      segment = await Segment.create(this.dir, baseOffset, this.config.indexIntervalBytes, now);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      this.logger.error({ baseOffset, code }, 'log.roll_failed');
      throw new LogStorageError(`cannot create segment ${baseOffset} (${code})`);
    }
    this.segments.push(segment);
    this.logger.info({ baseOffset, segments: this.segments.length }, 'log.rolled');
    this.inBackground('roll', async () => {
      if (old.removed) return;
      await old.sync();
      this.dirty.delete(old);
      await old.saveIndexes();
      // Only if nothing cut back into it meanwhile (truncation makes it active again).
      if (!old.removed && old !== this.active && old.indexesSaved) this.recoveryPoint = Math.max(this.recoveryPoint, Math.min(baseOffset, this.active.baseOffset));
      await this.writeCheckpoints();
    });
  }

  private inBackground(what: string, task: () => Promise<void>): Promise<void> {
    const result = this.background.then(task);
    this.background = result.catch((error) => {
      this.logger.error({ task: what, err: error instanceof Error ? error.message : String(error) }, 'log.background_failed');
    });
    return result;
  }

  // -------------------------------------------------------------------------
  // Durability

  /**
   * Group commit: an fsync of every segment written since the last one began. A call while
   * one runs gets the next one (which starts when the running one ends), so one fsync covers
   * every write that completed before it started. A failed fsync takes the log offline.
   */
  private sync(): Promise<void> {
    if (this.syncQueued !== null) return this.syncQueued;
    const start = (): Promise<void> => {
      this.syncQueued = null;
      const running = this.syncOnce();
      this.syncInFlight = running;
      return running.finally(() => {
        if (this.syncInFlight === running) this.syncInFlight = null;
      });
    };
    if (this.syncInFlight === null) return start();
    this.syncQueued = this.syncInFlight.catch(() => undefined).then(start);
    return this.syncQueued;
  }

  private async syncOnce(): Promise<void> {
    const segments = [...this.dirty];
    this.dirty.clear();
    this.unflushedMessages = 0;
    this.firstUnflushedAt = -1;
    try {
      await Promise.all(segments.filter((segment) => !segment.removed).map((segment) => segment.sync()));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      // After a failed fsync the kernel may have dropped the dirty pages: nothing can be trusted.
      this.goOffline(`fsync failed (${code})`);
      throw new LogStorageError(`fsync of ${this.dir} failed (${code})`);
    }
  }

  /** fsync everything written so far. */
  flush(): Promise<void> {
    if (this.isOffline) return Promise.reject(this.refusal());
    return this.sync();
  }

  /** Starts an fsync when flush.ms has passed since the oldest unflushed append (does not wait for it). */
  flushIfDue(now: number): void {
    if (this.isOffline || this.firstUnflushedAt < 0 || now - this.firstUnflushedAt < this.config.flushMs) return;
    this.sync().catch(() => undefined); // a failure took the log offline and was logged
  }

  // -------------------------------------------------------------------------
  // Reads

  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` (at least one whole
   * batch with `minOneBatch`, as Kafka does), never past `upTo` (the high watermark).
   */
  async read(fetchOffset: number, maxBytes: number, minOneBatch: boolean, upTo = this.logEndOffset): Promise<ReadResult> {
    const now = this.readNow(fetchOffset, maxBytes, minOneBatch, upTo);
    if (now !== null) return { records: now, logStartOffset: this.startOffset, logEndOffset: this.logEndOffset };
    const limit = Number.isFinite(maxBytes) && maxBytes > 0 ? Math.floor(maxBytes) : 0;
    let records: Buffer = EMPTY;
    if (fetchOffset < upTo && (limit > 0 || minOneBatch)) {
      for (let segment = this.segmentFor(fetchOffset); segment !== null; segment = this.segmentAfter(segment.baseOffset)) {
        const location = await segment.findBatch(fetchOffset);
        if (location === null) continue;
        if (location.baseOffset < upTo) records = cutAt(await segment.read(location.position, limit, minOneBatch), upTo);
        break;
      }
    }
    return { records, logStartOffset: this.startOffset, logEndOffset: this.logEndOffset };
  }

  /**
   * `read` when it needs no file: nothing to read, or everything asked for is in the in-memory
   * tail. Null when the file must be read. Throws what `read` throws (offline, out of range).
   * A consumer at the end of the log is answered without leaving the event loop's turn.
   */
  readNow(fetchOffset: number, maxBytes: number, minOneBatch: boolean, upTo = this.logEndOffset): Buffer | null {
    const refused = this.refusal();
    if (refused !== null) throw refused;
    if (!(fetchOffset >= this.startOffset && fetchOffset <= this.logEndOffset)) throw new OffsetOutOfRangeError(fetchOffset, this.startOffset, this.logEndOffset);
    // A negative or non-numeric limit reads nothing (or the one batch minOneBatch allows), never everything.
    const limit = Number.isFinite(maxBytes) && maxBytes > 0 ? Math.floor(maxBytes) : 0;
    // Only the records: this runs for every partition of every long poll, and its garbage shows in the latency tail.
    if (!(fetchOffset < upTo && (limit > 0 || minOneBatch))) return EMPTY;
    return this.tail.read(fetchOffset, limit, minOneBatch, upTo);
  }

  private segmentFor(offset: number): Segment | null {
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
    return this.segments[found] ?? null;
  }

  /** The segment after the one based at `baseOffset` (as the list is now: it may have changed during a read). */
  private segmentAfter(baseOffset: number): Segment | null {
    return this.segments.find((segment) => segment.baseOffset > baseOffset) ?? null;
  }

  /** The base offset of the first batch whose max timestamp is >= `timestamp`, or null (batch granularity). */
  async offsetForTimestamp(timestamp: number): Promise<number | null> {
    const refused = this.refusal();
    if (refused !== null) throw refused;
    for (let segment: Segment | null = this.segments[0] ?? null; segment !== null; segment = this.segmentAfter(segment.baseOffset)) {
      if (segment.removed) continue;
      const location = await segment.findByTimestamp(timestamp);
      if (location !== null) return Math.max(location.baseOffset, this.startOffset);
    }
    return null;
  }

  // -------------------------------------------------------------------------
  // Deletions

  /** Deletes whole segments (never the active one) past retention.ms or beyond retention.bytes. */
  applyRetention(now: number): Promise<{ deletedSegments: number; logStartOffset: number }> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return this.exclusive(async () => {
      const deleted: string[] = [];
      let total = this.sizeInBytes;
      const reasons = new Set<string>();
      while (this.segments.length > 1) {
        const oldest = this.segments[0]!;
        // Kafka's rule: the segment's largest timestamp, or its last modification when it has none.
        const newest = oldest.maxTimestamp >= 0 ? oldest.maxTimestamp : oldest.lastModifiedMs;
        const expired = this.config.retentionMs >= 0 && now - newest > this.config.retentionMs;
        const tooBig = this.config.retentionBytes >= 0 && total - oldest.size >= this.config.retentionBytes;
        if (!expired && !tooBig) break;
        if (expired) reasons.add('retention.ms');
        if (tooBig) reasons.add('retention.bytes');
        total -= oldest.size;
        deleted.push(oldest.name);
        await this.dropOldest();
      }
      if (deleted.length > 0) {
        await this.writeCheckpoints();
        this.logger.info({ deletedSegments: deleted.length, segments: deleted, reasons: [...reasons], logStartOffset: this.startOffset }, 'log.retention');
      }
      return { deletedSegments: deleted.length, logStartOffset: this.startOffset };
    });
  }

  private async dropOldest(): Promise<void> {
    const oldest = this.segments.shift()!;
    this.dirty.delete(oldest);
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    await oldest.remove();
  }

  /** DeleteRecords: moves the log start offset forward (whole segments below it are removed). */
  deleteRecordsBefore(offset: number): Promise<number> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return this.exclusive(async () => {
      if (!(offset >= 0 && offset <= this.logEndOffset)) throw new OffsetOutOfRangeError(offset, this.startOffset, this.logEndOffset);
      if (offset <= this.startOffset) return this.startOffset;
      const before = this.startOffset;
      this.startOffset = offset;
      const removed: string[] = [];
      while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset) {
        removed.push(this.segments[0]!.name);
        await this.dropOldest();
      }
      await this.writeCheckpoints();
      this.logger.info({ from: before, logStartOffset: offset, deletedSegments: removed }, 'log.records_deleted');
      return this.startOffset;
    });
  }

  /**
   * Removes every batch that holds an offset at or after `offset` (replication: a follower
   * cutting a divergent suffix). As in Kafka the cut is at a batch boundary, so a batch that
   * straddles `offset` goes too and the log may end below `offset`; the follower fetches it
   * again from the leader. Below the first segment, the log is emptied and restarts at `offset`.
   */
  truncateTo(offset: number, now: number): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return this.exclusive(async () => {
      if (offset >= this.logEndOffset) {
        // No batch to cut, but an epoch assigned at the log end without a batch in it (a
        // leadership that wrote nothing) goes, as Kafka's truncateFromEnd: the batches that
        // follow will carry the epoch the new leader wrote them in.
        const kept = this.epochs.filter((entry) => entry.startOffset < offset);
        if (kept.length !== this.epochs.length) {
          this.epochs = kept;
          await this.writeCheckpoints();
        }
        return;
      }
      this.tail.clear();
      if (offset <= this.segments[0]!.baseOffset) {
        await this.truncateFully(Math.max(0, offset), now);
        return;
      }
      const before = this.logEndOffset;
      const removed: string[] = [];
      while (this.segments.length > 1 && this.active.baseOffset >= offset) {
        const segment = this.segments.pop()!;
        this.dirty.delete(segment);
        removed.push(segment.name);
        await segment.remove();
      }
      const segment = this.active;
      const location = await segment.findBatch(offset);
      if (location !== null) await this.undoable('truncate', () => segment.truncateAt(location.position));
      this.dirty.add(segment);
      if (this.logEndOffset < this.startOffset) this.startOffset = this.logEndOffset;
      this.recoveryPoint = Math.min(this.recoveryPoint, segment.baseOffset);
      this.epochs = this.epochs.filter((entry) => entry.startOffset < this.logEndOffset);
      await this.writeCheckpoints();
      this.logger.warn({ offset, from: before, logEndOffset: this.logEndOffset, deletedSegments: removed }, 'log.truncated');
    });
  }

  /** Drops every segment and starts an empty log at `offset`. */
  truncateFullyAndStartAt(offset: number, now: number): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return this.exclusive(() => this.truncateFully(offset, now));
  }

  private async truncateFully(offset: number, now: number): Promise<void> {
    this.tail.clear();
    const before = { logStartOffset: this.startOffset, logEndOffset: this.logEndOffset, segments: this.segments.map((segment) => segment.name) };
    for (const segment of this.segments) await segment.remove();
    this.dirty.clear();
    this.segments = [];
    this.segments = [await this.undoable('create segment', () => Segment.create(this.dir, offset, this.config.indexIntervalBytes, now))];
    this.active.nextOffset = offset;
    this.startOffset = offset;
    this.recoveryPoint = offset;
    this.epochs = [];
    await this.writeCheckpoints();
    this.logger.warn({ offset, from: before }, 'log.truncated_fully');
  }

  /** Runs a file operation that leaves the log inconsistent if it fails: the log then goes offline. */
  private async undoable<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      this.goOffline(`${what} failed (${code})`);
      throw new LogStorageError(`${what} in ${this.dir} failed (${code}); the log is offline`);
    }
  }

  // -------------------------------------------------------------------------
  // Leader epochs

  leaderEpochStartOffsets(): Array<{ epoch: number; startOffset: number }> {
    return this.epochs.map((entry) => ({ ...entry }));
  }

  /**
   * A new leadership begins at `startOffset` (the log end when this broker became leader), before
   * any batch is written in it (Kafka's makeLeader does the same): OffsetForLeaderEpoch then
   * tells a follower where its older epoch ends here even if nothing was written since.
   */
  assignEpochStartOffset(epoch: number, startOffset: number): void {
    this.noteEpoch(epoch, startOffset);
  }

  /** The end offset of `epoch` on this log: the start of the next higher epoch, or the log end. */
  endOffsetForEpoch(epoch: number): number {
    const next = this.epochs.find((entry) => entry.epoch > epoch);
    return next === undefined ? this.logEndOffset : next.startOffset;
  }

  private noteEpoch(epoch: number, startOffset: number): void {
    if (this.noteEpochInMemory(epoch, startOffset)) this.inBackground('epoch checkpoint', () => this.writeCheckpoints());
  }

  /**
   * Kafka's LeaderEpochFileCache.assign: an epoch already recorded at or before this offset
   * changes nothing; otherwise every trailing entry with an equal or higher epoch, or an equal
   * or later start, goes (an epoch a leadership recorded without writing in it, then replaced
   * by the batches a new leader copied here) and the new entry ends the cache.
   */
  private noteEpochInMemory(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const last = this.epochs[this.epochs.length - 1];
    if (last !== undefined && last.epoch === epoch && last.startOffset <= startOffset) return false;
    while (this.epochs.length > 0) {
      const tail = this.epochs[this.epochs.length - 1]!;
      if (tail.epoch < epoch && tail.startOffset < startOffset) break;
      this.epochs.pop();
    }
    this.epochs.push({ epoch, startOffset });
    return true;
  }

  /**
   * The leader-epoch cache, the log start and the recovery point, as they are now, epochs
   * first: the recovery point must never trust a segment whose epochs the file lacks.
   */
  private writeCheckpoints(): Promise<void> {
    // One writer at a time (they share temp files); a call while one waits joins it, since
    // it reads the state when it starts.
    if (this.checkpointQueued !== null) return this.checkpointQueued;
    const queued = this.checkpointTail.then(async () => {
      this.checkpointQueued = null;
      const epochs = JSON.stringify(this.epochs);
      const start = String(this.startOffset);
      const recoveryPoint = String(this.recoveryPoint);
      await writeFileAtomically(path.join(this.dir, LEADER_EPOCH_FILE), epochs, true);
      await writeFileAtomically(path.join(this.dir, LOG_START_FILE), start, true);
      await writeFileAtomically(path.join(this.dir, RECOVERY_POINT_FILE), recoveryPoint, true);
    });
    this.checkpointQueued = queued;
    this.checkpointTail = queued.catch(() => undefined);
    return queued;
  }

  // -------------------------------------------------------------------------

  /**
   * Clean shutdown: waits for queued appends, fsyncs, writes every segment's indexes and the
   * checkpoints, then the clean-shutdown marker that lets the next start trust them.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.tail.clear();
    this.closing = true;
    await this.lock;
    await this.background;
    try {
      if (this.isOffline) throw new Error('offline');
      await this.sync();
      for (const segment of this.segments) if (!segment.indexesSaved) await segment.saveIndexes();
      this.recoveryPoint = this.logEndOffset;
      await this.writeCheckpoints();
      await writeFileAtomically(path.join(this.dir, CLEAN_SHUTDOWN_FILE), String(this.logEndOffset), true);
      this.logger.info({ logEndOffset: this.logEndOffset, segments: this.segments.length }, 'log.closed');
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'log.closed_unclean');
    } finally {
      await Promise.all(this.segments.map((segment) => segment.close()));
    }
  }

  /** Topic deletion: removes the whole directory. */
  async delete(): Promise<void> {
    this.closing = true;
    this.tail.clear();
    const queued = this.queue;
    this.queue = [];
    for (const append of queued) append.reject(new LogStorageError(`log ${this.dir} is being deleted`));
    await this.lock;
    await this.background.catch(() => undefined);
    const summary = { logStartOffset: this.startOffset, logEndOffset: this.logEndOffset, segments: this.segments.length };
    for (const segment of this.segments) await segment.remove();
    this.segments = [];
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    this.logger.warn(summary, 'log.deleted');
  }
}

/** The second half of a compaction swap (also run by recovery): the old indexes go, the swap file becomes the segment. */
async function completeSwap(dir: string, baseOffset: number): Promise<void> {
  const stem = path.join(dir, segmentName(baseOffset));
  await Promise.all([`${stem}.index`, `${stem}.timeindex`].map((file) => fs.promises.rm(file, { force: true })));
  await fs.promises.rename(`${stem}.log${SWAP_SUFFIX}`, `${stem}.log`);
  await syncDirectory(dir);
}

/** Rejects the appends of `group` from `from` on (a write failed, or the log went offline). */
function rejectFrom(group: readonly PendingAppend[], from: number, error: unknown): void {
  for (let index = from; index < group.length; index++) group[index]!.reject(error);
}

/** Drops batches at or past `upTo` from a read. */
function cutAt(data: Buffer, upTo: number): Buffer {
  let position = 0;
  while (position + 12 <= data.length) {
    if (readInt64Number(data, position) >= upTo) break;
    position += 12 + data.readInt32BE(position + 8);
  }
  return position >= data.length ? data : data.subarray(0, position);
}

async function readNumber(file: string): Promise<number | null> {
  try {
    const value = Number((await fs.promises.readFile(file, 'utf8')).trim());
    return Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** The checkpoint's entries when well formed (increasing epochs and offsets), else null. */
async function readEpochCheckpoint(file: string): Promise<Array<{ epoch: number; startOffset: number }> | null> {
  try {
    const parsed = JSON.parse(await fs.promises.readFile(file, 'utf8')) as unknown;
    if (!Array.isArray(parsed)) return null;
    const out: Array<{ epoch: number; startOffset: number }> = [];
    for (const entry of parsed) {
      const { epoch, startOffset } = (entry ?? {}) as { epoch?: unknown; startOffset?: unknown };
      if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) return null;
      const last = out[out.length - 1];
      if (last !== undefined && ((epoch as number) <= last.epoch || (startOffset as number) < last.startOffset)) return null;
      out.push({ epoch: epoch as number, startOffset: startOffset as number });
    }
    return out;
  } catch {
    return null;
  }
}
