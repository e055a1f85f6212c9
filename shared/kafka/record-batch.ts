/**
 * RecordBatch v2 (magic 2): validation of what producers send, the header fields the log
 * needs, and, for the CLI and the benchmark, building and decoding batches in every codec.
 *
 * The broker stores batches as received: it rewrites baseOffset and partitionLeaderEpoch,
 * which the CRC does not cover, and, as Kafka's LogValidator does, a maxTimestamp that
 * disagrees with the records (then the CRC is recomputed). Compressed batches are checked
 * by decompressing them (bounded: compression.ts) but stored as sent.
 * Offsets are plain numbers: exact below 2^53, i.e. for 9 quadrillion records per partition.
 *
 * Error codes (RecordBatchError.kafkaErrorCode):
 * - CORRUPT_MESSAGE: the bytes are damaged (sizes, magic, CRC, compressed data that does not
 *   decompress, records that do not parse to their end, a record count that disagrees with
 *   lastOffsetDelta or with the records found). Kafka answers INVALID_RECORD for the last
 *   ones; CORRUPT_MESSAGE is this project's choice (both clients fail the produce on either,
 *   but treat CORRUPT_MESSAGE as retriable until their delivery timeout).
 * - INVALID_RECORD: well-formed but not allowed from a producer: no records, the control bit,
 *   the transactional bit without a producer id, a producer id without a base sequence,
 *   offset deltas that are not 0..n-1.
 * - INVALID_TIMESTAMP: the LogAppendTime bit set by a producer, or a timestamp other than -1
 *   ("none") that is negative, past what a JavaScript Date holds, or outside Kafka's
 *   message.timestamp.before/after.max.ms window when the caller gives `now`.
 * - MESSAGE_TOO_LARGE over max.message.bytes, or a compressed batch inflating past the limit.
 * - UNSUPPORTED_COMPRESSION_TYPE for codec ids 5-7.
 */
import { crc32c } from './crc32c';
import { compress, compressSync, CompressionCodec, CompressionError, decompress, SyncCodec } from './compression';
import { KafkaError } from './errors';
import { readInt64Number } from './int64';
import { RecordBatchError } from './record-batch-error';
import { NO_TIMESTAMP, TimestampRange, walkRecords } from './record-walk';

export { RecordBatchError } from './record-batch-error';

export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORD_COUNT = 57;
/** Bytes before the records. */
export const HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes batchLength does not count. */
export const LOG_OVERHEAD = 12;

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface BatchInfo {
  /** Byte position of the batch in the buffer it was read from. */
  position: number;
  /** Whole batch size in bytes (LOG_OVERHEAD + batchLength). */
  size: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch: number;
  attributes: number;
  compression: Compression;
  producerId: number;
}

/** Attribute bits. */
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;

/**
 * Default limit on what one compressed batch may decompress to, in validation and decoding:
 * a 1 MiB batch (max.message.bytes) may legitimately inflate many times over, but not
 * without bound (a zstd or gzip bomb reaches ratios of 1000:1 and more).
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The largest timestamp a JavaScript Date holds (ms since the epoch): larger ones break consumers here. */
export const MAX_TIMESTAMP_MS = 8.64e15;

export interface ValidateOptions {
  /**
   * 'client' (default): a producer's batches, checked as Kafka's LogValidator does for
   * AppendOrigin.CLIENT: the header fields a producer may set and the records inside
   * (decompressed where needed). 'replication': batches a leader already validated, copied
   * to a follower: sizes, magic, CRC, codec id and counts only (Kafka's follower appends
   * skip LogValidator too), so control and transactional batches pass and nothing is inflated.
   */
  origin?: 'client' | 'replication';
  /** Limit on one batch's decompressed size (MESSAGE_TOO_LARGE beyond). */
  maxDecompressedBytes?: number;
  /**
   * The time now, for Kafka's message.timestamp.before.max.ms / after.max.ms: with it, record
   * timestamps must lie in [now - before, now + after]. Without it only the absolute range
   * [0, MAX_TIMESTAMP_MS] applies. Both windows default to unlimited, as in Kafka.
   */
  now?: number;
  timestampBeforeMaxMs?: number;
  timestampAfterMaxMs?: number;
  /** Refuse (INVALID_RECORD) a client batch holding a record without a key: the topic is compacted. */
  requireKeys?: boolean;
}

