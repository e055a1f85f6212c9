/**
 * `samsa cluster`'s pure core: from what the command gathered (Metadata, leader epochs from the
 * tree, high watermarks from leaders, each replica's own log end, each topic's
 * min.insync.replicas) to the per-partition report with follower lag and the counts; and the
 * report as aligned text. No sockets, no clocks: unit-tested on its own.
 */
import type { Metadata } from './kafka-admin';

/** A probe's answer: an offset, or why there is none ('unreachable', or a Kafka error name). */
export type Probe = { offset: number } | { error: string };

export const UNREACHABLE = 'unreachable';

export interface ClusterFacts {
  metadata: Metadata;
  /** Leader epochs by `topic/partition`, or why none are known (the coordinator could not be read). */
  leaderEpochs: Map<string, number> | { error: string };
  /** From each partition's leader: ListOffsets latest as a consumer (the high watermark). */
  highWatermarks: Map<string, Probe>;
  /** Per broker id, per `topic/partition`: that replica's own log end (ListOffsets, replica id -2). A broker absent was not reachable. */
  logEnds: Map<number, Map<string, Probe>>;
  /** Per topic; absent: unknown (DescribeConfigs failed). */
  minInsyncReplicas: Map<string, number>;
}

export interface ReplicaReport {
  broker: number;
  /** null: see status. */
  logEndOffset: number | null;
  /** The leader's log end minus this follower's; null for the leader and when either is unknown. */
  lag: number | null;
  /** 'ok', 'unreachable', or the Kafka error the broker answered. */
  status: string;
}

export interface PartitionReport {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number | null;
  replicas: number[];
  isr: number[];
  minInsyncReplicas: number | null;
  highWatermark: number | null;
  replicaOffsets: ReplicaReport[];
  underReplicated: boolean;
  underMinIsr: boolean;
  offline: boolean;
}

export interface ClusterReport {
  clusterId: string | null;
  controller: number;
  brokers: Array<{ id: number; host: string; port: number }>;
  /** Why leader epochs are unknown ('?'), or null. */
  leaderEpochsError: string | null;
  partitions: PartitionReport[];
  underReplicated: number;
  underMinIsr: number;
  offline: number;
}

export const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;

const offsetOf = (probe: Probe | undefined): number | null => (probe !== undefined && 'offset' in probe ? probe.offset : null);

export function buildReport(facts: ClusterFacts): ClusterReport {
  const { metadata } = facts;
  const epochs = facts.leaderEpochs instanceof Map ? facts.leaderEpochs : null;
  const partitions = [...metadata.topics]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((topic) =>
      [...topic.partitions]
        .sort((a, b) => a.partitionIndex - b.partitionIndex)
        .map((p): PartitionReport => {
          const key = partitionKey(topic.name, p.partitionIndex);
          const probes = p.replicaNodes.map((broker) => ({ broker, probe: facts.logEnds.get(broker)?.get(key) }));
          const leaderEnd = p.leaderId >= 0 ? offsetOf(facts.logEnds.get(p.leaderId)?.get(key)) : null;
          const replicaOffsets = probes.map(({ broker, probe }): ReplicaReport => {
            const logEndOffset = offsetOf(probe);
            const status = probe === undefined ? UNREACHABLE : 'error' in probe ? probe.error : 'ok';
            const lag = broker !== p.leaderId && leaderEnd !== null && logEndOffset !== null ? leaderEnd - logEndOffset : null;
            return { broker, logEndOffset, lag, status };
          });
          const minInsyncReplicas = facts.minInsyncReplicas.get(topic.name) ?? null;
          return {
            topic: topic.name,
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: epochs?.get(key) ?? null,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            minInsyncReplicas,
            highWatermark: p.leaderId >= 0 ? offsetOf(facts.highWatermarks.get(key)) : null,
            replicaOffsets,
            underReplicated: p.isrNodes.length < p.replicaNodes.length,
            underMinIsr: minInsyncReplicas !== null && p.isrNodes.length < minInsyncReplicas,
            offline: p.leaderId < 0,
          };
        }),
    );
  return {
    clusterId: metadata.clusterId,
    controller: metadata.controllerId,
    brokers: metadata.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.id - b.id),
    leaderEpochsError: epochs === null ? (facts.leaderEpochs as { error: string }).error : null,
    partitions,
    underReplicated: partitions.filter((p) => p.underReplicated).length,
    underMinIsr: partitions.filter((p) => p.underMinIsr).length,
    offline: partitions.filter((p) => p.offline).length,
  };
}

const show = (value: number | null): string => (value === null ? '?' : String(value));

function stateOf(p: PartitionReport): string {
  if (p.offline) return 'offline';
  if (p.underMinIsr) return 'under-min-isr';
  if (p.underReplicated) return 'under-replicated';
  return 'ok';
}

/** Rows of cells as columns padded to their widest cell, two spaces apart. */
export function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function formatReport(report: ClusterReport): string {
  const header = [
    `Cluster ${report.clusterId ?? '?'}`,
    `Controller: broker ${report.controller}`,
    `Brokers (${report.brokers.length}): ${report.brokers.map((b) => `${b.id}@${b.host}:${b.port}`).join('  ')}`,
    `Partitions: ${report.partitions.length}  under-replicated: ${report.underReplicated}  under-min-ISR: ${report.underMinIsr}  offline: ${report.offline}`,
  ];
  if (report.leaderEpochsError !== null) header.push(`Leader epochs unknown (?): ${report.leaderEpochsError}`);
  if (report.partitions.length === 0) return `${header.join('\n')}\n`;
  const rows = [
    ['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'MIN-ISR', 'HW', 'STATE', 'LOG-END (per replica)', 'LAG (per follower)'],
    ...report.partitions.map((p) => [
      p.topic,
      String(p.partition),
      p.leader < 0 ? 'none' : String(p.leader),
      show(p.leaderEpoch),
      p.replicas.join(',') || '-',
      p.isr.join(',') || '-',
      show(p.minInsyncReplicas),
      show(p.highWatermark),
      stateOf(p),
      p.replicaOffsets.map((r) => `${r.broker}:${r.logEndOffset ?? r.status}`).join(' '),
      p.replicaOffsets.filter((r) => r.broker !== p.leader).map((r) => `${r.broker}:${show(r.lag)}`).join(' ') || '-',
    ]),
  ];
  return `${[...header, '', ...alignColumns(rows)].join('\n')}\n`;
}
