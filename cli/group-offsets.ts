/**
 * What `samsa group describe` and `group reset-offsets` ask the cluster: a group's description
 * and committed offsets from its coordinator, and partition offsets (earliest, latest, by
 * time) from the partitions' leaders, one ListOffsets per leader.
 */
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaError } from '../shared/kafka/errors';
import type { DescribeGroupsResponseV2, ListOffsetsResponseV2, OffsetFetchResponseV4 } from '../shared/kafka/messages';
import { askCoordinator } from './group-coordinator';
import { CliError, kafkaFailure, KafkaSession } from './kafka-admin';

export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;

export type DescribedGroup = DescribeGroupsResponseV2['groups'][number];

/** Kafka's group states (DescribeGroups names them); Dead answers for a group that does not exist. */
export const GROUP_STATE_DEAD = 'Dead';
export const GROUP_STATE_EMPTY = 'Empty';

export async function describeGroup(session: KafkaSession, groupId: string): Promise<{ group: DescribedGroup; coordinatorId: number }> {
  let coordinatorId = -1;
  const answer = await askCoordinator(
    session,
    groupId,
    (coordinator, address) => {
      coordinatorId = address.nodeId;
      return coordinator.request<DescribeGroupsResponseV2>(ApiKey.DescribeGroups, 2, { groups: [groupId] });
    },
    (response) => response.groups[0]?.errorCode ?? KafkaError.NONE,
  );
  const group = answer.groups.find((g) => g.groupId === groupId);
  if (group === undefined) throw new CliError(`UNKNOWN_SERVER_ERROR: the coordinator did not describe group ${groupId}`);
  if (group.errorCode !== KafkaError.NONE) throw kafkaFailure(group.errorCode, `group ${groupId}`);
  return { group, coordinatorId };
}

export function groupNotFound(groupId: string): CliError {
  return new CliError(`GROUP_ID_NOT_FOUND: group ${groupId} does not exist (no members, no committed offsets)`);
}

/** topic → partition → committed offset, for all topics (`topics` null) or the given ones; partitions without a commit are left out. */
export async function committedOffsets(session: KafkaSession, groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null): Promise<Map<string, Map<number, number>>> {
  const answer = await askCoordinator(
    session,
    groupId,
    (coordinator) => coordinator.request<OffsetFetchResponseV4>(ApiKey.OffsetFetch, 4, { groupId, topics }),
    (response) => (response.errorCode !== KafkaError.NONE ? response.errorCode : response.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== KafkaError.NONE)?.errorCode ?? KafkaError.NONE),
  );
  if (answer.errorCode !== KafkaError.NONE) throw kafkaFailure(answer.errorCode, `offsets of group ${groupId}`);
  const out = new Map<string, Map<number, number>>();
  for (const topic of answer.topics) {
    for (const p of topic.partitions) {
      if (p.errorCode !== KafkaError.NONE) throw kafkaFailure(p.errorCode, `offset of ${topic.name}-${p.partitionIndex} in group ${groupId}`);
      if (p.committedOffset < 0n) continue;
      if (!out.has(topic.name)) out.set(topic.name, new Map());
      out.get(topic.name)!.set(p.partitionIndex, Number(p.committedOffset));
    }
  }
  return out;
}

/**
 * partition → offset for `timestamp` (-1 latest, -2 earliest, else the first offset whose
 * timestamp is at or after it; -1 when there is none). Partitions of a topic that does not exist
 * or that have no leader right now are left out.
 */
export async function listOffsets(session: KafkaSession, topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, number>> {
  const metadata = await session.metadata([topic]);
  const described = metadata.topics.find((t) => t.name === topic);
  const out = new Map<number, number>();
  if (described === undefined || described.errorCode !== KafkaError.NONE) return out;
  const byLeader = new Map<number, number[]>();
  for (const partition of partitions) {
    const leaderId = described.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    if (leaderId >= 0) byLeader.set(leaderId, [...(byLeader.get(leaderId) ?? []), partition]);
  }
  await Promise.all(
    [...byLeader].map(async ([leaderId, led]) => {
      const leader = await session.broker(leaderId);
      const answer = await leader.request<ListOffsetsResponseV2>(ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: led.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
      for (const p of answer.topics[0]?.partitions ?? []) {
        if (p.errorCode !== KafkaError.NONE) throw kafkaFailure(p.errorCode, `offsets of ${topic}-${p.partitionIndex}`);
        out.set(p.partitionIndex, Number(p.offset));
      }
    }),
  );
  return out;
}
