/**
 * One log segment: `<20-digit base offset>.log` holding whole RecordBatches back to back,
 * with a sparse offset index (`.index`: relative offset → file position) and a sparse time
 * index (`.timeindex`: max timestamp so far → offset), one entry of each per
 * index.interval.bytes, as Kafka does. Both indexes live in memory and are written to their
 * files (Kafka's layouts: 4+4 and 8+4 bytes per entry) when the segment is rolled or closed.
 *
 * At start-up they are rebuilt by scanning batch headers rather than trusting an index file
 * that may be stale after a crash: one 61-byte read per batch, about 65,000 reads for a full
 * 1 GiB segment of 16 KiB batches (a second or so per GiB on a warm page cache). The active
 * segment is also CRC-checked batch by batch (it reads the whole segment once).
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32c } from '../../shared/kafka/crc32c';
import { ATTRIBUTES, BATCH_LENGTH, BASE_OFFSET, CRC, HEADER_SIZE, LAST_OFFSET_DELTA, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH } from '../../shared/kafka/record-batch';

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

export class Segment {
  /** Sparse: [relativeOffset, position] pairs in increasing order. */
  private offsetIndex: number[] = [];
  /** Sparse: [maxTimestampSoFar, offset of the batch where it was reached] pairs. */
  private timeIndex: number[] = [];
  private bytesSinceIndex = 0;
  /** Epoch changes seen in this segment's batches, increasing: [epoch, startOffset] pairs. */
  private epochChanges: number[] = [];
  /** Offset one past the last batch (== baseOffset when empty). */
  nextOffset: number;
  size: number;
  /** Largest batch maxTimestamp in the segment, -1 when empty. */
  maxTimestamp = -1;
  /** Offset of the batch holding maxTimestamp. */
  private maxTimestampOffset = -1;
  /** When the segment was last appended to (file mtime at open): retention's fallback without timestamps. */
  lastModifiedMs: number;
  private readonly header = Buffer.allocUnsafe(HEADER_SIZE);

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

  private file(suffix: string): string {
    return path.join(this.dir, `${segmentName(this.baseOffset)}${suffix}`);
  }

  /** A new, empty segment. 'w+' rather than 'a+': appends write at `size`, and O_APPEND would ignore the position. */
  static create(dir: string, baseOffset: number, indexIntervalBytes: number, now: number): Segment {
    const fd = fs.openSync(path.join(dir, `${segmentName(baseOffset)}.log`), 'w+');
    return new Segment(dir, baseOffset, fd, 0, indexIntervalBytes, now);
  }

  /**
   * Opens an existing segment, rebuilding its indexes from the batch headers. With `verify`
   * (the active segment) every batch's CRC is checked too. A torn or corrupt tail is truncated.
   */
  static open(dir: string, baseOffset: number, indexIntervalBytes: number, verify: boolean): { segment: Segment; truncatedBytes: number } {
    const fd = fs.openSync(path.join(dir, `${segmentName(baseOffset)}.log`), 'r+');
    const stat = fs.fstatSync(fd);
    const segment = new Segment(dir, baseOffset, fd, stat.size, indexIntervalBytes, stat.mtimeMs);
    const validEnd = segment.rebuild(verify);
    let truncatedBytes = 0;
    if (validEnd < stat.size) {
      truncatedBytes = stat.size - validEnd;
      fs.ftruncateSync(fd, validEnd);
      segment.size = validEnd;
    }
    return { segment, truncatedBytes };
  }

  /** Scans batch headers from the start, rebuilding indexes; returns where the valid data ends. */
  private rebuild(verify: boolean): number {
    this.offsetIndex = [];
    this.timeIndex = [];
    this.epochChanges = [];
    this.bytesSinceIndex = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.maxTimestampOffset = -1;
    let position = 0;
    while (position + HEADER_SIZE <= this.size) {
      const location = this.readHeaderAt(position);
      if (location === null || position + location.size > this.size) break;
      // Offsets only grow; a batch that goes back is garbage (e.g. a block of an older file).
      if (location.baseOffset < this.nextOffset || location.lastOffset < location.baseOffset) break;
      if (verify && !this.crcOk(position, location.size)) break;
      this.track(location);
      position += location.size;
    }
    return position;
  }

  private crcOk(position: number, size: number): boolean {
    const batch = Buffer.allocUnsafe(size);
    if (fs.readSync(this.fd, batch, 0, size, position) < size) return false;
    return batch.readUInt32BE(CRC) === crc32c(batch, ATTRIBUTES, size);
  }

  /** The header of the batch at `position`, or null when it is not a plausible batch. */
  readHeaderAt(position: number): BatchLocation | null {
    const read = fs.readSync(this.fd, this.header, 0, HEADER_SIZE, position);
    if (read < HEADER_SIZE) return null;
    return parseLocation(this.header, 0, position);
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

  /** Epoch changes recorded in this segment's batches, in order. */
  epochStarts(): Array<{ epoch: number; startOffset: number }> {
    const out: Array<{ epoch: number; startOffset: number }> = [];
    for (let i = 0; i < this.epochChanges.length; i += 2) out.push({ epoch: this.epochChanges[i]!, startOffset: this.epochChanges[i + 1]! });
    return out;
  }

  /**
   * Appends whole batches (already validated and given offsets). In the file (the page cache)
   * before it returns. A failed write (disk full) is cut back off so the file stays whole batches.
   */
  append(data: Buffer, locations: BatchLocation[], now: number): void {
    let written = 0;
    try {
      while (written < data.length) written += fs.writeSync(this.fd, data, written, data.length - written, this.size + written);
    } catch (error) {
      if (written > 0) fs.ftruncateSync(this.fd, this.size);
      throw error;
    }
    for (const location of locations) this.track({ ...location, position: this.size + location.position });
    this.size += data.length;
    this.lastModifiedMs = now;
  }

  /** The batch that contains `offset` (or the first after it), or null past the end. */
  findBatch(offset: number): BatchLocation | null {
    for (let position = this.indexedPositionBefore(offset); position < this.size; ) {
      const location = this.readHeaderAt(position);
      if (location === null) return null;
      if (location.lastOffset >= offset) return location;
      position += location.size;
    }
    return null;
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
  findByTimestamp(timestamp: number): BatchLocation | null {
    if (this.maxTimestamp < timestamp) return null;
    // Every batch up to an entry's offset has a max timestamp <= the entry's: start after the
    // last entry still below `timestamp` (its own batch is checked again, harmlessly).
    let startOffset = this.baseOffset;
    for (let i = 0; i < this.timeIndex.length && this.timeIndex[i]! < timestamp; i += 2) startOffset = this.timeIndex[i + 1]!;
    let location = this.findBatch(startOffset);
    while (location !== null) {
      if (location.maxTimestamp >= timestamp) return location;
      const next = location.position + location.size;
      location = next < this.size ? this.readHeaderAt(next) : null;
    }
    return null;
  }

  /**
   * Whole batches from `position` (a batch boundary), up to `maxBytes`, or the first batch
   * whole when `minOne` and it is larger. One read of up to `maxBytes` (two when the first
   * batch is larger), then the batch headers are walked in memory to cut at a batch end.
   */
  read(position: number, maxBytes: number, minOne: boolean): Buffer {
    const available = this.size - position;
    if (available <= 0) return Buffer.alloc(0);
    let want = Math.min(maxBytes, available);
    if (minOne) {
      const first = this.readHeaderAt(position);
      if (first === null) return Buffer.alloc(0);
      want = Math.max(want, Math.min(first.size, available));
    }
    if (want <= 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(want);
    const read = fs.readSync(this.fd, out, 0, want, position);
    let end = 0;
    while (end + LOG_OVERHEAD <= read) {
      const size = LOG_OVERHEAD + out.readInt32BE(end + BATCH_LENGTH);
      if (size < HEADER_SIZE || end + size > read) break;
      end += size;
    }
    return out.subarray(0, end);
  }

  /** Cuts the segment at `position` (a batch boundary) and rebuilds its indexes. */
  truncateAt(position: number): void {
    fs.ftruncateSync(this.fd, position);
    this.size = position;
    this.rebuild(false);
  }

  flush(): void {
    if (this.fd >= 0) fs.fsyncSync(this.fd);
  }

  /** Writes the in-memory indexes to their files (at roll and close), in Kafka's layouts. */
  saveIndexes(): void {
    const offsets = Buffer.alloc(this.offsetIndex.length * 4);
    for (let i = 0; i < this.offsetIndex.length; i += 2) {
      offsets.writeUInt32BE(this.offsetIndex[i]!, i * 4);
      offsets.writeUInt32BE(this.offsetIndex[i + 1]!, i * 4 + 4);
    }
    fs.writeFileSync(this.file('.index'), offsets);
    const times = Buffer.alloc(this.timeIndex.length * 6);
    for (let i = 0; i < this.timeIndex.length; i += 2) {
      times.writeBigInt64BE(BigInt(this.timeIndex[i]!), i * 6);
      times.writeUInt32BE(this.timeIndex[i + 1]! - this.baseOffset, i * 6 + 8);
    }
    fs.writeFileSync(this.file('.timeindex'), times);
  }

  close(): void {
    if (this.fd < 0) return;
    this.saveIndexes();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes and removes the segment's files. */
  remove(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    for (const suffix of ['.log', '.index', '.timeindex']) fs.rmSync(this.file(suffix), { force: true });
  }
}

/** A batch header in `buf` at `at` as a location at file `position`, or null when implausible. */
function parseLocation(buf: Buffer, at: number, position: number): BatchLocation | null {
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH);
  if (buf.readInt8(at + MAGIC) !== 2 || batchLength < HEADER_SIZE - LOG_OVERHEAD) return null;
  const baseOffset = Number(buf.readBigInt64BE(at + BASE_OFFSET));
  return {
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA),
    position,
    size: LOG_OVERHEAD + batchLength,
    maxTimestamp: Number(buf.readBigInt64BE(at + MAX_TIMESTAMP)),
    leaderEpoch: buf.readInt32BE(at + PARTITION_LEADER_EPOCH),
  };
}
