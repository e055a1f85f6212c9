/**
 * The pure consumer-group state machine: Kafka 3.x's classic GroupCoordinator/GroupMetadata
 * (core/src/main/scala/kafka/coordinator/group/) without threads, locks, purgatories or clocks.
 *
 * Every call takes `now` and returns outputs (join/sync answers for waiting tickets, metadata
 * records to persist); Kafka's delayed operations (DelayedJoin, InitialDelayedJoin, DelayedSync,
 * DelayedHeartbeat) are deadlines kept here, and the wrapper calls tick() at nextDeadline().
 * The wrapper owns I/O, logging, group lookup/creation and the __consumer_offsets log.
 */
import { assert, assertNever } from '../../shared/assert';
import { KafkaError } from '../../shared/kafka/errors';
import { assertTransition, joinError, syncError, syncResult } from './group-machine-results';
import {
  GROUP_DEFAULTS,
  defaultMemberId,
  type GroupDescription,
  type GroupOutput,
  type GroupSettings,
  type GroupSnapshot,
  type GroupStateName,
  type HeartbeatRequest,
  type JoinRequest,
  type JoinResultMember,
  type LeaveMemberResult,
  type LeavingMember,
  type SyncRequest,
} from './group-machine-types';
import { GroupMember } from './group-member';
import { GroupMembership } from './group-membership';

export * from './group-machine-types';

/**
 * tick() handles due deadlines one at a time in deadline order; a handler may arm a new deadline
 * that is already due (a rebalance timeout of 0), so the loop is bounded and the rest waits for
 * the next tick.
 */
export const TICK_STEPS_MAX = 10_000;

interface JoinBarrier {
  /** When the barrier completes whether or not everyone has joined (Kafka's DelayedJoin timeout). */
  deadline: number;
  /** Set for Kafka's InitialDelayedJoin (an Empty group's first join): it never completes early. */
  initial: { delayMs: number; remainingMs: number } | null;
}

interface SyncBarrier {
  /** Members of the generation that have not sent SyncGroup yet (Kafka's pendingSyncMembers). */
  pending: Set<string>;
  /** When those still pending are removed and a rebalance starts (Kafka's DelayedSync). */
  deadline: number;
}

type DueEvent =
  | { kind: 'pending-member'; at: number; memberId: string }
  | { kind: 'session'; at: number; member: GroupMember }
  | { kind: 'sync-barrier'; at: number }
  | { kind: 'join-barrier'; at: number };

type ResolvedSettings = Required<GroupSettings>;

export class GroupMachine {
  readonly groupId: string;
  private readonly settings: ResolvedSettings;
  private currentState: GroupStateName = 'Empty';
  private stateTimestamp: number;
  private generation = 0;
  private groupProtocolName: string | null = null;
  private readonly membership = new GroupMembership();
  private joinBarrier: JoinBarrier | null = null;
  private syncBarrier: SyncBarrier | null = null;
  /** A member joined an initial rebalance of generation 0: the initial delay may be extended. */
  private newMemberAdded = false;

  constructor(groupId: string, settings: GroupSettings, now: number) {
    assert(settings.groupMinSessionTimeoutMs <= settings.groupMaxSessionTimeoutMs, 'min session timeout above max');
    assert(settings.groupInitialRebalanceDelayMs >= 0, 'initial rebalance delay must not be negative');
    assert(settings.groupMaxSize >= 1, 'group max size must be at least 1');
    this.groupId = groupId;
    this.settings = {
      ...settings,
      newMemberJoinTimeoutMs: settings.newMemberJoinTimeoutMs ?? GROUP_DEFAULTS.newMemberJoinTimeoutMs,
      newMemberId: settings.newMemberId ?? defaultMemberId,
    };
    this.stateTimestamp = now;
  }

