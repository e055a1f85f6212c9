/**
 * Kafka's RangeAssignor (the "range" protocol librdkafka and the Java consumer use by
 * default), as a pure function, so a `samsa consume --group` leader assigns exactly what a
 * Java or librdkafka leader would: per topic, its members sorted by member id, its partitions
 * in order, each member a consecutive range; the first `partitions % members` members get one
 * extra partition.
 */
import type { TopicPartitions } from '../shared/kafka/consumer-protocol';

export const RANGE_PROTOCOL = 'range';

export interface AssignorMember {
  memberId: string;
  topics: string[];
}

/**
 * `partitionCounts`: topic → number of partitions (topics missing from it, e.g. not created
 * yet, are left out as Kafka does). Every member gets an entry, possibly empty.
 */
export function rangeAssign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitions[]> {
  const result = new Map<string, TopicPartitions[]>();
  for (const member of members) result.set(member.memberId, []);
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined || count <= 0) continue;
    // Plain code-unit order, as Java's String.compareTo sorts the member ids.
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const perMember = Math.floor(count / subscribers.length);
    const withExtra = count % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = perMember * i + Math.min(i, withExtra);
      const length = perMember + (i < withExtra ? 1 : 0);
      if (length === 0) return;
      result.get(memberId)!.push({ topic, partitions: Array.from({ length }, (_, k) => start + k) });
    });
  }
  return result;
}
