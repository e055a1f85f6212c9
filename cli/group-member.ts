/**
 * A consumer group member for `samsa consume --group`, speaking Kafka's group protocol as
 * kafkajs 2.2.4 does (../shared/kafka-protocol README section 7): FindCoordinator v2,
 * JoinGroup v5 (MEMBER_ID_REQUIRED answered by joining again with the given id), the leader
 * assigning with the range assignor, SyncGroup v3, Heartbeat v3 on a timer, OffsetFetch v4,
 * OffsetCommit v5 with generation and member id, LeaveGroup v1.
 *
 * Rebalances: a heartbeat or commit answered REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or
 * NOT_COORDINATOR (or UNKNOWN_MEMBER_ID, after forgetting the id) sets `needsRejoin`; the
 * consume loop commits what it has, then calls `join()` again.
 */
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'timers/promises';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection, KafkaConnectionError } from '../shared/kafka/client';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, TopicPartitions } from '../shared/kafka/consumer-protocol';
import { KafkaError } from '../shared/kafka/errors';
import type { HeartbeatResponseV3, JoinGroupResponseV5, LeaveGroupResponseV1, OffsetCommitResponseV5, OffsetFetchResponseV4, SyncGroupResponseV3 } from '../shared/kafka/messages';
import { backoffMs, COORDINATOR_RETRIABLE, findCoordinator } from './group-coordinator';
import { CliError, kafkaFailure, KafkaSession } from './kafka-admin';
import { rangeAssign, RANGE_PROTOCOL } from './range-assignor';

/** kafkajs's defaults. */
export const SESSION_TIMEOUT_MS_DEFAULT = 30_000;
export const REBALANCE_TIMEOUT_MS_DEFAULT = 60_000;
export const HEARTBEAT_INTERVAL_MS_MAX = 3000;
/** Join/sync rounds before giving up (each one is bounded by the rebalance timeout). */
const JOIN_ATTEMPTS_MAX = 30;
const OFFSET_FETCH_ATTEMPTS_MAX = 10;
/** kafkajs allows a JoinGroup the rebalance timeout plus this long (the coordinator holds it until all members rejoined). */
const JOIN_REQUEST_SLACK_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;

/** Errors after which the member has to join again (kafkajs: isRebalancing, plus NOT_COORDINATOR). */
const REJOIN_ERRORS: ReadonlySet<number> = new Set([KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.NOT_COORDINATOR]);
/** Errors a join attempt waits out. */
const JOIN_RETRIABLE: ReadonlySet<number> = new Set([KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.NOT_COORDINATOR, KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID]);

/** A heartbeat every session timeout / 10, at most every 3 s (kafkajs: 3 s with its 30 s session). */
export function heartbeatIntervalMs(sessionTimeoutMs: number): number {
  return Math.max(1, Math.min(HEARTBEAT_INTERVAL_MS_MAX, Math.floor(sessionTimeoutMs / 10)));
}

export interface GroupMemberOptions {
  groupId: string;
  topics: string[];
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export class GroupAbortedError extends Error {
  override readonly name = 'GroupAbortedError';
}

/** Offsets to commit: topic → partition → the next offset to read. */
export type CommitOffsets = Map<string, Map<number, number>>;

export class GroupMember {
  memberId = '';
  generationId = -1;
  assignment: TopicPartitions[] = [];
  private coordinator: KafkaConnection | null = null;
  private rejoin = false;
  private aborted = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;

  constructor(
    private readonly session: KafkaSession,
    private readonly options: GroupMemberOptions,
    private readonly log: Logger,
  ) {}

  get needsRejoin(): boolean {
    return this.rejoin;
  }

  /** Joins (or rejoins) the group and syncs; resolves with this member's assignment. */
  async join(): Promise<TopicPartitions[]> {
    this.stopHeartbeats();
    for (let attempt = 0; attempt < JOIN_ATTEMPTS_MAX; attempt++) {
      if (this.aborted) throw new GroupAbortedError('stopped while joining');
      const outcome = await this.joinOnce().catch((error: unknown) => {
        if (this.aborted) throw new GroupAbortedError('stopped while joining');
        if (!(error instanceof KafkaConnectionError)) throw error;
        this.dropCoordinator();
        return KafkaError.COORDINATOR_NOT_AVAILABLE;
      });
      if (outcome === 'joined') {
        this.rejoin = false;
        this.startHeartbeats();
        return this.assignment;
      }
      if (outcome === KafkaError.MEMBER_ID_REQUIRED) continue; // at once, with the id the coordinator gave
      if (!JOIN_RETRIABLE.has(outcome)) throw kafkaFailure(outcome, `group ${this.options.groupId}`);
      this.log.debug({ groupId: this.options.groupId, error: outcome }, 'group.join_retry');
      await sleep(backoffMs(attempt));
    }
    throw new CliError(`REBALANCE_IN_PROGRESS: group ${this.options.groupId}: no stable assignment after ${JOIN_ATTEMPTS_MAX} join attempts`);
  }

