/**
 * OffsetFetch: a group's committed offsets, from the coordinator's memory. Offset -1 = none.
 * v1 has no group-level error: a group error is repeated on every partition asked for.
 */
import type { Handler } from './types';

export const offsetFetch: Handler<'OffsetFetch'> = ({ context, request }) => {
  const topics = request.topics === null ? null : request.topics.map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes }));
  const { errorCode, offsets } = context.groups.fetchOffsets(request.groupId, topics);
  const byTopic = new Map<string, typeof offsets>();
  for (const entry of offsets) {
    const list = byTopic.get(entry.topic);
    if (list === undefined) byTopic.set(entry.topic, [entry]);
    else list.push(entry);
  }
  return {
    throttleTimeMs: 0,
    errorCode,
    topics: [...byTopic].map(([name, entries]) => ({
      name,
      partitions: entries.map((entry) => ({ partitionIndex: entry.partition, committedOffset: BigInt(entry.offset), metadata: entry.metadata, errorCode: entry.errorCode })),
    })),
  };
};
