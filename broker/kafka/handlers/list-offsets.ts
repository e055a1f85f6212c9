/**
 * ListOffsets: earliest (-2), latest (-1, the high watermark), or the first offset at a timestamp,
 * answered by the partition's leader.
 *
 * Kafka's debugging replica id (-2, what `kafka-get-offsets`/`samsa cluster` send) may ask ANY
 * replica: earliest and latest then answer that replica's own log start and log END offset (not
 * the high watermark), so a tool can see how far each follower got. A timestamp lookup with it
 * still goes to the leader (as for every other replica id).
 *
 * Versions 1-8 (6+ flexible): v4+ carry the client's current leader epoch (checked: FENCED_ or
 * UNKNOWN_LEADER_EPOCH) and answer the leader epoch of the offset; v7 adds the max-timestamp
 * spec (-3: the record with the largest timestamp), v8 the earliest-local spec (-4: the same
 * as earliest here, there is no tiered storage). IsolationLevel is read and ignored: without
 * transactions the last stable offset is the high watermark.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import type { BrokerContext } from '../../context';
import type { Handler } from './types';

/** Kafka's ListOffsetsRequest.DEBUGGING_REPLICA_ID. */
export const DEBUGGING_REPLICA_ID = -2;
const EARLIEST = -2;
const LATEST = -1;

interface Found {
  errorCode: number;
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

/** This broker's own replica's log start (earliest) or log end (latest), whatever its role. */
function localOffset(context: BrokerContext, topic: string, partition: number, timestamp: number): Found {
  const local = context.replicas.localOffsets(topic, partition);
  if (local === null) {
    // Not held here: UNKNOWN_TOPIC_OR_PARTITION when the cluster has no such partition, else
    // NOT_LEADER_OR_FOLLOWER (Kafka's answer for a partition that lives on other brokers).
    const known = context.replicas.leaderPartition(topic, partition);
    const errorCode = 'errorCode' in known && known.errorCode === KafkaError.UNKNOWN_TOPIC_OR_PARTITION ? known.errorCode : KafkaError.NOT_LEADER_OR_FOLLOWER;
    return { errorCode, offset: -1, timestamp: -1, leaderEpoch: -1 };
  }
  return { errorCode: KafkaError.NONE, offset: timestamp === EARLIEST ? local.logStartOffset : local.logEndOffset, timestamp: -1, leaderEpoch: -1 };
}

export const listOffsets: Handler<'ListOffsets'> = async ({ context, request }) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(
        topic.partitions.map(async (entry) => {
          const { partitionIndex, timestamp } = entry;
          const at = Number(timestamp);
          const found = request.replicaId === DEBUGGING_REPLICA_ID && (at === EARLIEST || at === LATEST)
            ? localOffset(context, topic.name, partitionIndex, at)
            : await context.replicas.listOffset(topic.name, partitionIndex, at, 'currentLeaderEpoch' in entry ? entry.currentLeaderEpoch : -1);
          return { partitionIndex, errorCode: found.errorCode, timestamp: BigInt(found.timestamp), offset: BigInt(found.offset), leaderEpoch: found.leaderEpoch, oldStyleOffsets: [] };
        }),
      ),
    })),
  ),
});
