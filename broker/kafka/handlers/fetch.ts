/**
 * Fetch: whole batches from the partition logs up to the high watermark, within the partition
 * and response byte limits (the first partition with data always gets at least one whole
 * batch, as in Kafka). Long polling: when fewer than minBytes are available the request waits
 * for an append on one of its partitions (an 'append' event, no polling loop), for maxWaitMs
 * (capped), or for the server to close, and then reads once more.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { RecordBatchError } from '../../../shared/kafka/record-batch';
import type { BrokerContext, LocalPartition } from '../../context';
import type { Handler } from './types';

/** No fetch holds a connection longer than this, whatever it asks. */
const MAX_WAIT_CAP_MS = 30_000;

interface FetchPartitionRequest {
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
}

function readAll(context: BrokerContext, topics: Array<{ topic: string; partitions: FetchPartitionRequest[] }>, maxBytes: number, waitOn: Set<LocalPartition>) {
  let total = 0;
  let anyError = false;
  const responses = topics.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map((p) => {
      const base = { partitionIndex: p.partition, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: [], preferredReadReplica: -1, records: Buffer.alloc(0) };
      const local = context.localPartition(topic, p.partition);
      const view = context.cluster().topics.get(topic);
      if (view === undefined || p.partition < 0 || p.partition >= view.partitions.length) {
        anyError = true;
        return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
      }
      if (local === null || !local.isLeader || context.isFenced()) {
        anyError = true;
        return { ...base, errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER };
      }
      waitOn.add(local);
      const highWatermark = local.highWatermark;
      const withOffsets = { ...base, highWatermark: BigInt(highWatermark), lastStableOffset: BigInt(highWatermark), logStartOffset: BigInt(local.log.logStartOffset) };
      const limit = Math.min(p.partitionMaxBytes, Math.max(0, maxBytes - total));
      try {
        const records = limit > 0 || total === 0 ? local.log.read(Number(p.fetchOffset), Math.max(limit, 1), total === 0, highWatermark).records : Buffer.alloc(0);
        total += records.length;
        return { ...withOffsets, errorCode: KafkaError.NONE, records };
      } catch (error) {
        if (error instanceof RecordBatchError) {
          anyError = true;
          return { ...withOffsets, errorCode: error.kafkaErrorCode };
        }
        throw error;
      }
    }),
  }));
  return { responses, total, anyError };
}

export const fetch: Handler = async ({ context, request, closing }) => {
  const topics = request.topics as Array<{ topic: string; partitions: FetchPartitionRequest[] }>;
  const maxBytes = request.maxBytes > 0 ? request.maxBytes : 0x7fffffff;
  const waitOn = new Set<LocalPartition>();
  let result = readAll(context, topics, maxBytes, waitOn);
  const maxWaitMs = Math.min(Math.max(0, request.maxWaitMs), MAX_WAIT_CAP_MS);
  if (result.total < Math.max(1, request.minBytes) && !result.anyError && maxWaitMs > 0 && waitOn.size > 0) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const partition of waitOn) partition.off('append', done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      for (const partition of waitOn) partition.on('append', done);
      void closing.then(done);
    });
    result = readAll(context, topics, maxBytes, new Set());
  }
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, sessionId: 0, responses: result.responses };
};
