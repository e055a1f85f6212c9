/**
 * Truncation by leader epoch (KIP-101, with KIP-279's repeated exchange), pure: the leader's
 * answer (Kafka's LeaderEpochFileCache.endOffsetFor), the follower's cut (Kafka's
 * AbstractFetcherThread.getOffsetTruncationState), the two KIP-101 scenarios, the KIP-279
 * repeated round, and a seeded property run over random histories of elections, appends,
 * partial replication and hard failures: a follower always cuts exactly its divergent suffix,
 * never more (no record the leader has at the same offset and epoch is lost), never less
 * (the two logs end up identical).
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, RandomGenerator } from 'pure-rand';
import { EpochEntry, endOffsetForEpoch, truncationFor, UNDEFINED_EPOCH, UNDEFINED_OFFSET } from '../../../broker/replication/truncation';

const e = (epoch: number, startOffset: number): EpochEntry => ({ epoch, startOffset });

describe('endOffsetForEpoch (the leader answers OffsetForLeaderEpoch)', () => {
  const cache = [e(1, 0), e(3, 5), e(4, 9)];
  test.each([
    { name: 'the latest epoch ends at the log end', epochs: cache, requested: 4, logEnd: 12, expected: { epoch: 4, endOffset: 12 } },
    { name: 'the latest epoch with nothing written in it yet ends at the log end (= its start)', epochs: [e(1, 0), e(2, 7)], requested: 2, logEnd: 7, expected: { epoch: 2, endOffset: 7 } },
    { name: 'an earlier epoch ends where the next one starts', epochs: cache, requested: 3, logEnd: 12, expected: { epoch: 3, endOffset: 9 } },
    { name: 'the first epoch ends where the second starts', epochs: cache, requested: 1, logEnd: 12, expected: { epoch: 1, endOffset: 5 } },
    { name: 'an unknown epoch between known ones: the largest earlier epoch and the start of the next', epochs: cache, requested: 2, logEnd: 12, expected: { epoch: 1, endOffset: 5 } },
    { name: 'an epoch below every known one: the requested epoch, ending at the first start', epochs: [e(5, 11), e(6, 12)], requested: 4, logEnd: 15, expected: { epoch: 4, endOffset: 11 } },
    { name: 'an epoch above every known one: undefined', epochs: cache, requested: 9, logEnd: 12, expected: { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET } },
    { name: 'an empty cache: undefined', epochs: [], requested: 0, logEnd: 0, expected: { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET } },
    { name: 'the undefined epoch (-1): undefined', epochs: cache, requested: -1, logEnd: 12, expected: { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET } },
    { name: 'empty epochs (a leadership that wrote nothing) end where the next starts', epochs: [e(0, 0), e(2, 5), e(4, 5)], requested: 2, logEnd: 8, expected: { epoch: 2, endOffset: 5 } },
    { name: 'an unknown epoch just below an empty one', epochs: [e(0, 0), e(2, 5), e(4, 5)], requested: 3, logEnd: 8, expected: { epoch: 2, endOffset: 5 } },
  ])('$name', ({ epochs, requested, logEnd, expected }) => {
    expect(endOffsetForEpoch(epochs, requested, logEnd)).toEqual(expected);
  });
});

describe('truncationFor (the follower cuts its log)', () => {
  test.each([
    { name: 'the leader knows no such epoch: back to the high watermark', leader: { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET }, epochs: [e(0, 0)], logEnd: 10, hw: 6, expected: { offset: 6, complete: true } },
    { name: 'undefined answer, high watermark above the log end (cannot cut above the end)', leader: { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET }, epochs: [e(0, 0)], logEnd: 4, hw: 6, expected: { offset: 4, complete: true } },
    { name: 'an offset without an epoch (OffsetForLeaderEpoch v0): the smaller end', leader: { epoch: UNDEFINED_EPOCH, endOffset: 7 }, epochs: [e(0, 0)], logEnd: 10, hw: 0, expected: { offset: 7, complete: true } },
    { name: 'same epoch, the leader ends earlier: cut to the leader end', leader: { epoch: 2, endOffset: 7 }, epochs: [e(0, 0), e(2, 5)], logEnd: 10, hw: 0, expected: { offset: 7, complete: true } },
    { name: 'same epoch, the follower ends earlier: nothing to cut', leader: { epoch: 2, endOffset: 12 }, epochs: [e(0, 0), e(2, 5)], logEnd: 10, hw: 0, expected: { offset: 10, complete: true } },
    { name: 'the leader answers an earlier epoch the follower has: the smaller of both ends of it', leader: { epoch: 0, endOffset: 3 }, epochs: [e(0, 0), e(2, 5)], logEnd: 8, hw: 0, expected: { offset: 3, complete: true } },
    { name: 'the leader answers an earlier epoch the follower has, ending later there: the follower end of it', leader: { epoch: 0, endOffset: 7 }, epochs: [e(0, 0), e(2, 5)], logEnd: 8, hw: 0, expected: { offset: 5, complete: true } },
    { name: 'KIP-279: the leader answers an epoch the follower lacks: cut to the end of the follower\'s largest earlier epoch, ask again', leader: { epoch: 1, endOffset: 8 }, epochs: [e(0, 0), e(2, 5)], logEnd: 10, hw: 0, expected: { offset: 5, complete: false } },
    { name: 'an empty follower cache (it never tracked epochs): the smaller end', leader: { epoch: 1, endOffset: 8 }, epochs: [], logEnd: 10, hw: 0, expected: { offset: 8, complete: true } },
    { name: 'the leader answers an epoch below all the follower knows: cut to the follower\'s first epoch start at most', leader: { epoch: 1, endOffset: 8 }, epochs: [e(3, 4)], logEnd: 10, hw: 0, expected: { offset: 4, complete: true } },
  ])('$name', ({ leader, epochs, logEnd, hw, expected }) => {
    expect(truncationFor(leader, epochs, logEnd, hw)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// A model of replicas: records (offset = index) with the epoch they were written in, and the
// leader-epoch cache kept the way PartitionLog keeps it.

interface Rec {
  epoch: number;
  value: string;
}

class Replica {
  records: Rec[] = [];
  epochs: EpochEntry[] = [];
  highWatermark = 0;
  /** Truncation done for this leader epoch (the fetcher's 'fetching' phase). */
  truncatedFor = -1;

  constructor(readonly name: string) {}

  get logEnd(): number {
    return this.records.length;
  }

  /** PartitionLog.noteEpochInMemory: only a higher epoch than the latest starts an entry. */
  private noteEpoch(epoch: number, startOffset: number): void {
    const last = this.epochs[this.epochs.length - 1];
    if (last !== undefined && last.epoch > epoch) throw new Error(`${this.name}: a record of epoch ${epoch} after epoch ${last.epoch} (a divergent suffix was not cut)`);
    if (last === undefined || last.epoch < epoch) this.epochs.push(e(epoch, startOffset));
  }

  /** Becoming leader: the epoch starts at the log end before anything is written (Partition.applyState). */
  becomeLeader(epoch: number): void {
    this.noteEpoch(epoch, this.logEnd);
  }

  appendAsLeader(epoch: number, value: string): void {
    this.noteEpoch(epoch, this.logEnd);
    this.records.push({ epoch, value });
  }

  appendAsFollower(record: Rec): void {
    this.noteEpoch(record.epoch, this.logEnd);
    this.records.push({ ...record });
  }

  /** PartitionLog.truncateTo: records at and after `offset` go, and every epoch entry starting there or later. */
  truncateTo(offset: number): void {
    if (offset < this.logEnd) this.records = this.records.slice(0, Math.max(0, offset));
    this.epochs = this.epochs.filter((entry) => entry.startOffset < offset);
    this.highWatermark = Math.min(this.highWatermark, this.logEnd);
  }

  /** A hard failure: the unflushed tail is lost; epochs are rebuilt from what is left (PartitionLog.load). */
  loseTail(keep: number): void {
    this.records = this.records.slice(0, keep);
    this.epochs = this.epochs.filter((entry) => entry.startOffset < this.logEnd);
    this.highWatermark = Math.min(this.highWatermark, this.logEnd);
    this.truncatedFor = -1;
  }
}

