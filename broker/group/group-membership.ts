/**
 * Who is in a consumer group (Kafka's GroupMetadata membership half): members by id, static
 * members by group.instance.id, ids handed out with MEMBER_ID_REQUIRED, the leader and the
 * protocol questions asked of all members together. No state transitions and no answers here:
 * group-machine.ts decides; this table only keeps itself consistent.
 */
import { assert } from '../../shared/assert';
import { KafkaError } from '../../shared/kafka/errors';
import type { JoinResultMember } from './group-machine-types';
import type { GroupMember, Protocol } from './group-member';

export class GroupMembership {
  /** Set by the first member; kept while the group is Empty (Kafka persists it). */
  protocolType: string | null = null;
  leaderId: string | null = null;
  /** Insertion-ordered, so leader fallback and vote ties are deterministic (Kafka's HashMap is not). */
  private readonly byId = new Map<string, GroupMember>();
  /** group.instance.id → member id. */
  private readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED → when they are forgotten. */
  readonly pending = new Map<string, number>();

  get size(): number {
    return this.byId.size;
  }

  members(): IterableIterator<GroupMember> {
    return this.byId.values();
  }

  memberIds(): IterableIterator<string> {
    return this.byId.keys();
  }

  get(memberId: string): GroupMember | undefined {
    return this.byId.get(memberId);
  }

  has(memberId: string): boolean {
    return this.byId.has(memberId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  add(member: GroupMember): void {
    assert(!this.byId.has(member.memberId), `member ${member.memberId} is already in the group`);
    if (member.groupInstanceId !== null) {
      assert(!this.staticMembers.has(member.groupInstanceId), `instance ${member.groupInstanceId} is already a member`);
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.byId.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, 'member protocol type differs from the group');
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.byId.set(member.memberId, member);
    this.pending.delete(member.memberId);
  }

  /** Removes a member or a pending id; returns the member removed, if it was one. */
  remove(memberId: string): GroupMember | undefined {
    this.pending.delete(memberId);
    const member = this.byId.get(memberId);
    if (member === undefined) return undefined;
    this.byId.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.byId.keys().next().value ?? null;
    return member;
  }

  /** A static member continues under a new member id (Kafka's replaceStaticMember). */
  rename(oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.byId.get(oldMemberId);
    assert(member !== undefined && member.groupInstanceId !== null, `static member ${oldMemberId} is not in the group`);
    assert(!this.byId.has(newMemberId), `member ${newMemberId} is already in the group`);
    this.byId.delete(oldMemberId);
    member.memberId = newMemberId;
    this.byId.set(newMemberId, member);
    this.staticMembers.set(member.groupInstanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    return member;
  }

  clear(): void {
    this.byId.clear();
    this.staticMembers.clear();
    this.pending.clear();
    this.leaderId = null;
  }

  /** Kafka's validateCurrentMember: the instance id, if given, must map to this member id. */
  validateCurrentMember(memberId: string, groupInstanceId: string | null): number | null {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return KafkaError.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return KafkaError.FENCED_INSTANCE_ID;
    }
    return this.byId.has(memberId) ? null : KafkaError.UNKNOWN_MEMBER_ID;
  }

  /** Kafka's supportsProtocols: an Empty group takes any type; otherwise same type and one protocol all members have. */
  supportsProtocols(groupIsEmpty: boolean, protocolType: string, protocols: readonly Protocol[]): boolean {
    if (groupIsEmpty) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    if (this.byId.size === 0) return protocols.length > 0;
    const common = this.commonProtocols();
    return protocols.some((p) => common.has(p.name));
  }

  /**
   * Kafka's selectProtocol: among the protocols every member supports, each member votes for its
   * first preference; most votes wins (ties: the protocol voted first, in member order).
   */
  selectProtocol(): string {
    assert(this.byId.size > 0, 'cannot select a protocol for an empty group');
    const candidates = this.commonProtocols();
    const votes = new Map<string, number>();
    for (const member of this.byId.values()) {
      const vote = member.vote(candidates);
      assert(vote !== undefined, `member ${member.memberId} supports none of the group's protocols`);
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best: [string, number] = ['', -1];
    for (const entry of votes) if (entry[1] > best[1]) best = entry;
    return best[0];
  }

  private commonProtocols(): Set<string> {
    const [first, ...rest] = [...this.byId.values()];
    if (first === undefined) return new Set();
    return new Set(first.protocols.map((p) => p.name).filter((name) => rest.every((m) => m.supports(name))));
  }

  /** What the leader gets in its JoinGroup answer: every member with its metadata for the chosen protocol. */
  memberMetadata(protocolName: string | null): JoinResultMember[] {
    return [...this.byId.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(protocolName) }));
  }

  /** Kafka's hasAllMembersJoined: every member is in the join barrier and no handed-out id is outstanding. */
  allJoined(): boolean {
    if (this.pending.size > 0) return false;
    for (const member of this.byId.values()) if (!member.isAwaitingJoin) return false;
    return true;
  }

  awaitingJoinCount(): number {
    let count = 0;
    for (const member of this.byId.values()) if (member.isAwaitingJoin) count++;
    return count;
  }

  /** The largest rebalance timeout among members (Kafka's GroupMetadata.rebalanceTimeoutMs). */
  rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.byId.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  /** Kafka's maybeElectNewJoinedLeader: keep the leader if it rejoined, else any member that did. */
  electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.byId.get(this.leaderId)?.isAwaitingJoin) return true;
    for (const member of this.byId.values()) {
      if (member.isAwaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }
}
