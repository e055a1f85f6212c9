/**
 * The last appends of a log, kept in memory so that a consumer at the tail (a long poll woken
 * by the append it waits for) is answered without a round trip through the I/O thread pool:
 * the append path already held these bytes. Kafka leans on the page cache and sendfile for the
 * same; here the pool hop was most of the produce-to-consume latency.
 *
 * Holds one contiguous run of offsets ending at the log end: an append too large to keep
 * (ENTRY_BYTES_MAX) starts the run afresh after it, and old entries go first past BYTES_MAX.
 * Entries are copies (a producer's batches are slices of its request frame, which they would
 * otherwise keep alive). Whatever rewrites the log's tail (a truncation) clears it.
 */
import { readInt64Number } from '../../shared/kafka/int64';
import { BASE_OFFSET, BATCH_LENGTH, LAST_OFFSET_DELTA, LOG_OVERHEAD } from '../../shared/kafka/record-batch';

/** Appends larger than this are not kept (a bulk writer is not waiting on latency, and copying its batches would cost throughput). */
export const TAIL_ENTRY_BYTES_MAX = 16 * 1024;
/** Most bytes kept per log. */
export const TAIL_BYTES_MAX = 512 * 1024;
/**
 * Most appends kept per log. A consumer at the tail reads within milliseconds of the append,
 * so a few suffice; and every entry is an object the garbage collector copies and, if it lives
 * long enough, promotes: with 64 per log the promotions doubled the broker's major collections
 * (its p99.9 latency), with thousands they lengthened every scavenge.
 */
export const TAIL_ENTRIES_MAX = 8;

interface Entry {
  /** The segment the entry is in: a read stops at a segment's end, as a read of the file does. */
  segmentBase: number;
  baseOffset: number;
  /** Offset after the entry's last record. */
  endOffset: number;
  records: Buffer;
}

export class TailCache {
  private entries: Entry[] = [];
  private bytes = 0;
  /** Reads answered from memory (a figure for tests and metrics). */
  hits = 0;

  /** Records an append that just reached the file: `records` are its stored bytes (whole batches). */
  add(segmentBase: number, baseOffset: number, lastOffset: number, records: Buffer): void {
    const previous = this.entries[this.entries.length - 1];
    if (records.length > TAIL_ENTRY_BYTES_MAX || (previous !== undefined && previous.endOffset !== baseOffset)) {
      this.clear();
      if (records.length > TAIL_ENTRY_BYTES_MAX) return;
    }
    // A copy (allocUnsafe + copy: Buffer.from(buffer) copies byte by byte in JavaScript).
    const copy = Buffer.allocUnsafe(records.length);
    records.copy(copy);
    this.entries.push({ segmentBase, baseOffset, endOffset: lastOffset + 1, records: copy });
    this.bytes += records.length;
    while ((this.bytes > TAIL_BYTES_MAX || this.entries.length > TAIL_ENTRIES_MAX) && this.entries.length > 1) this.bytes -= this.entries.shift()!.records.length;
  }

  clear(): void {
    this.entries = [];
    this.bytes = 0;
  }

  /**
   * Whole batches from the one holding `fetchOffset`, within `maxBytes` (the first whole when
   * `minOneBatch`), none at or past `upTo`; null when the run does not reach back to
   * `fetchOffset` (the caller reads the file).
   */
  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean, upTo: number): Buffer | null {
    const first = this.entries[0];
    if (first === undefined || fetchOffset < first.baseOffset) return null;
    let index = this.entries.findIndex((entry) => entry.endOffset > fetchOffset);
    if (index < 0) return null;
    const pieces: Buffer[] = [];
    let total = 0;
    const segmentBase = this.entries[index]!.segmentBase;
    let position = batchHolding(this.entries[index]!.records, fetchOffset);
    for (; index < this.entries.length && this.entries[index]!.segmentBase === segmentBase; index++, position = 0) {
      const records = this.entries[index]!.records;
      const start = position;
      while (position + LOG_OVERHEAD <= records.length) {
        if (readInt64Number(records, position + BASE_OFFSET) >= upTo) break;
        const size = LOG_OVERHEAD + records.readInt32BE(position + BATCH_LENGTH);
        const allowed = total + (position - start) + size <= maxBytes || (minOneBatch && total === 0 && position === start);
        if (!allowed) break;
        position += size;
      }
      if (position > start) {
        pieces.push(records.subarray(start, position));
        total += position - start;
      }
      if (position < records.length) break;
    }
    this.hits++;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
  }
}

/** Position of the batch that holds `offset` in `records` (whole batches), or its length. */
function batchHolding(records: Buffer, offset: number): number {
  let position = 0;
  while (position + LOG_OVERHEAD <= records.length) {
    const last = readInt64Number(records, position + BASE_OFFSET) + records.readInt32BE(position + LAST_OFFSET_DELTA);
    if (last >= offset) return position;
    position += LOG_OVERHEAD + records.readInt32BE(position + BATCH_LENGTH);
  }
  return position;
}