/** Reads the header of the batch at `position` (the caller checked HEADER_SIZE bytes are there). */
export function parseBatchHeader(buf: Buffer, position: number): BatchInfo {
  const attributes = buf.readInt16BE(position + ATTRIBUTES);
  return {
    position,
    size: LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH),
    baseOffset: readInt64Number(buf, position + BASE_OFFSET),
    lastOffsetDelta: buf.readInt32BE(position + LAST_OFFSET_DELTA),
    recordCount: buf.readInt32BE(position + RECORD_COUNT),
    baseTimestamp: readInt64Number(buf, position + BASE_TIMESTAMP),
    maxTimestamp: readInt64Number(buf, position + MAX_TIMESTAMP),
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH),
    attributes,
    compression: COMPRESSIONS[attributes & COMPRESSION_MASK] ?? 'none',
    producerId: readInt64Number(buf, position + PRODUCER_ID),
  };
}

/** Older name of parseBatchHeader, kept for existing callers. */
export const readBatchHeader = parseBatchHeader;

/**
 * Validates every batch in a Produce `records` field: sizes, magic, CRC-32C (attributes to
 * the end), codec, counts and, for batches from clients, the header fields a producer may set
 * and the records inside, decompressed within `maxDecompressedBytes`. A maxTimestamp that
 * disagrees with the records is corrected in `buf`, with the CRC, as Kafka does. Throws
 * RecordBatchError with the Kafka error code (see the top of this file).
 */
export function validateBatches(buf: Buffer, maxBatchBytes: number, options: ValidateOptions = {}): { batches: BatchInfo[] } {
  const fromClient = (options.origin ?? 'client') === 'client';
  const maxDecompressed = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const range = timestampRange(options);
  const batches: BatchInfo[] = [];
  let position = 0;
  if (buf.length === 0) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'empty record set');
  while (position < buf.length) {
    const remaining = buf.length - position;
    if (remaining < HEADER_SIZE) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `${remaining} trailing bytes are not a batch`);
    const magic = buf.readInt8(position + MAGIC);
    if (magic !== 2) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `magic ${magic}: only RecordBatch v2 is supported`);
    const batchLength = buf.readInt32BE(position + BATCH_LENGTH);
    const size = LOG_OVERHEAD + batchLength;
    if (batchLength < HEADER_SIZE - LOG_OVERHEAD) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `batch length ${batchLength} is below the header size`);
    if (size > maxBatchBytes) throw new RecordBatchError(KafkaError.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds max.message.bytes ${maxBatchBytes}`);
    if (size > remaining) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `batch of ${size} bytes but only ${remaining} present`);
    const expected = buf.readUInt32BE(position + CRC);
    const actual = crc32c(buf, position + ATTRIBUTES, position + size);
    if (expected !== actual) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `CRC mismatch: batch says ${expected.toString(16)}, bytes give ${actual.toString(16)}`);
    const info = parseBatchHeader(buf, position);
    checkCounts(info, fromClient);
    if (fromClient) {
      checkProducerFields(buf, info);
      const largest = inspectRecords(buf, info, range, maxDecompressed, options.requireKeys ?? false);
      if (largest !== info.maxTimestamp) {
        buf.writeBigInt64BE(BigInt(largest), position + MAX_TIMESTAMP);
        buf.writeUInt32BE(crc32c(buf, position + ATTRIBUTES, position + size), position + CRC);
        info.maxTimestamp = largest;
      }
    }
    batches.push(info);
    position += size;
  }
  return { batches };
}

function timestampRange(options: ValidateOptions): TimestampRange {
  if (options.now === undefined) return { minTimestamp: 0, maxTimestamp: MAX_TIMESTAMP_MS };
  const before = options.timestampBeforeMaxMs ?? Number.POSITIVE_INFINITY;
  const after = options.timestampAfterMaxMs ?? Number.POSITIVE_INFINITY;
  return { minTimestamp: Math.max(0, options.now - before), maxTimestamp: Math.min(MAX_TIMESTAMP_MS, options.now + after) };
}

/**
 * What every batch needs, whoever sent it: a known codec, and a count the log can assign
 * offsets by. A replicated batch may hold fewer records than its offsets span: the leader's
 * cleaner compacted it (offset gaps are normal there).
 */
function checkCounts(info: BatchInfo, fromClient: boolean): void {
  const codec = info.attributes & COMPRESSION_MASK;
  if (codec > 4) throw new RecordBatchError(KafkaError.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec}`);
  if (info.recordCount <= 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, `record count ${info.recordCount}: a batch needs at least one record`);
  if (fromClient ? info.lastOffsetDelta !== info.recordCount - 1 : info.lastOffsetDelta < info.recordCount - 1) {
    throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `record count ${info.recordCount} does not match last offset delta ${info.lastOffsetDelta}`);
  }
}

