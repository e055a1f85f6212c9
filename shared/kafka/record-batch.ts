/**
 * RecordBatch v2 (magic 2): validation of what producers send, the header fields the log
 * needs, and, for the CLI and the benchmark, building and decoding batches.
 *
 * The broker stores batches as received and only rewrites baseOffset and partitionLeaderEpoch,
 * which the CRC does not cover, so compressed batches pass through untouched.
 * Offsets are plain numbers: exact below 2^53, i.e. for 9 quadrillion records per partition.
 *
 * Error codes (RecordBatchError.kafkaErrorCode): CORRUPT_MESSAGE for anything that says the
 * bytes are damaged (sizes, magic, CRC, a record count that disagrees with lastOffsetDelta);
 * MESSAGE_TOO_LARGE over max.message.bytes; INVALID_RECORD for well-formed batches a producer
 * may not send (no records, control batches); UNSUPPORTED_COMPRESSION_TYPE for codec > 4.
 * (Kafka itself answers INVALID_RECORD for the count mismatch; our brief asks for
 * CORRUPT_MESSAGE, and both clients treat either as a failed produce.)
 */
import * as zlib from 'zlib';
import { crc32c } from './crc32c';
import { KafkaError } from './errors';

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

export class RecordBatchError extends Error {
  override readonly name = 'RecordBatchError';
  constructor(
    readonly kafkaErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}

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

/** Default limit on what decodeRecords inflates one compressed batch to (a gzip bomb guard). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Reads the header of the batch at `position` (the caller checked HEADER_SIZE bytes are there). */
export function parseBatchHeader(buf: Buffer, position: number): BatchInfo {
  const attributes = buf.readInt16BE(position + ATTRIBUTES);
  return {
    position,
    size: LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH),
    baseOffset: Number(buf.readBigInt64BE(position + BASE_OFFSET)),
    lastOffsetDelta: buf.readInt32BE(position + LAST_OFFSET_DELTA),
    recordCount: buf.readInt32BE(position + RECORD_COUNT),
    baseTimestamp: Number(buf.readBigInt64BE(position + BASE_TIMESTAMP)),
    maxTimestamp: Number(buf.readBigInt64BE(position + MAX_TIMESTAMP)),
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH),
    attributes,
    compression: COMPRESSIONS[attributes & COMPRESSION_MASK] ?? 'none',
    producerId: Number(buf.readBigInt64BE(position + PRODUCER_ID)),
  };
}

/** Older name of parseBatchHeader, kept for existing callers. */
export const readBatchHeader = parseBatchHeader;

/**
 * Validates every batch in a Produce `records` field: sizes, magic, CRC-32C (attributes to
 * the end), record count, compression codec. Throws RecordBatchError with the Kafka error code.
 */
export function validateBatches(buf: Buffer, maxBatchBytes: number): { batches: BatchInfo[] } {
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
    if ((info.attributes & COMPRESSION_MASK) > 4) throw new RecordBatchError(KafkaError.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${info.attributes & COMPRESSION_MASK}`);
    if ((info.attributes & CONTROL_BIT) !== 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, 'control batches come from transaction coordinators, not producers');
    if (info.recordCount <= 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, `record count ${info.recordCount}: a batch needs at least one record`);
    if (info.lastOffsetDelta !== info.recordCount - 1) {
      throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `record count ${info.recordCount} does not match last offset delta ${info.lastOffsetDelta}`);
    }
    batches.push(info);
    position += size;
  }
  return { batches };
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

/** Builds one RecordBatch v2 (baseOffset 0, producerId -1) holding `records`. */
export function buildRecordBatch(records: NewRecord[], options: { compression?: 'none' | 'gzip'; baseTimestamp?: number } = {}): Buffer {
  if (records.length === 0) throw new RecordBatchError(KafkaError.INVALID_RECORD, 'a batch needs at least one record');
  const baseTimestamp = options.baseTimestamp ?? records[0]!.timestamp ?? Date.now();
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
  const compression = options.compression ?? 'none';
  const payload = compression === 'gzip' ? zlib.gzipSync(body.result()) : body.result();
  const batch = Buffer.alloc(HEADER_SIZE + payload.length);
  batch.writeBigInt64BE(0n, BASE_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(-1, PARTITION_LEADER_EPOCH);
  batch.writeInt8(2, MAGIC);
  batch.writeInt16BE(compression === 'gzip' ? 1 : 0, ATTRIBUTES);
  batch.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP);
  batch.writeBigInt64BE(-1n, PRODUCER_ID);
  batch.writeInt16BE(-1, PRODUCER_EPOCH);
  batch.writeInt32BE(-1, BASE_SEQUENCE);
  batch.writeInt32BE(records.length, RECORD_COUNT);
  payload.copy(batch, HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES, batch.length), CRC);
  return batch;
}

/**
 * Decodes the records of one batch (uncompressed or gzip; other codecs are refused clearly).
 * A gzip payload is inflated to at most `maxDecompressedBytes` (MESSAGE_TOO_LARGE beyond).
 */
export function decodeRecords(batch: Buffer, options: { maxDecompressedBytes?: number } = {}): DecodedRecord[] {
  if (batch.length < HEADER_SIZE) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `${batch.length} bytes are not a batch`);
  const info = parseBatchHeader(batch, 0);
  if (info.size < HEADER_SIZE || info.size > batch.length) throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `batch of ${info.size} bytes in ${batch.length}`);
  if ((info.attributes & CONTROL_BIT) !== 0) return []; // control batch (transaction markers)
  let records: Buffer = batch.subarray(HEADER_SIZE, info.size);
  if (info.compression === 'gzip') records = gunzip(records, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  else if (info.compression !== 'none') throw new RecordBatchError(KafkaError.UNSUPPORTED_COMPRESSION_TYPE, `compression ${info.compression} not supported for decoding`);
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
    out.push({ offset: info.baseOffset + offsetDelta, timestamp: info.baseTimestamp + timestampDelta, key, value, headers });
  }
  return out;
}

function gunzip(data: Buffer, maxOutputLength: number): Buffer {
  try {
    return zlib.gunzipSync(data, { maxOutputLength });
  } catch (error) {
    // zlib's errors carry codes: ERR_BUFFER_TOO_LARGE when the output limit is hit, Z_* otherwise.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new RecordBatchError(KafkaError.MESSAGE_TOO_LARGE, `gzip records inflate past ${maxOutputLength} bytes`);
    throw new RecordBatchError(KafkaError.CORRUPT_MESSAGE, `gzip records do not inflate (${code ?? 'error'})`);
  }
}