/** The first offset at which the two logs differ (by epoch or value), or the shorter log's end. */
function divergence(a: Replica, b: Replica): number {
  let i = 0;
  while (i < a.logEnd && i < b.logEnd && a.records[i]!.epoch === b.records[i]!.epoch && a.records[i]!.value === b.records[i]!.value) i++;
  return i;
}

interface Truncation {
  rounds: number;
  /** The follower's log end after truncation. */
  cutTo: number;
  /** What the follower asked, what the leader answered, where it cut, per round. */
  log: string[];
}

const MAX_ROUNDS = 100;

/**
 * The follower's truncation phase against `leader` (the fetcher's OffsetForLeaderEpoch loop).
 * Kafka asks whenever the follower's epoch cache has an entry, even with an empty log
 * (AbstractFetcherThread: partitions without an epoch truncate to the high watermark, the
 * others ask), as Samsa's fetcher does.
 */
function truncate(follower: Replica, leader: Replica): Truncation {
  const log: string[] = [];
  let rounds = 0;
  for (;;) {
    if (follower.epochs.length === 0) break;
    if (++rounds > MAX_ROUNDS) throw new Error(`truncation did not converge: ${log.join('; ')}`);
    const asked = follower.epochs[follower.epochs.length - 1]!.epoch;
    const answer = endOffsetForEpoch(leader.epochs, asked, leader.logEnd);
    const decision = truncationFor(answer, follower.epochs, follower.logEnd, follower.highWatermark);
    log.push(`asked ${asked} → (${answer.epoch}, ${answer.endOffset}) → cut at ${decision.offset}${decision.complete ? '' : ', again'}`);
    follower.truncateTo(decision.offset);
    if (decision.complete) break;
  }
  return { rounds, cutTo: follower.logEnd, log };
}

