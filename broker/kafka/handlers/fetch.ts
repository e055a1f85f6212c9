/**
 * Fetch: the replica manager reads whole batches (up to the high watermark for consumers, the
 * log end for followers) within the partition and response byte limits, long-polling in the
 * purgatory when fewer than minBytes are available. This file only maps the request and the
 * response layouts; a partition named twice is answered once.
 */
import type { FetchPartitionResult } from '../../partition/delayed';
import type { Handler } from './types';

export const fetch: Handler<'Fetch'> = async ({ context, request }) => {
  const topics = request.topics;
  // Fetch v7+ may run in an incremental fetch session (KIP-227; followers use them); -1 is none.
  const session = 'sessionEpoch' in request
    ? { sessionId: request.sessionId, sessionEpoch: request.sessionEpoch, forgotten: request.forgottenTopicsData.map(({ topic, partitions }) => ({ topic, partitions })) }
    : { sessionId: 0, sessionEpoch: -1, forgotten: [] };
  const { errorCode, sessionId, results } = await context.replicas.fetchInSession({
    replicaId: request.replicaId,
    maxWaitMs: request.maxWaitMs,
    minBytes: request.minBytes,
    maxBytes: request.maxBytes,
    entries: topics.flatMap(({ topic, partitions }) =>
      partitions.map((p) => ({ topic, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: 'currentLeaderEpoch' in p ? p.currentLeaderEpoch : -1 })),
    ),
  }, session);
  // Grouped by topic in the order topics first appear.
  const byTopic = new Map<string, FetchPartitionResult[]>();
  for (const result of results) {
    const list = byTopic.get(result.topic);
    if (list === undefined) byTopic.set(result.topic, [result]);
    else list.push(result);
  }
  return {
    throttleTimeMs: 0,
    errorCode,
    sessionId,
    responses: [...byTopic].map(([topic, partitions]) => ({
      topic,
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