  /** Restores a loaded group: members come back with fresh session deadlines from `now`; state Stable if it has members, else Empty. */
  static restore(snapshot: GroupSnapshot, settings: GroupSettings, now: number): GroupMachine {
    const machine = new GroupMachine(snapshot.groupId, settings, now);
    const hasMembers = snapshot.members.length > 0;
    assert(!hasMembers || (snapshot.protocolType && snapshot.protocolName !== null),
      `group ${snapshot.groupId}: a snapshot with members needs a protocol type and name`);
    machine.generation = snapshot.generationId;
    machine.membership.protocolType = snapshot.protocolType === '' ? null : snapshot.protocolType;
    machine.groupProtocolName = hasMembers ? snapshot.protocolName : null;
    machine.stateTimestamp = snapshot.currentStateTimestamp;
    for (const saved of snapshot.members) {
      const member = new GroupMember(saved.memberId, saved.groupInstanceId, saved.clientId, saved.clientHost,
        saved.rebalanceTimeoutMs, saved.sessionTimeoutMs, snapshot.protocolType as string,
        [{ name: snapshot.protocolName as string, metadata: saved.subscription }], now + saved.sessionTimeoutMs);
      member.assignment = saved.assignment;
      machine.membership.add(member);
    }
    if (snapshot.leaderId !== null && machine.membership.has(snapshot.leaderId)) machine.membership.leaderId = snapshot.leaderId;
    machine.currentState = hasMembers ? 'Stable' : 'Empty';
    // Kafka's onGroupLoaded: a group above a lowered max size rebalances so the extra members drop out.
    if (machine.membership.size > machine.settings.groupMaxSize) {
      const outputs: GroupOutput[] = [];
      machine.prepareRebalance(now, outputs);
      assert(outputs.length === 0, 'a restored group has nobody waiting');
    }
    return machine;
  }

  get state(): GroupStateName {
    return this.currentState;
  }
  get generationId(): number {
    return this.generation;
  }
  get protocolType(): string | null {
    return this.membership.protocolType;
  }
  get protocolName(): string | null {
    return this.groupProtocolName;
  }
  get leaderId(): string | null {
    return this.membership.leaderId;
  }
  get memberCount(): number {
    return this.membership.size;
  }
  hasMember(memberId: string): boolean {
    return this.membership.has(memberId);
  }

  // ---- JoinGroup -------------------------------------------------------------------------------

  /** Kafka's handleJoinGroup. The answer may come in the returned outputs or from a later call. */
  join(now: number, ticket: number, request: JoinRequest): GroupOutput[] {
    const outputs: GroupOutput[] = [];
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.settings;
    if (request.sessionTimeoutMs < min || request.sessionTimeoutMs > max) {
      outputs.push(joinError(ticket, request.memberId, KafkaError.INVALID_SESSION_TIMEOUT));
    } else if (!this.acceptsJoiningMember(request.memberId)) {
      // Kafka drops the member too: the last members to rejoin a full group are the ones left out.
      this.removeMember(request.memberId, outputs);
      outputs.push(joinError(ticket, '', KafkaError.GROUP_MAX_SIZE_REACHED));
    } else if (request.memberId === '') {
      this.joinNewMember(now, ticket, request, outputs);
    } else {
      this.joinCurrentMember(now, ticket, request, outputs);
    }
    this.maybeCompleteJoin(now, outputs);
    return outputs;
  }

  /** Kafka's acceptJoiningMember: counts awaiting members while rebalancing, members otherwise. */
  private acceptsJoiningMember(memberId: string): boolean {
    const state = this.currentState;
    switch (state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return this.membership.get(memberId)?.isAwaitingJoin === true || this.membership.awaitingJoinCount() < this.settings.groupMaxSize;
      case 'CompletingRebalance':
      case 'Stable':
        return this.membership.has(memberId) || this.membership.size < this.settings.groupMaxSize;
      default:
        return assertNever(state, 'group state');
    }
  }

