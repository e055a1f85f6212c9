/**
 * What the topics pages show beside Kafka's own answers, computed from the console's live
 * cluster picture and the brokers' last /metrics scrape: partition health (under-replicated,
 * offline) and sizes (Kafka's kafka_log_log_size as the partition's leader reports it). Pure:
 * the picture, the scrape and the offsets come in as arguments.
 */
import type { PartitionView, TopicView } from '../../broker/context';
import type { Exposition } from '../../shared/metrics/prometheus-text';
import type { TopicSummary } from '../web/src/api-types';
export type { TopicSummary } from '../web/src/api-types';

/** Kafka's internal topic of committed offsets: shown, but marked as internal. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets']);
export const LOG_SIZE_METRIC = 'kafka_log_log_size';

export interface PartitionOffsets {
  earliest: number;
  /** The high watermark: the offset the next record readable by consumers gets. */
  latest: number;
}

export interface PartitionHealth {
  /** No leader, or its leader is not a live broker. */
  offline: boolean;
  /** Fewer in-sync replicas than replicas. */
  underReplicated: boolean;
}

export function partitionHealth(partition: PartitionView, liveBrokers: ReadonlySet<number>): PartitionHealth {
  return {
    offline: partition.leader < 0 || !liveBrokers.has(partition.leader),
    underReplicated: partition.isr.length < partition.replicas.length,
  };
}

/** Bytes of a partition's log on its leader, from that broker's last scrape; null when unknown (no leader, no scrape, no such sample yet). */
export function partitionSize(latest: ReadonlyMap<number, Exposition>, topic: string, partition: PartitionView): number | null {
  if (partition.leader < 0) return null;
  const exposition = latest.get(partition.leader);
  if (exposition === undefined) return null;
  const label = String(partition.partition);
  const found = exposition.samples.find((s) => s.name === LOG_SIZE_METRIC && s.labels.topic === topic && s.labels.partition === label);
  return found === undefined ? null : found.value;
}

/** `orders/3`: the key of a partition in offset maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** Adds up `values`, or null when any is null (a partial sum would look like a real one). */
function total(values: Array<number | null>): number | null {
  let sum = 0;
  for (const value of values) {
    if (value === null) return null;
    sum += value;
  }
  return sum;
}

export function summarizeTopic(topic: TopicView, liveBrokers: ReadonlySet<number>, latest: ReadonlyMap<number, Exposition>, offsets: ReadonlyMap<string, PartitionOffsets>): TopicSummary {
  const health = topic.partitions.map((p) => partitionHealth(p, liveBrokers));
  return {
    name: topic.name,
    internal: INTERNAL_TOPICS.has(topic.name),
    markedForDeletion: topic.markedForDeletion,
    partitions: topic.partitions.length,
    replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
    underReplicatedPartitions: health.filter((h) => h.underReplicated).length,
    offlinePartitions: health.filter((h) => h.offline).length,
    sizeBytes: total(topic.partitions.map((p) => partitionSize(latest, topic.name, p))),
    records: total(
      topic.partitions.map((p) => {
        const o = offsets.get(partitionKey(topic.name, p.partition));
        return o === undefined ? null : o.latest - o.earliest;
      }),
    ),
  };
}
