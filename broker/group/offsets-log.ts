/**
 * The group coordinator's reads and writes of its partitions of `__consumer_offsets`: loading
 * a partition's records into an OffsetStore when this broker becomes its leader, and
 * appending commits, group metadata and tombstones with acks=all (Kafka's
 * offsets.commit.required.acks = -1), mapping the produce errors to the group errors Kafka's
 * GroupMetadataManager answers with.
 */
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatch, decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';
import type { ReplicaManager } from '../partition/replica-manager';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsRecord } from './offsets-records';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Bytes read per step while loading (Kafka's offsets.load.buffer.size). */
export const OFFSETS_LOAD_BUFFER_BYTES = 5 * 1024 * 1024;

export interface LoadedRecord {
  record: OffsetsRecord;
  offset: number;
}

/**
 * Every record of the local partition from its log start to its log end, in offset order.
 * `stillWanted` is asked between reads: a load whose leadership went is abandoned (null).
 * A record this version cannot read (unknown key version) is skipped, as Kafka skips it.
 */
export async function readOffsetsPartition(replicas: ReplicaManager, partition: number, stillWanted: () => boolean, onSkipped: (offset: number, reason: string) => void): Promise<LoadedRecord[] | null> {
  const local = replicas.get(OFFSETS_TOPIC, partition);
  if (local === null) return null;
  const loaded: LoadedRecord[] = [];
  const end = local.log.logEndOffset;
  let offset = local.log.logStartOffset;
  while (offset < end) {
    if (!stillWanted()) return null;
    const { records } = await local.log.read(offset, OFFSETS_LOAD_BUFFER_BYTES, true, end);
    let advanced = false;
    for (const batch of iterateBatches(records)) {
      const last = batch.baseOffset + batch.lastOffsetDelta;
      if (last < offset) continue;
      for (const record of decodeRecords(records.subarray(batch.position, batch.position + batch.size))) {
        if (record.offset < offset || record.key === null) continue;
        try {
          const decoded = decodeOffsetsRecord(record.key, record.value);
          if (decoded === null) onSkipped(record.offset, 'unknown key version');
          else loaded.push({ record: decoded, offset: record.offset });
        } catch (error) {
          onSkipped(record.offset, error instanceof Error ? error.message : String(error));
        }
      }
      offset = last + 1;
      advanced = true;
    }
    // Compaction leaves gaps; an empty read below the end means the rest is gone (log start moved).
    if (!advanced) break;
  }
  return loaded;
}

/** Kafka's GroupMetadataManager mapping of produce errors to what a group client can act on. */
function groupErrorFor(errorCode: number, isCommit: boolean): number {
  switch (errorCode) {
    case KafkaError.NONE:
      return KafkaError.NONE;
    case KafkaError.UNKNOWN_TOPIC_OR_PARTITION:
    case KafkaError.NOT_ENOUGH_REPLICAS:
    case KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case KafkaError.REQUEST_TIMED_OUT:
      return KafkaError.COORDINATOR_NOT_AVAILABLE;
    case KafkaError.NOT_LEADER_OR_FOLLOWER:
    case KafkaError.KAFKA_STORAGE_ERROR:
    case KafkaError.FENCED_LEADER_EPOCH:
      return KafkaError.NOT_COORDINATOR;
    case KafkaError.MESSAGE_TOO_LARGE:
    case KafkaError.RECORD_LIST_TOO_LARGE:
    case KafkaError.INVALID_FETCH_SIZE:
      return isCommit ? KafkaError.INVALID_COMMIT_OFFSET_SIZE : KafkaError.UNKNOWN_SERVER_ERROR;
    default:
      return isCommit ? errorCode : KafkaError.UNKNOWN_SERVER_ERROR;
  }
}

/**
 * Appends `records` as one batch to the partition and waits until every ISR member has it.
 * Resolves with the group error code (0 = stored) and the offset of the first record.
 */
export async function appendOffsetsRecords(replicas: ReplicaManager, partition: number, records: readonly OffsetsRecord[], timeoutMs: number, now: number, isCommit: boolean): Promise<{ errorCode: number; baseOffset: number }> {
  const batch = buildRecordBatch(records.map((record) => ({ ...encodeOffsetsRecord(record), timestamp: now })), { baseTimestamp: now });
  const [result] = await replicas.appendRecords(-1, timeoutMs, [{ topic: OFFSETS_TOPIC, partition, records: batch }]);
  return { errorCode: groupErrorFor(result!.errorCode, isCommit), baseOffset: result!.baseOffset };
}
