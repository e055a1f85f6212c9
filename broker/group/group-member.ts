/**
 * One member of a consumer group, as the group state machine keeps it (Kafka's MemberMetadata).
 * Plain data plus the few questions the machine asks about it; the machine owns every change.
 */
import type { MemberSnapshot } from './group-machine-types';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class GroupMember {
  /** The JoinGroup request waiting in the join barrier (Kafka's awaitingJoinCallback). */
  joinTicket: number | null = null;
  /** The SyncGroup request waiting for the leader's assignment (Kafka's awaitingSyncCallback). */
  syncTicket: number | null = null;
  /** Joined but not yet through a completed join barrier: its wait is bounded by newMemberJoinTimeoutMs. */
  isNew = false;
  /** When the member's session ends unless something from it arrives first. */
  sessionDeadline: number;
  assignment: Buffer = EMPTY;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: Protocol[],
    sessionDeadline: number,
  ) {
    this.sessionDeadline = sessionDeadline;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.joinTicket !== null;
  }

  get isAwaitingSync(): boolean {
    return this.syncTicket !== null;
  }

  /**
   * Kafka's hasSatisfiedHeartbeat: a member parked in a join or sync barrier cannot heartbeat (its
   * client is blocked on the answer), so its session does not run out there; a new member's wait
   * is bounded separately (its deadline is set to newMemberJoinTimeoutMs on arrival).
   */
  get sessionPaused(): boolean {
    return !this.isNew && (this.isAwaitingJoin || this.isAwaitingSync);
  }

  supports(protocolName: string): boolean {
    return this.protocols.some((p) => p.name === protocolName);
  }

  /** Metadata for the given protocol, or an empty buffer if the member does not offer it. */
  metadata(protocolName: string | null): Buffer {
    if (protocolName === null) return EMPTY;
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY;
  }

  /** Same protocols, same order, same bytes (Kafka's MemberMetadata.matches). */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata));
  }

  /** The member's first preference among the candidates (Kafka's MemberMetadata.vote). */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  snapshot(protocolName: string | null, withMetadata = true): MemberSnapshot {
    return {
      memberId: this.memberId,
      groupInstanceId: this.groupInstanceId,
      clientId: this.clientId,
      clientHost: this.clientHost,
      rebalanceTimeoutMs: this.rebalanceTimeoutMs,
      sessionTimeoutMs: this.sessionTimeoutMs,
      subscription: withMetadata ? this.metadata(protocolName) : EMPTY,
      assignment: withMetadata ? this.assignment : EMPTY,
    };
  }
}
