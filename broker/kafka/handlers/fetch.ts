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
import type { FetchEntry, FetchParams, ReplicaManager } from '../../partition/replica-manager';
import type { ForgottenTopic as ForgottenTopicEntry } from '../../partition/fetch-sessions';
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

type FetchRequest = RequestOf<'Fetch'>;
type SessionAnswer = Awaited<ReturnType<ReplicaManager['fetchInSession']>>;

/**
 * The handler is a small async function around plain ones: an async function keeps its
 * locals in a heap frame while it waits, and a long poll of every follower and consumer
 * waits here (the frame of one big function was a good part of each fetch's garbage).
 */
export const fetch: Handler<'Fetch'> = async ({ context, version, request }) => {
  const view = context.cluster();
  const answer = await context.replicas.fetchInSession(fetchParams(view, version, request), fetchSession(view, version, request), (entry) => topicIdRefusal(view, entry));
  return fetchResponse(view, version, answer);
};

/** Fetch v7+ may run in an incremental fetch session (KIP-227; followers use them); -1 is none. */
function fetchSession(view: ClusterView, version: number, request: FetchRequest): { sessionId: number; sessionEpoch: number; forgotten: readonly ForgottenTopicEntry[] } {
  if (!('sessionEpoch' in request)) return { sessionId: 0, sessionEpoch: -1, forgotten: NONE_FORGOTTEN };
  const forgotten = request.forgottenTopicsData.length === 0 ? NONE_FORGOTTEN : request.forgottenTopicsData.map((topic) => ({ ...topicOf(view, version, topic), partitions: topic.partitions }));
  return { sessionId: request.sessionId, sessionEpoch: request.sessionEpoch, forgotten };
}

function fetchParams(view: ClusterView, version: number, request: FetchRequest): FetchParams {
  const replicaId = version < REPLICA_STATE_FROM && 'replicaId' in request ? request.replicaId : ('replicaState' in request ? (request.replicaState?.replicaId ?? -1) : -1);
  // Plain loops, one object per partition: this runs for every long poll of every follower and consumer.
  const entries: FetchEntry[] = [];
  for (const topic of request.topics as FetchTopic[]) {
    const named = topicOf(view, version, topic);
    for (const p of topic.partitions) {
      entries.push({ topic: named.topic, topicId: named.topicId, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: 'currentLeaderEpoch' in p ? p.currentLeaderEpoch : -1 });
    }
  }
  return { replicaId, maxWaitMs: request.maxWaitMs, minBytes: request.minBytes, maxBytes: request.maxBytes, entries };
}

function fetchResponse(view: ClusterView, version: number, { errorCode, sessionId, results }: SessionAnswer): { throttleTimeMs: number; errorCode: number; sessionId: number; responses: Array<{ topic: string; topicId: Buffer; partitions: FetchResponsePartition[] }> } {
  // Grouped by topic (by id from v13) in the order topics first appear. A long poll's few
  // results find their topic's group by a scan; a large response through a map.
  const responses: Array<{ topic: string; topicId: Buffer; partitions: FetchResponsePartition[] }> = [];
  const groupKeys: string[] = [];
  const groupIndex = results.length > GROUP_SCAN_MAX ? new Map<string, number>() : null;
  for (const result of results) {
    const topicKey = result.topicId ?? result.topic;
    let index = groupIndex === null ? groupKeys.indexOf(topicKey) : (groupIndex.get(topicKey) ?? -1);
    if (index < 0) {
      index = groupKeys.push(topicKey) - 1;
      groupIndex?.set(topicKey, index);
      // Before v13 the codec writes the name and leaves the id out.
      const topicId = version < BY_ID_FROM ? ZERO_UUID_BYTES : uuidToBuffer(result.topicId ?? view.topics.get(result.topic)?.topicId ?? ZERO_UUID);
      responses.push({ topic: result.topic, topicId, partitions: [] });
    }
    const highWatermark = BigInt(result.highWatermark);
    responses[index]!.partitions.push({
      partitionIndex: result.partition,
      errorCode: result.errorCode,
      highWatermark,
      // No transactions yet: the last stable offset is the high watermark.
      lastStableOffset: highWatermark,
      logStartOffset: BigInt(result.logStartOffset),
      abortedTransactions: NO_ABORTED_TRANSACTIONS,
      preferredReadReplica: -1,
      records: result.records,
    });
  }
  return { throttleTimeMs: 0, errorCode, sessionId, responses };
}

interface FetchResponsePartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: never[];
  preferredReadReplica: number;
  records: Buffer;
}

/** Results up to this many are grouped by scanning the topics seen so far. */
const GROUP_SCAN_MAX = 16;

/** Shared, never modified: the encoder only reads them. */
const NONE_FORGOTTEN: readonly ForgottenTopicEntry[] = Object.freeze([]);
const NO_ABORTED_TRANSACTIONS: never[] = Object.freeze([]) as unknown as never[];
const ZERO_UUID_BYTES = uuidToBuffer(ZERO_UUID);
