/**
 * OffsetDelete (KIP-496): removes committed offsets of partitions a group no longer consumes.
 * A group with members may drop only topics none of them subscribes to, read from their
 * consumer-protocol subscriptions; a group of another protocol type must be empty.
 */
import { decodeSubscription } from '../../../shared/kafka/consumer-protocol';
import { KafkaError } from '../../../shared/kafka/errors';
import type { GroupDescription } from '../../group/group-machine';
import type { Handler } from './types';

function subscribedTopics(group: GroupDescription): Set<string> | null {
  if (group.protocolType !== 'consumer') return null;
  const topics = new Set<string>();
  for (const member of group.members) {
    try {
      for (const topic of decodeSubscription(member.subscription).topics) topics.add(topic);
    } catch {
      return null; // unreadable subscription: treat the group as using every topic
    }
  }
  return topics;
}

export const offsetDelete: Handler<'OffsetDelete'> = async ({ context, request }) => {
  const partitions = request.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionIndex })));
  const { errorCode, results } = await context.groups.deleteOffsets(request.groupId, partitions, subscribedTopics);
  let next = 0;
  return {
    errorCode,
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errorCode === KafkaError.NONE ? results[next++]! : KafkaError.NONE })),
    })),
  };
};