/** Copies up to `count` records the follower lacks (a fetch) and takes the leader's high watermark. */
function fetch(follower: Replica, leader: Replica, count = Number.MAX_SAFE_INTEGER): void {
  for (let i = 0; i < count && follower.logEnd < leader.logEnd; i++) follower.appendAsFollower(leader.records[follower.logEnd]!);
  follower.highWatermark = Math.min(leader.highWatermark, follower.logEnd);
}

const values = (replica: Replica): string[] => replica.records.map((r) => `${r.value}@${r.epoch}`);

describe('KIP-101 scenario 1: high-watermark truncation followed by an immediate leader election', () => {
  // A leads in epoch 0. B fetched m2; A's high watermark moved to 2 with B's next fetch, but
  // B restarts before it learns it (its high watermark is still 1). Before KIP-101, B
  // truncated to its high watermark on restart and lost m2, which A had acknowledged: when A
  // then died and B took over, a committed record was gone.
  function setUp(): { a: Replica; b: Replica } {
    const a = new Replica('A');
    const b = new Replica('B');
    a.becomeLeader(0);
    a.appendAsLeader(0, 'm1');
    a.appendAsLeader(0, 'm2');
    fetch(b, a);
    a.highWatermark = 2; // B's log end reached 2: both records are committed
    b.highWatermark = 1; // B has not heard yet
    return { a, b };
  }

  test('the old rule (cut to the follower high watermark) loses the committed m2', () => {
    const { b } = setUp();
    b.truncateTo(b.highWatermark);
    expect(values(b)).toEqual(['m1@0']);
  });

  test('B restarts, asks leader A where epoch 0 ends (2): nothing is cut; A dies, B leads with m2', () => {
    const { a, b } = setUp();
    b.truncatedFor = -1;
    const done = truncate(b, a);
    expect(done).toMatchObject({ rounds: 1, cutTo: 2 });
    expect(values(b)).toEqual(['m1@0', 'm2@0']);
    // A dies; B becomes leader in epoch 1 and m2 is still there.
    b.becomeLeader(1);
    expect(values(b)).toEqual(['m1@0', 'm2@0']);
  });

  test('A dies before B asks: B leads in epoch 1 with m2; A returns as follower and keeps m2 too', () => {
    const { a, b } = setUp();
    b.becomeLeader(1);
    b.appendAsLeader(1, 'm3');
    const done = truncate(a, b); // A asks for epoch 0: B answers (0, 2)
    expect(done.cutTo).toBe(2);
    fetch(a, b);
    expect(values(a)).toEqual(['m1@0', 'm2@0', 'm3@1']);
    expect(values(a)).toEqual(values(b));
  });
});

