/** The pure replica state: roles, stale updates, high watermark, ISR shrink/expand decisions. */
import { PartitionStateUpdate, ReplicaState } from '../../../broker/partition/replica-state';

const update = (over: Partial<PartitionStateUpdate>): PartitionStateUpdate => ({ leader: 1, leaderEpoch: 0, isr: [1], replicas: [1], controllerEpoch: 1, ...over });

describe('ReplicaState', () => {
  test('a single-replica leader: the high watermark is the log end', () => {
    const state = new ReplicaState(1, 0, 10);
    const outcome = state.apply(update({}), 0);
    expect(outcome).toEqual({ applied: true, previousRole: 'leaderless', role: 'leader', leaderEpochChanged: true, highWatermarkAdvanced: true });
    expect(state.highWatermark).toBe(10);
    expect(state.localLogEndChanged(15)).toBe(true);
    expect(state.highWatermark).toBe(15);
    expect(state.localLogEndChanged(15)).toBe(false);
  });

  test.each([
    ['lower leader epoch', { leaderEpoch: 2, controllerEpoch: 9 }],
    ['same leader epoch from an older controller', { leaderEpoch: 3, controllerEpoch: 4 }],
  ])('a stale update is ignored: %s', (_name, stale) => {
    const state = new ReplicaState(1, 0, 0);
    state.apply(update({ leaderEpoch: 3, controllerEpoch: 5 }), 0);
    expect(state.apply(update({ ...stale, leader: 2 }), 0)).toEqual({ applied: false, reason: 'stale' });
    expect(state.role).toBe('leader');
    expect(state.leaderEpoch).toBe(3);
  });

  test('the same leader epoch from the same or a newer controller applies (an ISR change)', () => {
    const state = new ReplicaState(1, 0, 0);
    state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, isr: [1, 2], replicas: [1, 2] }), 0);
    const outcome = state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, isr: [1], replicas: [1, 2] }), 0);
    expect(outcome.applied).toBe(true);
    expect(state.isr).toEqual([1]);
  });

  test('roles follow the leader field', () => {
    const state = new ReplicaState(1, 0, 0);
    expect(state.apply(update({ leader: 2, replicas: [1, 2], isr: [2, 1] }), 0)).toMatchObject({ role: 'follower' });
    expect(state.apply(update({ leader: -1, leaderEpoch: 1, replicas: [1, 2], isr: [2] }), 0)).toMatchObject({ previousRole: 'follower', role: 'leaderless' });
    expect(state.apply(update({ leader: 1, leaderEpoch: 2, replicas: [1, 2], isr: [1] }), 0)).toMatchObject({ previousRole: 'leaderless', role: 'leader' });
  });

  test('with followers in the ISR the high watermark is the smallest log end, held while one is unknown', () => {
    const state = new ReplicaState(1, 0, 100);
    state.apply(update({ isr: [1, 2, 3], replicas: [1, 2, 3] }), 0);
    expect(state.highWatermark).toBe(0); // followers not heard from yet
    expect(state.followerFetched(2, 80, 10).highWatermarkAdvanced).toBe(false);
    expect(state.followerFetched(3, 60, 10).highWatermarkAdvanced).toBe(true);
    expect(state.highWatermark).toBe(60);
    state.followerFetched(3, 90, 20);
    expect(state.highWatermark).toBe(80);
    // It never goes back while leading, even if a follower reports less (it truncated).
    state.followerFetched(2, 50, 30);
    expect(state.highWatermark).toBe(80);
  });

  test('shrink: ISR members not caught up within the lag time; expand: a replica that reached the high watermark', () => {
    const state = new ReplicaState(1, 0, 100);
    state.apply(update({ isr: [1, 2], replicas: [1, 2, 3] }), 1000);
    state.followerFetched(2, 100, 1500); // caught up at 1500
    state.followerFetched(3, 40, 1500);
    expect(state.shrinkCandidates(11_000, 10_000)).toEqual([]);
    expect(state.shrinkCandidates(11_501, 10_000)).toEqual([2]);
    expect(state.followerFetched(3, 99, 2000).expandCandidate).toBe(false);
    expect(state.followerFetched(3, 100, 2000).expandCandidate).toBe(true);
    expect(state.follower(3)).toEqual({ logEndOffset: 100, lastCaughtUpMs: 2000 });
  });

  test('a new leadership forgets what followers reported under the old one', () => {
    const state = new ReplicaState(1, 0, 100);
    state.apply(update({ isr: [1, 2], replicas: [1, 2] }), 0);
    state.followerFetched(2, 100, 0);
    expect(state.highWatermark).toBe(100);
    state.apply(update({ leaderEpoch: 1, isr: [1, 2], replicas: [1, 2] }), 50);
    expect(state.follower(2)).toEqual({ logEndOffset: -1, lastCaughtUpMs: 50 });
    expect(state.highWatermark).toBe(100);
  });

  test('a follower takes the leader\'s high watermark, capped at its own log end; a truncation lowers it', () => {
    const state = new ReplicaState(1, 0, 50);
    state.apply(update({ leader: 2, isr: [2, 1], replicas: [2, 1] }), 0);
    state.leaderReportedHighWatermark(80);
    expect(state.highWatermark).toBe(50);
    state.localLogEndChanged(40);
    expect(state.highWatermark).toBe(40);
    expect(() => state.followerFetched(2, 10, 0)).toThrow(/only a leader/);
  });
});