  /** One JoinGroup + SyncGroup round: 'joined' or the error code that ended it. */
  private async joinOnce(): Promise<'joined' | number> {
    const coordinator = await this.coordinatorConnection();
    if (this.aborted) throw new GroupAbortedError('stopped while joining');
    const { groupId, topics } = this.options;
    const joined = await coordinator.request<JoinGroupResponseV5>(ApiKey.JoinGroup, 5, {
      groupId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: [{ name: RANGE_PROTOCOL, metadata: encodeSubscription({ topics }) }],
    });
    if (joined.errorCode === KafkaError.MEMBER_ID_REQUIRED) {
      this.memberId = joined.memberId;
      return joined.errorCode;
    }
    if (joined.errorCode !== KafkaError.NONE) return this.onGroupError(joined.errorCode);
    this.memberId = joined.memberId;
    this.generationId = joined.generationId;
    const isLeader = joined.leader === joined.memberId;
    const assignments = isLeader ? await this.assign(joined.members) : [];
    const synced = await coordinator.request<SyncGroupResponseV3>(ApiKey.SyncGroup, 3, { groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null, assignments });
    if (synced.errorCode !== KafkaError.NONE) return this.onGroupError(synced.errorCode);
    this.assignment = decodeAssignment(synced.assignment).partitions.filter((entry) => topics.includes(entry.topic));
    this.log.info({ groupId, generationId: this.generationId, memberId: this.memberId, leader: isLeader, assignment: this.assignment }, 'group.joined');
    return 'joined';
  }

