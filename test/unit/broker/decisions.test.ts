/**
 * The controller's decisions as a table: (cluster view, live brokers, controller epoch) → state
 * writes, and which deletions complete.
 */
import type { ClusterSnapshot, PartitionState } from '../../../broker/cluster/metadata-cache';
import { electedState, planDeletions, planStateChanges, StateAction } from '../../../broker/controller/decisions';

type View = Pick<ClusterSnapshot, 'brokers' | 'assignments' | 'states' | 'pendingDeletions'>;

const EPOCH = 5;
const st = (leader: number, isr: number[], leaderEpoch = 0, controllerEpoch = 1): PartitionState => ({ leader, leaderEpoch, isr, controllerEpoch });

function view(live: number[], topics: Record<string, number[][]>, states: Record<string, [PartitionState, number]> = {}, deleting: string[] = []): View {
  return {
    brokers: live.map((id) => ({ id, host: '127.0.0.1', port: 9000 + id, rack: null })),
    assignments: new Map(Object.entries(topics).map(([topic, partitions]) => [topic, { partitions, version: 0 }])),
    states: new Map(Object.entries(states).map(([key, [state, version]]) => [key, { state, version }])),
    pendingDeletions: new Set(deleting),
  };
}

describe('planStateChanges', () => {
  const cases: Array<{ name: string; view: View; expected: StateAction[] }> = [
    {
      name: 'new partitions: leader = first live replica, ISR = the leader, epoch 0',
      view: view([1, 2, 3], { t: [[1, 2], [2, 3], [3, 1]] }),
      expected: [
        { kind: 'create', topic: 't', partition: 0, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } },
        { kind: 'create', topic: 't', partition: 1, state: { leader: 2, leaderEpoch: 0, isr: [2], controllerEpoch: EPOCH } },
        { kind: 'create', topic: 't', partition: 2, state: { leader: 3, leaderEpoch: 0, isr: [3], controllerEpoch: EPOCH } },
      ],
    },
    {
      name: 'a new partition whose first replica is dead gets the next live one',
      view: view([3], { t: [[1, 3]] }),
      expected: [{ kind: 'create', topic: 't', partition: 0, state: { leader: 3, leaderEpoch: 0, isr: [3], controllerEpoch: EPOCH } }],
    },
    {
      name: 'a new partition with no live replica is created offline, ISR = first replica',
      view: view([9], { t: [[1, 2]] }),
      expected: [{ kind: 'create', topic: 't', partition: 0, state: { leader: -1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } }],
    },
    {
      name: 'live leaders: nothing to write',
      view: view([1, 2], { t: [[1, 2]] }, { 't/0': [st(1, [1, 2]), 4] }),
      expected: [],
    },
    {
      name: 'dead leader with live ISR members: the first live ISR member in assignment order leads, epoch + 1, ISR cut to live members, version read',
      view: view([2, 3], { t: [[1, 3, 2]] }, { 't/0': [st(1, [1, 2, 3], 7), 11] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 11, previousLeader: 1, state: { leader: 3, leaderEpoch: 8, isr: [2, 3], controllerEpoch: EPOCH } }],
    },
    {
      name: 'dead leader, live replicas but none in the ISR: offline (no unclean election), ISR kept',
      view: view([2, 3], { t: [[1, 2, 3]] }, { 't/0': [st(1, [1], 2), 3] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 3, previousLeader: 1, state: { leader: -1, leaderEpoch: 3, isr: [1], controllerEpoch: EPOCH } }],
    },
    {
      name: 'all dead: offline once, then no more writes',
      view: view([], { t: [[1, 2]], u: [[1]] }, { 't/0': [st(1, [1, 2]), 0], 'u/0': [st(-1, [1], 4), 9] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 0, previousLeader: 1, state: { leader: -1, leaderEpoch: 1, isr: [1, 2], controllerEpoch: EPOCH } }],
    },
    {
      name: 'an offline partition whose ISR member returns: it leads again',
      view: view([1], { t: [[2, 1]] }, { 't/0': [st(-1, [1], 4), 9] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 9, previousLeader: -1, state: { leader: 1, leaderEpoch: 5, isr: [1], controllerEpoch: EPOCH } }],
    },
    {
      name: 'topics pending deletion get no writes, whatever their state',
      view: view([2], { gone: [[1]], kept: [[2]] }, { 'gone/0': [st(1, [1]), 0] }, ['gone']),
      expected: [{ kind: 'create', topic: 'kept', partition: 0, state: { leader: 2, leaderEpoch: 0, isr: [2], controllerEpoch: EPOCH } }],
    },
    {
      name: 'a state written by a newer controller is left alone',
      view: view([2], { t: [[1, 2]] }, { 't/0': [st(1, [1, 2], 3, EPOCH + 1), 2] }),
      expected: [],
    },
    {
      name: 'malformed: an ISR member that is not a replica is never elected, and is dropped from the ISR',
      view: view([2, 7], { t: [[1, 2]] }, { 't/0': [st(1, [7, 1, 2], 0), 1] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 1, previousLeader: 1, state: { leader: 2, leaderEpoch: 1, isr: [2], controllerEpoch: EPOCH } }],
    },
    {
      name: 'malformed: an ISR of strangers only leaves the partition offline',
      view: view([7], { t: [[1]] }, { 't/0': [st(1, [7]), 1] }),
      expected: [{ kind: 'update', topic: 't', partition: 0, version: 1, previousLeader: 1, state: { leader: -1, leaderEpoch: 1, isr: [7], controllerEpoch: EPOCH } }],
    },
    {
      name: 'malformed: a partition with no replicas gets no state; states of partitions beyond the assignment are ignored',
      view: view([1], { t: [[], [1]] }, { 't/5': [st(1, [1]), 0] }),
      expected: [{ kind: 'create', topic: 't', partition: 1, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } }],
    },
    {
      name: 'topics come out in name order, partitions in number order',
      view: view([1], { b: [[1]], a: [[1], [1]] }),
      expected: [
        { kind: 'create', topic: 'a', partition: 0, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } },
        { kind: 'create', topic: 'a', partition: 1, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } },
        { kind: 'create', topic: 'b', partition: 0, state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: EPOCH } },
      ],
    },
    { name: 'an empty cluster: nothing', view: view([], {}), expected: [] },
  ];

  test.each(cases)('$name', ({ view: input, expected }) => {
    expect(planStateChanges(input, EPOCH)).toEqual(expected);
  });

  test('electedState with a live leader is null (nothing to elect)', () => {
    expect(electedState(st(2, [2]), [1, 2], new Set([2]), EPOCH)).toBeNull();
  });
});

