/**
 * One log segment: `<20-digit base offset>.log` holding whole RecordBatches back to back,
 * with a sparse offset index (`.index`: relative offset → file position, 4+4 bytes) and a
 * sparse time index (`.timeindex`: max timestamp so far → relative offset, 8+4 bytes), one
 * entry of each per index.interval.bytes, in Kafka's layouts. The indexes live in memory; they
 * are written to their files when the segment is rolled and at a clean shutdown, and read back
 * at start-up (after a sanity check) for segments the log trusts (see partition-log.ts).
 *
 * Every file operation is asynchronous (libuv's pool, file-io.ts). Reads and fsyncs hold a
 * reference, so a segment removed by retention, truncation or DeleteRecords while a read is in
 * flight keeps its descriptor until that read is done (the files are unlinked at once).
 *
 * `size` is what the file holds of complete, acknowledged writes: it advances only when a
 * write has completed, and readers never look past it, so a write in flight is never visible.
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32c } from '../../shared/kafka/crc32c';
import { readInt64Number } from '../../shared/kafka/int64';
import { ATTRIBUTES, BATCH_LENGTH, BASE_OFFSET, CRC, HEADER_SIZE, LAST_OFFSET_DELTA, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH } from '../../shared/kafka/record-batch';
import { closeFd, datasyncFd, fstatFd, openFd, readAt, truncateFd, writeAllAt, writeAllAtSync, writeFileAtomically } from './file-io';

export interface BatchLocation {
  baseOffset: number;
  lastOffset: number;
  /** Byte position in the segment file (or, before an append, in the appended buffer). */
  position: number;
  size: number;
  maxTimestamp: number;
  leaderEpoch: number;
}

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

/** Largest file position / relative offset an index entry can hold (uint32 fields; Kafka keeps segments under 2 GiB too). */
export const SEGMENT_POSITION_MAX = 0x7fffffff;

/** Recovery reads the segment in chunks of this size (a larger batch gets a read of its own). */
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;
/** Header walks (lookups between sparse index entries) read this much at a time. */
const HEADER_BLOCK_BYTES = 16 * 1024;
/** Exact positions remembered for offsets where a read ended or an append started (tail consumers hit these). */
const POSITION_HINTS_MAX = 256;
const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;
const EMPTY = Buffer.alloc(0);

/** A write that failed; `rolledBack` says whether the file was cut back to its size before the write. */
export class SegmentWriteError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly rolledBack: boolean,
  ) {
    super(`segment write failed (${(cause as NodeJS.ErrnoException)?.code ?? String(cause)})${rolledBack ? '' : '; cutting it back failed too'}`);
  }
}

export type OpenMode = 'recover' | 'trust-indexes';

export interface OpenedSegment {
  segment: Segment;
  truncatedBytes: number;
  /** The index files were read and used (false: the segment was scanned). */
  trusted: boolean;
  /** Why index files were not used, when trust was asked for. */
  distrust: string | null;
}

