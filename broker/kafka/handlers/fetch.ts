/**
 * Fetch: the replica manager reads whole batches (up to the high watermark for consumers, the
 * log end for followers) within the partition and response byte limits, long-polling in the
 * purgatory when fewer than minBytes are available. This file only maps the request and the
 * response layouts; a partition named twice is answered once.
 *
 * Versions 4-17 (12+ flexible). What the newer ones carry and what is answered:
 * - v13+ name topics by id (request, forgotten topics, response). An id this broker's picture
 *   does not know is answered UNKNOWN_TOPIC_ID for each partition asked (a topic deleted and
 *   recreated under the same name has a new id: a client holding the old one reads nothing of
 *   the new topic). An id whose topic's name now maps to another id (a picture caught between
 *   two updates) is INCONSISTENT_TOPIC_ID, Kafka's answer when a partition's id disagrees.
 * - v12+ LastFetchedEpoch is not checked (no DivergingEpoch): a consumer still detects a
 *   truncated log through OffsetForLeaderEpoch, which it uses when the epoch changes.
 * - The optional tagged fields DivergingEpoch, CurrentLeader, SnapshotId (v12+) and
 *   NodeEndpoints (v16, KIP-951 leader hints) are never sent: clients refresh Metadata on
 *   NOT_LEADER_OR_FOLLOWER instead (and @platformatic/kafka 1.35 cannot read a non-empty
 *   tagged-field section: it takes it for one length-prefixed blob). So v14 (KIP-405 only) and
 *   v15-v17 answer as v13.
 * - v15+ carries the replica id in the tagged ReplicaState (absent: a consumer, -1); its
 *   ReplicaEpoch is KRaft's broker epoch and is not checked. v17 adds only the tagged
 *   ReplicaDirectoryId (KRaft's JBOD directory of a follower): read and ignored, so v17 answers
 *   as v16.
 * - Fetch sessions (KIP-227) work in every version from v7: keyed by topic id from v13.
 *
 * The broker's own followers (broker/replication/fetcher.ts) fetch with v11.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../../shared/kafka/uuid';
import type { ClusterView } from '../../context';
import type { FetchEntry } from '../../partition/replica-manager';
import type { PartitionResult } from '../../partition/fetch-sessions';
import type { Handler, RequestOf } from './types';

type FetchTopic = RequestOf<'Fetch'>['topics'][number];
type ForgottenTopic = Extract<RequestOf<'Fetch'>, { forgottenTopicsData: unknown }>['forgottenTopicsData'][number];

/** Fetch v13+ names topics by id. */
const BY_ID_FROM = 13;
/** v15+ carry the replica id in the tagged ReplicaState. */
const REPLICA_STATE_FROM = 15;

/**
 * The topic a request entry names: by name before v13, by id from v13 ('' when the id is
 * unknown). Decided by version, not by the field's presence: the codec fills in the fields a
 * version lacks with their defaults (a zero topic id before v13, an empty name from v13).
 */
function topicOf(view: ClusterView, version: number, topic: FetchTopic | ForgottenTopic): { topic: string; topicId?: string } {
  if (version < BY_ID_FROM || !('topicId' in topic)) return { topic: 'topic' in topic ? topic.topic : '' };
  const topicId = uuidFromBuffer(topic.topicId);
  return { topic: view.topicsById.get(topicId)?.name ?? '', topicId };
}

/** Partitions named by a topic id the broker cannot read under that id (checked for the session's partitions too). */
export function topicIdRefusal(view: ClusterView, entry: FetchEntry): number {
  if (entry.topicId === undefined) return KafkaError.NONE;
  const byId = view.topicsById.get(entry.topicId);
  if (byId === undefined || entry.topicId === ZERO_UUID) return KafkaError.UNKNOWN_TOPIC_ID;
  if (byId.name !== entry.topic || view.topics.get(entry.topic)?.topicId !== entry.topicId) return KafkaError.INCONSISTENT_TOPIC_ID;
  return KafkaError.NONE;
}

export const fetch: Handler<'Fetch'> = async ({ context, version, request }) => {
  const view = context.cluster();
  // Fetch v7+ may run in an incremental fetch session (KIP-227; followers use them); -1 is none.
  const session = 'sessionEpoch' in request
    ? { sessionId: request.sessionId, sessionEpoch: request.sessionEpoch, forgotten: request.forgottenTopicsData.map((topic) => ({ ...topicOf(view, version, topic), partitions: topic.partitions })) }
    : { sessionId: 0, sessionEpoch: -1, forgotten: [] };
  const replicaId = version < REPLICA_STATE_FROM && 'replicaId' in request ? request.replicaId : ('replicaState' in request ? (request.replicaState?.replicaId ?? -1) : -1);
  const { errorCode, sessionId, results } = await context.replicas.fetchInSession({
    replicaId,
    maxWaitMs: request.maxWaitMs,
    minBytes: request.minBytes,
    maxBytes: request.maxBytes,
    entries: request.topics.flatMap((topic: FetchTopic) => {
      const named = topicOf(view, version, topic);
      return topic.partitions.map((p): FetchEntry => ({ ...named, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: 'currentLeaderEpoch' in p ? p.currentLeaderEpoch : -1 }));
    }),
  }, session, (entry) => topicIdRefusal(view, entry));
  // Grouped by topic (by id from v13) in the order topics first appear.
  const byTopic = new Map<string, PartitionResult[]>();
  for (const result of results) {
    const topicKey = result.topicId ?? result.topic;
    const list = byTopic.get(topicKey);
    if (list === undefined) byTopic.set(topicKey, [result]);
    else list.push(result);
  }
  return {
    throttleTimeMs: 0,
    errorCode,
    sessionId,
    responses: [...byTopic.values()].map((partitions) => ({
      topic: partitions[0]!.topic,
      // Before v13 the codec writes the name and leaves this out.
      topicId: uuidToBuffer(partitions[0]!.topicId ?? view.topics.get(partitions[0]!.topic)?.topicId ?? ZERO_UUID),
      partitions: partitions.map((r) => ({
        partitionIndex: r.partition,
        errorCode: r.errorCode,
        highWatermark: BigInt(r.highWatermark),
        // No transactions yet: the last stable offset is the high watermark.
        lastStableOffset: BigInt(r.highWatermark),
        logStartOffset: BigInt(r.logStartOffset),
        abortedTransactions: [],
        preferredReadReplica: -1,
        records: r.records,
      })),
    })),
  };
};
