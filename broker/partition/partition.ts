/**
 * One partition on this broker: its log and its replica state (replica-state.ts, pure). The
 * ReplicaManager hands requests here after finding the partition; this class enforces the
 * leader-side rules (leadership, fencing, leader epochs, min.insync.replicas), keeps the
 * replica state in step with the log, and reports what changed to its listener (the
 * purgatory's key for this partition): high-watermark advances with the bytes they made
 * visible, and state changes.
 */
import type { Clock } from '../../shared/clock';
import { KafkaError, KafkaProtocolError } from '../../shared/kafka/errors';
import type { Logger } from '../../shared/logging';
import type { AppendResult, PartitionLog } from '../log/partition-log';
import { EpochEndOffset, endOffsetForEpoch, EpochEntry } from '../replication/truncation';
import { PartitionStateUpdate, ReplicaState, Role } from './replica-state';

export type PartitionEvent =
  /** The high watermark advanced; `bytes`: how many bytes of batches that made visible (an estimate for long polls). */
  | { kind: 'highWatermark'; highWatermark: number; bytes: number }
  /** The leader's log grew by `bytes` (followers' long polls wait for this, not for the high watermark). */
  | { kind: 'append'; bytes: number }
  /** Leadership, leader epoch, fencing or the partition's existence changed: waiters re-evaluate. */
  | { kind: 'state' };

export interface PartitionDependencies {
  brokerId: number;
  clock: Clock;
  /** True while this broker must not act as a leader (its coordinator session is lost). */
  fenced(): boolean;
  /** Called synchronously with every event of this partition. */
  onEvent(key: string, event: PartitionEvent): void;
  /** A follower may join the ISR now (the replica manager writes ISR changes). */
  isrChangeWanted(partition: Partition): void;
  /** What is known to be committed from before this process (the high-watermark checkpoint); null: nothing. */
  initialHighWatermark: number | null;
  logger: Logger;
}

export interface LeaderAppend {
  baseOffset: number;
  lastOffset: number;
  logStartOffset: number;
}

export interface ConsumerRead {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

/** Appends above the high watermark not yet visible: their last offsets and sizes, for the bytes estimate. */
interface Invisible {
  lastOffset: number;
  bytes: number;
}

/** Most appends remembered above the high watermark (their bytes estimate the long-poll wake-ups); older ones are folded together. */
const INVISIBLE_APPENDS_MAX = 1024;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export class Partition {
  readonly key: string;
  private readonly state: ReplicaState;
  private readonly invisible: Invisible[] = [];
  private readonly logger: Logger;
  /** A follower's appends and truncations, one at a time, in the order they were asked for. */
  private followerChain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private readonly deps: PartitionDependencies,
  ) {
    this.key = partitionKey(topic, partition);
    this.logger = deps.logger.child({ topic, partition });
    const initial = Math.min(log.logEndOffset, Math.max(log.logStartOffset, deps.initialHighWatermark ?? log.logStartOffset));
    this.state = new ReplicaState(deps.brokerId, initial, log.logEndOffset);
  }

  get role(): Role {
    return this.state.role;
  }

  /** Leader here, and allowed to act as one. */
  get isLeader(): boolean {
    return this.state.role === 'leader' && !this.deps.fenced();
  }

  get leaderEpoch(): number {
    return this.state.leaderEpoch;
  }

  get leaderId(): number {
    return this.state.leaderId;
  }

  get isr(): readonly number[] {
    return this.state.isr;
  }

  get highWatermark(): number {
    return this.state.highWatermark;
  }

  get replicas(): readonly number[] {
    return this.state.replicas;
  }

  /** The state znode version last applied (the ISR writes are conditional on it). */
  get stateVersion(): number {
    return this.state.version;
  }

  get controllerEpoch(): number {
    return this.state.controllerEpoch;
  }

