/**
 * The consumer-group state machine's inputs and outputs (the contract the coordinator wrapper is
 * written against: /work/notes/group-machine-spec-8.md). Re-exported by group-machine.ts.
 */
import { randomUUID } from 'node:crypto';

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupSettings {
  /** Kafka default 6000. */
  groupMinSessionTimeoutMs: number;
  /** Kafka default 1800000. */
  groupMaxSessionTimeoutMs: number;
  /** Kafka default 3000: the first join of an Empty group waits this (Kafka's InitialDelayedJoin). */
  groupInitialRebalanceDelayMs: number;
  /** Kafka default 2^31-1 → GROUP_MAX_SIZE_REACHED. */
  groupMaxSize: number;
  /**
   * How long a brand-new member may wait in a join barrier before it is dropped (Kafka's
   * NewMemberJoinTimeoutMs, 5 minutes): its socket is muted while it waits, so a client that gave
   * up and retried would otherwise leave a defunct member behind. Optional; default 300000.
   */
  newMemberJoinTimeoutMs?: number;
  /** Member id generator (randomness is injected so tests are deterministic). Default: defaultMemberId. */
  newMemberId?: (clientId: string, groupInstanceId: string | null) => string;
}

export const GROUP_DEFAULTS = Object.freeze({
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3_000,
  groupMaxSize: 2 ** 31 - 1,
  newMemberJoinTimeoutMs: 300_000,
});

/** Kafka's GroupMetadata.generateMemberId: a static member's id starts with its instance id. */
export function defaultMemberId(clientId: string, groupInstanceId: string | null): string {
  return `${groupInstanceId ?? clientId}-${randomUUID()}`;
}

export interface JoinRequest {
  /** '' = new member. */
  memberId: string;
  /** Static membership (JoinGroup v5+). */
  groupInstanceId: string | null;
  clientId: string;
  /** '/127.0.0.1' style, as Kafka shows it. */
  clientHost: string;
  sessionTimeoutMs: number;
  /** v0 has none: the wrapper passes sessionTimeoutMs. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
  /** JoinGroup v4+: a new member gets MEMBER_ID_REQUIRED (79) with a fresh id first. */
  requireKnownMemberId: boolean;
}

export interface JoinResultMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  /** -1 on error. */
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  /** '' on error. */
  leader: string;
  /** The (new) member id, also on MEMBER_ID_REQUIRED. */
  memberId: string;
  /** Only for the leader. */
  members: JoinResultMember[];
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** v5+ only; null = not checked. */
  protocolType: string | null;
  protocolName: string | null;
  /** Leader only. */
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveMemberResult {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

/** What the machine asks the wrapper to do. `ticket` is the caller's handle for a waiting request. */
export type GroupOutput =
  | { kind: 'join'; ticket: number; result: JoinResult }
  | { kind: 'sync'; ticket: number; result: SyncResult }
  /** Write the group's metadata record (the wrapper appends it to __consumer_offsets). Emitted when a
      generation's assignment is complete (the leader's SyncGroup arrived), when a static member is
      replaced in a Stable group, and when the group becomes Empty. */
  | { kind: 'persist'; snapshot: GroupSnapshot };

export interface MemberSnapshot {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Metadata of the selected protocol. */
  subscription: Buffer;
  /** Empty until synced. */
  assignment: Buffer;
}

/** What is persisted and restored (Kafka's GroupMetadataValue v3 in substance). */
export interface GroupSnapshot {
  groupId: string;
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  currentStateTimestamp: number;
  members: MemberSnapshot[];
}

export interface GroupDescription {
  groupId: string;
  state: GroupStateName;
  protocolType: string;
  /** '' unless Stable (Kafka's GroupMetadata.summary). */
  protocolName: string;
  /** Subscription/assignment are filled only when Stable, as Kafka's DescribeGroups does. */
  members: MemberSnapshot[];
}
