/**
 * OffsetForLeaderEpoch (KIP-101): where a leader epoch ends in this partition's log. A follower
 * of a new leader asks with its latest epoch and cuts its log at the answer. Served by the
 * leader; requests with Kafka's debugging replica id (-2, the default of v0-2, which carry no
 * replica id) may read any replica's epoch cache, as Kafka's do.
 */
import type { Handler } from './types';

const DEBUGGING_REPLICA_ID = -2;

export const offsetForLeaderEpoch: Handler<'OffsetForLeaderEpoch'> = async ({ context, request }) => {
  const replicaId = 'replicaId' in request ? request.replicaId : DEBUGGING_REPLICA_ID;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((entry) => {
        const currentLeaderEpoch = 'currentLeaderEpoch' in entry ? entry.currentLeaderEpoch : -1;
        const found = context.replicas.offsetForLeaderEpoch(topic.topic, entry.partition, currentLeaderEpoch, entry.leaderEpoch, replicaId === DEBUGGING_REPLICA_ID);
        return { errorCode: found.errorCode, partition: entry.partition, leaderEpoch: found.epoch, endOffset: BigInt(found.endOffset) };
      }),
    })),
  };
};