  /** Applies the partition's state znode (ignored when older than what was applied). */
  applyState(update: PartitionStateUpdate): void {
    const outcome = this.state.apply(update, this.deps.clock.now());
    if (!outcome.applied) {
      this.logger.debug({ leaderEpoch: update.leaderEpoch, controllerEpoch: update.controllerEpoch, version: update.version, appliedLeaderEpoch: this.state.leaderEpoch, appliedVersion: this.state.version }, 'partition.stale_state_ignored');
      return;
    }
    if (outcome.previousRole !== outcome.role || outcome.leaderEpochChanged) {
      if (outcome.role === 'leader') {
        // KIP-101: the new epoch starts at the log end, before anything is written in it, so
        // that a follower asking for an older epoch learns where that epoch ends here. After
        // any follower append already under way (it lands below the new epoch); a leader
        // append queued meanwhile assigns the same start itself.
        const epoch = update.leaderEpoch;
        void this.followerChain.then(() => {
          if (this.state.role === 'leader' && this.state.leaderEpoch === epoch) this.log.assignEpochStartOffset(epoch, this.log.logEndOffset);
        });
      }
      this.logger.info({ role: outcome.role, leader: update.leader, leaderEpoch: update.leaderEpoch, isr: update.isr, highWatermark: this.state.highWatermark, logEndOffset: this.log.logEndOffset }, 'partition.role');
      this.deps.onEvent(this.key, { kind: 'state' });
    }
    if (outcome.highWatermarkAdvanced) this.highWatermarkAdvanced();
  }

  /** The ISR this leader wants now (followers that fell behind out, caught-up ones in), or null when it is the same. */
  wantedIsr(now: number, lagTimeMaxMs: number, mayJoin: (id: number) => boolean): number[] | null {
    if (!this.isLeader || this.state.pendingIsr !== null) return null;
    const out = new Set(this.state.shrinkCandidates(now, lagTimeMaxMs));
    const join = this.state.expandCandidates().filter(mayJoin);
    if (out.size === 0 && join.length === 0) return null;
    const next = [...this.state.isr.filter((id) => !out.has(id)), ...join];
    // Assignment order, the leader always in.
    return this.state.replicas.filter((id) => next.includes(id) || id === this.deps.brokerId);
  }

  /** An ISR write is in flight (or ended: null); the high watermark counts both ISRs meanwhile. */
  setPendingIsr(isr: readonly number[] | null): void {
    if (this.state.setPendingIsr(isr)) this.highWatermarkAdvanced();
  }

  /** Wakes this partition's waiters (fencing changed, the partition is going away). */
  stateChanged(): void {
    this.deps.onEvent(this.key, { kind: 'state' });
  }

