/**
 * A partition's replica state on one broker, pure (no clock, no log, no I/O): which role this
 * broker plays, the leader epoch, the ISR, each follower's log end offset and when it last
 * caught up, and the high watermark. Kafka's Partition.scala bookkeeping, without its locks.
 *
 * Rules (Kafka's):
 *   - On the leader, the high watermark is the smallest log end offset among the ISR members
 *     (the leader's own included), and it never goes backwards while leading. A follower whose
 *     log end offset is not known yet (it has not fetched since this broker became leader)
 *     holds the high watermark where it is. With the leader alone in the ISR (replication
 *     factor 1, or every follower dropped), the high watermark is the leader's log end.
 *   - A follower is "caught up" at a fetch that reaches the leader's log end as it is now, or
 *     at the time of its previous fetch when this fetch reaches the log end the leader had
 *     then (Kafka's rule: under steady produce a follower never equals the moving log end, yet
 *     it keeps up). An ISR member not caught up for longer than replica.lag.time.max.ms is a
 *     shrink candidate; a replica outside the ISR whose log end has reached the high
 *     watermark and the start of this leader epoch is an expand candidate. Writing the new ISR
 *     (to the coordinator) is the caller's job; while a write is in flight the high watermark
 *     counts the members of both the old and the proposed ISR (Kafka's "maximal ISR",
 *     KIP-497): the ISR a successor may be elected from is never smaller than the one the
 *     high watermark was computed from.
 *   - An update older than what was applied (a lower znode version, a lower leader epoch, or
 *     the same leader epoch from an older controller epoch) is ignored: a reader never goes
 *     back to a deposed controller's picture or to a read that raced a newer write.
 *   - On a follower, the high watermark is what the leader last reported, capped at the local
 *     log end.
 */
import { assert } from '../../shared/assert';

export type Role = 'leader' | 'follower' | 'leaderless';

export interface PartitionStateUpdate {
  /** -1: leaderless. */
  leader: number;
  leaderEpoch: number;
  isr: readonly number[];
  replicas: readonly number[];
  controllerEpoch: number;
  /** The state znode's version; -1 when not known (then only the epochs order updates). */
  version: number;
}

export interface FollowerProgress {
  /** -1 until the follower's first fetch in this leader epoch. */
  logEndOffset: number;
  /** When it last caught up (ms). */
  lastCaughtUpMs: number;
  /** The leader's log end at the follower's previous fetch, and when that was. */
  lastFetchLeaderLogEnd: number;
  lastFetchMs: number;
}

export type ApplyOutcome =
  | { applied: false; reason: 'stale' }
  | { applied: true; previousRole: Role; role: Role; leaderEpochChanged: boolean; highWatermarkAdvanced: boolean };

export class ReplicaState {
  private roleNow: Role = 'leaderless';
  private leaderIdNow = -1;
  private leaderEpochNow = -1;
  private controllerEpochNow = -1;
  private versionNow = -1;
  private isrNow: readonly number[] = [];
  /** An ISR this leader is writing to the coordinator (counted in the high watermark until the write ends). */
  private pendingIsrNow: readonly number[] | null = null;
  /** The log end when this broker became leader in this epoch: a follower must reach it to join the ISR. */
  private leaderEpochStartOffsetNow = 0;
  private replicasNow: readonly number[] = [];
  private readonly followers = new Map<number, FollowerProgress>();
  private localLogEnd: number;
  private highWatermarkNow: number;

  /**
   * `initialHighWatermark`: what is known to be committed at start-up. Until a high-watermark
   * checkpoint exists (it comes with replication), the log start offset: the conservative
   * value, raised as soon as the ISR's log ends are known.
   */
  constructor(
    readonly brokerId: number,
    initialHighWatermark: number,
    localLogEnd: number,
  ) {
    assert(initialHighWatermark <= localLogEnd, 'the high watermark starts at or below the log end');
    this.highWatermarkNow = initialHighWatermark;
    this.localLogEnd = localLogEnd;
  }

  get role(): Role {
    return this.roleNow;
  }

  get leaderId(): number {
    return this.leaderIdNow;
  }

  get leaderEpoch(): number {
    return this.leaderEpochNow;
  }

  get controllerEpoch(): number {
    return this.controllerEpochNow;
  }

  get isr(): readonly number[] {
    return this.isrNow;
  }

  get replicas(): readonly number[] {
    return this.replicasNow;
  }

  get version(): number {
    return this.versionNow;
  }

  get pendingIsr(): readonly number[] | null {
    return this.pendingIsrNow;
  }

  get leaderEpochStartOffset(): number {
    return this.leaderEpochStartOffsetNow;
  }

  get highWatermark(): number {
    return this.highWatermarkNow;
  }

  get logEndOffset(): number {
    return this.localLogEnd;
  }

  follower(id: number): FollowerProgress | undefined {
    const progress = this.followers.get(id);
    return progress === undefined ? undefined : { ...progress };
  }