describe('planDeletions', () => {
  const input = (topics: Record<string, number[][]>, deleting: string[], acks: Record<string, number[]>): Pick<ClusterSnapshot, 'assignments' | 'pendingDeletions' | 'deletionAcks'> => ({
    assignments: new Map(Object.entries(topics).map(([topic, partitions]) => [topic, { partitions, version: 0 }])),
    pendingDeletions: new Set(deleting),
    deletionAcks: new Map(Object.entries(acks).map(([topic, ids]) => [topic, new Set(ids)])),
  });

  test.each<{ name: string; topics: Record<string, number[][]>; deleting: string[]; acks: Record<string, number[]>; complete: string[]; waiting: Array<{ topic: string; missing: number[] }> }>([
    { name: 'no acknowledgement yet: waiting for every replica broker', topics: { t: [[1, 2], [2, 3]] }, deleting: ['t'], acks: {}, complete: [], waiting: [{ topic: 't', missing: [1, 2, 3] }] },
    { name: 'some acknowledged (a dead replica): still marked, waiting for the rest', topics: { t: [[1, 2], [2, 3]] }, deleting: ['t'], acks: { t: [1, 2] }, complete: [], waiting: [{ topic: 't', missing: [3] }] },
    { name: 'every replica broker acknowledged: complete', topics: { t: [[1, 2], [2, 3]] }, deleting: ['t'], acks: { t: [3, 2, 1] }, complete: ['t'], waiting: [] },
    { name: 'acknowledgements from non-replicas do not count', topics: { t: [[1]] }, deleting: ['t'], acks: { t: [2, 3] }, complete: [], waiting: [{ topic: 't', missing: [1] }] },
    { name: 'a marker without a topic (already removed, or never was): complete (only the marker goes)', topics: {}, deleting: ['ghost'], acks: {}, complete: ['ghost'], waiting: [] },
    { name: 'topics not marked are never deleted, acknowledged or not', topics: { t: [[1]] }, deleting: [], acks: { t: [1] }, complete: [], waiting: [] },
  ])('$name', ({ topics, deleting, acks, complete, waiting }) => {
    expect(planDeletions(input(topics, deleting, acks))).toEqual({ complete, waiting });
  });
});
