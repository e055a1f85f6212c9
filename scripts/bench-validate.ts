/**
 * What produce-time validation costs: MB/s through validateBatches for 64 KiB batches of
 * 1 KiB records (text-like values, so codecs compress about 2-3x), uncompressed and in each
 * codec, as a leader checks a producer's batch (records inspected) and as a follower checks a
 * replicated one (header + CRC only: the floor).
 * MB/s counts uncompressed record bytes, so the codecs compare with each other and with the
 * broker's 300 MB/s produce target. Run: npx tsc -p tsconfig.json && node dist/scripts/bench-validate.js
 */
import { buildRecordBatchAsync, Compression, NewRecord, validateBatches } from '../shared/kafka/record-batch';

const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 64;
/** Long enough per case for a stable figure on a shared 2-core machine. */
const RUN_MS = Number(process.env.BENCH_VALIDATE_MS ?? 1500);

function records(seed: number): NewRecord[] {
  let state = seed;
  const random = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const words = ['order', 'customer', 'price', 'quantity', 'shipped', 'pending', 'warehouse', 'express'];
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
    let text = '';
    while (text.length < RECORD_BYTES) text += `${words[Math.floor(random() * words.length)]}=${Math.floor(random() * 1e9).toString(36)};`;
    return { key: Buffer.from(`key-${i}`), value: Buffer.from(text.slice(0, RECORD_BYTES)), timestamp: 1_700_000_000_000 + i };
  });
}

function measure(batch: Buffer, origin: 'client' | 'replication', logicalBytes: number): number {
  let bytes = 0;
  const started = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < RUN_MS) {
    for (let i = 0; i < 50; i++) validateBatches(batch, 1 << 20, { origin });
    bytes += 50 * logicalBytes;
    elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  }
  return bytes / 1e6 / (elapsedMs / 1000);
}

export interface ValidationCost {
  codec: Compression;
  batchBytes: number;
  /** MB/s of record bytes as a leader checks a producer's batch (records inspected). */
  inspectedMbPerSecond: number;
  /** MB/s as a follower checks a replicated batch (header + CRC only). */
  headerOnlyMbPerSecond: number;
}

/** The cost of validation per codec (make bench prints it as JSON lines). */
export async function validationCost(): Promise<ValidationCost[]> {
  const source = records(1);
  const logicalBytes = source.reduce((sum, r) => sum + r.value!.length + r.key!.length, 0);
  const out: ValidationCost[] = [];
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as Compression[]) {
    const batch = await buildRecordBatchAsync(source, { compression: codec });
    validateBatches(batch, 1 << 20); // warm up, and proves it is valid
    out.push({ codec, batchBytes: batch.length, inspectedMbPerSecond: Math.round(measure(batch, 'client', logicalBytes)), headerOnlyMbPerSecond: Math.round(measure(batch, 'replication', logicalBytes)) });
  }
  return out;
}

async function main(): Promise<void> {
  console.log(`validateBatches: ${RECORDS_PER_BATCH} records of ${RECORD_BYTES} B per batch, MB/s of record bytes (${RUN_MS} ms per case)`);
  console.log('codec   batch bytes   inspected   header+CRC only');
  for (const cost of await validationCost()) {
    console.log(`${cost.codec.padEnd(7)} ${String(cost.batchBytes).padStart(11)}   ${String(cost.inspectedMbPerSecond).padStart(9)}   ${String(cost.headerOnlyMbPerSecond).padStart(15)}`);
  }
}

if (require.main === module) void main();
