/**
 * The pure replica state: roles, stale updates (znode version, leader and controller epochs),
 * the high watermark from follower offsets, Kafka's caught-up rule, ISR shrink/expand
 * decisions against an injected clock, and the maximal ISR while an ISR write is in flight.
 */
import { PartitionStateUpdate, ReplicaState } from '../../../broker/partition/replica-state';

const update = (over: Partial<PartitionStateUpdate>): PartitionStateUpdate => ({ leader: 1, leaderEpoch: 0, isr: [1], replicas: [1], controllerEpoch: 1, version: 0, ...over });

/** Broker 1 leading replicas [1, 2, 3] with `isr`, its log ending at `logEnd`, at time `now`. */
function leading(isr: number[], logEnd: number, now = 0, initialHighWatermark = 0): ReplicaState {
  const state = new ReplicaState(1, initialHighWatermark, logEnd);
  state.apply(update({ isr, replicas: [1, 2, 3], version: 3 }), now);
  return state;
}

describe('ReplicaState: applying states', () => {
  test('a single-replica leader: the high watermark is the log end', () => {
    const state = new ReplicaState(1, 0, 10);
    const outcome = state.apply(update({}), 0);
    expect(outcome).toEqual({ applied: true, previousRole: 'leaderless', role: 'leader', leaderEpochChanged: true, highWatermarkAdvanced: true });
    expect(state.highWatermark).toBe(10);
    expect(state.localLogEndChanged(15)).toBe(true);
    expect(state.highWatermark).toBe(15);
    expect(state.localLogEndChanged(15)).toBe(false);
  });

  test('a leader alone in the ISR of several replicas: the high watermark is its log end, whatever the followers', () => {
    const state = leading([1], 100);
    expect(state.highWatermark).toBe(100);
    state.followerFetched(2, 10, 5);
    expect(state.highWatermark).toBe(100);
  });

  test.each([
    ['lower znode version (even with a higher leader epoch)', { version: 6, leaderEpoch: 4, controllerEpoch: 9 }],
    ['lower leader epoch', { version: 8, leaderEpoch: 2, controllerEpoch: 9 }],
    ['same leader epoch from an older controller', { version: 8, leaderEpoch: 3, controllerEpoch: 4 }],
    ['unknown version (-1) with a lower leader epoch', { version: -1, leaderEpoch: 2, controllerEpoch: 9 }],
  ])('a stale update is ignored: %s', (_name, stale) => {
    const state = new ReplicaState(1, 0, 0);
    state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, version: 7 }), 0);
    expect(state.apply(update({ ...stale, leader: 2 }), 0)).toEqual({ applied: false, reason: 'stale' });
    expect([state.role, state.leaderEpoch, state.controllerEpoch, state.version]).toEqual(['leader', 3, 5, 7]);
  });

  test('a higher version with the same leader epoch applies (an ISR change); an unknown version (-1) is ordered by the epochs alone and keeps the known one', () => {
    const state = new ReplicaState(1, 0, 0);
    state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, isr: [1, 2], replicas: [1, 2], version: 7 }), 0);
    const outcome = state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, isr: [1], replicas: [1, 2], version: 8 }), 0);
    expect(outcome).toMatchObject({ applied: true, role: 'leader', leaderEpochChanged: false });
    expect([state.isr, state.version]).toEqual([[1], 8]);
    expect(state.apply(update({ leaderEpoch: 3, controllerEpoch: 5, isr: [1, 2], replicas: [1, 2], version: -1 }), 0).applied).toBe(true);
    expect([state.isr, state.version]).toEqual([[1, 2], 8]);
  });

  test('roles follow the leader field', () => {
    const state = new ReplicaState(1, 0, 0);
    expect(state.apply(update({ leader: 2, replicas: [1, 2], isr: [2, 1] }), 0)).toMatchObject({ role: 'follower' });
    expect(state.apply(update({ leader: -1, leaderEpoch: 1, replicas: [1, 2], isr: [2], version: 1 }), 0)).toMatchObject({ previousRole: 'follower', role: 'leaderless' });
    expect(state.apply(update({ leader: 1, leaderEpoch: 2, replicas: [1, 2], isr: [1], version: 2 }), 0)).toMatchObject({ previousRole: 'leaderless', role: 'leader', leaderEpochChanged: true });
    expect(state.leaderId).toBe(1);
  });

  test('a new leadership starts the epoch at the log end and forgets what followers reported under the old one; the high watermark stays', () => {
    const state = new ReplicaState(1, 0, 100);
    state.apply(update({ isr: [1, 2], replicas: [1, 2] }), 0);
    expect(state.leaderEpochStartOffset).toBe(100);
    state.followerFetched(2, 100, 0);
    expect(state.highWatermark).toBe(100);
    state.localLogEndChanged(120);
    state.apply(update({ leaderEpoch: 1, isr: [1, 2], replicas: [1, 2], version: 1 }), 50);
    expect(state.leaderEpochStartOffset).toBe(120);
    expect(state.follower(2)).toEqual({ logEndOffset: -1, lastCaughtUpMs: 50, lastFetchLeaderLogEnd: -1, lastFetchMs: 50 });
    expect(state.highWatermark).toBe(100);
  });

  test('the same leadership with a new replica list keeps what is known and tracks the new replica', () => {
    const state = new ReplicaState(1, 0, 100);
    state.apply(update({ isr: [1, 2], replicas: [1, 2] }), 0);
    state.followerFetched(2, 90, 10);
    state.apply(update({ isr: [1, 2], replicas: [1, 2, 3], version: 1 }), 20);
    expect(state.follower(2)?.logEndOffset).toBe(90);
    expect(state.follower(3)).toEqual({ logEndOffset: -1, lastCaughtUpMs: 20, lastFetchLeaderLogEnd: -1, lastFetchMs: 20 });
    expect(state.leaderEpochStartOffset).toBe(100);
  });
});

