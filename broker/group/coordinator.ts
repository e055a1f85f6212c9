/**
 * The group coordinator: the I/O around the pure group state machines (group-machine.ts) and
 * offset stores (offset-store.ts). A broker coordinates the groups that hash to the partitions
 * of `__consumer_offsets` it leads (placement.ts, Kafka's rule), and only those.
 *
 * - Loading: after every change of the cluster picture the coordinator compares the offsets
 *   partitions this broker leads (and their leader epochs) with the ones it has loaded. A newly
 *   led partition is read from its log into an OffsetStore and its groups are restored; until
 *   that is done its groups answer COORDINATOR_LOAD_IN_PROGRESS. A partition led elsewhere now
 *   is unloaded: its waiting joins and syncs answer NOT_COORDINATOR, as do later requests.
 * - Waiting JoinGroup/SyncGroup requests sit in a purgatory keyed by group; the machine says
 *   when each is answered (its outputs), and one timer per group runs its deadlines (tick).
 * - Commits and group metadata are appended with acks=all (offsets-log.ts) and applied to the
 *   store once replicated; replies are ordered by log offset so a late acknowledgement never
 *   overwrites a newer commit.
 */
import { KafkaError } from '../../shared/kafka/errors';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import type { AdminOperations, ClusterView } from '../context';
import { Partition } from '../partition/partition';
import type { ReplicaManager } from '../partition/replica-manager';
import { Purgatory, type DelayedOperation } from '../purgatory';
import { GroupMachine, type GroupDescription, type GroupOutput, type GroupSettings, type JoinRequest, type JoinResult, type SyncRequest, type SyncResult } from './group-machine';
import { appendOffsetsRecords, OFFSETS_TOPIC, readOffsetsPartition } from './offsets-log';
import type { OffsetsRecord, OffsetValue } from './offsets-records';
import { OffsetStore } from './offset-store';
import { partitionForGroup } from './placement';

export interface GroupCoordinatorSettings {
  /** Kafka's offsets.topic.num.partitions. */
  offsetsTopicPartitions: number;
  /** Kafka's offsets.topic.replication.factor; capped at the live brokers when the topic is created. */
  offsetsTopicReplicationFactor: number;
  /** Kafka's offsets.topic.segment.bytes. */
  offsetsTopicSegmentBytes: number;
  /** Kafka's offsets.retention.minutes, in ms. */
  offsetsRetentionMs: number;
  /** Kafka's offsets.retention.check.interval.ms. */
  offsetsRetentionCheckIntervalMs: number;
  /** Kafka's offsets.commit.timeout.ms: how long an append waits for the ISR. */
  offsetCommitTimeoutMs: number;
  /** Kafka's offset.metadata.max.bytes. */
  offsetMetadataMaxBytes: number;
  group: GroupSettings;
}

/** Kafka's defaults for what has no broker flag (yet). */
export const OFFSET_COMMIT_DEFAULTS = Object.freeze({
  offsetsTopicSegmentBytes: 100 * 1024 * 1024,
  offsetCommitTimeoutMs: 5000,
  offsetMetadataMaxBytes: 4096,
});

/** How long FindCoordinator waits for `__consumer_offsets` to be created before answering COORDINATOR_NOT_AVAILABLE. */
const OFFSETS_TOPIC_CREATE_WAIT_MS = 10_000;
/** A join or sync still waiting this long past its own timeouts is answered anyway (the machine should have answered). */
const WAIT_SAFETY_MARGIN_MS = 10_000;

export interface GroupCoordinatorDependencies {
  replicas: ReplicaManager;
  admin: AdminOperations;
  cluster: () => ClusterView;
  clock: Clock;
  logger: Logger;
}

export interface CommitEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

export interface CommitIdentity {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
}

export interface FetchedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocolName: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }>;
}

/** One led partition of __consumer_offsets. */
interface Slot {
  partition: number;
  leaderEpoch: number;
  loading: boolean;
  store: OffsetStore;
  groups: Map<string, GroupMachine>;
  timers: Map<string, NodeJS.Timeout>;
  /** Log offset of the newest applied record per store key: out-of-order acknowledgements are not applied over newer ones. */
  appliedAt: Map<string, number>;
}

type Routed = { slot: Slot } | { errorCode: number };

