/**
 * The pure consumer-group state machine against Kafka 3.x GroupCoordinator behaviour, driven by a
 * fake clock (plain numbers). Each test states the Kafka rule it checks.
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import {
  GroupMachine,
  type GroupOutput,
  type GroupSettings,
  type GroupSnapshot,
  type JoinRequest,
  type JoinResult,
  type SyncRequest,
  type SyncResult,
} from '../../../broker/group/group-machine';
import { KafkaError } from '../../../shared/kafka/errors';

const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;
const DELAY_MS = 3_000;

function settings(overrides: Partial<GroupSettings> = {}): GroupSettings {
  let next = 0;
  return {
    groupMinSessionTimeoutMs: 6_000,
    groupMaxSessionTimeoutMs: 1_800_000,
    groupInitialRebalanceDelayMs: DELAY_MS,
    groupMaxSize: 100,
    newMemberId: (clientId, instanceId) => `${instanceId ?? clientId}-${++next}`,
    ...overrides,
  };
}

const RANGE = { name: 'range', metadata: Buffer.from('range-meta') };
const ROUND_ROBIN = { name: 'roundrobin', metadata: Buffer.from('rr-meta') };

function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [RANGE],
    requireKnownMemberId: false,
    ...overrides,
  };
}

/** Drives a machine, records every answer by ticket and checks that no ticket is answered twice. */
class Harness {
  machine: GroupMachine;
  private nextTicket = 1;
  readonly answers = new Map<number, JoinResult | SyncResult>();
  readonly persisted: GroupSnapshot[] = [];
  readonly issued = new Set<number>();

  constructor(overrides: Partial<GroupSettings> = {}, machine?: GroupMachine) {
    this.machine = machine ?? new GroupMachine('g', settings(overrides), 0);
  }

  apply(outputs: GroupOutput[]): GroupOutput[] {
    for (const output of outputs) {
      if (output.kind === 'persist') {
        this.persisted.push(output.snapshot);
        continue;
      }
      expect(this.issued.has(output.ticket)).toBe(true);
      expect(this.answers.has(output.ticket)).toBe(false);
      this.answers.set(output.ticket, output.result);
    }
    this.checkInvariants();
    return outputs;
  }

  join(now: number, overrides: Partial<JoinRequest> = {}): number {
    const ticket = this.nextTicket++;
    this.issued.add(ticket);
    this.apply(this.machine.join(now, ticket, joinRequest(overrides)));
    return ticket;
  }

  sync(now: number, request: Partial<SyncRequest> & { memberId: string }): number {
    const ticket = this.nextTicket++;
    this.issued.add(ticket);
    this.apply(this.machine.sync(now, ticket, {
      groupInstanceId: null,
      generationId: this.machine.generationId,
      protocolType: null,
      protocolName: null,
      assignments: [],
      ...request,
    }));
    return ticket;
  }

  heartbeat(now: number, memberId: string, generationId = this.machine.generationId, groupInstanceId: string | null = null): number {
    const { errorCode, outputs } = this.machine.heartbeat(now, { memberId, groupInstanceId, generationId });
    this.apply(outputs);
    return errorCode;
  }

  leave(now: number, members: Array<{ memberId: string; groupInstanceId?: string | null }>): number[] {
    const { results, outputs } = this.machine.leave(now, members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })));
    this.apply(outputs);
    expect(results.map((r) => r.memberId)).toEqual(members.map((m) => m.memberId));
    return results.map((r) => r.errorCode);
  }

  tick(now: number): GroupOutput[] {
    return this.apply(this.machine.tick(now));
  }

  joinAnswer(ticket: number): JoinResult | undefined {
    return this.answers.get(ticket) as JoinResult | undefined;
  }

  syncAnswer(ticket: number): SyncResult | undefined {
    return this.answers.get(ticket) as SyncResult | undefined;
  }

  /** Runs the clock from deadline to deadline until `done` holds (bounded). Returns the time reached. */
  runUntil(done: () => boolean): void {
    for (let step = 0; step < 1_000 && !done(); step++) {
      const deadline = this.machine.nextDeadline();
      if (deadline === null) throw new Error('the machine has no deadline left and the condition does not hold');
      this.tick(deadline);
    }
    expect(done()).toBe(true);
  }

  checkInvariants(): void {
    const m = this.machine;
    const description = m.describe();
    expect(description.members.length).toBe(m.memberCount);
    if (m.leaderId !== null) expect(m.hasMember(m.leaderId)).toBe(true);
    if (m.memberCount > 0 && m.state !== 'Dead') expect(m.leaderId).not.toBeNull();
    if (m.state === 'Empty' || m.state === 'Dead') expect(m.memberCount).toBe(0);
    if (m.state === 'Stable' || m.state === 'CompletingRebalance') expect(m.protocolName).not.toBeNull();
  }
}

/** Members `clients` join an Empty group at `at`; the initial delay passes; all sync. Returns member ids, leader first. */
function stableGroup(h: Harness, clients: string[], at = 0, overrides: Partial<JoinRequest> = {}): { ids: string[]; now: number } {
  const tickets = clients.map((clientId) => h.join(at, { clientId, ...overrides }));
  let now = at;
  while (h.machine.state === 'PreparingRebalance') {
    now = h.machine.nextDeadline() as number;
    h.tick(now);
  }
  expect(h.machine.state).toBe('CompletingRebalance');
  const results = tickets.map((t) => h.joinAnswer(t) as JoinResult);
  const leader = results[0].leader;
  const ids = results.map((r) => r.memberId);
  const leaderTicket = h.sync(now, { memberId: leader, assignments: ids.map((id) => ({ memberId: id, assignment: Buffer.from(`assign-${id}`) })) });
  for (const id of ids) if (id !== leader) h.sync(now, { memberId: id });
  expect(h.syncAnswer(leaderTicket)?.errorCode).toBe(KafkaError.NONE);
  expect(h.machine.state).toBe('Stable');
  return { ids: [leader, ...ids.filter((id) => id !== leader)], now };
}

