import { OffsetStore } from '../../../broker/group/offset-store';
import { decodeOffsetsRecord, encodeOffsetsRecord, GroupSnapshot, OffsetsRecord, OffsetValue } from '../../../broker/group/offsets-records';

const MINUTE = 60_000;
const RETENTION = 7 * 24 * 60 * MINUTE; // Kafka's default offsets.retention.minutes (7 days)

function value(offset: number, commitTimestamp: number, extra: Partial<OffsetValue> = {}): OffsetValue {
  return { offset, leaderEpoch: -1, metadata: '', commitTimestamp, expireTimestamp: -1, ...extra };
}

function commit(group: string, topic: string, partition: number, v: OffsetValue | null): OffsetsRecord {
  return { kind: 'offset', group, topic, partition, value: v };
}

function snapshot(groupId: string, members: number, currentStateTimestamp: number, protocolType: string | null = 'consumer'): GroupSnapshot {
  return {
    groupId,
    protocolType,
    generationId: 3,
    protocolName: members > 0 ? 'range' : null,
    leaderId: members > 0 ? 'm-0' : null,
    currentStateTimestamp,
    members: Array.from({ length: members }, (_, i) => ({
      memberId: `m-${i}`,
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 60000,
      sessionTimeoutMs: 10000,
      subscription: Buffer.from([i]),
      assignment: Buffer.from([i, i]),
    })),
  };
}

/** Appends as the coordinator does: each record through the codec, then replayed. */
function apply(store: OffsetStore, records: OffsetsRecord[]): void {
  for (const record of records) {
    const { key, value: bytes } = encodeOffsetsRecord(record);
    const decoded = decodeOffsetsRecord(key, bytes);
    expect(decoded).not.toBeNull();
    store.replay(decoded!);
  }
}

function tombstoneKeys(records: OffsetsRecord[]): string[] {
  return records.map((r) => {
    expect(r.value).toBeNull();
    return r.kind === 'offset' ? `${r.group}/${r.topic}-${r.partition}` : `${r.group}/metadata`;
  });
}

describe('replay', () => {
  test('later records win, in log order', () => {
    const store = new OffsetStore();
    apply(store, [commit('g', 't', 0, value(5, 100)), commit('g', 't', 0, value(9, 200)), commit('g', 't', 1, value(1, 150))]);
    expect(store.committed('g', 't', 0)).toEqual(value(9, 200));
    expect(store.committed('g', 't', 1)).toEqual(value(1, 150));
    expect(store.committed('g', 't', 2)).toBeUndefined();
    expect(store.committed('other', 't', 0)).toBeUndefined();
  });

  test('an offset tombstone removes the offset; a later commit brings it back', () => {
    const store = new OffsetStore();
    apply(store, [commit('g', 't', 0, value(5, 100)), commit('g', 't', 0, null)]);
    expect(store.committed('g', 't', 0)).toBeUndefined();
    expect(store.groupIds()).toEqual([]);
    apply(store, [commit('g', 't', 0, value(6, 300))]);
    expect(store.committed('g', 't', 0)).toEqual(value(6, 300));
  });

  test('a tombstone for something never committed is harmless', () => {
    const store = new OffsetStore();
    apply(store, [commit('g', 't', 0, null), { kind: 'group', group: 'g', value: null }]);
    expect(store.groupIds()).toEqual([]);
    expect(store.groups().size).toBe(0);
  });

  test('group metadata: the last persisted snapshot, removed by a tombstone', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 2, 10) }, { kind: 'group', group: 'g', value: snapshot('g', 0, 20) }]);
    expect(store.groups().get('g')).toEqual(snapshot('g', 0, 20));
    apply(store, [{ kind: 'group', group: 'g', value: null }]);
    expect(store.groups().has('g')).toBe(false);
  });

  test('groups() is a copy: changing it does not change the store', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 1, 10) }]);
    store.groups().delete('g');
    expect(store.groups().has('g')).toBe(true);
  });

  test('groupIds lists groups with metadata or offsets, sorted, once each', () => {
    const store = new OffsetStore();
    apply(store, [
      commit('zeta', 't', 0, value(1, 1)),
      { kind: 'group', group: 'alpha', value: snapshot('alpha', 0, 1) },
      commit('mid', 't', 0, value(1, 1)),
      { kind: 'group', group: 'mid', value: snapshot('mid', 1, 1) },
    ]);
    expect(store.groupIds()).toEqual(['alpha', 'mid', 'zeta']);
  });
});