function recordKey(record: OffsetsRecord): string {
  return record.kind === 'offset' ? `o\0${record.group}\0${record.topic}\0${record.partition}` : `g\0${record.group}`;
}

class DelayedGroupReply implements DelayedOperation<GroupOutput> {
  readonly keys: string[];
  private answer: GroupOutput | null = null;

  constructor(
    groupId: string,
    private readonly ticket: number,
    private readonly done: (answer: GroupOutput | null) => void,
  ) {
    this.keys = [`group:${groupId}`];
  }

  onEvent(_key: string, event: GroupOutput): boolean {
    if (event.kind === 'persist' || event.ticket !== this.ticket) return false;
    this.answer = event;
    return true;
  }

  complete(): void {
    this.done(this.answer);
  }
}

export class GroupCoordinator {
  private readonly slots = new Map<number, Slot>();
  private readonly purgatory = new Purgatory<GroupOutput>('group');
  private nextTicket = 1;
  private creatingTopic: Promise<void> | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly settings: GroupCoordinatorSettings,
    private readonly deps: GroupCoordinatorDependencies,
  ) {
    this.logger = deps.logger;
  }

  start(): void {
    this.expiryTimer = setInterval(() => void this.expireOffsets(), this.settings.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    for (const slot of [...this.slots.values()]) this.unload(slot, 'broker stopping');
    this.purgatory.shutdown();
  }

  /** Committed offsets of the groups this broker coordinates now (loaded partitions), for the lag metrics. */
  committedOffsets(): Array<{ group: string; topic: string; partition: number; offset: number }> {
    const out: Array<{ group: string; topic: string; partition: number; offset: number }> = [];
    for (const slot of this.slots.values()) {
      if (slot.loading) continue;
      for (const group of slot.store.groupIds()) {
        for (const { topic, partition, value } of slot.store.fetch(group, null)) out.push({ group, topic, partition, offset: value.offset });
      }
    }
    return out;
  }

  /** Waiting joins and syncs (Kafka's rebalance purgatory size). */
  get waiting(): number {
    return this.purgatory.size;
  }

  // ---------------------------------------------------------------------------------------
  // Which partitions this broker serves

  private partitionCount(): number {
    return this.deps.cluster().topics.get(OFFSETS_TOPIC)?.partitions.length ?? this.settings.offsetsTopicPartitions;
  }

  /** Loads newly led offsets partitions and unloads the ones led elsewhere now. Called after every sync of the replicas. */
  refresh(): void {
    if (this.closed) return;
    const led = new Map<number, number>();
    for (const partition of this.deps.replicas.all()) {
      if (partition.topic !== OFFSETS_TOPIC) continue;
      const found = this.deps.replicas.leaderPartition(OFFSETS_TOPIC, partition.partition);
      if (found instanceof Partition) led.set(found.partition, found.leaderEpoch);
    }
    for (const slot of [...this.slots.values()]) {
      if (led.get(slot.partition) !== slot.leaderEpoch) this.unload(slot, 'leadership moved');
    }
    for (const [partition, leaderEpoch] of led) {
      if (!this.slots.has(partition)) void this.load(partition, leaderEpoch);
    }
  }

  private async load(partition: number, leaderEpoch: number): Promise<void> {
    const slot: Slot = { partition, leaderEpoch, loading: true, store: new OffsetStore(), groups: new Map(), timers: new Map(), appliedAt: new Map() };
    this.slots.set(partition, slot);
    const started = this.deps.clock.now();
    let skipped = 0;
    try {
      const records = await readOffsetsPartition(this.deps.replicas, partition, () => this.slots.get(partition) === slot, (offset, reason) => {
        skipped++;
        if (skipped <= 10) this.logger.warn({ partition, offset, reason }, 'group.record_skipped');
      });
      if (records === null || this.slots.get(partition) !== slot) return;
      for (const { record, offset } of records) this.apply(slot, record, offset);
      const now = this.deps.clock.now();
      for (const [groupId, snapshot] of slot.store.groups()) {
        slot.groups.set(groupId, GroupMachine.restore(snapshot, this.settings.group, now));
        this.rearm(slot, groupId);
      }
      slot.loading = false;
      this.logger.info({ partition, leaderEpoch, records: records.length, groups: slot.store.groupIds().length, skipped, tookMs: this.deps.clock.now() - started }, 'group.partition_loaded');
    } catch (error) {
      this.logger.error({ partition, leaderEpoch, err: error instanceof Error ? error.message : String(error) }, 'group.partition_load_failed');
      if (this.slots.get(partition) === slot) this.slots.delete(partition);
    }
  }

  private unload(slot: Slot, reason: string): void {
    this.slots.delete(slot.partition);
    for (const timer of slot.timers.values()) clearTimeout(timer);
    for (const [groupId, machine] of slot.groups) this.emit(groupId, machine.shutdown(KafkaError.NOT_COORDINATOR));
    this.logger.info({ partition: slot.partition, leaderEpoch: slot.leaderEpoch, groups: slot.groups.size, reason }, 'group.partition_unloaded');
  }

  private route(groupId: string): Routed {
    if (this.closed) return { errorCode: KafkaError.NOT_COORDINATOR };
    const partition = partitionForGroup(groupId, this.partitionCount());
    const found = this.deps.replicas.leaderPartition(OFFSETS_TOPIC, partition);
    if (!(found instanceof Partition)) return { errorCode: KafkaError.NOT_COORDINATOR };
    const slot = this.slots.get(partition);
    if (slot === undefined || slot.leaderEpoch !== found.leaderEpoch) {
      this.refresh();
      return { errorCode: KafkaError.COORDINATOR_LOAD_IN_PROGRESS };
    }
    if (slot.loading) return { errorCode: KafkaError.COORDINATOR_LOAD_IN_PROGRESS };
    return { slot };
  }

  // ---------------------------------------------------------------------------------------
  // FindCoordinator

  async findCoordinator(groupId: string): Promise<{ errorCode: number; message: string | null; nodeId: number; host: string; port: number }> {
    const none = (errorCode: number, message: string | null) => ({ errorCode, message, nodeId: -1, host: '', port: -1 });
    if (groupId === '') return none(KafkaError.INVALID_GROUP_ID, 'the group id is empty');
    if (!this.deps.cluster().topics.has(OFFSETS_TOPIC)) await this.ensureOffsetsTopic();
    const view = this.deps.cluster();
    const topic = view.topics.get(OFFSETS_TOPIC);
    if (topic === undefined) return none(KafkaError.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} is being created`);
    const leader = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]?.leader ?? -1;
    const broker = view.brokers.find((candidate) => candidate.id === leader);
    if (broker === undefined) return none(KafkaError.COORDINATOR_NOT_AVAILABLE, `the partition of ${OFFSETS_TOPIC} for this group has no live leader`);
    return { errorCode: KafkaError.NONE, message: null, nodeId: broker.id, host: broker.host, port: broker.port };
  }

  /** Creates `__consumer_offsets` on first use (one creation at a time), waiting a bounded time. */
  private async ensureOffsetsTopic(): Promise<void> {
    if (this.creatingTopic === null) {
      const live = this.deps.cluster().brokers.length;
      const replicationFactor = Math.max(1, Math.min(this.settings.offsetsTopicReplicationFactor, live));
      this.creatingTopic = this.deps.admin
        .createTopics([{ name: OFFSETS_TOPIC, numPartitions: this.settings.offsetsTopicPartitions, replicationFactor, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(this.settings.offsetsTopicSegmentBytes) }] }], OFFSETS_TOPIC_CREATE_WAIT_MS, false)
        .then(([result]) => {
          if (result !== undefined && result.errorCode !== KafkaError.NONE && result.errorCode !== KafkaError.TOPIC_ALREADY_EXISTS) {
            this.logger.error({ topic: OFFSETS_TOPIC, errorCode: result.errorCode, err: result.errorMessage }, 'group.offsets_topic_create_failed');
          } else if (result?.errorCode === KafkaError.NONE) {
            this.logger.info({ topic: OFFSETS_TOPIC, partitions: this.settings.offsetsTopicPartitions, replicationFactor }, 'group.offsets_topic_created');
          }
        })
        .catch((error: unknown) => this.logger.error({ topic: OFFSETS_TOPIC, err: error instanceof Error ? error.message : String(error) }, 'group.offsets_topic_create_failed'))
        .finally(() => (this.creatingTopic = null));
    }
    await this.creatingTopic;
  }

  // ---------------------------------------------------------------------------------------
  // Membership: join, sync, heartbeat, leave

  async join(groupId: string, request: JoinRequest): Promise<JoinResult> {
    const failed = (errorCode: number): JoinResult => ({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: request.memberId, members: [] });
    if (groupId === '') return failed(KafkaError.INVALID_GROUP_ID);
    const routed = this.route(groupId);
    if ('errorCode' in routed) return failed(routed.errorCode);
    const { slot } = routed;
    let machine = slot.groups.get(groupId);
    if (machine === undefined) {
      // A member id the coordinator never gave out cannot join a group that does not exist.
      if (request.memberId !== '') return failed(KafkaError.UNKNOWN_MEMBER_ID);
      machine = new GroupMachine(groupId, this.settings.group, this.deps.clock.now());
      slot.groups.set(groupId, machine);
    }
    const target = machine;
    const waitMs = Math.max(request.rebalanceTimeoutMs, request.sessionTimeoutMs) + this.settings.group.groupInitialRebalanceDelayMs + WAIT_SAFETY_MARGIN_MS;
    const answer = await this.waitFor(groupId, waitMs, (ticket) => target.join(this.deps.clock.now(), ticket, request), slot);
    if (answer === null || answer.kind !== 'join') return failed(answer === null ? KafkaError.NOT_COORDINATOR : KafkaError.UNKNOWN_SERVER_ERROR);
    return answer.result;
  }

  async sync(groupId: string, request: SyncRequest): Promise<SyncResult> {
    const failed = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    if (groupId === '') return failed(KafkaError.INVALID_GROUP_ID);
    const routed = this.route(groupId);
    if ('errorCode' in routed) return failed(routed.errorCode);
    const machine = routed.slot.groups.get(groupId);
    if (machine === undefined) return failed(KafkaError.UNKNOWN_MEMBER_ID);
    const answer = await this.waitFor(groupId, this.settings.group.groupMaxSessionTimeoutMs + WAIT_SAFETY_MARGIN_MS, (ticket) => machine.sync(this.deps.clock.now(), ticket, request), routed.slot);
    if (answer === null || answer.kind !== 'sync') return failed(answer === null ? KafkaError.NOT_COORDINATOR : KafkaError.UNKNOWN_SERVER_ERROR);
    return answer.result;
  }

  heartbeat(groupId: string, request: { memberId: string; groupInstanceId: string | null; generationId: number }): number {
    if (groupId === '') return KafkaError.INVALID_GROUP_ID;
    const routed = this.route(groupId);
    if ('errorCode' in routed) return routed.errorCode;
    const machine = routed.slot.groups.get(groupId);
    if (machine === undefined) return KafkaError.UNKNOWN_MEMBER_ID;
    const { errorCode, outputs } = machine.heartbeat(this.deps.clock.now(), request);
    this.emitAndRearm(routed.slot, groupId, outputs);
    return errorCode;
  }

  leave(groupId: string, members: Array<{ memberId: string; groupInstanceId: string | null }>): { errorCode: number; results: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }> } {
    if (groupId === '') return { errorCode: KafkaError.INVALID_GROUP_ID, results: [] };
    const routed = this.route(groupId);
    if ('errorCode' in routed) return { errorCode: routed.errorCode, results: [] };
    const machine = routed.slot.groups.get(groupId);
    if (machine === undefined) return { errorCode: KafkaError.NONE, results: members.map((member) => ({ ...member, errorCode: KafkaError.UNKNOWN_MEMBER_ID })) };
    const { results, outputs } = machine.leave(this.deps.clock.now(), members);
    this.emitAndRearm(routed.slot, groupId, outputs);
    return { errorCode: KafkaError.NONE, results };
  }

  /** Parks a join/sync in the purgatory, then lets the machine act; resolves with its answer (null: unloaded or stopping). */
  private waitFor(groupId: string, waitMs: number, act: (ticket: number) => GroupOutput[], slot: Slot): Promise<GroupOutput | null> {
    const ticket = this.nextTicket++;
    return new Promise((resolve) => {
      this.purgatory.wait(new DelayedGroupReply(groupId, ticket, resolve), waitMs);
      this.emitAndRearm(slot, groupId, act(ticket));
    });
  }

  private emitAndRearm(slot: Slot, groupId: string, outputs: GroupOutput[]): void {
    this.emit(groupId, outputs, slot);
    this.rearm(slot, groupId);
  }

  /** Answers waiting requests and persists snapshots the machine asked for. */
  private emit(groupId: string, outputs: GroupOutput[], slot?: Slot): void {
    for (const output of outputs) {
      if (output.kind !== 'persist') {
        this.purgatory.notify(`group:${groupId}`, output);
      } else if (slot !== undefined) {
        const record: OffsetsRecord = { kind: 'group', group: groupId, value: output.snapshot };
        void this.append(slot, [record], false).then((errorCode) => {
          if (errorCode !== KafkaError.NONE) this.logger.warn({ groupId, partition: slot.partition, errorCode, generationId: output.snapshot.generationId }, 'group.metadata_write_failed');
        });
      }
    }
  }

  /** One timer per group, at the machine's next deadline. */
  private rearm(slot: Slot, groupId: string): void {
    const old = slot.timers.get(groupId);
    if (old !== undefined) clearTimeout(old);
    slot.timers.delete(groupId);
    const machine = slot.groups.get(groupId);
    const deadline = machine?.nextDeadline() ?? null;
    if (machine === undefined || deadline === null || this.slots.get(slot.partition) !== slot) return;
    const timer = setTimeout(() => {
      slot.timers.delete(groupId);
      if (this.slots.get(slot.partition) !== slot || slot.groups.get(groupId) !== machine) return;
      this.emitAndRearm(slot, groupId, machine.tick(this.deps.clock.now()));
    }, Math.max(0, deadline - this.deps.clock.now()));
    timer.unref();
    slot.timers.set(groupId, timer);
  }

  // ---------------------------------------------------------------------------------------
  // Offsets

  /** Appends, waits for the ISR, and applies what was stored. Resolves with the group error code. */
  private async append(slot: Slot, records: OffsetsRecord[], isCommit: boolean): Promise<number> {
    if (records.length === 0) return KafkaError.NONE;
    const { errorCode, baseOffset } = await appendOffsetsRecords(this.deps.replicas, slot.partition, records, this.settings.offsetCommitTimeoutMs, this.deps.clock.now(), isCommit);
    if (errorCode !== KafkaError.NONE) return errorCode;
    if (this.slots.get(slot.partition) === slot) records.forEach((record, index) => this.apply(slot, record, baseOffset + index));
    return KafkaError.NONE;
  }

  private apply(slot: Slot, record: OffsetsRecord, offset: number): void {
    const key = recordKey(record);
    if ((slot.appliedAt.get(key) ?? -1) > offset) return;
    slot.appliedAt.set(key, offset);
    slot.store.replay(record);
  }

  async commitOffsets(groupId: string, identity: CommitIdentity, entries: CommitEntry[]): Promise<number[]> {
    const all = (errorCode: number) => entries.map(() => errorCode);
    if (groupId === '') return all(KafkaError.INVALID_GROUP_ID);
    const routed = this.route(groupId);
    if ('errorCode' in routed) return all(routed.errorCode);
    const { slot } = routed;
    const now = this.deps.clock.now();
    const machine = slot.groups.get(groupId);
    if (machine !== undefined) {
      const errorCode = machine.validateCommit(now, identity);
      this.rearm(slot, groupId);
      if (errorCode !== KafkaError.NONE) return all(errorCode);
    } else if (identity.generationId >= 0) {
      // A generation from a group this coordinator does not know: an older coordinator's, or made up.
      return all(KafkaError.ILLEGAL_GENERATION);
    } else {
      // A group that does not use Kafka's membership (assign() consumers, reset-offsets): it exists, Empty.
      slot.groups.set(groupId, new GroupMachine(groupId, this.settings.group, now));
    }
    const view = this.deps.cluster();
    const codes = entries.map((entry) => {
      const metadataBytes = Buffer.byteLength(entry.metadata ?? '', 'utf8');
      if (metadataBytes > this.settings.offsetMetadataMaxBytes) return KafkaError.OFFSET_METADATA_TOO_LARGE;
      const topic = view.topics.get(entry.topic);
      if (topic === undefined || entry.partition < 0 || entry.partition >= topic.partitions.length) return KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
      return KafkaError.NONE;
    });
    const accepted = entries.filter((_, index) => codes[index] === KafkaError.NONE);
    const records: OffsetsRecord[] = accepted.map((entry) => {
      const value: OffsetValue = { offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata ?? '', commitTimestamp: now, expireTimestamp: -1 };
      return { kind: 'offset', group: groupId, topic: entry.topic, partition: entry.partition, value };
    });
    const stored = await this.append(slot, records, true);
    return codes.map((code) => (code === KafkaError.NONE ? stored : code));
  }

  /** `topics` null: every committed offset of the group. */
  fetchOffsets(groupId: string, topics: Array<{ topic: string; partitions: number[] }> | null): { errorCode: number; offsets: FetchedOffset[] } {
    const routed = groupId === '' ? { errorCode: KafkaError.INVALID_GROUP_ID } : this.route(groupId);
    if ('errorCode' in routed) return { errorCode: routed.errorCode, offsets: (topics ?? []).flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: routed.errorCode }))) };
    const answer = (topic: string, partition: number, value: OffsetValue | undefined): FetchedOffset => ({ topic, partition, offset: value?.offset ?? -1, leaderEpoch: value?.leaderEpoch ?? -1, metadata: value?.metadata ?? '', errorCode: KafkaError.NONE });
    const { store } = routed.slot;
    // All of the group's offsets, or the partitions asked for (-1 where none is committed).
    const offsets = topics === null
      ? store.fetch(groupId, null).map((entry) => answer(entry.topic, entry.partition, entry.value))
      : topics.flatMap(({ topic, partitions }) => partitions.map((partition) => answer(topic, partition, store.committed(groupId, topic, partition))));
    return { errorCode: KafkaError.NONE, offsets };
  }

  /** Offsets expire once their group has been empty for offsets.retention (Kafka's KIP-211 rule); empty groups without offsets go too. */
  private async expireOffsets(): Promise<void> {
    const now = this.deps.clock.now();
    for (const slot of [...this.slots.values()]) {
      if (slot.loading) continue;
      const active = (groupId: string): boolean => {
        const machine = slot.groups.get(groupId);
        return machine !== undefined && machine.state !== 'Empty' && machine.state !== 'Dead';
      };
      const emptySince = (groupId: string): number | null => {
        const machine = slot.groups.get(groupId);
        return machine !== undefined && machine.state === 'Empty' ? machine.snapshot(now).currentStateTimestamp : null;
      };
      const tombstones = slot.store.expired(now, this.settings.offsetsRetentionMs, emptySince).filter((record) => !active(record.group));
      for (const [groupId, machine] of slot.groups) {
        const hasOffsets = slot.store.fetch(groupId, null).some(({ topic, partition }) => !tombstones.some((t) => t.kind === 'offset' && t.group === groupId && t.topic === topic && t.partition === partition));
        if (machine.state === 'Empty' && !hasOffsets && !tombstones.some((t) => t.kind === 'group' && t.group === groupId)) tombstones.push({ kind: 'group', group: groupId, value: null });
      }
      if (tombstones.length === 0) continue;
      const errorCode = await this.append(slot, tombstones, false);
      if (errorCode !== KafkaError.NONE) {
        this.logger.warn({ partition: slot.partition, errorCode, tombstones: tombstones.length }, 'group.offsets_expiry_failed');
        continue;
      }
      for (const record of tombstones) {
        if (record.kind !== 'group') continue;
        slot.groups.get(record.group)?.shutdown(KafkaError.COORDINATOR_NOT_AVAILABLE);
        slot.groups.delete(record.group);
      }
      this.logger.info({ partition: slot.partition, offsets: tombstones.filter((t) => t.kind === 'offset').length, groups: tombstones.filter((t) => t.kind === 'group').map((t) => t.group), retentionMs: this.settings.offsetsRetentionMs }, 'group.offsets_expired');
    }
  }

  // ---------------------------------------------------------------------------------------
  // Administration: describe, list, delete

  describe(groupId: string): DescribedGroup {
    const empty = (errorCode: number, state: string): DescribedGroup => ({ errorCode, groupId, state, protocolType: '', protocolName: '', members: [] });
    const routed = this.route(groupId);
    if ('errorCode' in routed) return empty(routed.errorCode, '');
    const machine = routed.slot.groups.get(groupId);
    if (machine === undefined) return empty(KafkaError.NONE, 'Dead');
    const description = machine.describe();
    // Kafka shows member metadata and assignments only once the generation is complete (Stable).
    const complete = description.state === 'Stable';
    return {
      errorCode: KafkaError.NONE,
      groupId,
      state: description.state,
      protocolType: description.protocolType,
      protocolName: description.protocolName,
      members: description.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: complete ? member.subscription : Buffer.alloc(0),
        assignment: complete ? member.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** The groups this broker coordinates (Kafka: COORDINATOR_LOAD_IN_PROGRESS while any of its partitions loads). */
  list(): { errorCode: number; groups: Array<{ groupId: string; protocolType: string; state: string }> } {
    let loading = false;
    const groups: Array<{ groupId: string; protocolType: string; state: string }> = [];
    for (const slot of this.slots.values()) {
      if (slot.loading) {
        loading = true;
        continue;
      }
      const ids = new Set([...slot.groups.keys(), ...slot.store.groupIds()]);
      for (const groupId of ids) {
        const machine = slot.groups.get(groupId);
        groups.push({ groupId, protocolType: machine?.protocolType ?? '', state: machine?.state ?? 'Empty' });
      }
    }
    return { errorCode: loading ? KafkaError.COORDINATOR_LOAD_IN_PROGRESS : KafkaError.NONE, groups };
  }

  async deleteGroups(groupIds: string[]): Promise<number[]> {
    return Promise.all(groupIds.map(async (groupId) => {
      if (groupId === '') return KafkaError.INVALID_GROUP_ID;
      const routed = this.route(groupId);
      if ('errorCode' in routed) return routed.errorCode;
      const { slot } = routed;
      const machine = slot.groups.get(groupId);
      if (machine !== undefined && machine.state !== 'Empty' && machine.state !== 'Dead') return KafkaError.NON_EMPTY_GROUP;
      if (machine === undefined && !slot.store.groupIds().includes(groupId)) return KafkaError.GROUP_ID_NOT_FOUND;
      const tombstones = slot.store.deleteGroup(groupId);
      if (!tombstones.some((record) => record.kind === 'group')) tombstones.push({ kind: 'group', group: groupId, value: null });
      const errorCode = await this.append(slot, tombstones, false);
      if (errorCode !== KafkaError.NONE) return errorCode;
      const current = slot.groups.get(groupId);
      if (current !== undefined) this.emit(groupId, current.shutdown(KafkaError.COORDINATOR_NOT_AVAILABLE));
      slot.groups.delete(groupId);
      const timer = slot.timers.get(groupId);
      if (timer !== undefined) clearTimeout(timer);
      slot.timers.delete(groupId);
      this.logger.info({ groupId, partition: slot.partition, offsets: tombstones.filter((record) => record.kind === 'offset').length, reason: 'DeleteGroups request' }, 'group.deleted');
      return KafkaError.NONE;
    }));
  }

  /**
   * OffsetDelete (KIP-496): an empty group may drop any committed offset; a group with members
   * may drop only offsets of topics none of its members subscribes to (`subscribedTopics` decodes
   * the consumer protocol's subscriptions).
   */
  async deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>, subscribedTopics: (group: GroupDescription) => Set<string> | null): Promise<{ errorCode: number; results: number[] }> {
    if (groupId === '') return { errorCode: KafkaError.INVALID_GROUP_ID, results: [] };
    const routed = this.route(groupId);
    if ('errorCode' in routed) return { errorCode: routed.errorCode, results: [] };
    const { slot } = routed;
    const machine = slot.groups.get(groupId);
    const committed = slot.store.fetch(groupId, null);
    if (machine === undefined && committed.length === 0) return { errorCode: KafkaError.GROUP_ID_NOT_FOUND, results: [] };
    let subscribed = new Set<string>();
    if (machine !== undefined && machine.state !== 'Empty' && machine.state !== 'Dead') {
      const topics = subscribedTopics(machine.describe());
      if (topics === null) return { errorCode: KafkaError.NON_EMPTY_GROUP, results: [] };
      subscribed = topics;
    }
    const results = partitions.map(({ topic }) => (subscribed.has(topic) ? KafkaError.GROUP_SUBSCRIBED_TO_TOPIC : KafkaError.NONE));
    const deletable = partitions.filter((_, index) => results[index] === KafkaError.NONE);
    const tombstones = slot.store.deleteOffsets(groupId, deletable);
    const errorCode = await this.append(slot, tombstones, false);
    if (errorCode !== KafkaError.NONE) return { errorCode, results: [] };
    if (tombstones.length > 0) this.logger.info({ groupId, partition: slot.partition, offsets: tombstones.length, reason: 'OffsetDelete request' }, 'group.offsets_deleted');
    return { errorCode: KafkaError.NONE, results };
  }
}
