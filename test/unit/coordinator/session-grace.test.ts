/**
 * Samsa's disconnect grace (docs/coordinator-protocol.md, "Disconnect grace"), in the pure core
 * with time passed in: a session whose connection is gone expires at min(deadline, now + grace);
 * a connection taking it up again restores the full timeout; the grace is clamped to the
 * timeout, belongs to the connection that sent it, and is never stored, so sessions restored
 * after a restart get their full timeout. Also the connect frame's validation and the client
 * option's.
 */
import { CoordinatorCore } from '../../../coordinator/core';
import { DEFAULT_LIMITS, Txn } from '../../../coordinator/core-api';
import { CoordinatorClient } from '../../../shared/coordinator/client';
import { parseClientFrame } from '../../../shared/coordinator/validate';

const T0 = 1_700_000_000_000;
const TIMEOUT = 3000;
const GRACE = 500;

function setup() {
  const core = new CoordinatorCore(DEFAULT_LIMITS);
  const log: Txn[] = [];
  /** A session as the server makes one: createSession, then the connection's attach. */
  const connect = (id: string, graceMs: number | undefined, now = T0): number => {
    log.push(core.createSession(TIMEOUT, now, id, `pw-${id}`).txn);
    return core.attachSession(id, graceMs, now);
  };
  const ephemeral = (id: string, path: string, now = T0): void => {
    const outcome = core.execute(id, { op: 'create', path, data: Buffer.alloc(0), mode: 'ephemeral' }, now);
    if (!outcome.reply.ok) throw new Error(`create ${path}: ${outcome.reply.code}`);
    log.push(outcome.txn!);
  };
  return { core, log, connect, ephemeral };
}

describe('disconnect grace in the core', () => {
  test('a session with a grace expires grace ms after its connection is gone, not before', () => {
    const { core, connect } = setup();
    expect(connect('s', GRACE)).toBe(GRACE);
    const gone = T0 + 1000;
    expect(core.detachSession('s', gone)).toBe(GRACE);
    expect(core.sessionDeadline('s')).toBe(gone + GRACE);
    expect(core.expiredSessions(gone + GRACE - 1)).toEqual([]);
    expect(core.expiredSessions(gone + GRACE)).toEqual(['s']);
  });

  test('a session without a grace keeps its full timeout when its connection is gone', () => {
    const { core, connect } = setup();
    expect(connect('plain', undefined)).toBe(0);
    const gone = T0 + 1000;
    expect(core.detachSession('plain', gone)).toBe(0);
    expect(core.sessionDeadline('plain')).toBe(T0 + TIMEOUT);
    expect(core.expiredSessions(gone + GRACE)).toEqual([]);
    expect(core.expiredSessions(T0 + TIMEOUT)).toEqual(['plain']);
  });

  test('with and without grace side by side: the graceful one goes first, the other at its timeout', () => {
    const { core, connect, ephemeral } = setup();
    connect('graceful', GRACE);
    connect('plain', undefined);
    ephemeral('graceful', '/g');
    ephemeral('plain', '/p');
    const gone = T0 + 100;
    core.detachSession('graceful', gone);
    core.detachSession('plain', gone);
    expect(core.expiredSessions(gone + GRACE)).toEqual(['graceful']);
    const closed = core.closeSession('graceful', gone + GRACE);
    expect(closed.txn).toMatchObject({ type: 'closeSession', sessionId: 'graceful', ephemerals: ['/g'] });
    expect(core.expiredSessions(T0 + TIMEOUT - 1)).toEqual([]);
    expect(core.expiredSessions(T0 + TIMEOUT)).toEqual(['plain']);
  });

  test('a connection taking the session up within the grace restores the full timeout', () => {
    const { core, connect } = setup();
    connect('s', GRACE);
    const gone = T0 + 1000;
    core.detachSession('s', gone);
    const back = gone + GRACE - 1;
    expect(core.attachSession('s', GRACE, back)).toBe(GRACE);
    expect(core.expiredSessions(gone + GRACE)).toEqual([]);
    expect(core.sessionDeadline('s')).toBe(back + TIMEOUT);
    expect(core.expiredSessions(back + TIMEOUT)).toEqual(['s']);
    // And a later disconnect of the new connection starts a new grace.
    core.detachSession('s', back + 10);
    expect(core.sessionDeadline('s')).toBe(back + 10 + GRACE);
  });

  test('the grace never pushes a deadline back: a session already closer to its end keeps that end', () => {
    const { core, connect } = setup();
    connect('s', GRACE);
    const gone = T0 + TIMEOUT - 100; // quiet since T0: 100 ms of its timeout left
    core.detachSession('s', gone);
    expect(core.sessionDeadline('s')).toBe(T0 + TIMEOUT);
    // A second detach (e.g. a close event seen twice) changes nothing either.
    core.detachSession('s', gone + 50);
    expect(core.sessionDeadline('s')).toBe(T0 + TIMEOUT);
  });

  test('the grace is clamped to the negotiated timeout and rounded to whole ms', () => {
    const { core, connect } = setup();
    expect(connect('big', 60_000)).toBe(TIMEOUT);
    core.detachSession('big', T0 + 1000);
    expect(core.sessionDeadline('big')).toBe(T0 + TIMEOUT); // min(T0 + 3000, T0 + 1000 + 3000)
    expect(connect('fraction', 0.4)).toBe(1);
    expect(connect('exact', TIMEOUT)).toBe(TIMEOUT);
  });

  test('the grace belongs to the connection that sent it: a resume without one clears it', () => {
    const { core, connect } = setup();
    connect('s', GRACE);
    core.detachSession('s', T0 + 10);
    expect(core.attachSession('s', undefined, T0 + 20)).toBe(0);
    core.detachSession('s', T0 + 30);
    expect(core.sessionDeadline('s')).toBe(T0 + 20 + TIMEOUT);
  });

  test('detach or attach of an unknown (ended) session does nothing', () => {
    const { core, connect } = setup();
    connect('s', GRACE);
    core.closeSession('s', T0 + 1);
    expect(core.detachSession('s', T0 + 2)).toBe(0);
    expect(core.attachSession('s', GRACE, T0 + 3)).toBe(0);
    expect(core.sessionFor('s')).toBeNull();
    expect(core.sessionDeadline('s')).toBeNull();
  });

  test('the grace is not stored: neither the transaction nor the snapshot carries it', () => {
    const { core, log, connect } = setup();
    connect('s', GRACE);
    expect(log[0]).toEqual({ type: 'createSession', zxid: 1, time: T0, sessionId: 's', password: 'pw-s', timeoutMs: TIMEOUT });
    expect(core.snapshot().sessions).toEqual([{ sessionId: 's', password: 'pw-s', timeoutMs: TIMEOUT }]);
  });
});

