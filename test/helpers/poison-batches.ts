/**
 * Hand-assembled RecordBatch v2 bytes for tests: records with any field value (wrong lengths,
 * offset deltas, varints) and batch headers with any attributes, always with a CRC-32C that
 * matches the damage, so validation has to look inside to refuse them. `POISON_BATCHES` is
 * the table the unit and integration tests share: each batch and the error code Kafka's
 * LogValidator rules (as Samsa maps them) give it.
 */
import { compressSync } from '../../shared/kafka/compression';
import { crc32c } from '../../shared/kafka/crc32c';
import { KafkaError } from '../../shared/kafka/errors';

/** Zigzag varint (also varlong: numbers below 2^53) as bytes. */
export function varint(value: number): Buffer {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return Buffer.from(out);
}

export interface RawRecord {
  timestampDelta?: number;
  offsetDelta: number;
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: Array<{ key: Buffer; value: Buffer | null }>;
  /** Replaces the encoded body (after the length prefix) entirely. */
  body?: Buffer;
  /** Overrides the length prefix. */
  length?: number;
}

function bytesField(data: Buffer | null): Buffer {
  return data === null ? varint(-1) : Buffer.concat([varint(data.length), data]);
}

export function rawRecord(record: RawRecord): Buffer {
  const headers = record.headers ?? [];
  const body =
    record.body ??
    Buffer.concat([
      Buffer.from([0]),
      varint(record.timestampDelta ?? 0),
      varint(record.offsetDelta),
      bytesField(record.key === undefined ? null : record.key),
      bytesField(record.value === undefined ? Buffer.from(`value-${record.offsetDelta}`) : record.value),
      varint(headers.length),
      ...headers.flatMap((h) => [bytesField(h.key), bytesField(h.value)]),
    ]);
  return Buffer.concat([varint(record.length ?? body.length), body]);
}

/** n well-formed records with offset deltas 0..n-1. */
export function goodRecords(n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => rawRecord({ offsetDelta: i, timestampDelta: i, key: Buffer.from(`k${i}`) })));
}

export interface BatchFields {
  recordCount: number;
  lastOffsetDelta?: number;
  attributes?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

export const NOW = 1_700_000_000_000;

/** A batch header around `payload` (already compressed if attributes say so), CRC computed last. */
export function sealBatch(payload: Buffer, fields: BatchFields): Buffer {
  const batch = Buffer.alloc(61 + payload.length);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(fields.attributes ?? 0, 21);
  batch.writeInt32BE(fields.lastOffsetDelta ?? fields.recordCount - 1, 23);
  batch.writeBigInt64BE(BigInt(fields.baseTimestamp ?? NOW), 27);
  batch.writeBigInt64BE(BigInt(fields.maxTimestamp ?? (fields.baseTimestamp ?? NOW) + Math.max(0, fields.recordCount - 1)), 35);
  batch.writeBigInt64BE(BigInt(fields.producerId ?? -1), 43);
  batch.writeInt16BE(fields.producerEpoch ?? -1, 51);
  batch.writeInt32BE(fields.baseSequence ?? -1, 53);
  batch.writeInt32BE(fields.recordCount, 57);
  payload.copy(batch, 61);
  resealCrc(batch);
  return batch;
}

export function resealCrc(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17);
}

export interface PoisonCase {
  name: string;
  batch: Buffer;
  code: number;
}

const lz4 = (records: Buffer): Buffer => compressSync('lz4', records);

