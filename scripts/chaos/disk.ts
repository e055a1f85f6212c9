/**
 * Reads one replica's partition log straight from a stopped broker's data directory, for the
 * verifier's replica comparison. The layout is Kafka's: `<dataDir>/<topic>-<partition>/`
 * holding segments `<20-digit base offset>.log` of RecordBatch v2. Every batch's CRC is
 * checked; whatever cannot be read (a corrupt batch, bytes after the last whole batch) is
 * reported as the replica's problem rather than thrown, so one bad file does not hide the rest.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeRecords, iterateBatches, validateBatches } from '../../shared/kafka/record-batch';
import type { ReplicaLog } from './verify';

const SEGMENT_FILE = /^(\d{20})\.log$/;
/** A batch on disk is at most max.message.bytes plus overhead; anything larger is damage. */
const BATCH_BYTES_MAX = 64 * 1024 * 1024;

export function readReplicaLog(dataDir: string, broker: number, topic: string, partition: number): ReplicaLog {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const records = new Map<number, string>();
  const problems: string[] = [];
  let segments: string[];
  try {
    segments = fs.readdirSync(dir).filter((name) => SEGMENT_FILE.test(name)).sort();
  } catch (error) {
    return { broker, records, problem: `no log directory ${dir}: ${(error as Error).message}` };
  }
  for (const name of segments) {
    const bytes = fs.readFileSync(path.join(dir, name));
    let end = 0;
    for (const batch of iterateBatches(bytes)) {
      const whole = bytes.subarray(batch.position, batch.position + batch.size);
      try {
        validateBatches(whole, BATCH_BYTES_MAX, { origin: 'replication' });
        for (const record of decodeRecords(whole)) records.set(record.offset, record.value === null ? '' : record.value.toString('utf8'));
      } catch (error) {
        problems.push(`${name} batch at byte ${batch.position} (offset ${batch.baseOffset}): ${(error as Error).message}`);
      }
      end = batch.position + batch.size;
    }
    const trailing = bytes.subarray(end);
    if (trailing.some((byte) => byte !== 0)) problems.push(`${name}: ${trailing.length} bytes after the last whole batch`);
  }
  return { broker, records, problem: problems.length === 0 ? null : problems.slice(0, 3).join('; ') };
}