describe('ReplicaState: the high watermark on the leader', () => {
  test('the smallest log end in the ISR, held while a member is unknown, never backwards', () => {
    const state = leading([1, 2, 3], 100);
    expect(state.highWatermark).toBe(0); // followers not heard from yet
    expect(state.followerFetched(2, 80, 10).highWatermarkAdvanced).toBe(false);
    expect(state.followerFetched(3, 60, 10).highWatermarkAdvanced).toBe(true);
    expect(state.highWatermark).toBe(60);
    state.followerFetched(3, 90, 20);
    expect(state.highWatermark).toBe(80);
    // A follower that reports less (it truncated, or restarted) does not move it back.
    expect(state.followerFetched(2, 50, 30).highWatermarkAdvanced).toBe(false);
    expect(state.highWatermark).toBe(80);
    // A replica outside the ISR never holds it.
    const other = leading([1, 2], 100);
    other.followerFetched(3, 0, 10);
    other.followerFetched(2, 100, 10);
    expect(other.highWatermark).toBe(100);
  });

  test('a high watermark from before the leadership (the checkpoint) is kept until the ISR is known', () => {
    const state = leading([1, 2], 100, 0, 70);
    expect(state.highWatermark).toBe(70);
    expect(state.localLogEndChanged(110)).toBe(false);
    expect(state.followerFetched(2, 65, 1).highWatermarkAdvanced).toBe(false);
    expect(state.highWatermark).toBe(70);
    expect(state.followerFetched(2, 105, 2).highWatermarkAdvanced).toBe(true);
    expect(state.highWatermark).toBe(105);
  });

  test('maximal ISR, shrink: while the write is in flight the leaving member still counts; applied, the high watermark moves', () => {
    const state = leading([1, 2, 3], 100);
    state.followerFetched(2, 100, 1);
    state.followerFetched(3, 50, 1);
    expect(state.highWatermark).toBe(50);
    expect(state.setPendingIsr([1, 2])).toBe(false);
    expect(state.pendingIsr).toEqual([1, 2]);
    expect(state.highWatermark).toBe(50);
    const outcome = state.apply(update({ isr: [1, 2], replicas: [1, 2, 3], version: 4 }), 2);
    expect(outcome).toMatchObject({ applied: true, highWatermarkAdvanced: true, leaderEpochChanged: false });
    expect(state.pendingIsr).toBeNull();
    expect(state.highWatermark).toBe(100);
  });

  test('maximal ISR, expand: while the write is in flight the joining member counts; the write fails: it stops counting', () => {
    const state = leading([1, 2], 100);
    state.followerFetched(2, 100, 1);
    expect(state.followerFetched(3, 100, 1).expandCandidate).toBe(true);
    expect(state.setPendingIsr([1, 2, 3])).toBe(false);
    state.localLogEndChanged(150);
    expect(state.followerFetched(2, 150, 2).highWatermarkAdvanced).toBe(false);
    expect(state.highWatermark).toBe(100); // 3 is at 100 and may be in the ISR the controller sees
    expect(state.followerFetched(3, 120, 3).highWatermarkAdvanced).toBe(true);
    expect(state.highWatermark).toBe(120);
    expect(state.setPendingIsr(null)).toBe(true); // the write failed: back to ISR [1, 2]
    expect(state.highWatermark).toBe(150);
  });

  // BUG (reported to the lead): ReplicaState.apply treats an update with the SAME znode
  // version as new and clears pendingIsr. The replica manager re-applies every partition's
  // state on every cluster-picture change (ReplicaManager.syncOnce), e.g. when another
  // partition's ISR write lands, so an ISR expansion in flight loses its maximal ISR: the high
  // watermark advances past the joining member's log end, the write then succeeds, and the
  // new ISR holds a member that lacks committed records (electable after the leader dies).
  test('maximal ISR survives a re-read of the same state version while the write is in flight', () => {
    const state = leading([1, 2], 100);
    state.followerFetched(2, 100, 1);
    state.followerFetched(3, 100, 1);
    state.setPendingIsr([1, 2, 3]);
    state.localLogEndChanged(150);
    state.followerFetched(2, 150, 2);
    expect(state.highWatermark).toBe(100);
    // The same znode (version 3), read again because something else in the cluster changed.
    state.apply(update({ isr: [1, 2], replicas: [1, 2, 3], version: 3 }), 3);
    expect(state.pendingIsr).toEqual([1, 2, 3]);
    expect(state.highWatermark).toBe(100);
  });

  test('setPendingIsr is for leaders only (null is always allowed)', () => {
    const state = new ReplicaState(1, 0, 10);
    state.apply(update({ leader: 2, isr: [2, 1], replicas: [2, 1] }), 0);
    expect(() => state.setPendingIsr([2])).toThrow(/only a leader/);
    expect(state.setPendingIsr(null)).toBe(false);
  });
});