describe('join: error checks in Kafka order', () => {
  test('session timeout outside [min, max] → INVALID_SESSION_TIMEOUT; the edges are valid', () => {
    const h = new Harness();
    expect(h.joinAnswer(h.join(0, { sessionTimeoutMs: 5_999 }))?.errorCode).toBe(KafkaError.INVALID_SESSION_TIMEOUT);
    expect(h.joinAnswer(h.join(0, { sessionTimeoutMs: 1_800_001 }))?.errorCode).toBe(KafkaError.INVALID_SESSION_TIMEOUT);
    expect(h.machine.state).toBe('Empty');
    const atMin = h.join(0, { sessionTimeoutMs: 6_000 });
    const atMax = h.join(0, { sessionTimeoutMs: 1_800_000 });
    expect(h.joinAnswer(atMin)).toBeUndefined();
    expect(h.joinAnswer(atMax)).toBeUndefined();
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('an invalid session timeout is reported even for an unknown member of a dead group (checked first)', () => {
    const h = new Harness();
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    const result = h.joinAnswer(h.join(0, { memberId: 'ghost', sessionTimeoutMs: 1 }));
    expect(result).toMatchObject({ errorCode: KafkaError.INVALID_SESSION_TIMEOUT, memberId: 'ghost', generationId: -1, leader: '' });
  });

  test('Empty group: protocol type and protocols must be non-empty → INCONSISTENT_GROUP_PROTOCOL', () => {
    const h = new Harness();
    expect(h.joinAnswer(h.join(0, { protocolType: '' }))?.errorCode).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    expect(h.joinAnswer(h.join(0, { protocols: [] }))?.errorCode).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    expect(h.machine.state).toBe('Empty');
  });

  test('non-Empty group: another protocol type, or no protocol shared with every member → INCONSISTENT_GROUP_PROTOCOL', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.joinAnswer(h.join(now, { protocolType: 'connect' }))).toMatchObject({ errorCode: KafkaError.INCONSISTENT_GROUP_PROTOCOL, memberId: '' });
    expect(h.joinAnswer(h.join(now, { protocols: [ROUND_ROBIN] }))?.errorCode).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    // A known member switching to a protocol nobody else has is refused as well, with its id echoed.
    expect(h.joinAnswer(h.join(now, { memberId: ids[1], protocols: [ROUND_ROBIN] }))).toMatchObject({
      errorCode: KafkaError.INCONSISTENT_GROUP_PROTOCOL, memberId: ids[1],
    });
    expect(h.machine.state).toBe('Stable');
    // One shared protocol is enough (it is added as a preference).
    expect(h.joinAnswer(h.join(now, { protocols: [ROUND_ROBIN, RANGE] }))).toBeUndefined();
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('unknown non-empty member id → UNKNOWN_MEMBER_ID, in an Empty and in a Stable group', () => {
    const h = new Harness();
    expect(h.joinAnswer(h.join(0, { memberId: 'nobody' }))).toMatchObject({ errorCode: KafkaError.UNKNOWN_MEMBER_ID, memberId: 'nobody' });
    const { now } = stableGroup(h, ['a']);
    expect(h.joinAnswer(h.join(now, { memberId: 'nobody' }))?.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect(h.machine.state).toBe('Stable');
  });

  test('group full → GROUP_MAX_SIZE_REACHED for a new member; an existing member is still accepted', () => {
    const h = new Harness({ groupMaxSize: 2 });
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.joinAnswer(h.join(now, { clientId: 'c' }))).toMatchObject({ errorCode: KafkaError.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(h.machine.memberCount).toBe(2);
    const rejoin = h.join(now, { memberId: ids[0] });
    expect(h.joinAnswer(rejoin)).toBeUndefined();
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('PreparingRebalance counts members that rejoined: the last to rejoin a full group is dropped (Kafka)', () => {
    const h = new Harness({ groupMaxSize: 2 });
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const leaderRejoin = h.join(now, { memberId: ids[0] }); // rebalance; 1 awaiting
    const newcomer = h.join(now, { clientId: 'c' }); // 1 < 2 awaiting: accepted
    const late = h.join(now, { memberId: ids[1] }); // 2 awaiting: refused and dropped
    expect(h.joinAnswer(late)).toMatchObject({ errorCode: KafkaError.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(h.machine.hasMember(ids[1])).toBe(false);
    // Everyone left has joined: the barrier completes at once.
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.joinAnswer(leaderRejoin)?.members.map((m) => m.memberId)).toEqual([ids[0], h.joinAnswer(newcomer)?.memberId]);
  });

  test('Dead group → COORDINATOR_NOT_AVAILABLE for new and known members', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(h.joinAnswer(h.join(now))).toMatchObject({ errorCode: KafkaError.COORDINATOR_NOT_AVAILABLE, memberId: '' });
    expect(h.joinAnswer(h.join(now, { memberId: ids[0] }))?.errorCode).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('join barrier', () => {
  test('first join of an Empty group waits the initial delay, then completes generation 1', () => {
    const h = new Harness();
    const ticket = h.join(100, { clientId: 'a' });
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.joinAnswer(ticket)).toBeUndefined();
    expect(h.machine.nextDeadline()).toBe(100 + DELAY_MS);
    expect(h.tick(100 + DELAY_MS - 1)).toEqual([]);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(100 + DELAY_MS);
    const result = h.joinAnswer(ticket) as JoinResult;
    expect(result).toEqual({
      errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: 'a-1', memberId: 'a-1',
      members: [{ memberId: 'a-1', groupInstanceId: null, metadata: RANGE.metadata }],
    });
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.machine.generationId).toBe(1);
  });

  test('the initial delay does not end early even when every member has joined (InitialDelayedJoin)', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    const { outputs } = h.machine.heartbeat(1, { memberId: 'a-1', groupInstanceId: null, generationId: 0 });
    expect(outputs).toEqual([]);
    expect(h.joinAnswer(a)).toBeUndefined();
    h.tick(DELAY_MS - 1);
    expect(h.joinAnswer(a)).toBeUndefined();
  });

  test('each join during the initial delay of generation 0 extends it by the delay, capped by the rebalance timeout', () => {
    const h = new Harness();
    const rebalanceTimeoutMs = 10_000;
    const tickets = [h.join(0, { clientId: 'a', rebalanceTimeoutMs })];
    // remaining = 10000 - 3000 = 7000
    tickets.push(h.join(1_000, { clientId: 'b', rebalanceTimeoutMs }));
    h.tick(3_000);
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.machine.nextDeadline()).toBe(6_000); // remaining 4000
    tickets.push(h.join(5_000, { clientId: 'c', rebalanceTimeoutMs }));
    h.tick(6_000);
    expect(h.machine.nextDeadline()).toBe(9_000); // remaining 1000
    tickets.push(h.join(8_000, { clientId: 'd', rebalanceTimeoutMs }));
    h.tick(9_000);
    expect(h.machine.nextDeadline()).toBe(10_000); // min(3000, 1000); remaining 0
    tickets.push(h.join(9_500, { clientId: 'e', rebalanceTimeoutMs }));
    h.tick(9_999);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(10_000); // the rebalance timeout caps it although 'e' just joined
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(tickets.map((t) => h.joinAnswer(t)?.generationId)).toEqual([1, 1, 1, 1, 1]);
  });

  test('no join during the delay: completes after exactly one delay', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    h.tick(DELAY_MS);
    expect(h.joinAnswer(a)?.errorCode).toBe(0);
  });

  test('a non-initial rebalance completes as soon as every known member has rejoined', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const leaderRejoin = h.join(now + 1, { memberId: ids[0] });
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.heartbeat(now + 2, ids[1])).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    const followerRejoin = h.join(now + 3, { memberId: ids[1] });
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.joinAnswer(leaderRejoin)).toMatchObject({ generationId: 2, leader: ids[0], memberId: ids[0] });
    expect(h.joinAnswer(leaderRejoin)?.members).toHaveLength(2);
    expect(h.joinAnswer(followerRejoin)).toMatchObject({ generationId: 2, leader: ids[0], memberId: ids[1], members: [] });
  });

  test('the rebalance timeout (largest among members) removes members that did not rejoin', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b', 'c'], 0, { rebalanceTimeoutMs: 20_000 });
    const t0 = now + 10;
    const aRejoin = h.join(t0, { memberId: ids[0], rebalanceTimeoutMs: 40_000 });
    const bRejoin = h.join(t0, { memberId: ids[1], rebalanceTimeoutMs: 20_000 });
    // 'c' keeps its session alive with heartbeats but never rejoins.
    for (let t = t0; t < t0 + 40_000; t += 5_000) expect(h.heartbeat(t, ids[2])).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    h.tick(t0 + 39_999);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(t0 + 40_000);
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.machine.hasMember(ids[2])).toBe(false);
    expect(h.joinAnswer(aRejoin)?.members.map((m) => m.memberId)).toEqual([ids[0], ids[1]]);
    expect(h.joinAnswer(bRejoin)?.generationId).toBe(2);
    expect(h.heartbeat(t0 + 40_001, ids[2], 1)).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  test('the leader not rejoining is replaced by a member that did', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const bRejoin = h.join(now, { memberId: ids[1], protocols: [RANGE, ROUND_ROBIN] }); // changed metadata → rebalance
    expect(h.machine.state).toBe('PreparingRebalance');
    for (let t = now + 5_000; t < now + REBALANCE_MS; t += 5_000) expect(h.heartbeat(t, ids[0])).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    h.tick(now + REBALANCE_MS - 1);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(now + REBALANCE_MS);
    expect(h.joinAnswer(bRejoin)).toMatchObject({ generationId: 2, leader: ids[1], memberId: ids[1] });
    expect(h.machine.leaderId).toBe(ids[1]);
    expect(h.machine.hasMember(ids[0])).toBe(false);
  });

  test('a new member awaiting join is dropped after newMemberJoinTimeoutMs, answered UNKNOWN_MEMBER_ID', () => {
    const h = new Harness({ newMemberJoinTimeoutMs: 8_000 });
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const c = h.join(now, { clientId: 'c' });
    h.join(now, { memberId: ids[1] });
    h.heartbeat(now + 4_000, ids[0]);
    h.tick(now + 7_999);
    expect(h.joinAnswer(c)).toBeUndefined();
    h.tick(now + 8_000);
    expect(h.joinAnswer(c)).toMatchObject({ errorCode: KafkaError.UNKNOWN_MEMBER_ID, memberId: '' });
    expect(h.machine.memberCount).toBe(2);
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('a member parked in the join barrier does not time out on its session', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const aRejoin = h.join(now + 1, { memberId: ids[0] });
    // 'b' heartbeats, 'a' is silent (blocked on its JoinGroup) past its session timeout.
    for (let t = now + 5_000; t <= now + 25_000; t += 5_000) h.heartbeat(t, ids[1]);
    h.tick(now + 25_000);
    expect(h.machine.hasMember(ids[0])).toBe(true);
    expect(h.joinAnswer(aRejoin)).toBeUndefined();
  });

  test('a group whose members all left during the initial delay becomes Empty with the next generation', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    expect(h.leave(10, [{ memberId: 'a-1' }])).toEqual([0]);
    expect(h.machine.state).toBe('PreparingRebalance'); // InitialDelayedJoin only ends on its timer
    h.tick(DELAY_MS);
    expect(h.machine.state).toBe('Empty');
    expect(h.machine.generationId).toBe(1);
    expect(h.persisted.at(-1)).toMatchObject({ generationId: 1, members: [], protocolName: null });
  });
});

describe('protocol selection', () => {
  test('each member votes for its first protocol all members support; the most votes wins', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a', protocols: [ROUND_ROBIN, RANGE] });
    h.join(0, { clientId: 'b', protocols: [ROUND_ROBIN, RANGE] });
    h.join(0, { clientId: 'c', protocols: [RANGE, ROUND_ROBIN] });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.machine.protocolName).toBe('roundrobin');
    // The leader sees every member's metadata for the chosen protocol.
    expect(h.joinAnswer(a)?.members.map((m) => m.metadata.toString())).toEqual(['rr-meta', 'rr-meta', 'rr-meta']);
  });

  test('a protocol not supported by everyone cannot win, however many votes it would get', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a', protocols: [ROUND_ROBIN, RANGE] });
    h.join(0, { clientId: 'b', protocols: [ROUND_ROBIN, RANGE] });
    h.join(0, { clientId: 'c', protocols: [RANGE] });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.machine.protocolName).toBe('range');
  });
});

