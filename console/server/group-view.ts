/**
 * What the console's group pages show, computed from what the cluster answered: pure functions
 * (no sockets, no clock) so the lag arithmetic and the assignment decoding are unit-tested
 * apart from the Kafka calls in routes/groups.ts. Lag is Kafka's: the partition's end offset
 * (high watermark) minus the group's committed offset; unknown when either is unknown.
 */
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, type TopicPartitions } from '../../shared/kafka/consumer-protocol';
import type { GroupDetail, GroupSummary, MemberView, PartitionLag } from '../web/src/api-types';
export type { GroupDetail, GroupSummary, MemberView, PartitionLag } from '../web/src/api-types';

/** One member as DescribeGroups v4 describes it (the fields the console uses). */
export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberAssignment: Buffer;
}

export interface DescribedGroupState {
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribedMember[];
}

/** topic → partition → offset. */
export type OffsetTable = Map<string, Map<number, number>>;

/** A member's assignment decoded (consumer protocol only); a client writing something else there is shown as undecodable, not a failure. */
export function memberView(member: DescribedMember, protocolType: string): MemberView {
  let assignment: TopicPartitions[] | null = null;
  if (protocolType === CONSUMER_PROTOCOL_TYPE) {
    try {
      assignment = decodeAssignment(member.memberAssignment)
        .partitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((a, b) => a - b) }))
        .sort((a, b) => a.topic.localeCompare(b.topic));
    } catch {
      assignment = null;
    }
  }
  return { memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId, host: member.clientHost, assignment, assignmentBytes: member.memberAssignment.length };
}

/**
 * The partitions worth a row: every committed one and every assigned one (an assigned partition
 * without a commit yet shows with an unknown lag), topic → sorted partitions.
 */
export function partitionsOf(members: MemberView[], committed: OffsetTable): Map<string, number[]> {
  const sets = new Map<string, Set<number>>();
  const add = (topic: string, partition: number): void => void sets.set(topic, (sets.get(topic) ?? new Set<number>()).add(partition));
  for (const [topic, offsets] of committed) for (const partition of offsets.keys()) add(topic, partition);
  for (const m of members) for (const tp of m.assignment ?? []) for (const p of tp.partitions) add(tp.topic, p);
  const out = new Map<string, number[]>();
  for (const topic of [...sets.keys()].sort()) out.set(topic, [...sets.get(topic)!].sort((a, b) => a - b));
  return out;
}

export function lagOf(committed: number | null, end: number | null): number | null {
  // A commit past the end (the log was truncated under it) is no lag, as Kafka's tool shows.
  return committed === null || end === null ? null : Math.max(0, end - committed);
}

export function totalLagOf(rows: Array<{ lag: number | null }>): number | null {
  const known = rows.filter((r) => r.lag !== null);
  return known.length === 0 ? null : known.reduce((sum, r) => sum + r.lag!, 0);
}

/** The group page's body: members with decoded assignments, one row per partition with its lag and owner. */
export function groupDetail(group: DescribedGroupState, coordinator: number, committed: OffsetTable, ends: OffsetTable): GroupDetail {
  const members = group.members.map((m) => memberView(m, group.protocolType)).sort((a, b) => a.memberId.localeCompare(b.memberId));
  const owner = new Map<string, MemberView>();
  for (const m of members) for (const tp of m.assignment ?? []) for (const p of tp.partitions) owner.set(`${tp.topic}\u0000${p}`, m);
  const offsets: PartitionLag[] = [];
  for (const [topic, partitions] of partitionsOf(members, committed)) {
    for (const partition of partitions) {
      const offset = committed.get(topic)?.get(partition) ?? null;
      const end = ends.get(topic)?.get(partition) ?? null;
      const m = owner.get(`${topic}\u0000${partition}`);
      offsets.push({ topic, partition, committed: offset, end, lag: lagOf(offset, end), memberId: m?.memberId ?? null, clientId: m?.clientId ?? null });
    }
  }
  return { groupId: group.groupId, state: group.groupState, protocolType: group.protocolType, protocol: group.protocolData, coordinator, members, offsets, totalLag: totalLagOf(offsets) };
}

export function groupSummary(group: DescribedGroupState, coordinator: number, committed: OffsetTable, ends: OffsetTable): GroupSummary {
  const detail = groupDetail(group, coordinator, committed, ends);
  return { groupId: detail.groupId, state: detail.state, protocolType: detail.protocolType, members: detail.members.length, coordinator, totalLag: detail.totalLag };
}