describe('fetch', () => {
  const store = new OffsetStore();
  apply(store, [
    commit('g', 'b', 1, value(11, 1)),
    commit('g', 'a', 2, value(2, 1)),
    commit('g', 'b', 0, value(10, 1)),
    commit('g', 'a', 10, value(3, 1)),
    commit('h', 'a', 0, value(99, 1)),
  ]);

  test('null = every offset of the group, by topic then partition (numerically)', () => {
    expect(store.fetch('g', null).map(({ topic, partition, value: v }) => [topic, partition, v.offset])).toEqual([
      ['a', 2, 2],
      ['a', 10, 3],
      ['b', 0, 10],
      ['b', 1, 11],
    ]);
  });

  test('a list returns those with an offset, in request order', () => {
    const out = store.fetch('g', [
      { topic: 'b', partitions: [1, 5, 0] },
      { topic: 'missing', partitions: [0] },
      { topic: 'a', partitions: [10] },
    ]);
    expect(out.map(({ topic, partition, value: v }) => [topic, partition, v.offset])).toEqual([
      ['b', 1, 11],
      ['b', 0, 10],
      ['a', 10, 3],
    ]);
  });

  test('an unknown group has nothing', () => {
    expect(store.fetch('nobody', null)).toEqual([]);
    expect(store.fetch('nobody', [{ topic: 'a', partitions: [0] }])).toEqual([]);
  });
});

describe('expired (fake clock)', () => {
  const T0 = 1_700_000_000_000;

  test('a consumer group with members keeps its offsets however old', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 2, T0) }, commit('g', 't', 0, value(1, T0))]);
    expect(store.expired(T0 + 100 * RETENTION, RETENTION, () => null)).toEqual([]);
  });

  test('an Empty consumer group: all offsets expire retention after it became empty, not after their commits', () => {
    const store = new OffsetStore();
    const emptyAt = T0 + 10 * MINUTE;
    apply(store, [
      { kind: 'group', group: 'g', value: snapshot('g', 0, emptyAt) },
      commit('g', 't', 0, value(1, T0)), // committed long before the group emptied
      commit('g', 't', 1, value(2, T0 + 5 * MINUTE)),
    ]);
    const since = (group: string): number | null => (group === 'g' ? emptyAt : null);
    expect(store.expired(emptyAt + RETENTION - 1, RETENTION, since)).toEqual([]);
    const out = store.expired(emptyAt + RETENTION, RETENTION, since);
    // Both offsets and, since none remain, the group's metadata (Kafka's cleanupGroupMetadata).
    expect(tombstoneKeys(out)).toEqual(['g/t-0', 'g/t-1', 'g/metadata']);
  });

  test('expired() changes nothing until its tombstones are replayed', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 0, T0) }, commit('g', 't', 0, value(1, T0))]);
    const out = store.expired(T0 + RETENTION, RETENTION, () => T0);
    expect(out).toHaveLength(2);
    expect(store.committed('g', 't', 0)).toBeDefined();
    apply(store, out);
    expect(store.committed('g', 't', 0)).toBeUndefined();
    expect(store.groupIds()).toEqual([]);
    expect(store.expired(T0 + 2 * RETENTION, RETENTION, () => T0)).toEqual([]);
  });

  test('Empty since an unknown time (-1): each offset counts from its commit timestamp', () => {
    const store = new OffsetStore();
    apply(store, [
      { kind: 'group', group: 'g', value: snapshot('g', 0, -1) },
      commit('g', 't', 0, value(1, T0)),
      commit('g', 't', 1, value(2, T0 + MINUTE)),
    ]);
    const out = store.expired(T0 + RETENTION, RETENTION, () => -1);
    expect(tombstoneKeys(out)).toEqual(['g/t-0']); // t-1 remains, so the metadata stays
    expect(tombstoneKeys(store.expired(T0 + MINUTE + RETENTION, RETENTION, () => -1))).toEqual(['g/t-0', 'g/t-1', 'g/metadata']);
  });

  test('a simple consumer (no metadata): each offset expires retention after its own commit', () => {
    const store = new OffsetStore();
    apply(store, [commit('s', 't', 0, value(1, T0)), commit('s', 't', 1, value(2, T0 + MINUTE))]);
    // Whatever the coordinator says about emptiness, no protocol type means commit timestamps decide.
    for (const since of [() => null, () => T0 - RETENTION]) {
      expect(store.expired(T0 + RETENTION - 1, RETENTION, since)).toEqual([]);
      expect(tombstoneKeys(store.expired(T0 + RETENTION, RETENTION, since))).toEqual(['s/t-0']);
    }
    // No metadata tombstone: there is none to remove.
    expect(tombstoneKeys(store.expired(T0 + MINUTE + RETENTION, RETENTION, () => T0))).toEqual(['s/t-0', 's/t-1']);
  });

  test('a group persisted without a protocol type counts as a simple consumer', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 0, T0 + 1000 * MINUTE, null) }, commit('g', 't', 0, value(1, T0))]);
    expect(tombstoneKeys(store.expired(T0 + RETENTION, RETENTION, () => T0 + 1000 * MINUTE))).toEqual(['g/t-0', 'g/metadata']);
  });

  test('an explicit expire timestamp (v1 value) wins over the retention rule', () => {
    const store = new OffsetStore();
    apply(store, [
      commit('s', 't', 0, value(1, T0, { expireTimestamp: T0 + MINUTE })), // short explicit retention
      commit('s', 't', 1, value(1, T0, { expireTimestamp: T0 + 2 * RETENTION })), // longer than the broker's
    ]);
    expect(store.expired(T0 + MINUTE - 1, RETENTION, () => null)).toEqual([]);
    expect(tombstoneKeys(store.expired(T0 + MINUTE, RETENTION, () => null))).toEqual(['s/t-0']);
    expect(tombstoneKeys(store.expired(T0 + RETENTION, RETENTION, () => null))).toEqual(['s/t-0']);
    expect(tombstoneKeys(store.expired(T0 + 2 * RETENTION, RETENTION, () => null))).toEqual(['s/t-0', 's/t-1']);
  });

  test('an explicit expire timestamp does not expire offsets of a group that has members (as Kafka)', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 1, T0) }, commit('g', 't', 0, value(1, T0, { expireTimestamp: T0 + 1 }))]);
    expect(store.expired(T0 + RETENTION, RETENTION, () => null)).toEqual([]);
  });

  test('an Empty group with metadata and no offsets at all gets a metadata tombstone at once', () => {
    const store = new OffsetStore();
    apply(store, [{ kind: 'group', group: 'g', value: snapshot('g', 0, T0) }]);
    expect(tombstoneKeys(store.expired(T0 + 1, RETENTION, () => T0))).toEqual(['g/metadata']);
    // ... but not while the coordinator says it has members.
    expect(store.expired(T0 + 1, RETENTION, () => null)).toEqual([]);
  });

  test('groups are judged one by one', () => {
    const store = new OffsetStore();
    apply(store, [
      { kind: 'group', group: 'busy', value: snapshot('busy', 1, T0) },
      commit('busy', 't', 0, value(1, T0)),
      { kind: 'group', group: 'idle', value: snapshot('idle', 0, T0) },
      commit('idle', 't', 0, value(1, T0)),
      commit('simple', 't', 0, value(1, T0)),
    ]);
    const since = (group: string): number | null => (group === 'idle' ? T0 : null);
    expect(tombstoneKeys(store.expired(T0 + RETENTION, RETENTION, since))).toEqual(['idle/t-0', 'idle/metadata', 'simple/t-0']);
  });
});

