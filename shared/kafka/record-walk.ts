/**
 * Walks the records of one RecordBatch v2 (after decompression) the way Kafka's
 * DefaultRecord.readFrom reads them, without allocating per record: the broker validates
 * every produced batch with it, so it is on the produce path. It checks that each record's
 * length prefix, varints, key, value and headers parse to exactly the record's end, that
 * the records found match the count, that offset deltas run 0..n-1, and that timestamps are
 * in range; it returns the largest record timestamp (-1 when no record has one).
 *
 * Error codes: CORRUPT_MESSAGE for bytes that do not parse or disagree with the count;
 * INVALID_RECORD for offset deltas out of sequence; INVALID_TIMESTAMP for timestamps outside
 * [minTimestamp, maxTimestamp] (-1, "no timestamp", is always allowed, as in Kafka), and for
 * a record without a key when keys are required (compacted topics).
 */
import { KafkaError } from './errors';
import { RecordBatchError } from './record-batch-error';

/** Kafka's RecordBatch.NO_TIMESTAMP. */
export const NO_TIMESTAMP = -1;

export interface TimestampRange {
  minTimestamp: number;
  maxTimestamp: number;
}

// The readers below share one cursor: the walk is synchronous, and a module variable avoids
// allocating a reader (or returning pairs) per record.
let at = 0;

function corrupt(message: string): RecordBatchError {
  return new RecordBatchError(KafkaError.CORRUPT_MESSAGE, message);
}

/** Zigzag varint of at most 5 bytes that must fit 32 bits (Kafka's ByteUtils.readVarint). */
function varint32(buf: Buffer, end: number): number {
  let raw = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (at >= end) throw corrupt('truncated varint');
    const byte = buf[at++]!;
    raw |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      if (shift === 28 && byte > 0x0f) throw corrupt('varint larger than 32 bits');
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  throw corrupt('varint longer than 5 bytes');
}

/**
 * Zigzag varlong of at most 10 bytes, as a number: exact below 2^53, which covers every
 * timestamp delta that can pass the range check (larger ones only need to be large).
 */
function varlong(buf: Buffer, end: number): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= end) throw corrupt('truncated varlong');
    const byte = buf[at++]!;
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    multiplier *= 0x80;
  }
  throw corrupt('varlong longer than 10 bytes');
}

/** Skips a varint-length-prefixed byte string that may be null (-1); returns its length. */
function skipNullableBytes(buf: Buffer, end: number, what: string): number {
  const length = varint32(buf, end);
  if (length < -1) throw corrupt(`${what} length ${length}`);
  if (length > 0) at += length;
  return length;
}

/**
 * Walks `recordCount` records in buf[start, end), records of a batch whose base timestamp is
 * `baseTimestamp` (already checked to be -1 or within `range`). Returns the largest timestamp.
 */
export function walkRecords(buf: Buffer, start: number, end: number, baseTimestamp: number, recordCount: number, range: TimestampRange, requireKeys = false): number {
  at = start;
  let largest = NO_TIMESTAMP;
  for (let index = 0; index < recordCount; index++) {
    if (at >= end) throw corrupt(`the batch holds ${index} records, its header says ${recordCount}`);
    const length = varint32(buf, end);
    const recordEnd = at + length;
    if (length <= 0 || recordEnd > end) throw corrupt(`record ${index}: length ${length} with ${end - at} bytes left`);
    at++; // attributes: unused in v2
    const timestamp = baseTimestamp + varlong(buf, recordEnd);
    if (timestamp !== NO_TIMESTAMP) {
      if (!(timestamp >= range.minTimestamp && timestamp <= range.maxTimestamp)) {
        throw new RecordBatchError(KafkaError.INVALID_TIMESTAMP, `record ${index}: timestamp ${timestamp} outside [${range.minTimestamp}, ${range.maxTimestamp}]`);
      }
      if (timestamp > largest) largest = timestamp;
    }
    const offsetDelta = varint32(buf, recordEnd);
    if (offsetDelta !== index) throw new RecordBatchError(KafkaError.INVALID_RECORD, `record ${index} has offset delta ${offsetDelta}`);
    // A compacted topic cannot keep a record without a key (Kafka's INVALID_RECORD for the whole batch).
    if (skipNullableBytes(buf, recordEnd, 'key') < 0 && requireKeys) throw new RecordBatchError(KafkaError.INVALID_RECORD, `record ${index} has no key, which a compacted topic requires`);
    skipNullableBytes(buf, recordEnd, 'value');
    const headerCount = varint32(buf, recordEnd);
    if (headerCount < 0 || headerCount > recordEnd - at) throw corrupt(`record ${index}: ${headerCount} headers`);
    for (let h = 0; h < headerCount; h++) {
      const keyLength = varint32(buf, recordEnd);
      if (keyLength < 0) throw corrupt(`record ${index}: header key length ${keyLength}`);
      at += keyLength;
      skipNullableBytes(buf, recordEnd, 'header value');
    }
    if (at !== recordEnd) throw corrupt(`record ${index}: fields end at byte ${at - start}, its length says ${recordEnd - start}`);
  }
  if (at !== end) throw corrupt(`${end - at} bytes after the ${recordCount} records the header counts`);
  return largest;
}
