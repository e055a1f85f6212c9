/**
 * OffsetFetch: a group's committed offsets, from the coordinator's memory. Offset -1 = none.
 * v1 has no group-level error: a group error is repeated on every partition asked for.
 * v7+ requireStable (KIP-447) waits for pending transactional offsets: Samsa has no
 * transactions, so no offset is ever pending and the flag changes nothing. v8+ ask for a batch
 * of groups, each answered with its own error. v9's member id and epoch are for the new
 * consumer protocol (KIP-848); Kafka does not check them for a classic group, and every Samsa
 * group is one.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import type { FetchedOffset, GroupCoordinator } from '../../group/coordinator';
import type { Handler } from './types';

interface TopicAsked {
  name: string;
  partitionIndexes: number[];
}

function fetchGroup(groups: GroupCoordinator, groupId: string, asked: TopicAsked[] | null) {
  const topics = asked === null ? null : asked.map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes }));
  const { errorCode, offsets } = groups.fetchOffsets(groupId, topics);
  const byTopic = new Map<string, FetchedOffset[]>();
  for (const entry of offsets) {
    const list = byTopic.get(entry.topic);
    if (list === undefined) byTopic.set(entry.topic, [entry]);
    else list.push(entry);
  }
  return {
    errorCode,
    topics: [...byTopic].map(([name, entries]) => ({
      name,
      partitions: entries.map((entry) => ({ partitionIndex: entry.partition, committedOffset: BigInt(entry.offset), committedLeaderEpoch: entry.leaderEpoch, metadata: entry.metadata, errorCode: entry.errorCode })),
    })),
  };
}

/** Groups as a batch. (The codec fills a field a version lacks with its default, so the version decides, not the field's presence.) */
const BATCH_VERSION = 8;

export const offsetFetch: Handler<'OffsetFetch'> = ({ context, version, request }) => {
  if (version >= BATCH_VERSION && 'groups' in request) {
    const groups = request.groups.map((group) => {
      const answer = fetchGroup(context.groups, group.groupId, group.topics);
      // Kafka answers a failed group with its error and no topics.
      return { groupId: group.groupId, errorCode: answer.errorCode, topics: answer.errorCode === KafkaError.NONE ? answer.topics : [] };
    });
    return { throttleTimeMs: 0, errorCode: KafkaError.NONE, topics: [], groups };
  }
  const answer = fetchGroup(context.groups, 'groupId' in request ? request.groupId : '', 'topics' in request ? request.topics : null);
  return { throttleTimeMs: 0, errorCode: answer.errorCode, topics: answer.topics, groups: [] };
};