describe('deleteGroup and deleteOffsets', () => {
  function loaded(): OffsetStore {
    const store = new OffsetStore();
    apply(store, [
      { kind: 'group', group: 'g', value: snapshot('g', 0, 1) },
      commit('g', 'b', 0, value(1, 1)),
      commit('g', 'a', 1, value(1, 1)),
      commit('g', 'a', 0, value(1, 1)),
      commit('other', 'a', 0, value(7, 1)),
    ]);
    return store;
  }

  test('deleteGroup: tombstones for every offset and the metadata, nothing of other groups', () => {
    const store = loaded();
    const out = store.deleteGroup('g');
    expect(tombstoneKeys(out)).toEqual(['g/a-0', 'g/a-1', 'g/b-0', 'g/metadata']);
    apply(store, out);
    expect(store.groupIds()).toEqual(['other']);
    expect(store.committed('other', 'a', 0)?.offset).toBe(7);
  });

  test('deleteGroup of a group without metadata still writes a metadata tombstone (harmless, covers a racing persist)', () => {
    const store = loaded();
    expect(tombstoneKeys(store.deleteGroup('other'))).toEqual(['other/a-0', 'other/metadata']);
    expect(tombstoneKeys(store.deleteGroup('nobody'))).toEqual(['nobody/metadata']);
  });

  test('deleteOffsets: only the named partitions that have an offset, once each', () => {
    const store = loaded();
    const out = store.deleteOffsets('g', [
      { topic: 'a', partition: 1 },
      { topic: 'a', partition: 7 },
      { topic: 'missing', partition: 0 },
      { topic: 'a', partition: 1 },
      { topic: 'b', partition: 0 },
    ]);
    expect(tombstoneKeys(out)).toEqual(['g/a-1', 'g/b-0']);
    apply(store, out);
    expect(store.fetch('g', null).map((e) => `${e.topic}-${e.partition}`)).toEqual(['a-0']);
    expect(store.groups().has('g')).toBe(true); // metadata untouched
  });
});