describe('KIP-101 scenario 2: replica divergence on restart after multiple hard failures', () => {
  // A leads in epoch 0 with m1, m2; B has only m1 (m2 not yet replicated). Both lose power.
  // B comes back first, becomes leader (epoch 1) and takes m3 at offset 1. A comes back: its
  // high watermark says 2, so the old rule cuts nothing and offset 1 holds m2 on A, m3 on B.
  function setUp(): { a: Replica; b: Replica } {
    const a = new Replica('A');
    const b = new Replica('B');
    a.becomeLeader(0);
    a.appendAsLeader(0, 'm1');
    fetch(b, a);
    a.appendAsLeader(0, 'm2');
    a.highWatermark = 2;
    b.highWatermark = 1;
    // Power failure of both; B first back, elected in epoch 1.
    b.loseTail(b.logEnd);
    b.becomeLeader(1);
    b.appendAsLeader(1, 'm3');
    a.loseTail(a.logEnd);
    return { a, b };
  }

  test('the old rule (cut to the high watermark, 2) leaves the replicas divergent at offset 1', () => {
    const { a, b } = setUp();
    a.truncateTo(a.highWatermark);
    fetch(a, b);
    expect(values(a)).toEqual(['m1@0', 'm2@0']);
    expect(values(b)).toEqual(['m1@0', 'm3@1']);
  });

  test('with leader epochs A asks where epoch 0 ends on B (1), cuts m2 exactly, and copies m3', () => {
    const { a, b } = setUp();
    expect(divergence(a, b)).toBe(1);
    const done = truncate(a, b);
    expect(done).toMatchObject({ rounds: 1, cutTo: 1 });
    expect(done.log).toEqual(['asked 0 → (0, 1) → cut at 1']);
    fetch(a, b);
    expect(values(a)).toEqual(['m1@0', 'm3@1']);
    expect(a.epochs).toEqual(b.epochs);
  });
});