export class Segment {
  /** Sparse: [relativeOffset, position] pairs in increasing order. */
  private offsetIndex: number[] = [];
  /** Sparse: [maxTimestampSoFar, offset of the batch where it was reached] pairs. */
  private timeIndex: number[] = [];
  private bytesSinceIndex = 0;
  /** Epoch changes seen in batches this process scanned or appended: [epoch, startOffset] pairs. */
  private epochChanges: number[] = [];
  /** False when the indexes came from files: epochChanges then covers only the scanned tail. */
  epochsComplete = true;
  /** Offset one past the last batch (== baseOffset when empty). */
  nextOffset: number;
  size: number;
  /** Largest batch maxTimestamp in the segment, -1 when empty. */
  maxTimestamp = -1;
  /** Offset of the batch holding maxTimestamp. */
  private maxTimestampOffset = -1;
  /** When the segment was last appended to (file mtime at open): retention's fallback without timestamps. */
  lastModifiedMs: number;
  /** Bumped by every change to the data; index files saved at version v are current while it is v. */
  private version = 0;
  private savedVersion = -1;
  /**
   * A ring of (offset, position) hints, newest at hintNext - 1. Typed arrays, not a Map: a Map
   * emptied every POSITION_HINTS_MAX appends rehashes into new old-generation tables (the
   * segment lives long), a cost on every append for a lookup that a scan of 256 numbers does.
   */
  private readonly hintOffsets = new Float64Array(POSITION_HINTS_MAX).fill(-1);
  private readonly hintPositions = new Float64Array(POSITION_HINTS_MAX);
  private hintNext = 0;
  private refs = 0;
  private closeRequested = false;
  private closed: Promise<void> | null = null;
  private closedResolve: (() => void) | null = null;
  removed = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private fd: number,
    size: number,
    private readonly indexIntervalBytes: number,
    lastModifiedMs: number,
  ) {
    this.nextOffset = baseOffset;
    this.size = size;
    this.lastModifiedMs = lastModifiedMs;
  }

  get logPath(): string {
    return this.file('.log');
  }

  get name(): string {
    return segmentName(this.baseOffset);
  }

  private file(suffix: string): string {
    return path.join(this.dir, `${segmentName(this.baseOffset)}${suffix}`);
  }

  /** Whether the index files on disk describe the data as it is. */
  get indexesSaved(): boolean {
    return this.savedVersion === this.version;
  }

  /**
   * A new, empty segment. Opened read-write without O_APPEND (appends are positional: Linux
   * ignores the position under O_APPEND) and exclusively: a roll never reuses an existing file.
   */
  static async create(dir: string, baseOffset: number, indexIntervalBytes: number, now: number): Promise<Segment> {
    const fd = await openFd(path.join(dir, `${segmentName(baseOffset)}.log`), 'wx+');
    return new Segment(dir, baseOffset, fd, 0, indexIntervalBytes, now);
  }

  /**
   * Opens an existing segment. 'recover' scans every batch and checks its CRC, and cuts a torn
   * or corrupt tail. 'trust-indexes' reads the index files and, when they pass the sanity
   * checks, scans (with CRCs) only what follows the last offset-index entry; otherwise it
   * falls back to 'recover' and says why.
   */
  static async open(dir: string, baseOffset: number, indexIntervalBytes: number, mode: OpenMode): Promise<OpenedSegment> {
    const fd = await openFd(path.join(dir, `${segmentName(baseOffset)}.log`), 'r+');
    try {
      const stat = await fstatFd(fd);
      const segment = new Segment(dir, baseOffset, fd, stat.size, indexIntervalBytes, stat.mtimeMs);
      let distrust: string | null = null;
      if (mode === 'trust-indexes') {
        distrust = await segment.loadIndexes();
        if (distrust === null) {
          segment.savedVersion = segment.version;
          return { segment, truncatedBytes: 0, trusted: true, distrust: null };
        }
      }
      segment.resetState();
      const validEnd = await segment.scan(0, stat.size, true);
      let truncatedBytes = 0;
      if (validEnd < stat.size) {
        truncatedBytes = stat.size - validEnd;
        await truncateFd(fd, validEnd);
        segment.size = validEnd;
      }
      return { segment, truncatedBytes, trusted: false, distrust };
    } catch (error) {
      await closeFd(fd).catch(() => undefined);
      throw error;
    }
  }

  private resetState(): void {
    this.offsetIndex = [];
    this.timeIndex = [];
    this.epochChanges = [];
    this.epochsComplete = true;
    this.bytesSinceIndex = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.maxTimestampOffset = -1;
    this.clearHints();
  }

  /**
   * Reads and checks the index files, then scans the tail after the last offset entry. Returns
   * null when the indexes are now in memory, or why they could not be used (state then undefined).
   */
  private async loadIndexes(): Promise<string | null> {
    let offsets: Buffer;
    let times: Buffer;
    try {
      [offsets, times] = await Promise.all([fs.promises.readFile(this.file('.index')), fs.promises.readFile(this.file('.timeindex'))]);
    } catch (error) {
      return `index files unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    if (this.size === 0) return offsets.length === 0 && times.length === 0 ? null : 'index entries for an empty segment';
    if (offsets.length % OFFSET_ENTRY_BYTES !== 0 || times.length % TIME_ENTRY_BYTES !== 0) return 'index size is not a multiple of the entry size';
    if (offsets.length === 0) return 'no offset index entry';
    this.resetState();
    for (let at = 0; at < offsets.length; at += OFFSET_ENTRY_BYTES) {
      const relative = offsets.readUInt32BE(at);
      const position = offsets.readUInt32BE(at + 4);
      const count = this.offsetIndex.length;
      if (count === 0 ? position !== 0 : relative <= this.offsetIndex[count - 2]! || position <= this.offsetIndex[count - 1]!) return `offset index entry ${at / OFFSET_ENTRY_BYTES} out of order`;
      if (position + HEADER_SIZE > this.size) return `offset index entry ${at / OFFSET_ENTRY_BYTES} points past the end of the log`;
      this.offsetIndex.push(relative, position);
    }
    for (let at = 0; at < times.length; at += TIME_ENTRY_BYTES) {
      const timestamp = Number(times.readBigInt64BE(at));
      const offset = this.baseOffset + times.readUInt32BE(at + 8);
      const count = this.timeIndex.length;
      if (count > 0 && (timestamp <= this.timeIndex[count - 2]! || offset < this.timeIndex[count - 1]!)) return `time index entry ${at / TIME_ENTRY_BYTES} out of order`;
      this.timeIndex.push(timestamp, offset);
    }
    // The last offset entry must point at a batch whose base offset is the one it names.
    const lastRelative = this.offsetIndex[this.offsetIndex.length - 2]!;
    const lastPosition = this.offsetIndex[this.offsetIndex.length - 1]!;
    const header = await this.readHeaderAt(lastPosition, this.size);
    if (header === null || header.baseOffset !== this.baseOffset + lastRelative) return 'the last offset index entry does not point at its batch';
    const lastTime = this.timeIndex.length - 2;
    if (lastTime >= 0 && this.timeIndex[lastTime + 1]! > header.lastOffset) return 'the time index names an offset past the last offset index entry';
    this.offsetIndex.length -= 2; // the tail scan adds it back
    if (lastTime >= 0) {
      this.maxTimestamp = this.timeIndex[lastTime]!;
      this.maxTimestampOffset = this.timeIndex[lastTime + 1]!;
    }
    this.nextOffset = header.baseOffset;
    this.bytesSinceIndex = this.indexIntervalBytes;
    this.epochsComplete = false;
    const end = await this.scan(lastPosition, this.size, true);
    if (end !== this.size) return `the ${this.size - end} bytes after the last index entry are not whole valid batches`;
    return null;
  }

  /**
   * Walks batches from `from` (a batch boundary) to `end`, tracking each (indexes, offsets,
   * epochs); with `verify`, each batch's CRC is checked. Returns where the valid data ends.
   */
  private async scan(from: number, end: number, verify: boolean): Promise<number> {
    let chunk = EMPTY;
    let chunkStart = 0;
    let chunkLength = 0;
    let position = from;
    const fill = async (at: number, atLeast: number): Promise<boolean> => {
      const length = Math.min(Math.max(SCAN_CHUNK_BYTES, atLeast), end - at);
      if (chunk.length < length) chunk = Buffer.allocUnsafe(length);
      chunkStart = at;
      chunkLength = await readAt(this.fd, chunk, 0, length, at);
      return chunkLength >= atLeast;
    };
    while (position + HEADER_SIZE <= end) {
      if (position + HEADER_SIZE > chunkStart + chunkLength || position < chunkStart) {
        if (!(await fill(position, HEADER_SIZE))) break;
      }
      const location = parseLocation(chunk, position - chunkStart, position);
      if (location === null || position + location.size > end) break;
      // Offsets only grow; a batch that goes back is garbage (e.g. a block of an older file).
      if (location.baseOffset < this.nextOffset || location.lastOffset < location.baseOffset || location.lastOffset - this.baseOffset > SEGMENT_POSITION_MAX) break;
      if (verify) {
        if (position + location.size > chunkStart + chunkLength && !(await fill(position, location.size))) break;
        const at = position - chunkStart;
        if (chunk.readUInt32BE(at + CRC) !== crc32c(chunk, at + ATTRIBUTES, at + location.size)) break;
      }
      this.track(location);
      position += location.size;
    }
    return position;
  }

  private track(location: BatchLocation): void {
    if (location.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = location.maxTimestamp;
      this.maxTimestampOffset = location.baseOffset;
    }
    if (this.offsetIndex.length === 0 || this.bytesSinceIndex >= this.indexIntervalBytes) {
      this.offsetIndex.push(location.baseOffset - this.baseOffset, location.position);
      const lastTime = this.timeIndex.length === 0 ? -Infinity : this.timeIndex[this.timeIndex.length - 2]!;
      if (this.maxTimestamp > lastTime) this.timeIndex.push(this.maxTimestamp, this.maxTimestampOffset);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += location.size;
    const lastEpoch = this.epochChanges.length === 0 ? -1 : this.epochChanges[this.epochChanges.length - 2]!;
    if (location.leaderEpoch > lastEpoch) this.epochChanges.push(location.leaderEpoch, location.baseOffset);
    this.nextOffset = location.lastOffset + 1;
  }

  /** Epoch changes recorded in this segment's batches, in order (only the scanned tail when !epochsComplete). */
  epochStarts(): Array<{ epoch: number; startOffset: number }> {
    const out: Array<{ epoch: number; startOffset: number }> = [];
    for (let i = 0; i < this.epochChanges.length; i += 2) out.push({ epoch: this.epochChanges[i]!, startOffset: this.epochChanges[i + 1]! });
    return out;
  }

  /** Reads every batch header (no CRC) to learn the epoch changes of a segment whose indexes came from files. */
  async scanEpochs(): Promise<Array<{ epoch: number; startOffset: number }>> {
    const out: Array<{ epoch: number; startOffset: number }> = [];
    await this.walkHeaders(0, this.size, (location) => {
      const last = out[out.length - 1];
      if (location.leaderEpoch >= 0 && (last === undefined || location.leaderEpoch > last.epoch)) out.push({ epoch: location.leaderEpoch, startOffset: location.baseOffset });
      return false;
    });
    return out;
  }

  /**
   * Appends whole batches (validated, offsets assigned) with one positional writev at `size`.
   * Only once every byte is written do `size`, the indexes and the offsets advance. A failed
   * write (ENOSPC, EIO) is cut back off, leaving the file exactly as before, and throws
   * SegmentWriteError; `rolledBack` false means the cut failed too and the file is suspect.
   * `locations` have positions relative to the write; after it they hold file positions.
   */
  async append(buffers: Buffer[], bytes: number, locations: BatchLocation[], now: number): Promise<void> {
    const position = this.size;
    this.acquire();
    try {
      try {
        await writeAllAt(this.fd, buffers, position);
      } catch (error) {
        throw this.writeFailed(error, position);
      }
    } finally {
      this.release();
    }
    this.appended(position, bytes, locations, now);
  }

  /**
   * `append` on the event loop (a small write: a copy into the page cache), with the same
   * outcome and errors. Synchronous, so the append path of a small produce makes no promise.
   */
  appendInline(buffers: Buffer[], bytes: number, locations: BatchLocation[], now: number): void {
    const position = this.size;
    this.acquire();
    try {
      try {
        writeAllAtSync(this.fd, buffers, position);
      } catch (error) {
        throw this.writeFailed(error, position);
      }
    } finally {
      this.release();
    }
    this.appended(position, bytes, locations, now);
  }

  /**
   * The error of a failed write at `position`, once the segment is cut back to it so that no part
   * of the write stays (synchronous: a failure path, and the same for both kinds of append).
   */
  private writeFailed(error: unknown, position: number): SegmentWriteError {
    try {
      fs.ftruncateSync(this.fd, position);
    } catch {
      return new SegmentWriteError(error, false);
    }
    return new SegmentWriteError(error, true);
  }

  /** After a write at `position` of `bytes` has landed: size, indexes and offsets advance. */
  private appended(position: number, bytes: number, locations: BatchLocation[], now: number): void {
    // The chunk's positions become file positions in place: the locations are the caller's, made for this write.
    for (const location of locations) {
      location.position += position;
      this.track(location);
    }
    this.size = position + bytes;
    this.version++;
    this.lastModifiedMs = now;
    this.hint(locations[0]!.baseOffset, position);
  }

  private hint(offset: number, position: number): void {
    this.hintOffsets[this.hintNext] = offset;
    this.hintPositions[this.hintNext] = position;
    this.hintNext = (this.hintNext + 1) % POSITION_HINTS_MAX;
  }

  /** The hinted position of `offset`, newest hint first; undefined without one. */
  private hinted(offset: number): number | undefined {
    for (let step = 1; step <= POSITION_HINTS_MAX; step++) {
      const slot = (this.hintNext - step + POSITION_HINTS_MAX) % POSITION_HINTS_MAX;
      if (this.hintOffsets[slot] === offset) return this.hintPositions[slot];
    }
    return undefined;
  }

  private clearHints(): void {
    this.hintOffsets.fill(-1);
  }

  /** Where the batch holding `offset` (or the first after it) starts, or null when the segment ends before it. */
  async findBatch(offset: number): Promise<{ baseOffset: number; position: number } | null> {
    if (offset >= this.nextOffset) return null;
    const hinted = this.hinted(offset);
    if (hinted !== undefined && hinted < this.size) return { baseOffset: offset, position: hinted };
    let found: BatchLocation | null = null;
    await this.walkHeaders(this.indexedPositionBefore(offset), this.size, (location) => {
      if (location.lastOffset < offset) return false;
      found = location;
      return true;
    });
    return found;
  }

  /**
   * Calls `visit` for each batch header from `from` to `end` until it returns true. Reads
   * blocks of HEADER_BLOCK_BYTES and jumps over batches larger than a block.
   */
  private async walkHeaders(from: number, end: number, visit: (location: BatchLocation) => boolean): Promise<void> {
    this.acquire();
    try {
      let block = EMPTY;
      let blockStart = 0;
      let blockLength = 0;
      for (let position = from; position + HEADER_SIZE <= end; ) {
        if (position < blockStart || position + HEADER_SIZE > blockStart + blockLength) {
          const length = Math.min(HEADER_BLOCK_BYTES, end - position);
          if (block.length < length) block = Buffer.allocUnsafe(HEADER_BLOCK_BYTES);
          blockStart = position;
          blockLength = await readAt(this.fd, block, 0, length, position);
          if (blockLength < HEADER_SIZE) return;
        }
        const location = parseLocation(block, position - blockStart, position);
        if (location === null || visit(location)) return;
        position += location.size;
      }
    } finally {
      this.release();
    }
  }

  private async readHeaderAt(position: number, end: number): Promise<BatchLocation | null> {
    let found: BatchLocation | null = null;
    await this.walkHeaders(position, end, (location) => {
      found = location;
      return true;
    });
    return found;
  }

  /** Binary search of the sparse index: the position of the last entry at or before `offset`. */
  private indexedPositionBefore(offset: number): number {
    const relative = offset - this.baseOffset;
    let lo = 0;
    let hi = this.offsetIndex.length / 2 - 1;
    let start = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsetIndex[mid * 2]! <= relative) {
        start = this.offsetIndex[mid * 2 + 1]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return start;
  }

  /** The first batch whose max timestamp is >= `timestamp`, or null. */
  async findByTimestamp(timestamp: number): Promise<BatchLocation | null> {
    if (this.maxTimestamp < timestamp) return null;
    // Every batch up to an entry's offset has a max timestamp <= the entry's: start after the
    // last entry still below `timestamp` (its own batch is checked again, harmlessly).
    let startOffset = this.baseOffset;
    for (let i = 0; i < this.timeIndex.length && this.timeIndex[i]! < timestamp; i += 2) startOffset = this.timeIndex[i + 1]!;
    let found: BatchLocation | null = null;
    await this.walkHeaders(this.indexedPositionBefore(startOffset), this.size, (location) => {
      if (location.lastOffset < startOffset || location.maxTimestamp < timestamp) return false;
      found = location;
      return true;
    });
    return found;
  }

  /**
   * Whole batches from `position` (a batch boundary), up to `maxBytes`, or the first batch
   * whole when `minOne` and it is larger: one read of up to `maxBytes` (a second only when the
   * first batch is larger), then the headers are walked in memory to cut at a batch end.
   * Never reads past `size` (what completed writes hold).
   */
  async read(position: number, maxBytes: number, minOne: boolean): Promise<Buffer> {
    const end = this.size;
    const available = end - position;
    if (available <= 0) return EMPTY;
    let want = Math.min(maxBytes, available);
    if (minOne) want = Math.max(want, Math.min(HEADER_SIZE, available));
    if (want <= 0) return EMPTY;
    this.acquire();
    try {
      let out = Buffer.allocUnsafe(want);
      let read = await readAt(this.fd, out, 0, want, position);
      let cut = wholeBatches(out, read);
      if (cut === 0 && minOne && read >= LOG_OVERHEAD) {
        const first = Math.min(LOG_OVERHEAD + out.readInt32BE(BATCH_LENGTH), available);
        if (first > read) {
          out = Buffer.allocUnsafe(first);
          read = await readAt(this.fd, out, 0, first, position);
          cut = wholeBatches(out, read);
        }
      }
      if (cut > 0) {
        const last = lastBatchStart(out, cut);
        this.hint(readInt64Number(out, last + BASE_OFFSET) + out.readInt32BE(last + LAST_OFFSET_DELTA) + 1, position + cut);
      }
      return cut === out.length ? out : out.subarray(0, cut);
    } finally {
      this.release();
    }
  }

  /** Cuts the segment at `position` (a batch boundary) and rebuilds its in-memory indexes for what remains. */
  async truncateAt(position: number): Promise<void> {
    await truncateFd(this.fd, position);
    this.size = position;
    this.version++;
    this.clearHints();
    // Keep the index entries before the cut except the last, and rescan from that one.
    let keep = 0;
    while (keep < this.offsetIndex.length && this.offsetIndex[keep + 1]! < position) keep += 2;
    const from = keep === 0 ? 0 : this.offsetIndex[keep - 1]!;
    const fromOffset = keep === 0 ? this.baseOffset : this.baseOffset + this.offsetIndex[keep - 2]!;
    this.offsetIndex.length = Math.max(0, keep - 2);
    let times = 0;
    while (times < this.timeIndex.length && this.timeIndex[times + 1]! < fromOffset) times += 2;
    this.timeIndex.length = times;
    this.maxTimestamp = times === 0 ? -1 : this.timeIndex[times - 2]!;
    this.maxTimestampOffset = times === 0 ? -1 : this.timeIndex[times - 1]!;
    let epochs = 0;
    while (epochs < this.epochChanges.length && this.epochChanges[epochs + 1]! < fromOffset) epochs += 2;
    this.epochChanges.length = epochs;
    this.nextOffset = fromOffset;
    this.bytesSinceIndex = this.indexIntervalBytes;
    await this.scan(from, position, false);
  }

  /** fdatasync: the data (and the size) reach the disk. */
  async sync(): Promise<void> {
    if (this.fd < 0) return;
    this.acquire();
    try {
      await datasyncFd(this.fd);
    } finally {
      this.release();
    }
  }

  /** Writes the in-memory indexes to their files (temp + rename, fsynced), in Kafka's layouts. */
  async saveIndexes(): Promise<void> {
    const version = this.version;
    const offsets = Buffer.allocUnsafe(this.offsetIndex.length * 4);
    for (let i = 0; i < this.offsetIndex.length; i += 2) {
      offsets.writeUInt32BE(this.offsetIndex[i]!, i * 4);
      offsets.writeUInt32BE(this.offsetIndex[i + 1]!, i * 4 + 4);
    }
    const times = Buffer.allocUnsafe(this.timeIndex.length * 6);
    for (let i = 0; i < this.timeIndex.length; i += 2) {
      times.writeBigInt64BE(BigInt(this.timeIndex[i]!), i * 6);
      times.writeUInt32BE(this.timeIndex[i + 1]! - this.baseOffset, i * 6 + 8);
    }
    await writeFileAtomically(this.file('.index'), offsets, true);
    await writeFileAtomically(this.file('.timeindex'), times, true);
    if (this.version === version) this.savedVersion = version;
  }

  private acquire(): void {
    if (this.fd < 0) throw new Error(`segment ${this.logPath} is closed`);
    this.refs++;
  }

  private release(): void {
    this.refs--;
    if (this.refs === 0 && this.closeRequested) void this.closeNow();
  }

  private async closeNow(): Promise<void> {
    const fd = this.fd;
    if (fd < 0) return;
    this.fd = -1;
    try {
      await closeFd(fd);
    } finally {
      this.closedResolve?.();
    }
  }

  /** Closes the descriptor once no read, write or fsync holds it. */
  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.closeRequested = true;
    this.closed = new Promise<void>((resolve) => {
      this.closedResolve = resolve;
    });
    if (this.refs === 0) void this.closeNow();
    return this.closed;
  }

  /** Unlinks the segment's files now and closes the descriptor when the last reader is done. */
  async remove(): Promise<void> {
    this.removed = true;
    await Promise.all(['.log', '.index', '.timeindex'].map((suffix) => fs.promises.rm(this.file(suffix), { force: true })));
    void this.close();
  }
}

/** A batch header in `buf` at `at` as a location at file `position`, or null when implausible. */
function parseLocation(buf: Buffer, at: number, position: number): BatchLocation | null {
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH);
  if (buf.readInt8(at + MAGIC) !== 2 || batchLength < HEADER_SIZE - LOG_OVERHEAD) return null;
  const baseOffset = readInt64Number(buf, at + BASE_OFFSET);
  return {
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA),
    position,
    size: LOG_OVERHEAD + batchLength,
    maxTimestamp: readInt64Number(buf, at + MAX_TIMESTAMP),
    leaderEpoch: buf.readInt32BE(at + PARTITION_LEADER_EPOCH),
  };
}

/** Bytes of `buf[0, length)` that are whole batches. */
function wholeBatches(buf: Buffer, length: number): number {
  let end = 0;
  while (end + LOG_OVERHEAD <= length) {
    const size = LOG_OVERHEAD + buf.readInt32BE(end + BATCH_LENGTH);
    if (size < HEADER_SIZE || end + size > length) break;
    end += size;
  }
  return end;
}

/** Start of the last batch in `buf[0, end)` (whole batches). */
function lastBatchStart(buf: Buffer, end: number): number {
  let position = 0;
  for (;;) {
    const next = position + LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH);
    if (next >= end) return position;
    position = next;
  }
}
