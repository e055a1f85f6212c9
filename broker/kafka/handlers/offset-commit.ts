/**
 * OffsetCommit: appended to the group's partition of __consumer_offsets and acknowledged once
 * every ISR member has it. The request's retention time (v2-4) is ignored, as Kafka 2.1+ does
 * for groups (offsets expire by offsets.retention.minutes once the group is empty).
 */
import type { Handler } from './types';

export const offsetCommit: Handler<'OffsetCommit'> = async ({ context, request }) => {
  const entries = request.topics.flatMap((topic) => topic.partitions.map((p) => ({
    topic: topic.name,
    partition: p.partitionIndex,
    offset: Number(p.committedOffset),
    leaderEpoch: -1,
    metadata: p.committedMetadata,
  })));
  const codes = await context.groups.commitOffsets(request.groupId, { memberId: request.memberId, groupInstanceId: null, generationId: request.generationIdOrMemberEpoch }, entries);
  let next = 0;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[next++]! })),
    })),
  };
};