describe('KIP-279: the leader answers an epoch the follower lacks', () => {
  // B led epoch 1 and wrote 3 records: A copied 2 of them, C none. C led epoch 2 and wrote 2
  // records nobody copied. A leads epoch 3 (it has epoch 1's records, not epoch 2's) and C
  // follows it.
  test('the follower cuts to the end of its largest earlier epoch, asks again, and stops exactly at the divergence', () => {
    const a = new Replica('A');
    const b = new Replica('B');
    const c = new Replica('C');
    b.becomeLeader(0);
    for (const v of ['x0', 'x1']) b.appendAsLeader(0, v);
    fetch(a, b);
    fetch(c, b);
    b.becomeLeader(1);
    for (const v of ['y2', 'y3', 'y4']) b.appendAsLeader(1, v);
    fetch(a, b, 2); // A copies y2, y3
    c.becomeLeader(2); // C was in sync at the start of epoch 1 and had nothing of it
    for (const v of ['z2', 'z3']) c.appendAsLeader(2, v);
    a.becomeLeader(3);
    a.appendAsLeader(3, 'w4');
    expect(a.epochs).toEqual([e(0, 0), e(1, 2), e(3, 4)]);
    expect(c.epochs).toEqual([e(0, 0), e(2, 2)]);
    const d = divergence(c, a);
    expect(d).toBe(2);
    const done = truncate(c, a);
    // C asks for 2: A has no 2, answers its largest earlier epoch (1) and where it ends (4). C
    // has no 1 either: it cuts to the end of its largest epoch below 1 (0 ends at 2) and asks
    // again with 0, which A answers (0, 2): done.
    expect(done.log).toEqual(['asked 2 → (1, 4) → cut at 2, again', 'asked 0 → (0, 2) → cut at 2']);
    expect(done.cutTo).toBe(d);
    fetch(c, a);
    expect(values(c)).toEqual(values(a));
    expect(c.epochs).toEqual(a.epochs);
  });

  test('an intermediate cut that leaves records of the earlier epoch the leader does not have: the second round cuts them', () => {
    // Follower: epoch 0 at 0..4, epoch 2 at 5..9. Leader: epoch 0 at 0..2, epoch 1 at 3..7, epoch 3 from 8.
    const follower = new Replica('F');
    const leader = new Replica('L');
    for (let i = 0; i < 10; i++) follower.appendAsFollower({ epoch: i < 5 ? 0 : 2, value: `f${i}` });
    for (let i = 0; i < 3; i++) leader.appendAsFollower({ epoch: 0, value: `f${i}` });
    for (let i = 3; i < 8; i++) leader.appendAsFollower({ epoch: 1, value: `l${i}` });
    leader.becomeLeader(3);
    const done = truncate(follower, leader);
    expect(done.log).toEqual(['asked 2 → (1, 8) → cut at 5, again', 'asked 0 → (0, 3) → cut at 3']);
    expect(done.cutTo).toBe(3);
    fetch(follower, leader);
    expect(values(follower)).toEqual(values(leader));
  });

  test('a former leader\'s empty epoch (it wrote nothing) is dropped by the cut at its log end', () => {
    // F led epoch 4 from offset 10 and wrote nothing; L (epoch 5) has epoch-3 records at 10..12
    // F never saw.
    const f = new Replica('F');
    const l = new Replica('L');
    for (let i = 0; i < 10; i++) {
      f.appendAsFollower({ epoch: 0, value: `v${i}` });
      l.appendAsFollower({ epoch: 0, value: `v${i}` });
    }
    for (let i = 10; i < 13; i++) l.appendAsFollower({ epoch: 3, value: `v${i}` });
    f.becomeLeader(4);
    l.becomeLeader(5);
    const done = truncate(f, l);
    expect(done.cutTo).toBe(10);
    expect(f.epochs).toEqual([e(0, 0)]); // without the cut at the log end, epoch 3 could not follow epoch 4
    fetch(f, l); // would throw if epoch 4 had stayed
    expect(values(f)).toEqual(values(l));
  });
});

describe('a follower with an empty log whose cache holds an empty leadership', () => {
  // r1 led epoch 13 on an empty log and wrote nothing (its cache: 13@0). r0, elected in
  // epoch 14 without r1's data, holds a record of epoch 7 at offset 0 (an uncommitted record
  // of an old leadership that became the log through an unclean election).
  function setUp(): { r0: Replica; r1: Replica } {
    const r0 = new Replica('r0');
    const r1 = new Replica('r1');
    r0.becomeLeader(7);
    r0.appendAsLeader(7, 'v');
    r1.becomeLeader(13);
    r0.becomeLeader(14);
    return { r0, r1 };
  }

  test("Kafka's rule (ask whenever the cache has an epoch): the empty epoch goes, the cache matches the leader's", () => {
    const { r0, r1 } = setUp();
    const done = truncate(r1, r0);
    expect(done.log).toEqual(['asked 13 → (7, 1) → cut at 0']);
    expect(r1.epochs).toEqual([]);
    fetch(r1, r0);
    expect(values(r1)).toEqual(['v@7']);
    expect(r1.epochs).toEqual([e(7, 0)]);
  });

  // The fetcher asks whenever the cache has an entry, even for an empty log (it used to skip
  // empty logs, which left 13@0 in place under the copied epoch-7 batch).
});

