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
import type { PartitionLog } from '../log/partition-log';
import { PartitionStateUpdate, ReplicaState, Role } from './replica-state';

export type PartitionEvent =
  /** The high watermark advanced; `bytes`: how many bytes of batches that made visible (an estimate for long polls). */
  | { kind: 'highWatermark'; highWatermark: number; bytes: number }
  /** Leadership, leader epoch, fencing or the partition's existence changed: waiters re-evaluate. */
  | { kind: 'state' };

export interface PartitionDependencies {
  brokerId: number;
  clock: Clock;
  /** True while this broker must not act as a leader (its coordinator session is lost). */
  fenced(): boolean;
  /** Called synchronously with every event of this partition. */
  onEvent(key: string, event: PartitionEvent): void;
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

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private readonly deps: PartitionDependencies,
  ) {
    this.key = partitionKey(topic, partition);
    this.logger = deps.logger.child({ topic, partition });
    this.state = new ReplicaState(deps.brokerId, log.logStartOffset, log.logEndOffset);
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

  /** Applies the partition's state znode (ignored when older than what was applied). */
  applyState(update: PartitionStateUpdate): void {
    const outcome = this.state.apply(update, this.deps.clock.now());
    if (!outcome.applied) {
      this.logger.warn({ leaderEpoch: update.leaderEpoch, controllerEpoch: update.controllerEpoch, appliedLeaderEpoch: this.state.leaderEpoch, appliedControllerEpoch: this.state.controllerEpoch }, 'partition.stale_state_ignored');
      return;
    }
    if (outcome.previousRole !== outcome.role || outcome.leaderEpochChanged) {
      this.logger.info({ role: outcome.role, leader: update.leader, leaderEpoch: update.leaderEpoch, isr: update.isr, highWatermark: this.state.highWatermark }, 'partition.role');
      this.deps.onEvent(this.key, { kind: 'state' });
    }
    if (outcome.highWatermarkAdvanced) this.highWatermarkAdvanced();
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
    this.checkLeader();
    if (acksAll && this.state.isr.length < minInsyncReplicas) {
      throw new KafkaProtocolError(KafkaError.NOT_ENOUGH_REPLICAS, `${this.key}: ISR ${JSON.stringify(this.state.isr)} is smaller than min.insync.replicas ${minInsyncReplicas}`);
    }
    const appended = await this.log.appendAsLeader(records, this.state.leaderEpoch, this.deps.clock.now());
    this.noteInvisible(appended.lastOffset, records.length);
    if (this.state.localLogEndChanged(this.log.logEndOffset)) this.highWatermarkAdvanced();
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
    this.checkLeader(currentLeaderEpoch);
    if (replicaId === this.deps.brokerId || !this.state.replicas.includes(replicaId)) {
      throw new KafkaProtocolError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, `broker ${replicaId} is not a follower of ${this.key} (replicas ${JSON.stringify(this.state.replicas)})`);
    }
    const { highWatermarkAdvanced } = this.state.followerFetched(replicaId, fetchOffset, this.deps.clock.now());
    if (highWatermarkAdvanced) this.highWatermarkAdvanced();
    const read = await this.log.read(fetchOffset, maxBytes, minOneBatch);
    return { records: read.records, highWatermark: this.state.highWatermark, logStartOffset: this.log.logStartOffset };
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