describe('MEMBER_ID_REQUIRED (JoinGroup v4+)', () => {
  test('a new member gets a fresh id and must rejoin with it; only then is it a member', () => {
    const h = new Harness();
    const first = h.join(0, { clientId: 'a', requireKnownMemberId: true });
    expect(h.joinAnswer(first)).toMatchObject({ errorCode: KafkaError.MEMBER_ID_REQUIRED, memberId: 'a-1', generationId: -1 });
    expect(h.machine.hasMember('a-1')).toBe(false);
    expect(h.machine.state).toBe('Empty');
    expect(h.machine.nextDeadline()).toBe(SESSION_MS);
    const second = h.join(100, { clientId: 'a', memberId: 'a-1', requireKnownMemberId: true });
    expect(h.machine.hasMember('a-1')).toBe(true);
    h.tick(100 + DELAY_MS);
    expect(h.joinAnswer(second)).toMatchObject({ errorCode: 0, memberId: 'a-1', leader: 'a-1', generationId: 1 });
  });

  test('a pending id not used within the session timeout is forgotten', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a', requireKnownMemberId: true });
    h.tick(SESSION_MS - 1);
    expect(h.machine.nextDeadline()).toBe(SESSION_MS);
    h.tick(SESSION_MS);
    expect(h.machine.nextDeadline()).toBeNull();
    expect(h.joinAnswer(h.join(SESSION_MS + 1, { memberId: 'a-1' }))?.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  test('an outstanding pending id holds the join barrier until it rejoins', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    const pending = h.join(now, { clientId: 'b', requireKnownMemberId: true });
    const bId = h.joinAnswer(pending)?.memberId as string;
    const aRejoin = h.join(now + 1, { memberId: ids[0] });
    expect(h.machine.state).toBe('PreparingRebalance'); // a rejoined, but b's id is outstanding
    const bJoin = h.join(now + 2, { memberId: bId, clientId: 'b' });
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.joinAnswer(aRejoin)?.members.map((m) => m.memberId)).toEqual([ids[0], bId]);
    expect(h.joinAnswer(bJoin)?.generationId).toBe(2);
  });

  test('expiry of an outstanding pending id completes the join barrier', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    h.join(now, { clientId: 'b', requireKnownMemberId: true });
    const aRejoin = h.join(now + 1, { memberId: ids[0] });
    h.tick(now + SESSION_MS - 1);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(now + SESSION_MS);
    expect(h.joinAnswer(aRejoin)?.generationId).toBe(2);
    expect(h.machine.memberCount).toBe(1);
  });

  test('a pending member may leave', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a', requireKnownMemberId: true });
    expect(h.leave(1, [{ memberId: 'a-1' }])).toEqual([0]);
    expect(h.machine.nextDeadline()).toBeNull();
  });
});