describe('disconnect grace after a coordinator restart', () => {
  /** Crash at T0 + 1000, restart at T0 + 5000: rebuilt both ways the coordinator does it. */
  const RESTART = T0 + 5000;
  function restarted(from: 'snapshot' | 'log'): CoordinatorCore {
    const { core, log, connect, ephemeral } = setup();
    for (const id of ['b1', 'b2', 'b3']) {
      connect(id, GRACE);
      ephemeral(id, `/${id}`);
    }
    if (from === 'snapshot') return CoordinatorCore.fromSnapshot(core.snapshot(), DEFAULT_LIMITS, RESTART);
    const fresh = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of log) fresh.replay(txn);
    // As coordinator/main.ts recover() does for sessions that came from the log.
    for (const session of fresh.snapshot().sessions) fresh.touchSession(session.sessionId, RESTART);
    return fresh;
  }

  test.each(['snapshot', 'log'] as const)('restored from the %s, graceful sessions get their full timeout from the restart, not the grace', (from) => {
    const core = restarted(from);
    // No connection yet; nothing expires a grace after the restart (no mass expiry of brokers).
    expect(core.expiredSessions(RESTART + GRACE)).toEqual([]);
    expect(core.expiredSessions(RESTART + TIMEOUT - 1)).toEqual([]);
    // A restored session has no grace until a connection sends one: a detach changes nothing.
    expect(core.detachSession('b1', RESTART + 10)).toBe(0);
    expect(core.sessionDeadline('b1')).toBe(RESTART + TIMEOUT);
    // b2's client comes back after the grace but within the timeout, with its grace again.
    expect(core.attachSession('b2', GRACE, RESTART + 2000)).toBe(GRACE);
    expect(core.expiredSessions(RESTART + TIMEOUT).sort()).toEqual(['b1', 'b3']);
    // b2's grace holds again for its new connection: it now goes before b1 and b3.
    core.detachSession('b2', RESTART + 2100);
    expect(core.expiredSessions(RESTART + 2100 + GRACE)).toEqual(['b2']);
  });
});

describe('connect frame: disconnectGraceMs', () => {
  const frame = (extra: Record<string, unknown>): string => JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: 3000, lastZxid: 0, ...extra });

  test('absent: no field; a positive integer: passed through', () => {
    const plain = parseClientFrame(frame({}));
    expect(plain.ok && plain.frame.type === 'connect' && !('disconnectGraceMs' in plain.frame)).toBe(true);
    const graceful = parseClientFrame(frame({ disconnectGraceMs: 500, sessionId: 'ab', password: 'cd' }));
    expect(graceful).toEqual({ ok: true, frame: { type: 'connect', protocolVersion: 1, timeoutMs: 3000, lastZxid: 0, sessionId: 'ab', password: 'cd', disconnectGraceMs: 500 } });
  });

  test.each([['a string', '500'], ['zero', 0], ['negative', -1], ['a fraction', 1.5], ['null', null], ['a boolean', true], ['too big to be exact', 2 ** 60]])(
    '%s is BadArguments naming the field',
    (_name, value) => {
      const parsed = parseClientFrame(frame({ disconnectGraceMs: value }));
      expect(parsed).toEqual({ ok: false, code: 'BadArguments', message: 'connect.disconnectGraceMs must be an integer >= 1', fatal: false });
    },
  );
});

describe('client option disconnectGraceMs', () => {
  test.each([-1, 1.5, Number.NaN])('%p is refused at construction', (value) => {
    expect(() => new CoordinatorClient({ servers: ['ws://127.0.0.1:1'], disconnectGraceMs: value })).toThrow(/disconnectGraceMs must be an integer >= 0/);
  });

  test('0 (none) and a positive integer are accepted', () => {
    expect(new CoordinatorClient({ servers: ['ws://127.0.0.1:1'], disconnectGraceMs: 0 }).disconnectGraceMs).toBe(0);
    expect(new CoordinatorClient({ servers: ['ws://127.0.0.1:1'], disconnectGraceMs: 500 }).disconnectGraceMs).toBe(0); // not granted yet
  });
});