describe("ReplicaState: Kafka's caught-up rule and ISR decisions", () => {
  const LAG = 1500;

  test('under steady produce a follower one fetch behind the moving log end stays caught up (it reached the end the leader had at its previous fetch)', () => {
    const state = leading([1, 2], 100, 0);
    state.followerFetched(2, 90, 1000); // first fetch: not at the end, nothing before it
    expect(state.follower(2)).toEqual({ logEndOffset: 90, lastCaughtUpMs: 0, lastFetchLeaderLogEnd: 100, lastFetchMs: 1000 });
    state.localLogEndChanged(110);
    state.followerFetched(2, 100, 2000); // reaches 100, the end at its fetch at 1000
    expect(state.follower(2)?.lastCaughtUpMs).toBe(1000);
    state.localLogEndChanged(120);
    state.followerFetched(2, 110, 3000);
    expect(state.follower(2)?.lastCaughtUpMs).toBe(2000);
    state.localLogEndChanged(130);
    expect(state.shrinkCandidates(3000 + 400, LAG)).toEqual([]); // 1400 ms since it last caught up
    // It stops keeping up: fetches that do not reach the previous end do not count.
    state.followerFetched(2, 115, 4000);
    expect(state.follower(2)?.lastCaughtUpMs).toBe(2000);
    expect(state.shrinkCandidates(3500, LAG)).toEqual([]);
    expect(state.shrinkCandidates(3501, LAG)).toEqual([2]);
    // At the log end as it is now: caught up now.
    state.followerFetched(2, 130, 5000);
    expect(state.follower(2)?.lastCaughtUpMs).toBe(5000);
    expect(state.shrinkCandidates(6000, LAG)).toEqual([]);
  });

  test('lastCaughtUpMs never goes backwards (a late fetch stamped earlier)', () => {
    const state = leading([1, 2], 100, 0);
    state.followerFetched(2, 100, 5000);
    state.followerFetched(2, 100, 4000);
    expect(state.follower(2)?.lastCaughtUpMs).toBe(5000);
  });

  test('shrink: only ISR followers not caught up for MORE than the lag time; never the leader; a follower silent since the leadership began counts from then', () => {
    const state = leading([1, 2, 3], 100, 1000);
    state.followerFetched(2, 100, 1200);
    expect(state.shrinkCandidates(2500, LAG)).toEqual([]); // 3: exactly 1500 ms since the leadership began
    expect(state.shrinkCandidates(2501, LAG)).toEqual([3]);
    expect(state.shrinkCandidates(2701, LAG)).toEqual([2, 3]);
    expect(state.shrinkCandidates(1e12, LAG)).not.toContain(1);
  });

  test('shrink and expand are empty on a follower or a leaderless replica', () => {
    const state = new ReplicaState(2, 0, 10);
    state.apply(update({ leader: 1, isr: [1, 2], replicas: [1, 2] }), 0);
    expect(state.shrinkCandidates(1e12, LAG)).toEqual([]);
    expect(state.expandCandidates()).toEqual([]);
    state.apply(update({ leader: -1, leaderEpoch: 1, isr: [1], replicas: [1, 2], version: 1 }), 0);
    expect(state.shrinkCandidates(1e12, LAG)).toEqual([]);
    expect(state.expandCandidates()).toEqual([]);
  });

  test('expand: a replica outside the ISR whose log end reached BOTH the high watermark and the start of this leader epoch', () => {
    // Leader since its log ended at 100 (epoch start), committed only up to 50 (checkpoint).
    const state = leading([1, 2], 100, 0, 50);
    state.followerFetched(2, 60, 1);
    expect(state.highWatermark).toBe(60);
    expect(state.expandCandidates()).toEqual([]); // 3 never fetched
    expect(state.followerFetched(3, 80, 2).expandCandidate).toBe(false); // >= high watermark, < epoch start
    expect(state.expandCandidates()).toEqual([]);
    expect(state.followerFetched(3, 100, 3).expandCandidate).toBe(true);
    expect(state.expandCandidates()).toEqual([3]);
    // The high watermark moves past it: no longer a candidate.
    state.localLogEndChanged(130);
    state.followerFetched(2, 130, 4);
    expect(state.highWatermark).toBe(130);
    expect(state.expandCandidates()).toEqual([]);
    expect(state.followerFetched(3, 120, 5).expandCandidate).toBe(false);
    // ISR members are never candidates.
    expect(state.followerFetched(2, 130, 6).expandCandidate).toBe(false);
  });

  test('followers are tracked only by a leader, and only replicas of the partition', () => {
    const state = leading([1, 2], 100);
    expect(() => state.followerFetched(9, 10, 0)).toThrow(/not a replica/);
  });
});