describe('sync', () => {
  test('followers wait for the leader; the leader\'s assignment answers everyone, makes the group Stable and persists', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const now = DELAY_MS * 2;
    const [leader, follower] = [h.joinAnswer(a)?.memberId as string, h.joinAnswer(b)?.memberId as string];
    const followerSync = h.sync(now, { memberId: follower });
    expect(h.syncAnswer(followerSync)).toBeUndefined();
    expect(h.persisted).toHaveLength(0);
    const leaderSync = h.sync(now + 1, {
      memberId: leader,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: leader, assignment: Buffer.from('A') }, { memberId: follower, assignment: Buffer.from('B') }],
    });
    expect(h.machine.state).toBe('Stable');
    expect(h.syncAnswer(leaderSync)).toEqual({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') });
    expect(h.syncAnswer(followerSync)).toEqual({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('B') });
    expect(h.persisted).toHaveLength(1);
    expect(h.persisted[0]).toEqual({
      groupId: 'g', protocolType: 'consumer', generationId: 1, protocolName: 'range', leaderId: leader, currentStateTimestamp: now + 1,
      members: [
        { memberId: leader, groupInstanceId: null, clientId: 'a', clientHost: '/127.0.0.1', rebalanceTimeoutMs: REBALANCE_MS, sessionTimeoutMs: SESSION_MS, subscription: RANGE.metadata, assignment: Buffer.from('A') },
        { memberId: follower, groupInstanceId: null, clientId: 'b', clientHost: '/127.0.0.1', rebalanceTimeoutMs: REBALANCE_MS, sessionTimeoutMs: SESSION_MS, subscription: RANGE.metadata, assignment: Buffer.from('B') },
      ],
    });
  });

  test('members missing from the leader\'s assignment get an empty one', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const follower = h.joinAnswer(b)?.memberId as string;
    const followerSync = h.sync(6_000, { memberId: follower });
    h.sync(6_000, { memberId: 'a-1', assignments: [{ memberId: 'a-1', assignment: Buffer.from('A') }, { memberId: 'stranger', assignment: Buffer.from('X') }] });
    expect(h.syncAnswer(followerSync)?.assignment).toEqual(Buffer.alloc(0));
  });

  test('in Stable a sync returns the member\'s current assignment at once', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const again = h.sync(now + 5, { memberId: ids[1] });
    expect(h.syncAnswer(again)).toEqual({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from(`assign-${ids[1]}`) });
  });

  test('sync errors: unknown member, wrong generation, protocol mismatch, rebalance in progress, fenced, dead', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b'], 0, { groupInstanceId: null });
    const code = (request: Partial<SyncRequest> & { memberId: string }) => h.syncAnswer(h.sync(now, request))?.errorCode;
    expect(code({ memberId: 'nobody' })).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect(code({ memberId: ids[1], generationId: 7 })).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(code({ memberId: ids[1], protocolType: 'connect' })).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    expect(code({ memberId: ids[1], protocolName: 'roundrobin' })).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    expect(code({ memberId: ids[1], groupInstanceId: 'not-static' })).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    h.join(now, { memberId: ids[0] });
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(code({ memberId: ids[1] })).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    const errorShape = h.syncAnswer(h.sync(now, { memberId: ids[1] }));
    expect(errorShape).toEqual({ errorCode: KafkaError.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(code({ memberId: ids[1] })).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });

  test('a rebalance while followers wait for the leader answers them REBALANCE_IN_PROGRESS', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const follower = h.joinAnswer(b)?.memberId as string;
    const followerSync = h.sync(6_000, { memberId: follower });
    h.join(6_001, { clientId: 'c' }); // a new member → rebalance
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.syncAnswer(followerSync)).toMatchObject({ errorCode: KafkaError.REBALANCE_IN_PROGRESS, protocolName: null });
  });

  test('a leader that never syncs: its session ends and the waiting follower is told to rejoin', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const completedAt = 6_000;
    const follower = h.joinAnswer(b)?.memberId as string;
    const followerSync = h.sync(completedAt + 100, { memberId: follower });
    // The follower is parked in the sync barrier: its own session does not run out there.
    expect(h.machine.nextDeadline()).toBe(completedAt + SESSION_MS);
    h.tick(completedAt + SESSION_MS);
    expect(h.machine.hasMember('a-1')).toBe(false);
    expect(h.syncAnswer(followerSync)?.errorCode).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.machine.leaderId).toBe(follower);
  });

  test('sync barrier: members that never send SyncGroup within the rebalance timeout are removed and a rebalance starts', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a', sessionTimeoutMs: 60_000 });
    const b = h.join(0, { clientId: 'b', sessionTimeoutMs: 60_000 });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const completedAt = 6_000;
    const [leader, follower] = [h.joinAnswer(a)?.memberId as string, h.joinAnswer(b)?.memberId as string];
    const followerSync = h.sync(completedAt, { memberId: follower });
    expect(h.heartbeat(completedAt + 20_000, leader)).toBe(0); // alive, but never syncs
    expect(h.machine.nextDeadline()).toBe(completedAt + REBALANCE_MS);
    h.tick(completedAt + REBALANCE_MS);
    expect(h.machine.hasMember(leader)).toBe(false);
    expect(h.syncAnswer(followerSync)?.errorCode).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    expect(h.machine.state).toBe('PreparingRebalance');
    // The follower rejoins and, being the only member, completes the next generation at once.
    const rejoin = h.join(completedAt + REBALANCE_MS + 1, { memberId: follower });
    expect(h.joinAnswer(rejoin)).toMatchObject({ generationId: 2, leader: follower });
  });

  test('sync barrier also holds in Stable: a follower that never syncs is removed', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a', sessionTimeoutMs: 60_000 });
    const b = h.join(0, { clientId: 'b', sessionTimeoutMs: 60_000 });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const [leader, follower] = [h.joinAnswer(a)?.memberId as string, h.joinAnswer(b)?.memberId as string];
    h.sync(6_000, { memberId: leader, assignments: [] });
    expect(h.machine.state).toBe('Stable');
    h.heartbeat(20_000, follower); // heartbeats, never syncs
    h.tick(6_000 + REBALANCE_MS);
    expect(h.machine.hasMember(follower)).toBe(false);
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('members that synced in time are not removed by the sync barrier', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.machine.nextDeadline()).toBe(now + SESSION_MS); // no sync deadline left once all synced
    for (let t = now + 5_000; t <= now + REBALANCE_MS + 5_000; t += 5_000) {
      expect(h.heartbeat(t, ids[0])).toBe(0);
      expect(h.heartbeat(t, ids[1])).toBe(0);
      h.tick(t);
    }
    expect(h.machine.state).toBe('Stable');
    expect(h.machine.memberCount).toBe(2);
  });
});

describe('rejoin of a known member', () => {
  test('Stable follower with the same protocols: answered at once with the current generation, no rebalance', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const rejoin = h.join(now + 1, { memberId: ids[1] });
    expect(h.joinAnswer(rejoin)).toEqual({
      errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: ids[0], memberId: ids[1], members: [],
    });
    expect(h.machine.state).toBe('Stable');
  });

  test('Stable leader rejoining starts a rebalance even with unchanged protocols', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.joinAnswer(h.join(now + 1, { memberId: ids[0] }))).toBeUndefined();
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('CompletingRebalance with the same protocols: answered at once, the leader with the member list', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const leader = h.joinAnswer(a)?.memberId as string;
    const again = h.join(6_001, { memberId: leader });
    expect(h.joinAnswer(again)).toMatchObject({ errorCode: 0, generationId: 1, leader, memberId: leader });
    expect(h.joinAnswer(again)?.members).toHaveLength(2);
    expect(h.machine.state).toBe('CompletingRebalance');
  });

  test('CompletingRebalance with changed protocols starts a rebalance', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    h.join(6_001, { memberId: h.joinAnswer(a)?.memberId as string, protocols: [RANGE, ROUND_ROBIN] });
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('a join retried while the first is still parked answers the superseded one', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const first = h.join(now, { memberId: ids[0] });
    const second = h.join(now + 1, { memberId: ids[0] });
    expect(h.joinAnswer(first)?.errorCode).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    expect(h.joinAnswer(second)).toBeUndefined();
  });
});

