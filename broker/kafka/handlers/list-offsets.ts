/** ListOffsets: earliest (-2), latest (-1, the high watermark), or the first offset at a timestamp. */
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler } from './types';

export const listOffsets: Handler = ({ context, request }) => ({
  throttleTimeMs: 0,
  topics: (request.topics as Array<{ name: string; partitions: Array<{ partitionIndex: number; timestamp: bigint }> }>).map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ partitionIndex, timestamp }) => {
      const answer = (errorCode: number, offset: number, at = -1n) => ({ partitionIndex, errorCode, timestamp: at, offset: BigInt(offset), oldStyleOffsets: [] });
      const view = context.cluster().topics.get(topic.name);
      if (view === undefined || partitionIndex < 0 || partitionIndex >= view.partitions.length) return answer(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, -1);
      const local = context.localPartition(topic.name, partitionIndex);
      if (local === null || !local.isLeader || context.isFenced()) return answer(KafkaError.NOT_LEADER_OR_FOLLOWER, -1);
      if (timestamp === -2n) return answer(KafkaError.NONE, local.log.logStartOffset);
      if (timestamp === -1n) return answer(KafkaError.NONE, local.highWatermark);
      const offset = local.log.offsetForTimestamp(Number(timestamp));
      return offset === null || offset >= local.highWatermark ? answer(KafkaError.NONE, -1) : answer(KafkaError.NONE, offset, timestamp);
    }),
  })),
});
