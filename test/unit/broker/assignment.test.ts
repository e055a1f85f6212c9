/**
 * Replica assignment, the controller's state decisions, and Kafka's default partitioner.
 */
import type { ClusterSnapshot, PartitionState } from '../../../broker/cluster/metadata-cache';
import { assignReplicas, AssignmentError } from '../../../broker/controller/assignment';
import { electedState, initialState, planStateChanges } from '../../../broker/controller/decisions';
import { murmur2, partitionForKey } from '../../../cli/kafka-admin';

/* eslint-disable-next-line @typescript-eslint/no-var-requires */
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2');

describe('assignReplicas', () => {
  test.each([
    { brokers: [1, 2, 3], partitions: 6, rf: 3 },
    { brokers: [1, 2, 3], partitions: 7, rf: 2 },
    { brokers: [1, 2, 3, 4, 5], partitions: 20, rf: 3 },
    { brokers: [7], partitions: 4, rf: 1 },
    { brokers: [3, 1, 2, 9], partitions: 12, rf: 4 },
  ])('$partitions partitions x $rf on $brokers.length brokers: distinct replicas, leaders balanced', ({ brokers, partitions, rf }) => {
    for (let start = 0; start < brokers.length; start++) {
      const assignment = assignReplicas(brokers, partitions, rf, start);
      expect(assignment).toHaveLength(partitions);
      for (const replicas of assignment) {
        expect(replicas).toHaveLength(rf);
        expect(new Set(replicas).size).toBe(rf);
        for (const id of replicas) expect(brokers).toContain(id);
      }
      const leaders = new Map<number, number>();
      for (const [leader] of assignment) leaders.set(leader!, (leaders.get(leader!) ?? 0) + 1);
      const counts = brokers.map((id) => leaders.get(id) ?? 0);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  test("matches Kafka's documented example (5 brokers, 10 partitions, RF 3, start 0)", () => {
    expect(assignReplicas([0, 1, 2, 3, 4], 10, 3, 0, 0, 0)).toEqual([
      [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
      [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
    ]);
  });

  test.each([
    { brokers: [1, 2, 3], existing: 3, added: 3, rf: 2 },
    { brokers: [1, 2, 3, 4], existing: 5, added: 7, rf: 3 },
  ])('partitions added to $existing continue the round-robin: leaders of the whole topic stay balanced', ({ brokers, existing, added, rf }) => {
    const first = assignReplicas(brokers, existing, rf, 0);
    const more = assignReplicas(brokers, added, rf, 0, existing);
    const leaders = new Map<number, number>();
    for (const [leader] of [...first, ...more]) leaders.set(leader!, (leaders.get(leader!) ?? 0) + 1);
    const counts = brokers.map((id) => leaders.get(id) ?? 0);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (const replicas of more) expect(new Set(replicas).size).toBe(rf);
  });

  test('refuses a replication factor above the live brokers, and empty requests', () => {
    expect(() => assignReplicas([1, 2], 3, 3, 0)).toThrow(AssignmentError);
    expect(() => assignReplicas([1, 2], 0, 1, 0)).toThrow(AssignmentError);
    expect(() => assignReplicas([], 1, 1, 0)).toThrow(AssignmentError);
  });
});

describe("Kafka's default partitioner", () => {
  test('murmur2 agrees with kafkajs (which follows the Java client)', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'k1', 'orders-12345', 'ünïcödé']) {
      expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
    }
    expect(partitionForKey(Buffer.from('k1'), 6)).toBe((kafkajsMurmur2(Buffer.from('k1')) & 0x7fffffff) % 6);
  });
});

describe('controller decisions', () => {
  const state = (leader: number, isr: number[], leaderEpoch = 0): PartitionState => ({ leader, leaderEpoch, isr, controllerEpoch: 1 });
  const context = (live: number[], shuttingDown: number[] = [], unclean = false) => ({ live: new Set(live), shuttingDown: new Set(shuttingDown), unclean, controllerEpoch: 9 });

  test.each([
    { replicas: [1, 2, 3], live: [1, 2, 3], leader: 1, isr: [1, 2, 3] },
    { replicas: [2, 3, 1], live: [1, 3], leader: 3, isr: [3, 1] },
    { replicas: [2, 3], live: [1], leader: -1, isr: [2] },
  ])('a new partition on $replicas with live $live: leader $leader, ISR $isr (every live replica)', ({ replicas, live, leader, isr }) => {
    expect(initialState(replicas, new Set(live), 7)).toEqual({ leader, leaderEpoch: 0, isr, controllerEpoch: 7 });
  });

  test.each([
    { name: 'live leader, live ISR: nothing to do', before: state(1, [1, 2]), live: [1, 2], after: null },
    { name: 'live leader, dead follower: it leaves the ISR, same epoch', before: state(1, [1, 2, 3], 4), live: [1, 2], after: { state: { leader: 1, leaderEpoch: 4, isr: [1, 2], controllerEpoch: 9 }, unclean: false } },
    { name: 'dead leader, live ISR member takes over', before: state(1, [1, 2, 3], 4), live: [2, 3], after: { state: { leader: 2, leaderEpoch: 5, isr: [2, 3], controllerEpoch: 9 }, unclean: false } },
    { name: 'dead leader, no live ISR member: offline, ISR kept', before: state(1, [1], 4), live: [2, 3], after: { state: { leader: -1, leaderEpoch: 5, isr: [1], controllerEpoch: 9 }, unclean: false } },
    { name: 'dead leader, no live ISR member, unclean enabled: first live replica, ISR = [it]', before: state(1, [1], 4), live: [2, 3], unclean: true, after: { state: { leader: 2, leaderEpoch: 5, isr: [2], controllerEpoch: 9 }, unclean: true } },
    { name: 'offline and still nothing alive: no write', before: state(-1, [1], 5), live: [2], after: null },
    { name: 'offline, ISR member back: it leads again', before: state(-1, [1], 5), live: [1, 2], after: { state: { leader: 1, leaderEpoch: 6, isr: [1], controllerEpoch: 9 }, unclean: false } },
    { name: 'leader shutting down: next ISR member leads, the leader leaves the ISR', before: state(1, [1, 2, 3], 4), live: [1, 2, 3], shuttingDown: [1], after: { state: { leader: 2, leaderEpoch: 5, isr: [2, 3], controllerEpoch: 9 }, unclean: false } },
    { name: 'leader shutting down, nobody else in sync: it keeps leading', before: state(1, [1], 4), live: [1, 2, 3], shuttingDown: [1], after: null },
  ])('$name', ({ before, live, shuttingDown, unclean, after }) => {
    expect(electedState(before, [1, 2, 3], context(live, shuttingDown, unclean))).toEqual(after);
  });

  test('plans creates for missing states and updates (with the version read and a reason) for dead leaders; skips topics being deleted', () => {
    const view: Pick<ClusterSnapshot, 'brokers' | 'assignments' | 'states' | 'pendingDeletions' | 'shuttingDown'> = {
      brokers: [{ id: 2, host: 'h', port: 1, rack: null }, { id: 3, host: 'h', port: 2, rack: null }],
      assignments: new Map([
        ['a', { partitions: [[1, 2], [2, 3]], version: 0 }],
        ['gone', { partitions: [[2]], version: 0 }],
      ]),
      states: new Map([['a/0', { state: state(1, [1, 2]), version: 3 }]]),
      pendingDeletions: new Set(['gone']),
      shuttingDown: new Set(),
    };
    expect(planStateChanges(view, 4)).toEqual([
      { kind: 'update', topic: 'a', partition: 0, version: 3, previousLeader: 1, reason: 'election', state: { leader: 2, leaderEpoch: 1, isr: [2], controllerEpoch: 4 } },
      { kind: 'create', topic: 'a', partition: 1, state: { leader: 2, leaderEpoch: 0, isr: [2, 3], controllerEpoch: 4 } },
    ]);
  });
});
