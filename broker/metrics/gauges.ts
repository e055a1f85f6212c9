/**
 * The pure computations behind the broker's gauges and error counters, run when /metrics is
 * scraped (never on the data path): replica counts as Kafka's ReplicaManager reports them,
 * offline partitions as its controller does, consumer lag, and the error codes of a response.
 */

/** What the gauges read of one local partition. */
export interface LocalPartitionInfo {
  isLeader: boolean;
  replicas: readonly number[];
  isr: readonly number[];
  minInsyncReplicas: number;
}

export interface ReplicaCounts {
  /** Kafka's PartitionCount: replicas on this broker, leader or follower. */
  partitionCount: number;
  /** LeaderCount. */
  leaderCount: number;
  /** UnderReplicatedPartitions: led here with fewer in-sync replicas than replicas. */
  underReplicated: number;
  /** UnderMinIsrPartitionCount: led here with fewer in-sync replicas than min.insync.replicas. */
  underMinIsr: number;
  /** AtMinIsrPartitionCount: led here with exactly min.insync.replicas in sync. */
  atMinIsr: number;
}

export function replicaCounts(partitions: Iterable<LocalPartitionInfo>): ReplicaCounts {
  const counts: ReplicaCounts = { partitionCount: 0, leaderCount: 0, underReplicated: 0, underMinIsr: 0, atMinIsr: 0 };
  for (const partition of partitions) {
    counts.partitionCount++;
    if (!partition.isLeader) continue;
    counts.leaderCount++;
    if (partition.isr.length < partition.replicas.length) counts.underReplicated++;
    if (partition.isr.length < partition.minInsyncReplicas) counts.underMinIsr++;
    else if (partition.isr.length === partition.minInsyncReplicas) counts.atMinIsr++;
  }
  return counts;
}

/** Kafka's OfflinePartitionsCount: partitions without a live leader (reported by the active controller only). */
export function offlinePartitions(states: Iterable<{ leader: number }>, liveBrokers: ReadonlySet<number>): number {
  let count = 0;
  for (const state of states) if (state.leader < 0 || !liveBrokers.has(state.leader)) count++;
  return count;
}

export interface CommittedOffsetInfo {
  group: string;
  topic: string;
  partition: number;
  offset: number;
}

export interface LagInfo extends CommittedOffsetInfo {
  lag: number;
}

/**
 * Lag per committed partition: end offset - committed, never below 0 (a commit can run ahead of a
 * follower's high watermark by a fetch). Partitions whose end offset is unknown here are left out.
 */
export function consumerLag(committed: Iterable<CommittedOffsetInfo>, endOffset: (topic: string, partition: number) => number | null): LagInfo[] {
  const out: LagInfo[] = [];
  for (const entry of committed) {
    const end = endOffset(entry.topic, entry.partition);
    if (end === null || entry.offset < 0) continue;
    out.push({ ...entry, lag: Math.max(0, end - entry.offset) });
  }
  return out;
}

/** How deep errorCounts looks: responses nest topics > partitions > a few levels, never deeper. */
const ERROR_WALK_DEPTH_MAX = 6;

/**
 * Non-zero `errorCode` fields of a response body, counted per code (Kafka's
 * AbstractResponse.errorCounts, which counts one per partition or entry). Record sets (Buffers)
 * are not walked. NONE is not counted: it would double the work for a series nobody alerts on.
 */
export function errorCounts(body: unknown, into: Map<number, number> = new Map(), depth = 0): Map<number, number> {
  if (body === null || typeof body !== 'object' || depth > ERROR_WALK_DEPTH_MAX || Buffer.isBuffer(body)) return into;
  if (Array.isArray(body)) {
    // Indexed: called for every response, where for-of allocated an iterator per array.
    for (let i = 0; i < body.length; i++) if (body[i] !== null && typeof body[i] === 'object') errorCounts(body[i], into, depth + 1);
    return into;
  }
  for (const key in body) {
    const value = (body as Record<string, unknown>)[key];
    if (key === 'errorCode') {
      if (typeof value === 'number' && value !== 0) into.set(value, (into.get(value) ?? 0) + 1);
    } else if (value !== null && typeof value === 'object') {
      errorCounts(value, into, depth + 1);
    }
  }
  return into;
}