/** The header fields a producer controls (Kafka's LogValidator.validateBatch for AppendOrigin.CLIENT). */
function checkProducerFields(buf: Buffer, info: BatchInfo): void {
  if ((info.attributes & CONTROL_BIT) !== 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, 'control batches come from transaction coordinators, not producers');
  if ((info.attributes & TRANSACTIONAL_BIT) !== 0 && info.producerId < 0) {
    throw new RecordBatchError(KafkaError.INVALID_RECORD, `transactional batch without a producer id (${info.producerId})`);
  }
  const baseSequence = buf.readInt32BE(info.position + BASE_SEQUENCE);
  if (info.producerId >= 0 && baseSequence < 0) {
    throw new RecordBatchError(KafkaError.INVALID_RECORD, `producer id ${info.producerId} with base sequence ${baseSequence}`);
  }
  if ((info.attributes & TIMESTAMP_TYPE_BIT) !== 0) {
    throw new RecordBatchError(KafkaError.INVALID_TIMESTAMP, 'LogAppendTime is set by the broker, not by producers');
  }
  if (info.baseTimestamp !== NO_TIMESTAMP && !(info.baseTimestamp >= 0 && info.baseTimestamp <= MAX_TIMESTAMP_MS)) {
    throw new RecordBatchError(KafkaError.INVALID_TIMESTAMP, `base timestamp ${info.baseTimestamp}`);
  }
}

/** Walks the batch's records (decompressed if need be); returns their largest timestamp. */
function inspectRecords(buf: Buffer, info: BatchInfo, range: TimestampRange, maxDecompressed: number, requireKeys: boolean): number {
  const start = info.position + HEADER_SIZE;
  const end = info.position + info.size;
  if (info.compression === 'none') return walkRecords(buf, start, end, info.baseTimestamp, info.recordCount, range, requireKeys);
  const records = decompressRecords(info.compression, buf.subarray(start, end), maxDecompressed);
  return walkRecords(records, 0, records.length, info.baseTimestamp, info.recordCount, range, requireKeys);
}

function decompressRecords(codec: CompressionCodec, payload: Buffer, maxBytes: number): Buffer {
  try {
    return decompress(codec, payload, maxBytes);
  } catch (error) {
    if (!(error instanceof CompressionError)) throw error;
    throw new RecordBatchError(error.reason === 'too-large' ? KafkaError.MESSAGE_TOO_LARGE : KafkaError.CORRUPT_MESSAGE, error.message);
  }
}

/** The complete batches in a fetched record set (a fetch may end with a partial batch: it is skipped). */
export function* iterateBatches(buf: Buffer): Generator<BatchInfo> {
  let position = 0;
  while (buf.length - position >= HEADER_SIZE) {
    const size = LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH);
    if (size < HEADER_SIZE || size > buf.length - position) return;
    yield parseBatchHeader(buf, position);
    position += size;
  }
}

// ---------------------------------------------------------------------------
// Records (varints inside batches)

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface NewRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Zigzag varint writer over a growable buffer. Numbers, not bigints: every value here is < 2^53. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  varint(value: number): void {
    let z = value >= 0 ? value * 2 : -value * 2 - 1;
    this.ensure(10);
    while (z >= 0x80) {
      this.buf[this.length++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.length++] = z;
  }

  bytes(data: Buffer | null): void {
    if (data === null) {
      this.varint(-1);
      return;
    }
    this.varint(data.length);
    this.raw(data);
  }

  raw(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buf, this.length);
    this.length += data.length;
  }

  int8(value: number): void {
    this.ensure(1);
    this.buf.writeInt8(value, this.length++);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Zigzag varint of `value` as bytes, for the record's length prefix. */
function varintBytes(value: number): Buffer {
  const writer = new Writer();
  writer.varint(value);
  return Buffer.from(writer.result());
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public position: number,
  ) {}

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.position >= this.buf.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'truncated varint');
      const byte = this.buf[this.position++]!;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      multiplier *= 0x80;
    }
    throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'varint longer than 10 bytes');
  }

  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    if (this.position + length > this.buf.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'record field past the end');
    const out = this.buf.subarray(this.position, this.position + length);
    this.position += length;
    return out;
  }

  int8(): number {
    if (this.position >= this.buf.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'truncated record');
    return this.buf.readInt8(this.position++);
  }
}

const CODEC_IDS: Record<Compression, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** The records of a batch, uncompressed, and the timestamps its header needs. */
function encodeRecords(records: NewRecord[], baseTimestampOption: number | undefined): { body: Buffer; baseTimestamp: number; maxTimestamp: number } {
  if (records.length === 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, 'a batch needs at least one record');
  const baseTimestamp = baseTimestampOption ?? records[0]!.timestamp ?? Date.now();
  let maxTimestamp = baseTimestamp;
  const body = new Writer();
  records.forEach((record, index) => {
    const timestamp = record.timestamp ?? baseTimestamp;
    maxTimestamp = Math.max(maxTimestamp, timestamp);
    const one = new Writer();
    one.int8(0);
    one.varint(timestamp - baseTimestamp);
    one.varint(index);
    one.bytes(record.key);
    one.bytes(record.value);
    const headers = record.headers ?? [];
    one.varint(headers.length);
    for (const header of headers) {
      one.bytes(Buffer.from(header.key, 'utf8'));
      one.bytes(header.value);
    }
    const encoded = one.result();
    body.raw(varintBytes(encoded.length));
    body.raw(encoded);
  });
  return { body: body.result(), baseTimestamp, maxTimestamp };
}