  /**
   * The leadership check every leader-side request makes, in one place. `currentLeaderEpoch`
   * is the client's view (Fetch v9+, KIP-320); -1 skips the check.
   */
  checkLeader(currentLeaderEpoch = -1): void {
    if (!this.isLeader) throw new KafkaProtocolError(KafkaError.NOT_LEADER_OR_FOLLOWER, `broker ${this.deps.brokerId} does not lead ${this.key}`);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < this.state.leaderEpoch) throw new KafkaProtocolError(KafkaError.FENCED_LEADER_EPOCH, `${this.key}: client's leader epoch ${currentLeaderEpoch} is older than ${this.state.leaderEpoch}`);
    if (currentLeaderEpoch > this.state.leaderEpoch) throw new KafkaProtocolError(KafkaError.UNKNOWN_LEADER_EPOCH, `${this.key}: client's leader epoch ${currentLeaderEpoch} is newer than ${this.state.leaderEpoch}`);
    if (this.log.offline) throw new KafkaProtocolError(KafkaError.KAFKA_STORAGE_ERROR, `${this.key}: the log is offline after a storage error`);
  }

  /**
   * Appends a producer's batches. With acks=all the ISR must hold at least
   * min.insync.replicas members before anything is written (Kafka's NOT_ENOUGH_REPLICAS);
   * waiting for the high watermark is the caller's (the purgatory).
   */
  async appendAsLeader(records: Buffer, acksAll: boolean, minInsyncReplicas: number): Promise<LeaderAppend> {
    // The checks and the follow-up are plain methods: this async function's locals stay on the
    // heap while the write is under way, once per produced batch.
    this.checkLeaderAppend(acksAll, minInsyncReplicas);
    return this.appendedAsLeader(await this.log.appendAsLeader(records, this.state.leaderEpoch, this.deps.clock.now()), records.length);
  }

  private checkLeaderAppend(acksAll: boolean, minInsyncReplicas: number): void {
    this.checkLeader();
    if (acksAll && this.state.isr.length < minInsyncReplicas) {
      throw new KafkaProtocolError(KafkaError.NOT_ENOUGH_REPLICAS, `${this.key}: ISR ${JSON.stringify(this.state.isr)} is smaller than min.insync.replicas ${minInsyncReplicas}`);
    }
  }

  private appendedAsLeader(appended: AppendResult, bytes: number): LeaderAppend {
    this.noteInvisible(appended.lastOffset, bytes);
    if (this.state.localLogEndChanged(this.log.logEndOffset)) this.highWatermarkAdvanced();
    if (this.state.replicas.length > 1) this.deps.onEvent(this.key, { kind: 'append', bytes });
    return { baseOffset: appended.baseOffset, lastOffset: appended.lastOffset, logStartOffset: this.log.logStartOffset };
  }

  /** A consumer's read: whole batches from `fetchOffset`, never past the high watermark. */
  async readForConsumer(fetchOffset: number, maxBytes: number, minOneBatch: boolean, currentLeaderEpoch: number): Promise<ConsumerRead> {
    this.checkLeader(currentLeaderEpoch);
    const highWatermark = this.state.highWatermark;
    const read = await this.log.read(fetchOffset, maxBytes, minOneBatch, highWatermark);
    return { records: read.records, highWatermark, logStartOffset: this.log.logStartOffset };
  }

  /**
   * The records of readForConsumer when the log can answer from memory (nothing to read, or
   * the in-memory tail), up to the high watermark; null otherwise.
   */
  readForConsumerNow(fetchOffset: number, maxBytes: number, minOneBatch: boolean, currentLeaderEpoch: number): Buffer | null {
    this.checkLeader(currentLeaderEpoch);
    return this.log.readNow(fetchOffset, maxBytes, minOneBatch, this.state.highWatermark);
  }

  /**
   * A follower's read (Fetch with a replica id): up to the log end, and the fetch offset is
   * the follower's log end. Only a broker in the replica list may fetch as a replica
   * (CVE-2018-1288: a forged replica id must not move the high watermark).
   */
  async readForReplica(replicaId: number, fetchOffset: number, maxBytes: number, minOneBatch: boolean, currentLeaderEpoch: number): Promise<ConsumerRead> {
    this.checkReplicaFetch(replicaId, fetchOffset, currentLeaderEpoch);
    this.noteFollowerFetch(replicaId, fetchOffset);
    const read = await this.log.read(fetchOffset, maxBytes, minOneBatch);
    return { records: read.records, highWatermark: this.state.highWatermark, logStartOffset: this.log.logStartOffset };
  }

  /**
   * readForReplica when the log answers from memory (nothing new, or the new batches in its
   * in-memory tail): the follower's copy of a fresh append leaves in the same turn of the
   * event loop, without a round trip through the I/O pool. Only the records (the caller takes
   * the high watermark after the call: this fetch may move it). Null otherwise (nothing noted).
   */
  readForReplicaNow(replicaId: number, fetchOffset: number, maxBytes: number, minOneBatch: boolean, currentLeaderEpoch: number): Buffer | null {
    this.checkReplicaFetch(replicaId, fetchOffset, currentLeaderEpoch);
    const records = this.log.readNow(fetchOffset, maxBytes, minOneBatch);
    if (records === null) return null;
    this.noteFollowerFetch(replicaId, fetchOffset);
    return records;
  }

  private checkReplicaFetch(replicaId: number, fetchOffset: number, currentLeaderEpoch: number): void {
    this.checkLeader(currentLeaderEpoch);
    if (replicaId === this.deps.brokerId || !this.state.replicas.includes(replicaId)) {
      throw new KafkaProtocolError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, `broker ${replicaId} is not a follower of ${this.key} (replicas ${JSON.stringify(this.state.replicas)})`);
    }
    // A fetch offset outside this log (a follower that has not truncated yet) is refused before
    // it can count as the follower's position: it must never raise the high watermark or earn
    // an ISR place (Kafka reads first and updates the follower's state only on success).
    if (fetchOffset < this.log.logStartOffset || fetchOffset > this.log.logEndOffset) {
      throw new KafkaProtocolError(KafkaError.OFFSET_OUT_OF_RANGE, `${this.key}: follower ${replicaId} fetches at ${fetchOffset}, outside [${this.log.logStartOffset}, ${this.log.logEndOffset}]`);
    }
  }

  private noteFollowerFetch(replicaId: number, fetchOffset: number): void {
    const { highWatermarkAdvanced, expandCandidate } = this.state.followerFetched(replicaId, fetchOffset, this.deps.clock.now());
    if (highWatermarkAdvanced) this.highWatermarkAdvanced();
    if (expandCandidate) this.deps.isrChangeWanted(this);
  }

  // ---------------------------------------------------------------------------------------
  // Leader epochs (OffsetForLeaderEpoch) and the follower's side

  /** The leader-epoch cache of this replica's log. */
  epochs(): EpochEntry[] {
    return this.log.leaderEpochStartOffsets();
  }

  /**
   * OffsetForLeaderEpoch: where `epoch` ends in this log. Answered by the leader, or by any
   * replica for Kafka's debugging replica id (-2, also what v0-2 requests default to).
   */
  lastOffsetForLeaderEpoch(currentLeaderEpoch: number, epoch: number, anyReplica: boolean): EpochEndOffset {
    if (anyReplica && this.state.role !== 'leader') {
      if (this.log.offline) throw new KafkaProtocolError(KafkaError.KAFKA_STORAGE_ERROR, `${this.key}: the log is offline after a storage error`);
    } else {
      this.checkLeader(currentLeaderEpoch);
    }
    return endOffsetForEpoch(this.log.leaderEpochStartOffsets(), epoch, this.log.logEndOffset);
  }

  /** Runs a follower's log change after the ones before it; refused once this broker no longer follows in `leaderEpoch`. */
  private asFollower<T>(leaderEpoch: number, what: string, task: () => Promise<T>): Promise<T> {
    const run = this.followerChain.then(() => {
      if (this.state.role !== 'follower' || this.state.leaderEpoch !== leaderEpoch) {
        throw new KafkaProtocolError(KafkaError.NOT_LEADER_OR_FOLLOWER, `${this.key}: ${what} for leader epoch ${leaderEpoch}, but the partition is now ${this.state.role} in epoch ${this.state.leaderEpoch}`);
      }
      return task();
    });
    this.followerChain = run.catch(() => undefined);
    return run;
  }

  /** Appends batches fetched (at `fetchOffset`, when known) from the leader of `leaderEpoch`, then takes the leader's high watermark. */
  appendAsFollower(leaderEpoch: number, records: Buffer, leaderHighWatermark: number, fetchOffset: number | null = null): Promise<void> {
    return this.asFollower(leaderEpoch, 'append', async () => {
      if (records.length > 0) {
        await this.log.appendAsFollower(records, this.deps.clock.now(), fetchOffset);
        this.state.localLogEndChanged(this.log.logEndOffset);
      }
      this.state.leaderReportedHighWatermark(leaderHighWatermark);
    });
  }

  /** The leader's high watermark when the fetch brought no records. */
  followerHighWatermark(leaderEpoch: number, leaderHighWatermark: number): void {
    if (this.state.role === 'follower' && this.state.leaderEpoch === leaderEpoch) this.state.leaderReportedHighWatermark(leaderHighWatermark);
  }

  /**
   * Cuts the divergent suffix found with the leader of `leaderEpoch` (KIP-101): the one
   * truncation replication makes, logged with its reason by the log (log.truncated).
   */
  truncateAsFollower(leaderEpoch: number, offset: number, reason: string): Promise<void> {
    return this.asFollower(leaderEpoch, 'truncation', async () => {
      if (offset >= this.log.logEndOffset) return;
      this.logger.warn({ offset, logEndOffset: this.log.logEndOffset, highWatermark: this.state.highWatermark, leaderEpoch, reason }, 'partition.truncating');
      await this.log.truncateTo(offset, this.deps.clock.now());
      this.state.localLogEndChanged(this.log.logEndOffset);
    });
  }

  /** The leader's log starts above this whole log (retention, DeleteRecords): start over at its log start. */
  restartAsFollowerAt(leaderEpoch: number, offset: number, reason: string): Promise<void> {
    return this.asFollower(leaderEpoch, 'restart', async () => {
      this.logger.warn({ offset, logEndOffset: this.log.logEndOffset, leaderEpoch, reason }, 'partition.restarting_log');
      await this.log.truncateFullyAndStartAt(offset, this.deps.clock.now());
      this.state.localLogEndChanged(this.log.logEndOffset);
    });
  }

  /** Resolves when the follower's queued appends and truncations have run. */
  followerIdle(): Promise<void> {
    return this.followerChain.then(() => undefined);
  }

  /** ListOffsets: -2 earliest, -1 latest (the high watermark), otherwise the first offset at or after `timestamp`. */
  async offsetFor(timestamp: number): Promise<{ offset: number; timestamp: number }> {
    this.checkLeader();
    if (timestamp === -2) return { offset: this.log.logStartOffset, timestamp: -1 };
    if (timestamp === -1) return { offset: this.state.highWatermark, timestamp: -1 };
    const offset = await this.log.offsetForTimestamp(timestamp);
    return offset === null || offset >= this.state.highWatermark ? { offset: -1, timestamp: -1 } : { offset, timestamp };
  }

  /** DeleteRecords: moves the log start offset up to `offset` (-1: the high watermark), never past the high watermark. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.checkLeader();
    const target = offset === -1 ? this.state.highWatermark : offset;
    if (target < 0 || target > this.state.highWatermark) {
      throw new KafkaProtocolError(KafkaError.OFFSET_OUT_OF_RANGE, `${this.key}: cannot delete records before ${target}: the high watermark is ${this.state.highWatermark}`);
    }
    return this.log.deleteRecordsBefore(target);
  }

  private noteInvisible(lastOffset: number, bytes: number): void {
    if (this.invisible.length >= INVISIBLE_APPENDS_MAX) {
      // Fold the oldest two: the estimate stays a sum, the memory stays bounded.
      const [first, second] = this.invisible.splice(0, 2);
      this.invisible.unshift({ lastOffset: second!.lastOffset, bytes: first!.bytes + second!.bytes });
    }
    this.invisible.push({ lastOffset, bytes });
  }

  private highWatermarkAdvanced(): void {
    const highWatermark = this.state.highWatermark;
    let bytes = 0;
    while (this.invisible.length > 0 && this.invisible[0]!.lastOffset < highWatermark) bytes += this.invisible.shift()!.bytes;
    this.deps.onEvent(this.key, { kind: 'highWatermark', highWatermark, bytes });
  }
}