  /** Applies a state read from the coordinator; `now` starts every follower's lag clock on a new leadership. */
  apply(update: PartitionStateUpdate, now: number): ApplyOutcome {
    const stale =
      (update.version >= 0 && update.version < this.versionNow) ||
      update.leaderEpoch < this.leaderEpochNow ||
      (update.leaderEpoch === this.leaderEpochNow && update.controllerEpoch < this.controllerEpochNow);
    if (stale) return { applied: false, reason: 'stale' };
    const previousRole = this.roleNow;
    const leaderEpochChanged = update.leaderEpoch !== this.leaderEpochNow;
    const role: Role = update.leader < 0 ? 'leaderless' : update.leader === this.brokerId ? 'leader' : 'follower';
    this.leaderIdNow = update.leader;
    this.leaderEpochNow = update.leaderEpoch;
    this.controllerEpochNow = update.controllerEpoch;
    // A re-read of the version already applied (another partition's change re-applies every
    // state) must not end an ISR write in flight: the maximal ISR holds until a new version.
    const newVersion = update.version < 0 || update.version > this.versionNow;
    if (update.version >= 0) this.versionNow = update.version;
    this.isrNow = [...update.isr];
    this.replicasNow = [...update.replicas];
    this.roleNow = role;
    if (newVersion || role !== 'leader') this.pendingIsrNow = null;
    if (role === 'leader' && (previousRole !== 'leader' || leaderEpochChanged)) {
      // A new leadership: nothing is known of the followers' logs yet (Kafka resets them too).
      this.followers.clear();
      this.leaderEpochStartOffsetNow = this.localLogEnd;
      for (const id of this.replicasNow) if (id !== this.brokerId) this.followers.set(id, { logEndOffset: -1, lastCaughtUpMs: now, lastFetchLeaderLogEnd: -1, lastFetchMs: now });
    } else if (role === 'leader') {
      // Same leadership, new replica list or ISR: keep what is known, track new replicas.
      for (const id of this.replicasNow) if (id !== this.brokerId && !this.followers.has(id)) this.followers.set(id, { logEndOffset: -1, lastCaughtUpMs: now, lastFetchLeaderLogEnd: -1, lastFetchMs: now });
    } else {
      this.followers.clear();
    }
    const highWatermarkAdvanced = role === 'leader' ? this.recomputeHighWatermark() : false;
    return { applied: true, previousRole, role, leaderEpochChanged, highWatermarkAdvanced };
  }

  /** The leader starts writing `isr` to the coordinator (null: the write ended, whatever its outcome). */
  setPendingIsr(isr: readonly number[] | null): boolean {
    assert(this.roleNow === 'leader' || isr === null, 'only a leader changes the ISR');
    this.pendingIsrNow = isr === null ? null : [...isr];
    return this.roleNow === 'leader' ? this.recomputeHighWatermark() : false;
  }

  /** The local log grew (an append) or shrank (a truncation). Returns true when the high watermark advanced. */
  localLogEndChanged(logEndOffset: number): boolean {
    this.localLogEnd = logEndOffset;
    if (this.highWatermarkNow > logEndOffset) this.highWatermarkNow = logEndOffset;
    return this.roleNow === 'leader' ? this.recomputeHighWatermark() : false;
  }

  /**
   * A follower fetched from `fetchOffset` (so its log ends there). Returns whether the high
   * watermark advanced and whether the follower may now join the ISR.
   */
  followerFetched(id: number, fetchOffset: number, now: number): { highWatermarkAdvanced: boolean; expandCandidate: boolean } {
    assert(this.roleNow === 'leader', 'only a leader tracks followers');
    const progress = this.followers.get(id);
    assert(progress !== undefined, `broker ${id} is not a replica of this partition`);
    // A fetch below what the follower reported before is a follower that truncated (or restarted): take it as it is.
    progress.logEndOffset = fetchOffset;
    if (fetchOffset >= this.localLogEnd) progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, now);
    else if (progress.lastFetchLeaderLogEnd >= 0 && fetchOffset >= progress.lastFetchLeaderLogEnd) progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, progress.lastFetchMs);
    progress.lastFetchLeaderLogEnd = this.localLogEnd;
    progress.lastFetchMs = now;
    const highWatermarkAdvanced = this.recomputeHighWatermark();
    const expandCandidate = !this.isrNow.includes(id) && fetchOffset >= this.highWatermarkNow && fetchOffset >= this.leaderEpochStartOffsetNow;
    return { highWatermarkAdvanced, expandCandidate };
  }

  /** Replicas outside the ISR whose log end has reached the high watermark and this epoch's start. */
  expandCandidates(): number[] {
    if (this.roleNow !== 'leader') return [];
    const out: number[] = [];
    for (const [id, progress] of this.followers) {
      if (!this.isrNow.includes(id) && progress.logEndOffset >= 0 && progress.logEndOffset >= this.highWatermarkNow && progress.logEndOffset >= this.leaderEpochStartOffsetNow) out.push(id);
    }
    return out;
  }

  /** ISR members (other than the leader) that have not caught up within `lagTimeMaxMs`. */
  shrinkCandidates(now: number, lagTimeMaxMs: number): number[] {
    if (this.roleNow !== 'leader') return [];
    return this.isrNow.filter((id) => {
      if (id === this.brokerId) return false;
      const progress = this.followers.get(id);
      return progress === undefined || now - progress.lastCaughtUpMs > lagTimeMaxMs;
    });
  }

  /** On a follower: the high watermark the leader reported. */
  leaderReportedHighWatermark(highWatermark: number): void {
    assert(this.roleNow === 'follower', 'only a follower takes the leader\'s high watermark');
    this.highWatermarkNow = Math.min(highWatermark, this.localLogEnd);
  }

  private recomputeHighWatermark(): boolean {
    let lowest = this.localLogEnd;
    const members = this.pendingIsrNow === null ? this.isrNow : [...new Set([...this.isrNow, ...this.pendingIsrNow])];
    for (const id of members) {
      if (id === this.brokerId) continue;
      const progress = this.followers.get(id);
      if (progress === undefined || progress.logEndOffset < 0) return false; // unknown: hold
      lowest = Math.min(lowest, progress.logEndOffset);
    }
    if (lowest <= this.highWatermarkNow) return false;
    this.highWatermarkNow = lowest;
    return true;
  }
}