describe('heartbeat', () => {
  test('answers per state: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead', () => {
    const h = new Harness();
    expect(h.heartbeat(0, 'x', 0)).toBe(KafkaError.UNKNOWN_MEMBER_ID); // Empty
    const a = h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'b' });
    expect(h.heartbeat(1, 'a-1', 0)).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.heartbeat(6_000, 'b-2')).toBe(KafkaError.NONE); // Kafka 3.x: NONE in CompletingRebalance
    h.sync(6_000, { memberId: h.joinAnswer(a)?.memberId as string });
    expect(h.machine.state).toBe('Stable');
    expect(h.heartbeat(6_001, 'b-2')).toBe(KafkaError.NONE);
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(h.heartbeat(6_002, 'b-2')).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });

  test('unknown member → UNKNOWN_MEMBER_ID, wrong generation → ILLEGAL_GENERATION', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    expect(h.heartbeat(now, 'nobody')).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect(h.heartbeat(now, ids[0], 0)).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(h.heartbeat(now, ids[0], 2)).toBe(KafkaError.ILLEGAL_GENERATION);
  });

  test('a heartbeat keeps the session alive; in PreparingRebalance it also resets the deadline', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.machine.nextDeadline()).toBe(now + SESSION_MS);
    h.heartbeat(now + 9_000, ids[0]);
    h.heartbeat(now + 9_000, ids[1]);
    expect(h.machine.nextDeadline()).toBe(now + 9_000 + SESSION_MS);
    h.join(now + 9_500, { memberId: ids[0] });
    expect(h.heartbeat(now + 18_000, ids[1])).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    h.tick(now + 19_000); // b's old deadline: reset, so still here
    expect(h.machine.hasMember(ids[1])).toBe(true);
    h.tick(now + 28_000);
    expect(h.machine.hasMember(ids[1])).toBe(false); // 18000 + session
  });
});

describe('session expiry', () => {
  test('in Stable: the silent member is removed at its deadline and a rebalance starts', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    h.heartbeat(now + 5_000, ids[0]);
    h.tick(now + SESSION_MS - 1);
    expect(h.machine.memberCount).toBe(2);
    h.tick(now + SESSION_MS);
    expect(h.machine.hasMember(ids[1])).toBe(false);
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.heartbeat(now + SESSION_MS + 1, ids[0])).toBe(KafkaError.REBALANCE_IN_PROGRESS);
  });

  test('in CompletingRebalance: a member that neither syncs nor heartbeats is removed; waiting syncs rejoin', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    const c = h.join(0, { clientId: 'c' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const [leader, silent, waiting] = [a, b, c].map((t) => h.joinAnswer(t)?.memberId as string);
    const waitingSync = h.sync(6_000, { memberId: waiting });
    h.heartbeat(6_000 + 9_000, leader);
    h.tick(6_000 + SESSION_MS - 1);
    expect(h.machine.memberCount).toBe(3);
    h.tick(6_000 + SESSION_MS);
    expect(h.machine.hasMember(silent)).toBe(false);
    expect(h.machine.hasMember(waiting)).toBe(true); // parked in the sync barrier: its session is paused
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.syncAnswer(waitingSync)?.errorCode).toBe(KafkaError.REBALANCE_IN_PROGRESS);
  });

  test('in PreparingRebalance: removing the last silent member completes the barrier', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const rejoin = h.join(now + 1, { memberId: ids[0] });
    h.tick(now + SESSION_MS);
    expect(h.joinAnswer(rejoin)).toMatchObject({ generationId: 2, members: [{ memberId: ids[0] }] });
    expect(h.machine.state).toBe('CompletingRebalance');
  });

  test('the last member expiring in Stable leaves the group Empty with the next generation, persisted', () => {
    const h = new Harness();
    const { now } = stableGroup(h, ['a']);
    h.tick(now + SESSION_MS);
    expect(h.machine.state).toBe('Empty');
    expect(h.machine.generationId).toBe(2);
    expect(h.persisted.at(-1)).toMatchObject({ generationId: 2, members: [], leaderId: null, currentStateTimestamp: now + SESSION_MS });
  });

  test('a commit counts as a heartbeat', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    expect(h.machine.validateCommit(now + 9_000, { memberId: ids[0], groupInstanceId: null, generationId: 1 })).toBe(0);
    h.tick(now + SESSION_MS);
    expect(h.machine.state).toBe('Stable');
    expect(h.machine.nextDeadline()).toBe(now + 9_000 + SESSION_MS);
  });
});

describe('leave', () => {
  test('v0: a member leaving a Stable group starts a rebalance; the rest rejoin and complete at once', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    expect(h.leave(now, [{ memberId: ids[1] }])).toEqual([0]);
    expect(h.machine.state).toBe('PreparingRebalance');
    const rejoin = h.join(now + 1, { memberId: ids[0] });
    expect(h.joinAnswer(rejoin)).toMatchObject({ generationId: 2, members: [{ memberId: ids[0] }] });
  });

  test('the last member leaving makes the group Empty at once (generation + 1, persisted)', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    expect(h.leave(now + 7, [{ memberId: ids[0] }])).toEqual([0]);
    expect(h.machine.state).toBe('Empty');
    expect(h.machine.generationId).toBe(2);
    expect(h.persisted.at(-1)).toMatchObject({ generationId: 2, members: [] });
    expect(h.machine.nextDeadline()).toBeNull();
  });

  test('leaving during PreparingRebalance completes the barrier when everyone left has rejoined', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const aRejoin = h.join(now, { memberId: ids[0] });
    expect(h.leave(now + 1, [{ memberId: ids[1] }])).toEqual([0]);
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.joinAnswer(aRejoin)).toMatchObject({ generationId: 2, members: [{ memberId: ids[0] }] });
  });

  test('a member leaving while its join is parked gets that join answered UNKNOWN_MEMBER_ID', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const aRejoin = h.join(now, { memberId: ids[0] });
    expect(h.leave(now + 1, [{ memberId: ids[0] }])).toEqual([0]);
    expect(h.joinAnswer(aRejoin)).toMatchObject({ errorCode: KafkaError.UNKNOWN_MEMBER_ID, memberId: '' });
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.machine.leaderId).toBe(ids[1]);
  });

  test('leaving: unknown member, Empty group, wrong instance id, dead group', () => {
    const h = new Harness();
    expect(h.leave(0, [{ memberId: 'x' }])).toEqual([KafkaError.UNKNOWN_MEMBER_ID]);
    const { ids, now } = stableGroup(h, ['a']);
    expect(h.leave(now, [{ memberId: 'x' }])).toEqual([KafkaError.UNKNOWN_MEMBER_ID]);
    expect(h.leave(now, [{ memberId: ids[0], groupInstanceId: 'not-mine' }])).toEqual([KafkaError.UNKNOWN_MEMBER_ID]);
    expect(h.machine.state).toBe('Stable');
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(h.leave(now, [{ memberId: ids[0] }])).toEqual([KafkaError.COORDINATOR_NOT_AVAILABLE]);
  });

  test('v3 batch: by member id, by instance id with member id \'\', unknown instance, fenced member id', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 's', groupInstanceId: 'i1' });
    h.join(0, { clientId: 't', groupInstanceId: 'i2' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.machine.memberCount).toBe(3);
    const codes = h.leave(7_000, [
      { memberId: 'a-1' },
      { memberId: '', groupInstanceId: 'i1' },
      { memberId: '', groupInstanceId: 'unknown' },
      { memberId: 'wrong-id', groupInstanceId: 'i2' },
    ]);
    expect(codes).toEqual([0, 0, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.FENCED_INSTANCE_ID]);
    expect(h.machine.memberCount).toBe(1);
    expect(h.machine.hasMember('i2-3')).toBe(true);
    expect(h.machine.state).toBe('PreparingRebalance');
  });
});

