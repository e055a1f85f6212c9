/** DeleteRecords: moves each partition's log start offset forward (-1: to the high watermark), never past the high watermark. */
import type { Handler } from './types';

export const deleteRecords: Handler<'DeleteRecords'> = async ({ context, request }) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(
        topic.partitions.map(async ({ partitionIndex, offset }) => {
          const result = await context.replicas.deleteRecords(topic.name, partitionIndex, Number(offset));
          return { partitionIndex, lowWatermark: BigInt(result.lowWatermark), errorCode: result.errorCode };
        }),
      ),
    })),
  ),
});
