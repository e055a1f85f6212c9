/** ListOffsets: earliest (-2), latest (-1, the high watermark), or the first offset at a timestamp. */
import type { Handler } from './types';

export const listOffsets: Handler<'ListOffsets'> = async ({ context, request }) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(
        topic.partitions.map(async ({ partitionIndex, timestamp }) => {
          const found = await context.replicas.listOffset(topic.name, partitionIndex, Number(timestamp));
          return { partitionIndex, errorCode: found.errorCode, timestamp: BigInt(found.timestamp), offset: BigInt(found.offset), oldStyleOffsets: [] };
        }),
      ),
    })),
  ),
});