  /** The leader's job: subscriptions in, range assignment out (partition counts from Metadata). */
  private async assign(members: JoinGroupResponseV5['members']): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const subscriptions = members.map((member) => {
      try {
        return { memberId: member.memberId, topics: decodeSubscription(member.metadata).topics };
      } catch (error) {
        this.log.warn({ groupId: this.options.groupId, memberId: member.memberId, err: error }, 'group.subscription_undecodable');
        return { memberId: member.memberId, topics: [] };
      }
    });
    const topics = [...new Set(subscriptions.flatMap((s) => s.topics))];
    const metadata = topics.length === 0 ? { topics: [] } : await this.session.metadata(topics);
    const counts = new Map(metadata.topics.filter((t) => t.errorCode === KafkaError.NONE && t.partitions.length > 0).map((t) => [t.name, t.partitions.length]));
    const plan = rangeAssign(subscriptions, counts);
    return [...plan].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment({ partitions }) }));
  }

  private onGroupError(errorCode: number): number {
    if (errorCode === KafkaError.UNKNOWN_MEMBER_ID) this.memberId = '';
    if (errorCode === KafkaError.NOT_COORDINATOR || errorCode === KafkaError.COORDINATOR_NOT_AVAILABLE) this.dropCoordinator();
    return errorCode;
  }

  /** topic → partition → committed offset (-1: none) for the given partitions; retries while the coordinator moves or loads. */
  async committedOffsets(partitions: TopicPartitions[]): Promise<Map<string, Map<number, number>>> {
    const { groupId } = this.options;
    for (let attempt = 0; ; attempt++) {
      let errorCode: number = KafkaError.NONE;
      let answer: OffsetFetchResponseV4 | null = null;
      try {
        const coordinator = await this.coordinatorConnection();
        answer = await coordinator.request<OffsetFetchResponseV4>(ApiKey.OffsetFetch, 4, { groupId, topics: partitions.map((p) => ({ name: p.topic, partitionIndexes: p.partitions })) });
        errorCode = answer.errorCode || (answer.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== KafkaError.NONE)?.errorCode ?? KafkaError.NONE);
      } catch (error) {
        if (!(error instanceof KafkaConnectionError)) throw error;
        errorCode = KafkaError.COORDINATOR_NOT_AVAILABLE;
      }
      if (errorCode === KafkaError.NONE && answer !== null) {
        return new Map(answer.topics.map((topic) => [topic.name, new Map(topic.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]))]));
      }
      this.onGroupError(errorCode);
      if (!COORDINATOR_RETRIABLE.has(errorCode) || attempt + 1 >= OFFSET_FETCH_ATTEMPTS_MAX) throw kafkaFailure(errorCode, `committed offsets of group ${groupId}`);
      await sleep(backoffMs(attempt));
    }
  }

  /**
   * Commits with this generation; false (and `needsRejoin`) when the group moved on (a rebalance
   * or a new coordinator): the records are then read again by whoever owns the partition next.
   */
  async commit(offsets: CommitOffsets): Promise<boolean> {
    if (offsets.size === 0 || this.memberId === '' || this.generationId < 0) return true;
    let answer: OffsetCommitResponseV5;
    try {
      const coordinator = await this.coordinatorConnection();
      answer = await coordinator.request<OffsetCommitResponseV5>(ApiKey.OffsetCommit, 5, {
        groupId: this.options.groupId,
        generationIdOrMemberEpoch: this.generationId,
        memberId: this.memberId,
        topics: [...offsets].map(([name, partitions]) => ({ name, partitions: [...partitions].map(([partitionIndex, offset]) => ({ partitionIndex, committedOffset: BigInt(offset), committedMetadata: null })) })),
      });
    } catch (error) {
      if (!(error instanceof KafkaConnectionError)) throw error;
      this.dropCoordinator();
      this.rejoin = true;
      return false;
    }
    for (const topic of answer.topics) {
      for (const p of topic.partitions) {
        if (p.errorCode === KafkaError.NONE) continue;
        if (REJOIN_ERRORS.has(p.errorCode) || p.errorCode === KafkaError.COORDINATOR_LOAD_IN_PROGRESS || p.errorCode === KafkaError.COORDINATOR_NOT_AVAILABLE) {
          this.onGroupError(p.errorCode);
          this.log.info({ groupId: this.options.groupId, generationId: this.generationId, error: p.errorCode }, 'group.commit_refused');
          this.rejoin = true;
          return false;
        }
        throw kafkaFailure(p.errorCode, `commit of ${topic.name}-${p.partitionIndex} in group ${this.options.groupId}`);
      }
    }
    return true;
  }

  /** LeaveGroup v1, best effort: a member that cannot leave is expired by the session timeout. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === '') return;
    try {
      const coordinator = await this.coordinatorConnection();
      const answer = await coordinator.request<LeaveGroupResponseV1>(ApiKey.LeaveGroup, 1, { groupId: this.options.groupId, memberId: this.memberId });
      this.log.info({ groupId: this.options.groupId, memberId: this.memberId, error: answer.errorCode }, 'group.left');
    } catch (error) {
      this.log.warn({ groupId: this.options.groupId, memberId: this.memberId, err: error }, 'group.leave_failed');
    }
    this.memberId = '';
  }

  /** Ends a join in progress (Ctrl-C while the coordinator holds the JoinGroup). */
  abort(): void {
    this.aborted = true;
    this.dropCoordinator();
  }

  close(): void {
    this.stopHeartbeats();
    this.dropCoordinator();
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), heartbeatIntervalMs(this.options.sessionTimeoutMs));
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.rejoin || this.memberId === '') return;
    this.heartbeatInFlight = true;
    try {
      const coordinator = await this.coordinatorConnection();
      const answer = await coordinator.request<HeartbeatResponseV3>(ApiKey.Heartbeat, 3, { groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
      if (REJOIN_ERRORS.has(answer.errorCode)) {
        this.onGroupError(answer.errorCode);
        this.log.info({ groupId: this.options.groupId, generationId: this.generationId, error: answer.errorCode }, 'group.rebalance');
        this.rejoin = true;
      } else if (answer.errorCode !== KafkaError.NONE) {
        this.log.warn({ groupId: this.options.groupId, error: answer.errorCode }, 'group.heartbeat_failed');
      }
    } catch (error) {
      this.log.warn({ groupId: this.options.groupId, err: error }, 'group.heartbeat_failed');
      this.dropCoordinator();
      this.rejoin = true;
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  /**
   * A connection of its own: the coordinator holds a JoinGroup up to the rebalance timeout, longer
   * than the CLI's usual request timeout, and fetches must not queue behind it.
   */
  private async coordinatorConnection(): Promise<KafkaConnection> {
    if (this.coordinator !== null && !this.coordinator.isClosed) return this.coordinator;
    const address = await findCoordinator(this.session, this.options.groupId);
    this.coordinator = await KafkaConnection.connect(address.host, address.port, {
      clientId: this.options.clientId,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: this.options.rebalanceTimeoutMs + JOIN_REQUEST_SLACK_MS,
    });
    return this.coordinator;
  }

  private dropCoordinator(): void {
    this.coordinator?.close();
    this.coordinator = null;
  }
}
