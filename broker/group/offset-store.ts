/**
 * What one __consumer_offsets partition says, held in memory: committed offsets per group and the
 * last persisted metadata of each group. Pure: the coordinator feeds it every record it loads and
 * every record it appends (replay), and asks it which tombstones to write (expired, deleteGroup,
 * deleteOffsets). Those questions change nothing: the store changes only when the tombstones come
 * back through replay after a successful append, so the store is always what the log says.
 */
import { GroupSnapshot, OffsetsRecord, OffsetValue } from './offsets-records';

export interface CommittedOffset {
  topic: string;
  partition: number;
  value: OffsetValue;
}

export class OffsetStore {
  /** group → topic → partition → last committed value. */
  private readonly offsets = new Map<string, Map<string, Map<number, OffsetValue>>>();
  private readonly metadata = new Map<string, GroupSnapshot>();

  /** Applies one record: in log order while loading, and after each successful append. */
  replay(record: OffsetsRecord): void {
    switch (record.kind) {
      case 'offset':
        if (record.value === null) this.removeOffset(record.group, record.topic, record.partition);
        else this.setOffset(record.group, record.topic, record.partition, record.value);
        return;
      case 'group':
        if (record.value === null) this.metadata.delete(record.group);
        else this.metadata.set(record.group, record.value);
        return;
      default:
        assertNever(record);
    }
  }

  committed(group: string, topic: string, partition: number): OffsetValue | undefined {
    return this.offsets.get(group)?.get(topic)?.get(partition);
  }

  /**
   * Offsets of the given partitions that have one (the OffsetFetch handler answers -1 for the
   * others), in request order; null = every offset of the group, by topic then partition.
   */
  fetch(group: string, topics: Array<{ topic: string; partitions: number[] }> | null): CommittedOffset[] {
    const byTopic = this.offsets.get(group);
    if (byTopic === undefined) return [];
    const out: CommittedOffset[] = [];
    if (topics === null) {
      for (const topic of [...byTopic.keys()].sort()) {
        const partitions = byTopic.get(topic)!;
        for (const partition of [...partitions.keys()].sort((a, b) => a - b)) out.push({ topic, partition, value: partitions.get(partition)! });
      }
      return out;
    }
    for (const { topic, partitions } of topics) {
      const committed = byTopic.get(topic);
      if (committed === undefined) continue;
      for (const partition of partitions) {
        const value = committed.get(partition);
        if (value !== undefined) out.push({ topic, partition, value });
      }
    }
    return out;
  }

  /** Group metadata as last persisted (a tombstone removes the group). A copy of the map: the snapshots are shared. */
  groups(): Map<string, GroupSnapshot> {
    return new Map(this.metadata);
  }

  /** Groups with metadata or offsets, sorted. */
  groupIds(): string[] {
    return [...new Set([...this.metadata.keys(), ...this.offsets.keys()])].sort();
  }

  /**
   * Tombstones for the offsets that offsets.retention.minutes removes, as Kafka's
   * GroupMetadata.removeExpiredOffsets decides (KIP-211):
   * - a group with a protocol type in its persisted metadata (a consumer group) keeps its offsets while
   *   it has members; once Empty, all of them expire retentionMs after it became Empty;
   * - a group without one (a simple consumer that only commits, no metadata) loses each offset
   *   retentionMs after that offset's commit timestamp;
   * - an explicit expireTimestamp (a v1 value) replaces the retention rule for that offset, in the
   *   cases above where offsets may expire at all.
   * `emptySince(group)` is the coordinator's live view: when the group became Empty (ms), -1 if it is
   * Empty since a time it does not know (the commit timestamps are used then, as Kafka does for
   * metadata older than v2), or null if the group has members. So it must answer for every Empty group
   * it holds, including ones restored from the log (snapshot.currentStateTimestamp).
   *
   * As Kafka's cleanupGroupMetadata, an Empty group with persisted metadata and no offsets left also
   * gets a metadata tombstone: the coordinator drops the group when it appends it.
   * Not done: Kafka also expires offsets of a Stable consumer group for topics it no longer subscribes to.
   */
  expired(now: number, retentionMs: number, emptySince: (group: string) => number | null): OffsetsRecord[] {
    const out: OffsetsRecord[] = [];
    for (const group of this.groupIds()) {
      const meta = this.metadata.get(group);
      const since = emptySince(group);
      const consumerGroup = meta !== undefined && meta.protocolType !== null;
      let remaining = 0;
      for (const { topic, partition, value } of this.fetch(group, null)) {
        if (consumerGroup && since === null) {
          remaining++;
          continue;
        }
        const base = consumerGroup && since !== null && since >= 0 ? since : value.commitTimestamp;
        const isExpired = value.expireTimestamp !== -1 ? now >= value.expireTimestamp : now - base >= retentionMs;
        if (isExpired) out.push({ kind: 'offset', group, topic, partition, value: null });
        else remaining++;
      }
      if (meta !== undefined && since !== null && remaining === 0) out.push({ kind: 'group', group, value: null });
    }
    return out;
  }

  /**
   * DeleteGroups: tombstones for every offset of the group and for its metadata. The metadata
   * tombstone is written even when no metadata was persisted (Kafka skips it for generation 0): it
   * costs one record and leaves nothing behind if a persist raced the deletion.
   */
  deleteGroup(group: string): OffsetsRecord[] {
    const out: OffsetsRecord[] = this.fetch(group, null).map(({ topic, partition }) => ({ kind: 'offset', group, topic, partition, value: null }));
    out.push({ kind: 'group', group, value: null });
    return out;
  }

  /** OffsetDelete: tombstones for those of the partitions that have a committed offset. */
  deleteOffsets(group: string, partitions: Array<{ topic: string; partition: number }>): OffsetsRecord[] {
    const out: OffsetsRecord[] = [];
    const seen = new Set<string>();
    for (const { topic, partition } of partitions) {
      const key = `${partition}:${topic}`;
      if (seen.has(key) || this.committed(group, topic, partition) === undefined) continue;
      seen.add(key);
      out.push({ kind: 'offset', group, topic, partition, value: null });
    }
    return out;
  }

  private setOffset(group: string, topic: string, partition: number, value: OffsetValue): void {
    let topics = this.offsets.get(group);
    if (topics === undefined) this.offsets.set(group, (topics = new Map()));
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, value);
  }

  /** Empty maps are dropped so that groupIds() lists only groups that still have something. */
  private removeOffset(group: string, topic: string, partition: number): void {
    const topics = this.offsets.get(group);
    const partitions = topics?.get(topic);
    if (topics === undefined || partitions === undefined) return;
    partitions.delete(partition);
    if (partitions.size === 0) topics.delete(topic);
    if (topics.size === 0) this.offsets.delete(group);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected offsets record ${JSON.stringify(x)}`);
}