/** A batch header (baseOffset 0, producerId -1, leader epoch -1) around `payload`, CRC computed. */
function sealBatch(payload: Buffer, compression: Compression, count: number, baseTimestamp: number, maxTimestamp: number): Buffer {
  const batch = Buffer.alloc(HEADER_SIZE + payload.length);
  batch.writeBigInt64BE(0n, BASE_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(-1, PARTITION_LEADER_EPOCH);
  batch.writeInt8(2, MAGIC);
  batch.writeInt16BE(CODEC_IDS[compression], ATTRIBUTES);
  batch.writeInt32BE(count - 1, LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP);
  batch.writeBigInt64BE(-1n, PRODUCER_ID);
  batch.writeInt16BE(-1, PRODUCER_EPOCH);
  batch.writeInt32BE(-1, BASE_SEQUENCE);
  batch.writeInt32BE(count, RECORD_COUNT);
  payload.copy(batch, HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES, batch.length), CRC);
  return batch;
}

export interface BuildOptions<C extends Compression = Compression> {
  compression?: C;
  baseTimestamp?: number;
}

/** Builds one RecordBatch v2 (baseOffset 0, producerId -1) holding `records`; zstd needs buildRecordBatchAsync. */
export function buildRecordBatch(records: NewRecord[], options: BuildOptions<'none' | SyncCodec> = {}): Buffer {
  const { body, baseTimestamp, maxTimestamp } = encodeRecords(records, options.baseTimestamp);
  const compression = options.compression ?? 'none';
  const payload = compression === 'none' ? body : compressSync(compression, body);
  return sealBatch(payload, compression, records.length, baseTimestamp, maxTimestamp);
}

/** buildRecordBatch for every codec (zstd's library compresses asynchronously). */
export async function buildRecordBatchAsync(records: NewRecord[], options: BuildOptions = {}): Promise<Buffer> {
  const { body, baseTimestamp, maxTimestamp } = encodeRecords(records, options.baseTimestamp);
  const compression = options.compression ?? 'none';
  const payload = compression === 'none' ? body : await compress(compression, body);
  return sealBatch(payload, compression, records.length, baseTimestamp, maxTimestamp);
}

/**
 * Decodes the records of one batch in any codec. A compressed payload is inflated to at most
 * `maxDecompressedBytes` (MESSAGE_TOO_LARGE beyond); control batches give no records. In a
 * LogAppendTime batch every record's timestamp is the batch's maxTimestamp, as Kafka's
 * consumers read it.
 */
export function decodeRecords(batch: Buffer, options: { maxDecompressedBytes?: number } = {}): DecodedRecord[] {
  if (batch.length < HEADER_SIZE) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `${batch.length} bytes are not a batch`);
  const info = parseBatchHeader(batch, 0);
  if (info.size < HEADER_SIZE || info.size > batch.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `batch of ${info.size} bytes in ${batch.length}`);
  if ((info.attributes & CONTROL_BIT) !== 0) return []; // control batch (transaction markers)
  const codec = info.attributes & COMPRESSION_MASK;
  if (codec > 4) throw new RecordBatchError(KafkaError.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec}`);
  let records: Buffer = batch.subarray(HEADER_SIZE, info.size);
  if (info.compression !== 'none') records = decompressRecords(info.compression, records, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  const logAppendTime = (info.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  const reader = new Reader(records, 0);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < info.recordCount; i++) {
    const length = reader.varint();
    const end = reader.position + length;
    if (length < 0 || end > records.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, 'record length past the end of the batch');
    reader.int8();
    const timestampDelta = reader.varint();
    const offsetDelta = reader.varint();
    const key = reader.bytes();
    const value = reader.bytes();
    const headerCount = reader.varint();
    if (headerCount < 0 || headerCount > length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = reader.bytes();
      headers.push({ key: headerKey === null ? '' : headerKey.toString('utf8'), value: reader.bytes() });
    }
    reader.position = end;
    const timestamp = logAppendTime ? info.maxTimestamp : info.baseTimestamp + timestampDelta;
    out.push({ offset: info.baseOffset + offsetDelta, timestamp, key, value, headers });
  }
  return out;
}