  private joinNewMember(now: number, ticket: number, request: JoinRequest, outputs: GroupOutput[]): void {
    if (this.currentState === 'Dead') {
      outputs.push(joinError(ticket, '', KafkaError.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!this.membership.supportsProtocols(this.currentState === 'Empty', request.protocolType, request.protocols)) {
      outputs.push(joinError(ticket, '', KafkaError.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newMemberId = this.settings.newMemberId(request.clientId, request.groupInstanceId);
    assert(!this.membership.has(newMemberId) && !this.membership.pending.has(newMemberId), `member id ${newMemberId} generated twice`);
    if (request.groupInstanceId !== null) {
      const oldMemberId = this.membership.staticMemberId(request.groupInstanceId);
      if (oldMemberId !== undefined) this.replaceStaticMember(now, ticket, oldMemberId, newMemberId, request, outputs);
      else this.addMemberAndRebalance(now, ticket, newMemberId, request, outputs);
    } else if (request.requireKnownMemberId) {
      // The client must come back with this id: only then is it in the group (KIP-394).
      this.membership.pending.set(newMemberId, now + request.sessionTimeoutMs);
      outputs.push(joinError(ticket, newMemberId, KafkaError.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(now, ticket, newMemberId, request, outputs);
    }
  }

  private joinCurrentMember(now: number, ticket: number, request: JoinRequest, outputs: GroupOutput[]): void {
    const { memberId } = request;
    if (this.currentState === 'Dead') {
      outputs.push(joinError(ticket, memberId, KafkaError.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!this.membership.supportsProtocols(this.currentState === 'Empty', request.protocolType, request.protocols)) {
      outputs.push(joinError(ticket, memberId, KafkaError.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (this.membership.pending.has(memberId)) {
      // Pending ids are only handed to dynamic members; Kafka fails such a request with an exception.
      if (request.groupInstanceId !== null) outputs.push(joinError(ticket, memberId, KafkaError.UNKNOWN_SERVER_ERROR));
      else this.addMemberAndRebalance(now, ticket, memberId, request, outputs);
      return;
    }
    const memberError = this.membership.validateCurrentMember(memberId, request.groupInstanceId);
    if (memberError !== null) {
      outputs.push(joinError(ticket, memberId, memberError));
      return;
    }
    const member = this.membership.get(memberId) as GroupMember;
    const state = this.currentState;
    switch (state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(now, ticket, member, request, outputs);
        return;
      case 'CompletingRebalance':
        // Same metadata: the member probably missed the join answer; give it the current generation.
        if (member.matches(request.protocols)) this.answerJoinNow(now, ticket, member, this.membership.leaderId === memberId, outputs);
        else this.updateMemberAndRebalance(now, ticket, member, request, outputs);
        return;
      case 'Stable':
        // A leader's rejoin forces a rebalance: that is how it reacts to topic metadata changes.
        if (this.membership.leaderId === memberId || !member.matches(request.protocols)) {
          this.updateMemberAndRebalance(now, ticket, member, request, outputs);
        } else {
          this.answerJoinNow(now, ticket, member, false, outputs);
        }
        return;
      case 'Empty': // unreachable (no members): Kafka answers UNKNOWN_MEMBER_ID for any unexpected state
        outputs.push(joinError(ticket, memberId, KafkaError.UNKNOWN_MEMBER_ID));
        return;
      default:
        assertNever(state, 'group state');
    }
  }

  /** The current generation, at once, to a member whose rejoin changes nothing. */
  private answerJoinNow(now: number, ticket: number, member: GroupMember, withMembers: boolean, outputs: GroupOutput[]): void {
    member.sessionDeadline = now + member.sessionTimeoutMs;
    outputs.push(this.joinAnswer(ticket, member.memberId, withMembers ? this.membership.memberMetadata(this.groupProtocolName) : []));
  }

  private joinAnswer(ticket: number, memberId: string, members: JoinResultMember[], leader = this.membership.leaderId): GroupOutput {
    return {
      kind: 'join',
      ticket,
      result: {
        errorCode: KafkaError.NONE,
        generationId: this.generation,
        protocolType: this.membership.protocolType,
        protocolName: this.groupProtocolName,
        leader: leader ?? '',
        memberId,
        members,
      },
    };
  }

  private addMemberAndRebalance(now: number, ticket: number, memberId: string, request: JoinRequest, outputs: GroupOutput[]): void {
    const member = new GroupMember(memberId, request.groupInstanceId, request.clientId, request.clientHost,
      request.rebalanceTimeoutMs, request.sessionTimeoutMs, request.protocolType, request.protocols,
      now + this.settings.newMemberJoinTimeoutMs);
    member.isNew = true;
    if (this.currentState === 'PreparingRebalance' && this.generation === 0) this.newMemberAdded = true;
    this.membership.add(member);
    member.joinTicket = ticket;
    this.maybePrepareRebalance(now, outputs);
  }

  private updateMemberAndRebalance(now: number, ticket: number, member: GroupMember, request: JoinRequest, outputs: GroupOutput[]): void {
    this.updateMember(member, ticket, request, outputs);
    this.maybePrepareRebalance(now, outputs);
  }

  private updateMember(member: GroupMember, ticket: number, request: JoinRequest, outputs: GroupOutput[]): void {
    // Kafka silently replaces the callback; answering the superseded request keeps the wrapper from
    // holding it forever (its client has already given up on it and retried).
    if (member.joinTicket !== null) outputs.push(joinError(member.joinTicket, member.memberId, KafkaError.REBALANCE_IN_PROGRESS));
    member.protocols = request.protocols;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.joinTicket = ticket;
  }

  /**
   * Kafka's updateStaticMemberAndRebalance: a known group.instance.id came back with no member id
   * (a restarted static consumer). The new id takes over the old member; whoever still uses the
   * old id is fenced.
   */
  private replaceStaticMember(now: number, ticket: number, oldMemberId: string, newMemberId: string, request: JoinRequest, outputs: GroupOutput[]): void {
    const previousLeader = this.membership.leaderId;
    const member = this.membership.rename(oldMemberId, newMemberId);
    if (member.joinTicket !== null) outputs.push(joinError(member.joinTicket, oldMemberId, KafkaError.FENCED_INSTANCE_ID));
    if (member.syncTicket !== null) outputs.push(syncError(member.syncTicket, KafkaError.FENCED_INSTANCE_ID));
    member.joinTicket = null;
    member.syncTicket = null;
    if (this.syncBarrier?.pending.delete(oldMemberId)) this.syncBarrier.pending.add(newMemberId);
    this.updateMember(member, ticket, request, outputs);
    member.sessionDeadline = now + member.sessionTimeoutMs;

    const state = this.currentState;
    switch (state) {
      case 'Stable':
        if (this.membership.selectProtocol() === this.groupProtocolName) {
          // No rebalance: record the new member id and answer with the current generation. The old
          // leader id goes back so that a replaced leader does not run a pointless assignment (JoinGroup < v9).
          outputs.push({ kind: 'persist', snapshot: this.snapshot(now) });
          member.joinTicket = null;
          outputs.push(this.joinAnswer(ticket, newMemberId, [], previousLeader));
        } else {
          this.maybePrepareRebalance(now, outputs);
        }
        return;
      case 'CompletingRebalance':
        // The leader may be assigning to the old id: start over so the new id gets an assignment.
        this.prepareRebalance(now, outputs);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        assert(false, `static member rejoined group ${this.groupId} in state ${state}`);
        return;
      default:
        assertNever(state, 'group state');
    }
  }

  // ---- SyncGroup -------------------------------------------------------------------------------

  /** Kafka's handleSyncGroup / doSyncGroup. */
  sync(now: number, ticket: number, request: SyncRequest): GroupOutput[] {
    const error = this.validateSync(request);
    if (error !== null) return [syncError(ticket, error)];
    const outputs: GroupOutput[] = [];
    const member = this.membership.get(request.memberId) as GroupMember;
    const state = this.currentState;
    switch (state) {
      case 'Empty':
        return [syncError(ticket, KafkaError.UNKNOWN_MEMBER_ID)];
      case 'PreparingRebalance':
        return [syncError(ticket, KafkaError.REBALANCE_IN_PROGRESS)];
      case 'CompletingRebalance':
        if (member.syncTicket !== null) outputs.push(syncError(member.syncTicket, KafkaError.REBALANCE_IN_PROGRESS));
        member.syncTicket = ticket;
        this.removePendingSync(member.memberId);
        if (this.membership.leaderId === member.memberId) this.completeSync(now, request.assignments, outputs);
        return outputs;
      case 'Stable':
        this.removePendingSync(member.memberId);
        member.sessionDeadline = now + member.sessionTimeoutMs;
        return [{ kind: 'sync', ticket, result: syncResult(KafkaError.NONE, this.membership.protocolType, this.groupProtocolName, member.assignment) }];
      case 'Dead':
        return [syncError(ticket, KafkaError.COORDINATOR_NOT_AVAILABLE)];
      default:
        return assertNever(state, 'group state');
    }
  }

  private validateSync(request: SyncRequest): number | null {
    if (this.currentState === 'Dead') return KafkaError.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.membership.validateCurrentMember(request.memberId, request.groupInstanceId);
    if (memberError !== null) return memberError;
    if (request.generationId !== this.generation) return KafkaError.ILLEGAL_GENERATION;
    if (request.protocolType !== null && request.protocolType !== this.membership.protocolType) return KafkaError.INCONSISTENT_GROUP_PROTOCOL;
    if (request.protocolName !== null && request.protocolName !== this.groupProtocolName) return KafkaError.INCONSISTENT_GROUP_PROTOCOL;
    return null;
  }

  /**
   * The leader's assignment arrived: store it, make the group Stable and answer every waiting sync.
   * The persist output comes first so a wrapper that wants the record written before the answers
   * go out can hold them back; Kafka answers after the write, Samsa's machine does not wait for it.
   */
  private completeSync(now: number, assignments: SyncRequest['assignments'], outputs: GroupOutput[]): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const member of this.membership.members()) member.assignment = byMember.get(member.memberId) ?? Buffer.alloc(0);
    this.transitionTo('Stable', now);
    outputs.push({ kind: 'persist', snapshot: this.snapshot(now) });
    this.propagateAssignment(now, KafkaError.NONE, outputs);
  }

  private propagateAssignment(now: number, errorCode: number, outputs: GroupOutput[]): void {
    const ok = errorCode === KafkaError.NONE;
    for (const member of this.membership.members()) {
      if (member.syncTicket === null) continue;
      const result = syncResult(errorCode, ok ? this.membership.protocolType : null, ok ? this.groupProtocolName : null, member.assignment);
      outputs.push({ kind: 'sync', ticket: member.syncTicket, result });
      member.syncTicket = null;
      // The session was paused while the member waited; it starts again from the answer.
      member.sessionDeadline = now + member.sessionTimeoutMs;
    }
  }

  private removePendingSync(memberId: string): void {
    if (this.syncBarrier === null) return;
    this.syncBarrier.pending.delete(memberId);
    if (this.syncBarrier.pending.size === 0) this.syncBarrier = null;
  }

  // ---- Heartbeat, LeaveGroup, OffsetCommit -----------------------------------------------------

  /** Kafka's handleHeartbeat (3.x answers NONE in CompletingRebalance, REBALANCE_IN_PROGRESS in PreparingRebalance). */
  heartbeat(now: number, request: HeartbeatRequest): { errorCode: number; outputs: GroupOutput[] } {
    if (this.currentState === 'Dead') return { errorCode: KafkaError.COORDINATOR_NOT_AVAILABLE, outputs: [] };
    const memberError = this.membership.validateCurrentMember(request.memberId, request.groupInstanceId);
    if (memberError !== null) return { errorCode: memberError, outputs: [] };
    if (request.generationId !== this.generation) return { errorCode: KafkaError.ILLEGAL_GENERATION, outputs: [] };
    const member = this.membership.get(request.memberId) as GroupMember;
    const state = this.currentState;
    switch (state) {
      case 'Empty':
        return { errorCode: KafkaError.UNKNOWN_MEMBER_ID, outputs: [] };
      case 'CompletingRebalance':
      case 'Stable':
        member.sessionDeadline = now + member.sessionTimeoutMs;
        return { errorCode: KafkaError.NONE, outputs: [] };
      case 'PreparingRebalance':
        member.sessionDeadline = now + member.sessionTimeoutMs;
        return { errorCode: KafkaError.REBALANCE_IN_PROGRESS, outputs: [] };
      default:
        return assertNever(state, 'group state');
    }
  }

  /** LeaveGroup v0-2 (one member id) and v3+ (a list, by member id or, with member id '', by instance id). */
  leave(now: number, leaving: LeavingMember[]): { results: LeaveMemberResult[]; outputs: GroupOutput[] } {
    const outputs: GroupOutput[] = [];
    const results = leaving.map((one) => ({ ...one, errorCode: this.leaveOne(now, one, outputs) }));
    this.maybeCompleteJoin(now, outputs);
    return { results, outputs };
  }

  private leaveOne(now: number, { memberId, groupInstanceId }: LeavingMember, outputs: GroupOutput[]): number {
    if (this.currentState === 'Dead') return KafkaError.COORDINATOR_NOT_AVAILABLE;
    if (memberId === '') {
      // Administrative removal by group.instance.id (kafka-consumer-groups --remove-members).
      const current = groupInstanceId === null ? undefined : this.membership.staticMemberId(groupInstanceId);
      if (current === undefined) return KafkaError.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(now, current, outputs);
      return KafkaError.NONE;
    }
    if (this.membership.pending.delete(memberId)) return KafkaError.NONE;
    const memberError = this.membership.validateCurrentMember(memberId, groupInstanceId);
    if (memberError !== null) return memberError;
    this.removeMemberAndUpdateGroup(now, memberId, outputs);
    return KafkaError.NONE;
  }

  /**
   * May this member commit offsets for this generation? Kafka's validateOffsetCommit plus the
   * state check of doCommitOffsets; a commit counts as a heartbeat.
   */
  validateCommit(now: number, request: HeartbeatRequest): number {
    const { memberId, groupInstanceId, generationId } = request;
    if (this.currentState === 'Dead') return KafkaError.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.currentState === 'Empty') return KafkaError.NONE; // simple consumers, admin tools
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const memberError = this.membership.validateCurrentMember(memberId, groupInstanceId);
      if (memberError !== null) return memberError;
      if (generationId !== this.generation) return KafkaError.ILLEGAL_GENERATION;
    } else if (this.currentState !== 'Empty') {
      return KafkaError.UNKNOWN_MEMBER_ID; // only members commit to a group that has some
    }
    const state = this.currentState;
    switch (state) {
      case 'Empty':
        return KafkaError.NONE;
      case 'Stable':
      case 'PreparingRebalance': {
        // Commits are allowed while rebalancing: the heartbeat answer tells the consumer to rejoin.
        const member = this.membership.get(memberId) as GroupMember;
        member.sessionDeadline = now + member.sessionTimeoutMs;
        return KafkaError.NONE;
      }
      case 'CompletingRebalance':
        return KafkaError.REBALANCE_IN_PROGRESS; // the member has its generation but no assignment yet
      default:
        return assertNever(state, 'group state');
    }
  }

  // ---- Deadlines -------------------------------------------------------------------------------

  /** Timeouts: initial-delay/join barrier, rebalance timeout, member session expiry, pending member ids, sync barrier. */
  tick(now: number): GroupOutput[] {
    const outputs: GroupOutput[] = [];
    for (let step = 0; step < TICK_STEPS_MAX; step++) {
      const event = this.earliestEvent();
      if (event === null || event.at > now) break;
      this.handleDue(now, event, outputs);
    }
    return outputs;
  }

  /** The earliest `now` at which tick() would do something, or null. */
  nextDeadline(): number | null {
    return this.earliestEvent()?.at ?? null;
  }

  private earliestEvent(): DueEvent | null {
    let best: DueEvent | null = null;
    const consider = (event: DueEvent) => {
      if (best === null || event.at < best.at) best = event;
    };
    for (const [memberId, at] of this.membership.pending) consider({ kind: 'pending-member', at, memberId });
    for (const member of this.membership.members()) {
      if (!member.sessionPaused) consider({ kind: 'session', at: member.sessionDeadline, member });
    }
    if (this.syncBarrier !== null) consider({ kind: 'sync-barrier', at: this.syncBarrier.deadline });
    if (this.joinBarrier !== null) consider({ kind: 'join-barrier', at: this.joinBarrier.deadline });
    return best;
  }

  private handleDue(now: number, event: DueEvent, outputs: GroupOutput[]): void {
    switch (event.kind) {
      case 'pending-member':
        // The client never came back with the id it was given.
        this.membership.pending.delete(event.memberId);
        this.maybeCompleteJoin(now, outputs);
        return;
      case 'session':
        this.removeMemberAndUpdateGroup(now, event.member.memberId, outputs);
        return;
      case 'sync-barrier':
        this.expirePendingSync(now, outputs);
        return;
      case 'join-barrier':
        this.expireJoinBarrier(now, outputs);
        return;
      default:
        assertNever(event, 'due event');
    }
  }

  /** Kafka's onExpirePendingSync: members that got a generation but never sent SyncGroup are dropped. */
  private expirePendingSync(now: number, outputs: GroupOutput[]): void {
    const barrier = this.syncBarrier;
    assert(barrier !== null && (this.currentState === 'CompletingRebalance' || this.currentState === 'Stable'),
      `sync barrier in state ${this.currentState}`);
    this.syncBarrier = null;
    for (const memberId of barrier.pending) this.removeMember(memberId, outputs);
    this.prepareRebalance(now, outputs);
  }

  /** The join barrier's deadline: Kafka's InitialDelayedJoin.onComplete / DelayedJoin.onExpiration. */
  private expireJoinBarrier(now: number, outputs: GroupOutput[]): void {
    const barrier = this.joinBarrier;
    assert(barrier !== null && this.currentState === 'PreparingRebalance', `join barrier in state ${this.currentState}`);
    const initial = barrier.initial;
    if (initial !== null && this.newMemberAdded && initial.remainingMs !== 0) {
      // More members arrived during the initial delay: wait once more, within the rebalance timeout.
      this.newMemberAdded = false;
      const delayMs = Math.min(this.settings.groupInitialRebalanceDelayMs, initial.remainingMs);
      const remainingMs = Math.max(initial.remainingMs - initial.delayMs, 0);
      this.joinBarrier = { deadline: now + delayMs, initial: { delayMs, remainingMs } };
      return;
    }
    this.completeJoin(now, outputs);
  }

  // ---- Rebalance -------------------------------------------------------------------------------

  private maybePrepareRebalance(now: number, outputs: GroupOutput[]): void {
    const state = this.currentState;
    if (state === 'Stable' || state === 'CompletingRebalance' || state === 'Empty') this.prepareRebalance(now, outputs);
  }

  /** Kafka's prepareRebalance: cancel the sync barrier, open a join barrier. */
  private prepareRebalance(now: number, outputs: GroupOutput[]): void {
    if (this.currentState === 'CompletingRebalance') {
      // Members waiting for an assignment that will never come must rejoin.
      for (const member of this.membership.members()) member.assignment = Buffer.alloc(0);
      this.propagateAssignment(now, KafkaError.REBALANCE_IN_PROGRESS, outputs);
    }
    this.syncBarrier = null;
    const rebalanceTimeoutMs = this.membership.rebalanceTimeoutMs();
    if (this.currentState === 'Empty') {
      const delayMs = this.settings.groupInitialRebalanceDelayMs;
      this.joinBarrier = { deadline: now + delayMs, initial: { delayMs, remainingMs: Math.max(rebalanceTimeoutMs - delayMs, 0) } };
    } else {
      this.joinBarrier = { deadline: now + rebalanceTimeoutMs, initial: null };
    }
    this.transitionTo('PreparingRebalance', now);
    this.maybeCompleteJoin(now, outputs);
  }

  /** Kafka's DelayedJoin.tryComplete: everyone known has joined and no handed-out id is outstanding. */
  private maybeCompleteJoin(now: number, outputs: GroupOutput[]): void {
    if (this.currentState !== 'PreparingRebalance' || this.joinBarrier === null || this.joinBarrier.initial !== null) return;
    if (this.membership.allJoined()) this.completeJoin(now, outputs);
  }

  /** Kafka's onCompleteJoin: drop who did not rejoin, start the next generation, answer the joins. */
  private completeJoin(now: number, outputs: GroupOutput[]): void {
    this.joinBarrier = null;
    this.newMemberAdded = false;
    // Static members that did not rejoin stay (they may just be restarting); the sync barrier or
    // their session removes them if they do not come back.
    for (const member of [...this.membership.members()]) {
      if (!member.isAwaitingJoin && !member.isStatic) this.removeMember(member.memberId, outputs);
    }
    if (!this.membership.electJoinedLeader() && this.membership.size > 0) {
      // Only static members that have not rejoined are left: wait another rebalance timeout.
      this.joinBarrier = { deadline: now + this.membership.rebalanceTimeoutMs(), initial: null };
      return;
    }
    this.generation += 1;
    if (this.membership.size === 0) {
      this.groupProtocolName = null;
      this.transitionTo('Empty', now);
      outputs.push({ kind: 'persist', snapshot: this.snapshot(now) });
      return;
    }
    this.groupProtocolName = this.membership.selectProtocol();
    this.transitionTo('CompletingRebalance', now);
    const leaderView = this.membership.memberMetadata(this.groupProtocolName);
    for (const member of this.membership.members()) {
      if (member.joinTicket !== null) {
        outputs.push(this.joinAnswer(member.joinTicket, member.memberId, member.memberId === this.membership.leaderId ? leaderView : []));
        member.joinTicket = null;
      }
      member.sessionDeadline = now + member.sessionTimeoutMs;
      member.isNew = false;
    }
    this.syncBarrier = { pending: new Set(this.membership.memberIds()), deadline: now + this.membership.rebalanceTimeoutMs() };
  }

  // ---- Membership bookkeeping ------------------------------------------------------------------

  /**
   * Kafka's GroupMetadata.remove. A request still waiting for the removed member is answered
   * UNKNOWN_MEMBER_ID (Kafka leaves a waiting sync unanswered; the wrapper must not hold it forever).
   */
  private removeMember(memberId: string, outputs: GroupOutput[]): void {
    this.removePendingSync(memberId);
    const member = this.membership.remove(memberId);
    if (member === undefined) return;
    if (member.joinTicket !== null) outputs.push(joinError(member.joinTicket, '', KafkaError.UNKNOWN_MEMBER_ID));
    if (member.syncTicket !== null) outputs.push(syncError(member.syncTicket, KafkaError.UNKNOWN_MEMBER_ID));
    member.joinTicket = null;
    member.syncTicket = null;
  }

  /** Kafka's removeMemberAndUpdateGroup: a member left or its session expired. */
  private removeMemberAndUpdateGroup(now: number, memberId: string, outputs: GroupOutput[]): void {
    this.removeMember(memberId, outputs);
    const state = this.currentState;
    switch (state) {
      case 'Dead':
      case 'Empty':
        return;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(now, outputs);
        return;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(now, outputs);
        return;
      default:
        assertNever(state, 'group state');
    }
  }

  private transitionTo(state: GroupStateName, now: number): void {
    assertTransition(this.currentState, state);
    this.currentState = state;
    this.stateTimestamp = now;
  }

  // ---- Views -----------------------------------------------------------------------------------

  /** DescribeGroups: protocol and member metadata only when Stable, as Kafka's GroupMetadata.summary. */
  describe(): GroupDescription {
    const stable = this.currentState === 'Stable';
    return {
      groupId: this.groupId,
      state: this.currentState,
      protocolType: this.membership.protocolType ?? '',
      protocolName: stable ? (this.groupProtocolName ?? '') : '',
      members: [...this.membership.members()].map((m) => m.snapshot(this.groupProtocolName, stable)),
    };
  }

  /**
   * The group's metadata record. `currentStateTimestamp` is the time of the last state change, as
   * Kafka stores it; `now` is accepted for the contract and not needed.
   */
  snapshot(_now: number): GroupSnapshot {
    return {
      groupId: this.groupId,
      protocolType: this.membership.protocolType,
      generationId: this.generation,
      protocolName: this.groupProtocolName,
      leaderId: this.membership.leaderId,
      currentStateTimestamp: this.stateTimestamp,
      members: [...this.membership.members()].map((m) => m.snapshot(this.groupProtocolName)),
    };
  }

  /**
   * The partition moved away or the group is deleted: every waiting join/sync is answered with
   * `errorCode` (default NOT_COORDINATOR), deadlines are dropped and the state becomes Dead.
   */
  shutdown(errorCode: number = KafkaError.NOT_COORDINATOR): GroupOutput[] {
    if (this.currentState === 'Dead') return [];
    const outputs: GroupOutput[] = [];
    for (const member of this.membership.members()) {
      if (member.joinTicket !== null) outputs.push(joinError(member.joinTicket, member.memberId, errorCode));
      if (member.syncTicket !== null) outputs.push(syncError(member.syncTicket, errorCode));
      member.joinTicket = null;
      member.syncTicket = null;
    }
    this.membership.clear();
    this.joinBarrier = null;
    this.syncBarrier = null;
    this.transitionTo('Dead', this.stateTimestamp);
    return outputs;
  }
}
