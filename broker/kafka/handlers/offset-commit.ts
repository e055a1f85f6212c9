/**
 * OffsetCommit: appended to the group's partition of __consumer_offsets and acknowledged once
 * every ISR member has it. The request's retention time (v2-4) is ignored, as Kafka 2.1+ does
 * for groups (offsets expire by offsets.retention.minutes once the group is empty).
 * v6+ carry the leader epoch of the committed offset (kept and returned by OffsetFetch v5+);
 * v7+ a static member's group.instance.id (checked against its member id: FENCED_INSTANCE_ID).
 * v9 is the first version the new consumer protocol (KIP-848) may use, with a member epoch in
 * generationIdOrMemberEpoch; every Samsa group is a classic group, and Kafka validates a classic
 * group's v9 commit exactly as a v8 one (generation id), so v9 is served as v8.
 */
import type { Handler } from './types';

export const offsetCommit: Handler<'OffsetCommit'> = async ({ context, request }) => {
  const entries = request.topics.flatMap((topic) => topic.partitions.map((p) => ({
    topic: topic.name,
    partition: p.partitionIndex,
    offset: Number(p.committedOffset),
    leaderEpoch: 'committedLeaderEpoch' in p ? p.committedLeaderEpoch : -1,
    metadata: p.committedMetadata,
  })));
  const identity = {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    generationId: request.generationIdOrMemberEpoch,
  };
  const codes = await context.groups.commitOffsets(request.groupId, identity, entries);
  let next = 0;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[next++]! })),
    })),
  };
};