describe('random histories: the follower cuts exactly its divergent suffix', () => {
  const SEEDS = 200;
  const STEPS = 300;

  function draw(rng: RandomGenerator, from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, rng);
  }

  test(`${SEEDS} seeds × ${STEPS} steps: never more, never less`, () => {
    const stats = { syncs: 0, cut: 0, multiRound: 0, maxRounds: 0, elections: 0, hardFailures: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = xoroshiro128plus(seed);
      const replicas = [new Replica('r0'), new Replica('r1'), new Replica('r2')];
      let epoch = -1;
      let leader: Replica | null = null;
      let written = 0;
      for (let step = 0; step < STEPS; step++) {
        const roll = draw(rng, 0, 99);
        if (leader === null || roll < 12) {
          // An election (clean or not: any replica may win; the epoch is new either way).
          leader = replicas[draw(rng, 0, 2)]!;
          epoch++;
          leader.becomeLeader(epoch);
          leader.truncatedFor = epoch;
          stats.elections++;
        } else if (roll < 50) {
          for (let n = draw(rng, 1, 3); n > 0; n--) leader.appendAsLeader(epoch, `v${written++}`);
        } else if (roll < 95) {
          const follower = replicas[draw(rng, 0, 2)]!;
          if (follower === leader) continue;
          if (follower.truncatedFor !== epoch) {
            const before = { end: follower.logEnd, records: values(follower), epochs: [...follower.epochs] };
            const expected = divergence(follower, leader);
            const done = truncate(follower, leader);
            const context = `seed ${seed} step ${step}: ${follower.name} ${JSON.stringify(before)} following ${leader.name} ${JSON.stringify({ records: values(leader), epochs: leader.epochs })}: ${done.log.join('; ')}`;
            if (done.cutTo < expected) throw new Error(`cut too much (to ${done.cutTo}, divergence at ${expected}): ${context}`);
            if (done.cutTo > expected) throw new Error(`cut too little (to ${done.cutTo}, divergence at ${expected}): ${context}`);
            follower.truncatedFor = epoch;
            stats.syncs++;
            if (done.cutTo < before.end) stats.cut++;
            if (done.rounds > 1) stats.multiRound++;
            stats.maxRounds = Math.max(stats.maxRounds, done.rounds);
          }
          fetch(follower, leader, draw(rng, 0, 4));
        } else {
          // A hard failure: the replica loses part of its unflushed tail; a leader loses its leadership.
          const victim = replicas[draw(rng, 0, 2)]!;
          victim.loseTail(draw(rng, Math.max(0, victim.logEnd - 3), victim.logEnd));
          if (victim === leader) leader = null;
          stats.hardFailures++;
        }
        // Invariant behind exactness: one writer per epoch, so (offset, epoch) names one record everywhere.
        for (const x of replicas) {
          for (const y of replicas) {
            for (let i = 0; i < Math.min(x.logEnd, y.logEnd); i++) {
              if (x.records[i]!.epoch === y.records[i]!.epoch && x.records[i]!.value !== y.records[i]!.value) throw new Error(`seed ${seed}: model broke at offset ${i}`);
            }
          }
        }
      }
    }
    // The histories must exercise what they are meant to: real cuts and KIP-279's repeated rounds.
    expect(stats.syncs).toBeGreaterThan(1000);
    expect(stats.cut).toBeGreaterThan(100);
    expect(stats.multiRound).toBeGreaterThan(10);
    expect(stats.maxRounds).toBeGreaterThanOrEqual(3);
  });
});
