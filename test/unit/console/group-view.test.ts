/**
 * The group pages' arithmetic (console/server/group-view.ts): assignments decoded from the
 * consumer protocol's bytes (kafkajs's own encoder), one row per committed or assigned
 * partition, Kafka's lag (end − committed, never negative, unknown when either is), totals.
 */
import { AssignerProtocol } from 'kafkajs';
import { groupDetail, groupSummary, lagOf, memberView, partitionsOf, totalLagOf, type DescribedGroupState, type OffsetTable } from '../../../console/server/group-view';

const assignment = (topics: Record<string, number[]>): Buffer => AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topics, userData: Buffer.alloc(0) });

const table = (entries: Record<string, Record<number, number>>): OffsetTable => new Map(Object.entries(entries).map(([topic, offsets]) => [topic, new Map(Object.entries(offsets).map(([p, o]) => [Number(p), o]))]));

const group = (members: DescribedGroupState['members'], protocolType = 'consumer'): DescribedGroupState => ({ groupId: 'billing', groupState: 'Stable', protocolType, protocolData: 'RoundRobinAssigner', members });

const member = (memberId: string, bytes: Buffer, clientId = `client-${memberId}`) => ({ memberId, groupInstanceId: null, clientId, clientHost: '/127.0.0.1', memberAssignment: bytes });

describe('lagOf / totalLagOf', () => {
  test.each([
    [5, 12, 7],
    [12, 12, 0],
    [0, 0, 0],
    // A commit past the end (the log was truncated under it) is no lag.
    [15, 12, 0],
    [null, 12, null],
    [5, null, null],
    [null, null, null],
  ])('committed %p, end %p → lag %p', (committed, end, lag) => {
    expect(lagOf(committed, end)).toBe(lag);
  });

  test('the total sums the known lags; unknown when none is known', () => {
    expect(totalLagOf([{ lag: 3 }, { lag: null }, { lag: 4 }])).toBe(7);
    expect(totalLagOf([{ lag: 0 }])).toBe(0);
    expect(totalLagOf([{ lag: null }])).toBeNull();
    expect(totalLagOf([])).toBeNull();
  });
});

describe('memberView', () => {
  test('decodes a kafkajs assignment, topics and partitions sorted', () => {
    const view = memberView(member('m1', assignment({ orders: [2, 0], audit: [1] })), 'consumer');
    expect(view).toEqual({ memberId: 'm1', groupInstanceId: null, clientId: 'client-m1', host: '/127.0.0.1', assignment: [{ topic: 'audit', partitions: [1] }, { topic: 'orders', partitions: [0, 2] }], assignmentBytes: expect.any(Number) });
  });

  test('bytes that are not a consumer assignment, or another protocol type: null, with the size', () => {
    expect(memberView(member('m1', Buffer.from([1, 2, 3])), 'consumer')).toMatchObject({ assignment: null, assignmentBytes: 3 });
    expect(memberView(member('m1', assignment({ t: [0] })), 'connect')).toMatchObject({ assignment: null });
  });

  test('an empty assignment (a member of a group still rebalancing) is no partitions, not undecodable', () => {
    expect(memberView(member('m1', Buffer.alloc(0)), 'consumer').assignment).toEqual([]);
    expect(memberView(member('m1', assignment({})), 'consumer').assignment).toEqual([]);
  });
});

describe('groupDetail', () => {
  test('one row per committed or assigned partition, with end, lag and owner', () => {
    const described = group([member('m2', assignment({ orders: [1, 2] })), member('m1', assignment({ orders: [0] }))]);
    const committed = table({ orders: { 0: 10, 1: 4 }, old: { 0: 3 } });
    const ends = table({ orders: { 0: 10, 1: 9, 2: 6 }, old: { 0: 8 } });
    const detail = groupDetail(described, 2, committed, ends);
    expect(detail.members.map((m) => m.memberId)).toEqual(['m1', 'm2']);
    expect(detail.offsets).toEqual([
      { topic: 'old', partition: 0, committed: 3, end: 8, lag: 5, memberId: null, clientId: null },
      { topic: 'orders', partition: 0, committed: 10, end: 10, lag: 0, memberId: 'm1', clientId: 'client-m1' },
      { topic: 'orders', partition: 1, committed: 4, end: 9, lag: 5, memberId: 'm2', clientId: 'client-m2' },
      // Assigned, nothing committed yet: the lag is unknown, not the whole log.
      { topic: 'orders', partition: 2, committed: null, end: 6, lag: null, memberId: 'm2', clientId: 'client-m2' },
    ]);
    expect(detail).toMatchObject({ groupId: 'billing', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', coordinator: 2, totalLag: 10 });
  });

  test('a partition whose leader did not answer: end and lag unknown, left out of the total', () => {
    const detail = groupDetail(group([]), 1, table({ t: { 0: 1, 1: 1 } }), table({ t: { 0: 4 } }));
    expect(detail.offsets.map((o) => o.lag)).toEqual([3, null]);
    expect(detail.totalLag).toBe(3);
  });

  test('an empty group without commits: no rows, no total', () => {
    const detail = groupDetail({ ...group([]), groupState: 'Empty' }, 1, new Map(), new Map());
    expect(detail).toMatchObject({ members: [], offsets: [], totalLag: null, state: 'Empty' });
    expect(groupSummary({ ...group([]), groupState: 'Empty' }, 1, new Map(), new Map())).toEqual({ groupId: 'billing', state: 'Empty', protocolType: 'consumer', members: 0, coordinator: 1, totalLag: null });
  });

  test('partitionsOf merges commits and assignments, sorted', () => {
    const members = [memberView(member('m', assignment({ b: [3, 1], a: [0] })), 'consumer')];
    expect([...partitionsOf(members, table({ b: { 2: 0, 1: 0 } }))]).toEqual([
      ['a', [0]],
      ['b', [1, 2, 3]],
    ]);
  });
});