describe('static membership', () => {
  test('a restarted static member replaces the old id without a rebalance; the old id is fenced', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 's']);
    const s = h.join(now, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.machine.state).toBe('PreparingRebalance');
    h.join(now, { memberId: ids[0] });
    h.join(now, { memberId: ids[1] }); // everyone has joined: generation 2 at once
    expect(h.machine.state).toBe('CompletingRebalance');
    const staticId = h.joinAnswer(s)?.memberId as string;
    expect(staticId).toBe('inst-3');
    h.sync(now, { memberId: ids[0], assignments: [{ memberId: staticId, assignment: Buffer.from('S') }] });
    expect(h.machine.state).toBe('Stable');
    const persistedBefore = h.persisted.length;

    const restart = h.join(now + 100, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.joinAnswer(restart)).toEqual({
      errorCode: 0, generationId: 2, protocolType: 'consumer', protocolName: 'range', leader: ids[0], memberId: 'inst-4', members: [],
    });
    expect(h.machine.state).toBe('Stable');
    expect(h.machine.hasMember(staticId)).toBe(false);
    expect(h.persisted).toHaveLength(persistedBefore + 1);
    expect(h.persisted.at(-1)?.members.map((m) => m.memberId)).toContain('inst-4');
    expect(h.heartbeat(now + 101, staticId, 2, 'inst')).toBe(KafkaError.FENCED_INSTANCE_ID);
    expect(h.syncAnswer(h.sync(now + 102, { memberId: staticId, groupInstanceId: 'inst' }))?.errorCode).toBe(KafkaError.FENCED_INSTANCE_ID);
    expect(h.machine.validateCommit(now + 103, { memberId: staticId, groupInstanceId: 'inst', generationId: 2 })).toBe(KafkaError.FENCED_INSTANCE_ID);
    // The new id gets the old assignment through the next sync.
    expect(h.syncAnswer(h.sync(now + 104, { memberId: 'inst-4', groupInstanceId: 'inst' }))?.assignment).toEqual(Buffer.from('S'));
  });

  test('a replaced static leader: the join answer names the old leader id so it does not assign (JoinGroup < v9)', () => {
    const h = new Harness();
    const s = h.join(0, { clientId: 'x', groupInstanceId: 'inst' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    h.sync(3_000, { memberId: 'inst-1', groupInstanceId: 'inst' });
    expect(h.joinAnswer(s)?.leader).toBe('inst-1');
    const restart = h.join(3_001, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.joinAnswer(restart)).toMatchObject({ memberId: 'inst-2', leader: 'inst-1' });
    expect(h.machine.leaderId).toBe('inst-2');
  });

  test('a static member rejoining with other protocols in Stable starts a rebalance', () => {
    const h = new Harness();
    h.join(0, { clientId: 'x', groupInstanceId: 'inst', protocols: [RANGE, ROUND_ROBIN] });
    h.join(0, { clientId: 'y', groupInstanceId: 'other', protocols: [ROUND_ROBIN, RANGE] });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.machine.protocolName).toBe('range'); // a tie: the first vote in member order
    h.sync(6_000, { memberId: 'inst-1' });
    const restart = h.join(6_001, { clientId: 'x', groupInstanceId: 'inst', protocols: [ROUND_ROBIN, RANGE] });
    expect(h.joinAnswer(restart)).toBeUndefined();
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('replacement in CompletingRebalance fences the old id\'s waiting sync and starts a rebalance', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'x', groupInstanceId: 'inst' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const oldSync = h.sync(6_000, { memberId: 'inst-2', groupInstanceId: 'inst' });
    const restart = h.join(6_001, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.syncAnswer(oldSync)?.errorCode).toBe(KafkaError.FENCED_INSTANCE_ID);
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(h.joinAnswer(restart)).toBeUndefined();
    expect(h.machine.hasMember('inst-3')).toBe(true);
  });

  test('replacement during PreparingRebalance fences the old id\'s parked join', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a', 'b']);
    const parked = h.join(now, { clientId: 'x', groupInstanceId: 'inst' }); // new static member 'inst-3': rebalance
    expect(h.machine.state).toBe('PreparingRebalance');
    const restart = h.join(now + 1, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.joinAnswer(parked)).toMatchObject({ errorCode: KafkaError.FENCED_INSTANCE_ID, memberId: 'inst-3' });
    expect(h.joinAnswer(restart)).toBeUndefined();
    h.join(now + 2, { memberId: ids[0] });
    h.join(now + 2, { memberId: ids[1] });
    expect(h.joinAnswer(restart)).toMatchObject({ errorCode: 0, memberId: 'inst-4', generationId: 2 });
    expect(h.machine.describe().members.map((m) => m.memberId)).toEqual([ids[0], ids[1], 'inst-4']);
  });

  test('join with a known instance id but another member id → FENCED_INSTANCE_ID; unknown instance → UNKNOWN_MEMBER_ID', () => {
    const h = new Harness();
    h.join(0, { clientId: 'x', groupInstanceId: 'inst' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    h.join(3_000, { clientId: 'y' }); // becomes a member 'y-2' → rebalance
    expect(h.machine.hasMember('y-2')).toBe(true);
    expect(h.joinAnswer(h.join(3_001, { memberId: 'y-2', groupInstanceId: 'inst' }))?.errorCode).toBe(KafkaError.FENCED_INSTANCE_ID);
    expect(h.joinAnswer(h.join(3_001, { memberId: 'inst-1', groupInstanceId: 'nope' }))?.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  test('a static member that does not rejoin is kept at the rebalance timeout (Kafka drops only dynamic ones)', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
    h.join(0, { clientId: 'x', groupInstanceId: 'inst', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    h.sync(6_000, { memberId: 'a-1' });
    h.sync(6_000, { memberId: 'inst-2', groupInstanceId: 'inst' });
    const rejoin = h.join(7_000, { memberId: 'a-1', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 });
    h.tick(7_000 + 20_000 - 1);
    expect(h.machine.state).toBe('PreparingRebalance');
    h.tick(7_000 + 20_000);
    expect(h.machine.state).toBe('CompletingRebalance');
    expect(h.machine.hasMember('inst-2')).toBe(true);
    expect(h.joinAnswer(rejoin)?.members.map((m) => m.memberId)).toEqual(['a-1', 'inst-2']);
    h.sync(27_000, { memberId: 'a-1' });
    // It never sends SyncGroup for the new generation: the sync barrier (rebalance timeout) drops it.
    h.tick(27_000 + 20_000 - 1);
    expect(h.machine.hasMember('inst-2')).toBe(true);
    h.tick(27_000 + 20_000);
    expect(h.machine.hasMember('inst-2')).toBe(false);
    expect(h.machine.state).toBe('PreparingRebalance');
  });

  test('a silent static member is removed by its session like any member', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'x', groupInstanceId: 'inst' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    h.sync(6_000, { memberId: 'a-1' });
    h.sync(6_000, { memberId: 'inst-2', groupInstanceId: 'inst' });
    h.heartbeat(15_000, 'a-1');
    h.tick(16_000);
    expect(h.machine.hasMember('inst-2')).toBe(false);
    expect(h.machine.state).toBe('PreparingRebalance');
    // Its instance id is free again: a new join with it creates a new member.
    const back = h.join(16_001, { clientId: 'x', groupInstanceId: 'inst' });
    expect(h.joinAnswer(back)).toBeUndefined();
    expect(h.machine.hasMember('inst-3')).toBe(true);
  });

  test('a static member gets no MEMBER_ID_REQUIRED round trip', () => {
    const h = new Harness();
    const s = h.join(0, { clientId: 'x', groupInstanceId: 'inst', requireKnownMemberId: true });
    expect(h.joinAnswer(s)).toBeUndefined();
    expect(h.machine.hasMember('inst-1')).toBe(true);
  });
});

describe('validateCommit (Kafka validateOffsetCommit + doCommitOffsets)', () => {
  test('simple consumers and admin tools (generation -1, member \'\') may commit only to a group without members', () => {
    const h = new Harness();
    expect(h.machine.validateCommit(0, { memberId: '', groupInstanceId: null, generationId: -1 })).toBe(0);
    const { now } = stableGroup(h, ['a']);
    expect(h.machine.validateCommit(now, { memberId: '', groupInstanceId: null, generationId: -1 })).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  test('member checks and per-state answers', () => {
    const h = new Harness();
    expect(h.machine.validateCommit(0, { memberId: 'x', groupInstanceId: null, generationId: 1 })).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    const a = h.join(0, { clientId: 'a' });
    h.join(0, { clientId: 'b' });
    const commit = (memberId: string, generationId: number, groupInstanceId: string | null = null) =>
      h.machine.validateCommit(7_000, { memberId, groupInstanceId, generationId });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(commit('a-1', 1)).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    h.sync(6_000, { memberId: h.joinAnswer(a)?.memberId as string });
    expect(commit('a-1', 1)).toBe(0);
    expect(commit('a-1', 0)).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(commit('a-1', -1)).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(commit('zz', 1)).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect(commit('a-1', 1, 'inst')).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    h.join(7_000, { memberId: 'a-1' });
    expect(h.machine.state).toBe('PreparingRebalance');
    expect(commit('b-2', 1)).toBe(0); // allowed while rebalancing; the heartbeat tells it to rejoin
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(commit('b-2', 1)).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('generation ids', () => {
  test('continue after Empty: the next rebalance goes on from the last generation', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    h.leave(now, [{ memberId: ids[0] }]);
    expect(h.machine.generationId).toBe(2);
    const again = h.join(now + 100, { clientId: 'b' });
    expect(h.machine.nextDeadline()).toBe(now + 100 + DELAY_MS); // an Empty group waits the initial delay again
    h.tick(now + 100 + DELAY_MS);
    expect(h.joinAnswer(again)?.generationId).toBe(3);
  });

  test('after generation 0 the initial delay is not extended by further joins (Kafka: newMemberAdded only in generation 0)', () => {
    const h = new Harness();
    const { ids, now } = stableGroup(h, ['a']);
    h.leave(now, [{ memberId: ids[0] }]);
    const t = now + 100;
    const b = h.join(t, { clientId: 'b' });
    const c = h.join(t + 1_000, { clientId: 'c' });
    h.tick(t + DELAY_MS);
    expect(h.joinAnswer(b)?.generationId).toBe(3);
    expect(h.joinAnswer(c)?.generationId).toBe(3);
  });
});

describe('restore', () => {
  function snapshotOf(): GroupSnapshot {
    return {
      groupId: 'g', protocolType: 'consumer', generationId: 7, protocolName: 'range', leaderId: 'b-9', currentStateTimestamp: 1234,
      members: [
        { memberId: 'a-8', groupInstanceId: null, clientId: 'a', clientHost: '/10.0.0.1', rebalanceTimeoutMs: 30_000, sessionTimeoutMs: 10_000, subscription: Buffer.from('sa'), assignment: Buffer.from('A') },
        { memberId: 'b-9', groupInstanceId: 'ib', clientId: 'b', clientHost: '/10.0.0.2', rebalanceTimeoutMs: 30_000, sessionTimeoutMs: 20_000, subscription: Buffer.from('sb'), assignment: Buffer.from('B') },
      ],
    };
  }

  test('members come back Stable with fresh session deadlines; sync returns the stored assignment', () => {
    const now = 1_000_000;
    const machine = GroupMachine.restore(snapshotOf(), settings(), now);
    const h = new Harness({}, machine);
    expect(machine.state).toBe('Stable');
    expect([machine.generationId, machine.protocolType, machine.protocolName, machine.leaderId, machine.memberCount]).toEqual([7, 'consumer', 'range', 'b-9', 2]);
    expect(machine.nextDeadline()).toBe(now + 10_000);
    expect(h.heartbeat(now + 1, 'a-8', 7)).toBe(0);
    expect(h.syncAnswer(h.sync(now + 2, { memberId: 'b-9', groupInstanceId: 'ib', generationId: 7 }))?.assignment).toEqual(Buffer.from('B'));
    expect(machine.describe()).toMatchObject({ state: 'Stable', protocolName: 'range', members: [{ memberId: 'a-8', subscription: Buffer.from('sa') }, { memberId: 'b-9', assignment: Buffer.from('B') }] });
    // The static member's instance id is known again.
    expect(h.heartbeat(now + 3, 'a-8', 7, 'ib')).toBe(KafkaError.FENCED_INSTANCE_ID);
  });

  test('a snapshot round-trips', () => {
    const machine = GroupMachine.restore(snapshotOf(), settings(), 5);
    expect(machine.snapshot(6)).toEqual(snapshotOf());
  });

  test('a silent restored member expires and starts a rebalance that goes on from the stored generation', () => {
    const now = 50;
    const h = new Harness({}, GroupMachine.restore(snapshotOf(), settings(), now));
    h.heartbeat(now + 9_000, 'b-9', 7);
    h.tick(now + 10_000);
    expect(h.machine.hasMember('a-8')).toBe(false);
    const rejoin = h.join(now + 10_001, { memberId: 'b-9', groupInstanceId: 'ib' });
    expect(h.joinAnswer(rejoin)).toMatchObject({ generationId: 8, leader: 'b-9' });
  });

  test('an Empty snapshot restores Empty; the next generation continues from it', () => {
    const empty: GroupSnapshot = { groupId: 'g', protocolType: 'consumer', generationId: 4, protocolName: null, leaderId: null, currentStateTimestamp: 9, members: [] };
    const h = new Harness({}, GroupMachine.restore(empty, settings(), 100));
    expect(h.machine.state).toBe('Empty');
    expect(h.machine.nextDeadline()).toBeNull();
    const a = h.join(100, { clientId: 'a' });
    h.tick(100 + DELAY_MS);
    expect(h.joinAnswer(a)?.generationId).toBe(5);
  });

  test('a group above a lowered max size rebalances on load', () => {
    const machine = GroupMachine.restore(snapshotOf(), settings({ groupMaxSize: 1 }), 0);
    expect(machine.state).toBe('PreparingRebalance');
  });

  test('a leader missing from the members falls back to the first member', () => {
    const machine = GroupMachine.restore({ ...snapshotOf(), leaderId: 'gone' }, settings(), 0);
    expect(machine.leaderId).toBe('a-8');
  });
});

describe('shutdown', () => {
  test('answers every parked join with the given code and becomes Dead with no deadline', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(h.joinAnswer(a)).toMatchObject({ errorCode: KafkaError.NOT_COORDINATOR, memberId: 'a-1' });
    expect(h.joinAnswer(b)?.errorCode).toBe(KafkaError.NOT_COORDINATOR);
    expect(h.machine.state).toBe('Dead');
    expect(h.machine.nextDeadline()).toBeNull();
    expect(h.machine.shutdown(KafkaError.NOT_COORDINATOR)).toEqual([]);
    expect(h.machine.describe()).toMatchObject({ state: 'Dead', members: [] });
  });

  test('answers parked syncs with the given code (group deleted)', () => {
    const h = new Harness();
    h.join(0, { clientId: 'a' });
    const b = h.join(0, { clientId: 'b' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    const followerSync = h.sync(6_000, { memberId: h.joinAnswer(b)?.memberId as string });
    h.apply(h.machine.shutdown(KafkaError.COORDINATOR_NOT_AVAILABLE));
    expect(h.syncAnswer(followerSync)?.errorCode).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });

  test('defaults to NOT_COORDINATOR', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    h.apply(h.machine.shutdown());
    expect(h.joinAnswer(a)?.errorCode).toBe(KafkaError.NOT_COORDINATOR);
  });
});

describe('describe', () => {
  test('member metadata and protocol only when Stable (Kafka GroupMetadata.summary)', () => {
    const h = new Harness();
    const a = h.join(0, { clientId: 'a' });
    h.runUntil(() => h.machine.state === 'CompletingRebalance');
    expect(h.machine.describe()).toEqual({
      groupId: 'g', state: 'CompletingRebalance', protocolType: 'consumer', protocolName: '',
      members: [{ memberId: 'a-1', groupInstanceId: null, clientId: 'a', clientHost: '/127.0.0.1', rebalanceTimeoutMs: REBALANCE_MS, sessionTimeoutMs: SESSION_MS, subscription: Buffer.alloc(0), assignment: Buffer.alloc(0) }],
    });
    h.sync(3_000, { memberId: h.joinAnswer(a)?.memberId as string, assignments: [{ memberId: 'a-1', assignment: Buffer.from('A') }] });
    expect(h.machine.describe()).toMatchObject({ state: 'Stable', protocolName: 'range', members: [{ subscription: RANGE.metadata, assignment: Buffer.from('A') }] });
  });
});

/**
 * A seeded random walk over joins, syncs, heartbeats, leaves, commits and clock jumps, checking:
 * no ticket is answered twice; nextDeadline() is exact (ticking just before it changes nothing,
 * ticking at it changes something); and shutdown leaves no request unanswered.
 */
describe('random walk (seeded)', () => {
  const SEEDS = [1, 2, 3, 42, 1234, 99_999];

  function observe(machine: GroupMachine): string {
    return JSON.stringify([machine.state, machine.generationId, machine.leaderId, machine.protocolName, machine.nextDeadline(), machine.snapshot(0)]);
  }

  test.each(SEEDS)('seed %i', (seed) => {
    const rng: RandomGenerator = xoroshiro128plus(seed);
    const pick = (n: number) => unsafeUniformIntDistribution(0, n - 1, rng);
    const h = new Harness({ groupMaxSize: 4, newMemberJoinTimeoutMs: 40_000 });
    const clients = ['a', 'b', 'c', 'd', 'e'];
    const knownIds: string[] = [];
    let now = 0;
    const parked = () => [...h.issued].filter((t) => !h.answers.has(t));
    for (let step = 0; step < 400; step++) {
      const deadline = h.machine.nextDeadline();
      if (deadline !== null && deadline > now) {
        const before = observe(h.machine);
        expect(h.tick(deadline - 1)).toEqual([]);
        expect(observe(h.machine)).toBe(before);
      }
      const op = pick(9);
      const memberId = knownIds.length > 0 && pick(4) > 0 ? knownIds[pick(knownIds.length)] : '';
      const instance = pick(5) === 0 ? `inst-${pick(2)}` : null;
      switch (op) {
        case 0:
        case 1: {
          const t = h.join(now, {
            memberId,
            clientId: clients[pick(clients.length)],
            groupInstanceId: instance,
            requireKnownMemberId: pick(2) === 0,
            protocols: pick(3) === 0 ? [ROUND_ROBIN, RANGE] : [RANGE],
            sessionTimeoutMs: 6_000 + pick(3) * 5_000,
            rebalanceTimeoutMs: 5_000 + pick(3) * 10_000,
          });
          const answer = h.joinAnswer(t);
          if (answer !== undefined && answer.memberId !== '') knownIds.push(answer.memberId);
          break;
        }
        case 2:
          if (memberId !== '') {
            const ids = h.machine.describe().members.map((m) => m.memberId);
            h.sync(now, { memberId, assignments: ids.map((id) => ({ memberId: id, assignment: Buffer.from(id) })) });
          }
          break;
        case 3:
          h.heartbeat(now, memberId);
          break;
        case 4:
          if (pick(3) === 0) h.leave(now, [{ memberId, groupInstanceId: instance }]);
          break;
        case 5:
          h.machine.validateCommit(now, { memberId, groupInstanceId: null, generationId: h.machine.generationId });
          break;
        default: {
          // Let time pass: sometimes to the next deadline, sometimes a random jump.
          const next = h.machine.nextDeadline();
          now = next !== null && pick(2) === 0 ? Math.max(now, next) : now + pick(15_000);
          const changedBefore = observe(h.machine);
          const outputs = h.tick(now);
          if (next !== null && next <= now) {
            // Something was due: the tick must have acted (state or deadlines changed, or answers/persists).
            expect(outputs.length > 0 || observe(h.machine) !== changedBefore).toBe(true);
          }
        }
      }
      // Requests only wait as joins in PreparingRebalance or syncs in CompletingRebalance.
      if (h.machine.state === 'Stable' || h.machine.state === 'Empty') expect(parked()).toEqual([]);
    }
    h.apply(h.machine.shutdown(KafkaError.NOT_COORDINATOR));
    expect(parked()).toEqual([]);
  });
});