/** Every kind of batch a producer must not get acknowledged, with a valid CRC. */
export const POISON_BATCHES: PoisonCase[] = [
  // damaged bytes: CORRUPT_MESSAGE
  { name: 'gzip attribute over garbage', batch: sealBatch(Buffer.from('definitely not gzip data'), { recordCount: 1, attributes: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'snappy attribute over garbage', batch: sealBatch(Buffer.from([0x20, 0xff, 0xff, 0xff, 0xff, 0xff]), { recordCount: 1, attributes: 2 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'lz4 attribute over garbage', batch: sealBatch(Buffer.from('definitely not an lz4 frame'), { recordCount: 1, attributes: 3 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'zstd attribute over garbage', batch: sealBatch(Buffer.from('definitely not a zstd frame'), { recordCount: 1, attributes: 4 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'gzip of garbage records', batch: sealBatch(compressSync('gzip', Buffer.from('garbage records, not varints')), { recordCount: 1, attributes: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'garbage records', batch: sealBatch(Buffer.alloc(40, 0xff), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a record length past the batch', batch: sealBatch(rawRecord({ offsetDelta: 0, length: 500 }), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a record length shorter than its fields', batch: sealBatch(Buffer.concat([rawRecord({ offsetDelta: 0, length: 8 })]), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a zero record length', batch: sealBatch(Buffer.concat([varint(0), goodRecords(1)]), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a varint longer than 5 bytes', batch: sealBatch(rawRecord({ offsetDelta: 0, body: Buffer.concat([Buffer.from([0, 0]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), varint(-1), varint(-1), varint(0)]) }), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a key length of -2', batch: sealBatch(rawRecord({ offsetDelta: 0, body: Buffer.concat([Buffer.from([0, 0, 0]), varint(-2), varint(-1), varint(0)]) }), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a negative header key length', batch: sealBatch(rawRecord({ offsetDelta: 0, body: Buffer.concat([Buffer.from([0, 0, 0]), varint(-1), varint(-1), varint(1), varint(-1), varint(-1)]) }), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a header count beyond the record', batch: sealBatch(rawRecord({ offsetDelta: 0, body: Buffer.concat([Buffer.from([0, 0, 0]), varint(-1), varint(-1), varint(1000)]) }), { recordCount: 1 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'bytes after the last record', batch: sealBatch(Buffer.concat([goodRecords(2), Buffer.from([1, 2, 3])]), { recordCount: 2 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'fewer records than the count', batch: sealBatch(goodRecords(2), { recordCount: 3 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'more records than the count', batch: sealBatch(goodRecords(3), { recordCount: 2 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'a count that disagrees with lastOffsetDelta', batch: sealBatch(goodRecords(2), { recordCount: 2, lastOffsetDelta: 5 }), code: KafkaError.CORRUPT_MESSAGE },
  { name: 'lz4 records fewer than the count', batch: sealBatch(lz4(goodRecords(2)), { recordCount: 3, attributes: 3 }), code: KafkaError.CORRUPT_MESSAGE },
  // well-formed, not allowed from a producer: INVALID_RECORD
  { name: 'no records', batch: sealBatch(Buffer.alloc(0), { recordCount: 0, lastOffsetDelta: -1 }), code: KafkaError.INVALID_RECORD },
  { name: 'offset deltas out of order', batch: sealBatch(Buffer.concat([rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 0 })]), { recordCount: 2 }), code: KafkaError.INVALID_RECORD },
  { name: 'a repeated offset delta', batch: sealBatch(Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 0 })]), { recordCount: 2 }), code: KafkaError.INVALID_RECORD },
  { name: 'lz4 records with offset deltas out of order', batch: sealBatch(lz4(Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 2 })])), { recordCount: 2, attributes: 3 }), code: KafkaError.INVALID_RECORD },
  { name: 'the control bit', batch: sealBatch(goodRecords(1), { recordCount: 1, attributes: 0x20 }), code: KafkaError.INVALID_RECORD },
  { name: 'the transactional bit without a producer id', batch: sealBatch(goodRecords(1), { recordCount: 1, attributes: 0x10 }), code: KafkaError.INVALID_RECORD },
  { name: 'a producer id without a base sequence', batch: sealBatch(goodRecords(1), { recordCount: 1, producerId: 7, producerEpoch: 0 }), code: KafkaError.INVALID_RECORD },
  // timestamps: INVALID_TIMESTAMP
  { name: 'the LogAppendTime bit', batch: sealBatch(goodRecords(1), { recordCount: 1, attributes: 0x08 }), code: KafkaError.INVALID_TIMESTAMP },
  { name: 'a negative record timestamp', batch: sealBatch(rawRecord({ offsetDelta: 0, timestampDelta: -5 }), { recordCount: 1, baseTimestamp: 0, maxTimestamp: 0 }), code: KafkaError.INVALID_TIMESTAMP },
  { name: 'a record timestamp past year 275760', batch: sealBatch(rawRecord({ offsetDelta: 0, timestampDelta: 2 ** 53 }), { recordCount: 1 }), code: KafkaError.INVALID_TIMESTAMP },
  { name: 'a base timestamp of -2^62', batch: sealBatch(rawRecord({ offsetDelta: 0 }), { recordCount: 1, baseTimestamp: -(2 ** 62) }), code: KafkaError.INVALID_TIMESTAMP },
  // unknown codec
  { name: 'compression codec 5', batch: sealBatch(goodRecords(1), { recordCount: 1, attributes: 5 }), code: KafkaError.UNSUPPORTED_COMPRESSION_TYPE },
];