describe('ReplicaState: the high watermark on a follower', () => {
  test("the leader's high watermark, capped at the local log end; a truncation lowers it; the leader may report it lower", () => {
    const state = new ReplicaState(1, 0, 50);
    state.apply(update({ leader: 2, isr: [2, 1], replicas: [2, 1] }), 0);
    state.leaderReportedHighWatermark(80);
    expect(state.highWatermark).toBe(50);
    state.localLogEndChanged(90);
    expect(state.highWatermark).toBe(50); // appends do not move a follower's high watermark
    state.leaderReportedHighWatermark(80);
    expect(state.highWatermark).toBe(80);
    state.localLogEndChanged(40);
    expect(state.highWatermark).toBe(40);
    state.localLogEndChanged(90);
    state.leaderReportedHighWatermark(30); // a new leader whose high watermark is still behind
    expect(state.highWatermark).toBe(30);
    expect(() => state.followerFetched(2, 10, 0)).toThrow(/only a leader/);
  });

  test('only a follower takes a leader-reported high watermark', () => {
    const state = new ReplicaState(1, 0, 50);
    state.apply(update({}), 0);
    expect(() => state.leaderReportedHighWatermark(10)).toThrow(/only a follower/);
  });

  test('the initial high watermark may not exceed the log end', () => {
    expect(() => new ReplicaState(1, 11, 10)).toThrow();
  });
});
