/**
 * The coordinator's pure core: tree operations with their success and error paths,
 * sequential numbering, versions, multi atomicity, which events each change fires,
 * sessions and expiry, and replay/snapshot determinism.
 */
import { CoordinatorCore } from '../../../coordinator/core';
import { DEFAULT_LIMITS, ExecuteOutcome, Txn } from '../../../coordinator/core-api';
import { snapshotFromJson, snapshotToJson } from '../../../coordinator/store/records';
import { coreOp, TextOperation } from './core-ops';
import type { CreateResult, ErrorCode, GetChildrenResult, GetDataResult, MultiResult, Stat } from '../../../shared/coordinator/protocol';

const T0 = 1_700_000_000_000;

function setup(limits = DEFAULT_LIMITS) {
  const core = new CoordinatorCore(limits);
  const log: Txn[] = [];
  const session = (id: string, timeoutMs = 3000, now = T0): string => {
    log.push(core.createSession(timeoutMs, now, id, `pw-${id}`).txn);
    return id;
  };
  const run = (sessionId: string, operation: TextOperation, now = T0): ExecuteOutcome => {
    const outcome = core.execute(sessionId, coreOp(operation), now);
    if (outcome.txn !== null) log.push(outcome.txn);
    return outcome;
  };
  const ok = <R>(sessionId: string, operation: TextOperation, now = T0): R => {
    const outcome = run(sessionId, operation, now);
    if (!outcome.reply.ok) throw new Error(`${operation.op} failed: ${outcome.reply.code} ${outcome.reply.message}`);
    return outcome.reply.result as R;
  };
  const fail = (sessionId: string, operation: TextOperation): { code: ErrorCode; path?: string } => {
    const outcome = run(sessionId, operation);
    if (outcome.reply.ok) throw new Error(`${operation.op} unexpectedly succeeded`);
    expect(outcome.txn).toBeNull();
    expect(outcome.events).toEqual([]);
    return { code: outcome.reply.code, path: outcome.reply.path };
  };
  const close = (sessionId: string, now = T0): ExecuteOutcome => {
    const outcome = core.closeSession(sessionId, now);
    if (outcome.txn !== null) log.push(outcome.txn);
    return outcome;
  };
  return { core, log, session, run, ok, fail, close };
}

const create = (path: string, data = '', mode: 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container' = 'persistent'): TextOperation => ({ op: 'create', path, data, mode });

describe('paths and data limits', () => {
  test.each([
    ['relative', 'a/b'],
    ['empty', ''],
    ['trailing slash', '/a/'],
    ['double slash', '/a//b'],
    ['dot segment', '/a/./b'],
    ['dot-dot segment', '/a/../b'],
    ['control character', '/a\u0001b'],
    ['too long', `/${'x'.repeat(5000)}`],
  ])('%s path is BadArguments for create, getData and delete', (_name, path) => {
    const { session, fail } = setup();
    const s = session('s1');
    expect(fail(s, create(path)).code).toBe('BadArguments');
    expect(fail(s, { op: 'getData', path }).code).toBe('BadArguments');
    expect(fail(s, { op: 'delete', path, version: -1 }).code).toBe('BadArguments');
  });

  test('data over the limit is BadArguments; at the limit it is accepted', () => {
    const { session, ok, fail } = setup({ ...DEFAULT_LIMITS, dataBytesMax: 10 });
    const s = session('s1');
    expect(fail(s, create('/big', 'x'.repeat(11))).code).toBe('BadArguments');
    expect(fail(s, create('/utf8', 'é'.repeat(6))).code).toBe('BadArguments'); // 12 bytes
    ok(s, create('/fits', 'x'.repeat(10)));
    expect(fail(s, { op: 'setData', path: '/fits', data: 'y'.repeat(11), version: -1 }).code).toBe('BadArguments');
  });
});

describe('create, get, set, delete', () => {
  test('create returns the path and a Stat; getData and exists see it; parent bookkeeping moves', () => {
    const { session, ok } = setup();
    const s = session('s1');
    const created = ok<CreateResult>(s, create('/app', '{"a":1}'), T0 + 5);
    expect(created.path).toBe('/app');
    expect(created.stat).toMatchObject({ version: 0, cversion: 0, dataLength: 7, numChildren: 0, ephemeralOwner: '0', ctime: T0 + 5, mtime: T0 + 5 });
    expect(created.stat.czxid).toBe(created.stat.mzxid);
    const got = ok<GetDataResult>(s, { op: 'getData', path: '/app' });
    expect(got).toEqual({ data: Buffer.from('{"a":1}'), stat: created.stat }); // bytes; the server encodes them per connection
    const root = ok<{ stat: Stat }>(s, { op: 'exists', path: '/' }).stat;
    expect(root.numChildren).toBe(2); // /app and the reserved /zookeeper
    expect(root.cversion).toBe(0); // ZooKeeper's 2 x creations - numChildren: 2 x 1 - 2, as it answers
    expect(root.pzxid).toBe(created.stat.czxid);
    expect(ok<{ stat: Stat | null }>(s, { op: 'exists', path: '/nope' }).stat).toBeNull();
  });

  test('error paths: NoNode, NodeExists, BadVersion, NotEmpty, NoChildrenForEphemerals, root', () => {
    const { session, ok, fail } = setup();
    const s = session('s1');
    expect(fail(s, create('/a/b'))).toEqual({ code: 'NoNode', path: '/a/b' });
    ok(s, create('/a'));
    expect(fail(s, create('/a'))).toEqual({ code: 'NodeExists', path: '/a' });
    expect(fail(s, create('/'))).toMatchObject({ code: 'NodeExists' });
    ok(s, create('/a/b'));
    expect(fail(s, { op: 'delete', path: '/a', version: -1 })).toEqual({ code: 'NotEmpty', path: '/a' });
    expect(fail(s, { op: 'delete', path: '/', version: -1 }).code).toBe('BadArguments');
    expect(fail(s, { op: 'setData', path: '/a/b', data: 'x', version: 3 })).toEqual({ code: 'BadVersion', path: '/a/b' });
    expect(fail(s, { op: 'getData', path: '/zz' })).toEqual({ code: 'NoNode', path: '/zz' });
    expect(fail(s, { op: 'getChildren', path: '/zz' }).code).toBe('NoNode');
    expect(fail(s, { op: 'setData', path: '/zz', data: '', version: -1 }).code).toBe('NoNode');
    ok(s, create('/eph', '', 'ephemeral'));
    expect(fail(s, create('/eph/child'))).toEqual({ code: 'NoChildrenForEphemerals', path: '/eph/child' });
  });

  test('versions: setData bumps version and mzxid; conditional set and delete', () => {
    const { session, ok, fail } = setup();
    const s = session('s1');
    const c = ok<CreateResult>(s, create('/v', 'a'));
    const s1 = ok<{ stat: Stat }>(s, { op: 'setData', path: '/v', data: 'bb', version: 0 }, T0 + 1).stat;
    expect(s1).toMatchObject({ version: 1, dataLength: 2, czxid: c.stat.czxid, mtime: T0 + 1 });
    expect(s1.mzxid).toBeGreaterThan(c.stat.mzxid);
    expect(fail(s, { op: 'setData', path: '/v', data: 'c', version: 0 }).code).toBe('BadVersion');
    ok(s, { op: 'setData', path: '/v', data: 'c', version: -1 });
    expect(fail(s, { op: 'delete', path: '/v', version: 1 }).code).toBe('BadVersion');
    ok(s, { op: 'delete', path: '/v', version: 2 });
    expect(ok<{ stat: Stat | null }>(s, { op: 'exists', path: '/v' }).stat).toBeNull();
  });

  test('sequential nodes: 10-digit suffix from the parent cversion, which only creates advance', () => {
    const { session, ok } = setup();
    const s = session('s1');
    ok(s, create('/q'));
    const names = [0, 1, 2].map(() => ok<CreateResult>(s, create('/q/n_', '', 'persistent_sequential')).path);
    expect(names).toEqual(['/q/n_0000000000', '/q/n_0000000001', '/q/n_0000000002']);
    ok(s, { op: 'delete', path: '/q/n_0000000002', version: -1 });
    expect(ok<CreateResult>(s, create('/q/', '', 'ephemeral_sequential')).path).toBe('/q/0000000003');
    const children = ok<GetChildrenResult>(s, { op: 'getChildren', path: '/q', withStat: true });
    expect(children.children).toEqual(['0000000003', 'n_0000000000', 'n_0000000001']);
    expect(children.stat).toMatchObject({ numChildren: 3, cversion: 5 }); // 4 creations + 1 deletion
  });

  test('zxids increase by one per write; reads are served at the last zxid', () => {
    const { session, run } = setup();
    const s = session('s1');
    const a = run(s, create('/a'));
    const b = run(s, create('/b'));
    expect(b.zxid).toBe(a.zxid + 1);
    expect(run(s, { op: 'getData', path: '/a' }).zxid).toBe(b.zxid);
    expect(run(s, create('/a')).zxid).toBe(b.zxid); // a failed write consumes no zxid
  });

  test('a container outlives its last child until the container check (zookeeper-alignment.test.ts)', () => {
    const { session, ok, run } = setup();
    const s = session('s1');
    ok(s, create('/c', '', 'container'));
    ok(s, create('/c/x'));
    const outcome = run(s, { op: 'delete', path: '/c/x', version: -1 });
    expect(outcome.txn).toEqual({ type: 'delete', zxid: outcome.zxid, time: T0, path: '/c/x' });
    expect(ok<{ stat: Stat | null }>(s, { op: 'exists', path: '/c' }).stat).not.toBeNull();
  });
});

describe('multi', () => {
  test('all succeed: one transaction, one zxid, a result per op', () => {
    const { session, ok, run } = setup();
    const s = session('s1');
    ok(s, create('/m', 'x'));
    const outcome = run(s, { op: 'multi', ops: [create('/m/a') as never, { op: 'check', path: '/m', version: 0 }, { op: 'setData', path: '/m', data: 'y', version: 0 }, { op: 'delete', path: '/m/a', version: 0 }] });
    expect(outcome.reply.ok).toBe(true);
    const results = (outcome.reply as { result: MultiResult }).result.results;
    expect(results.map((r) => r.type)).toEqual(['create', 'check', 'setData', 'delete']);
    expect(outcome.txn).toMatchObject({ type: 'multi', zxid: outcome.zxid });
    expect(ok<GetDataResult>(s, { op: 'getData', path: '/m' }).stat).toMatchObject({ version: 1, mzxid: outcome.zxid, numChildren: 0 });
  });

  test('one failure: nothing applied, per-op codes, no events, one-shot watches kept', () => {
    const { session, ok, run, core } = setup();
    const s = session('s1');
    const w = session('w');
    ok(s, create('/m', 'x'));
    ok(w, { op: 'getData', path: '/m', watch: true });
    const before = core.snapshot();
    const outcome = run(s, { op: 'multi', ops: [{ op: 'setData', path: '/m', data: 'y', version: 0 }, create('/m/new') as never, { op: 'check', path: '/m', version: 7 }, { op: 'delete', path: '/m', version: -1 }] });
    expect(outcome.reply).toMatchObject({ ok: false, code: 'BadVersion', path: '/m' });
    expect((outcome.reply as { results: unknown }).results).toEqual([
      { type: 'error', code: 'Ok' },
      { type: 'error', code: 'Ok' },
      { type: 'error', code: 'BadVersion' },
      { type: 'error', code: 'RuntimeInconsistency' },
    ]);
    expect(outcome.txn).toBeNull();
    expect(outcome.events).toEqual([]);
    expect(core.snapshot()).toEqual(before);
    // The watch set before the failed multi still fires on the next real change.
    const set = run(s, { op: 'setData', path: '/m', data: 'z', version: 0 });
    expect(set.events).toEqual([{ sessionId: w, frame: { type: 'watch', event: 'NodeDataChanged', path: '/m', zxid: set.zxid } }]);
  });

  test('sequential creates inside a multi see each other', () => {
    const { session, ok } = setup();
    const s = session('s1');
    ok(s, create('/q'));
    const result = ok<MultiResult>(s, { op: 'multi', ops: [create('/q/n_', '', 'persistent_sequential') as never, create('/q/n_', '', 'persistent_sequential') as never] });
    expect(result.results.map((r) => (r as { path: string }).path)).toEqual(['/q/n_0000000000', '/q/n_0000000001']);
  });
});

describe('watches', () => {
  type Case = { name: string; watch: TextOperation; change: TextOperation; expected: Array<[string, string]> };
  const cases: Case[] = [
    { name: 'exists on a missing node → NodeCreated', watch: { op: 'exists', path: '/w/new', watch: true }, change: create('/w/new'), expected: [['NodeCreated', '/w/new']] },
    { name: 'getData → NodeDataChanged', watch: { op: 'getData', path: '/w', watch: true }, change: { op: 'setData', path: '/w', data: 'x', version: -1 }, expected: [['NodeDataChanged', '/w']] },
    { name: 'getData → NodeDeleted', watch: { op: 'getData', path: '/w/leaf', watch: true }, change: { op: 'delete', path: '/w/leaf', version: -1 }, expected: [['NodeDeleted', '/w/leaf']] },
    { name: 'getChildren → NodeChildrenChanged on create', watch: { op: 'getChildren', path: '/w', watch: true }, change: create('/w/kid'), expected: [['NodeChildrenChanged', '/w']] },
    { name: 'getChildren → NodeChildrenChanged on delete', watch: { op: 'getChildren', path: '/w', watch: true }, change: { op: 'delete', path: '/w/leaf', version: -1 }, expected: [['NodeChildrenChanged', '/w']] },
    { name: 'getChildren is not fired by a child data change', watch: { op: 'getChildren', path: '/w', watch: true }, change: { op: 'setData', path: '/w/leaf', data: 'x', version: -1 }, expected: [] },
    { name: 'getChildren on the node itself → NodeDeleted', watch: { op: 'getChildren', path: '/w/leaf', watch: true }, change: { op: 'delete', path: '/w/leaf', version: -1 }, expected: [['NodeDeleted', '/w/leaf']] },
    { name: 'persistent → child change', watch: { op: 'addWatch', path: '/w', mode: 'persistent' }, change: create('/w/kid'), expected: [['NodeChildrenChanged', '/w']] },
    { name: 'persistent is not fired below the node', watch: { op: 'addWatch', path: '/w', mode: 'persistent' }, change: { op: 'setData', path: '/w/leaf', data: 'x', version: -1 }, expected: [] },
    { name: 'recursive → create below', watch: { op: 'addWatch', path: '/w', mode: 'persistentRecursive' }, change: create('/w/leaf/deep'), expected: [['NodeCreated', '/w/leaf/deep']] },
    { name: 'recursive → data change below', watch: { op: 'addWatch', path: '/', mode: 'persistentRecursive' }, change: { op: 'setData', path: '/w/leaf', data: 'x', version: -1 }, expected: [['NodeDataChanged', '/w/leaf']] },
    { name: 'recursive never gets NodeChildrenChanged', watch: { op: 'addWatch', path: '/w/leaf', mode: 'persistentRecursive' }, change: create('/w/leaf/kid'), expected: [['NodeCreated', '/w/leaf/kid']] },
  ];

  test.each(cases)('$name', ({ watch, change, expected }) => {
    const { session, ok, run } = setup();
    const writer = session('writer');
    const watcher = session('watcher');
    ok(writer, create('/w'));
    ok(writer, create('/w/leaf'));
    ok(watcher, watch);
    const outcome = run(writer, change);
    expect(outcome.reply.ok).toBe(true);
    expect(outcome.events.map((e) => [e.frame.event, e.frame.path])).toEqual(expected);
    for (const event of outcome.events) {
      expect(event.sessionId).toBe(watcher);
      expect(event.frame.zxid).toBe(outcome.zxid);
    }
  });

  test('one-shot watches fire once; persistent ones keep firing until removed', () => {
    const { session, ok, run, fail } = setup();
    const s = session('s');
    ok(s, create('/p'));
    ok(s, { op: 'getData', path: '/p', watch: true });
    ok(s, { op: 'addWatch', path: '/p', mode: 'persistent' });
    const first = run(s, { op: 'setData', path: '/p', data: '1', version: -1 });
    expect(first.events).toHaveLength(1); // one event per session per change
    const second = run(s, { op: 'setData', path: '/p', data: '2', version: -1 });
    expect(second.events).toHaveLength(1);
    ok(s, { op: 'removeWatches', path: '/p', watcherType: 'persistent' });
    expect(run(s, { op: 'setData', path: '/p', data: '3', version: -1 }).events).toEqual([]);
    expect(fail(s, { op: 'removeWatches', path: '/p', watcherType: 'any' }).code).toBe('NoWatcher');
  });

  test('getData on a missing node sets no watch; the per-session watch limit holds', () => {
    const { session, ok, fail, core } = setup({ ...DEFAULT_LIMITS, watchesPerSessionMax: 2 });
    const s = session('s');
    expect(fail(s, { op: 'getData', path: '/none', watch: true }).code).toBe('NoNode');
    expect(core.counts().watchCount).toBe(0);
    ok(s, { op: 'exists', path: '/a', watch: true });
    ok(s, { op: 'exists', path: '/a', watch: true }); // the same watch again is not a new one
    ok(s, { op: 'exists', path: '/b', watch: true });
    expect(fail(s, { op: 'exists', path: '/c', watch: true }).code).toBe('BadArguments');
    expect(core.counts().watchCount).toBe(2);
  });
});

describe('sessions', () => {
  test('timeouts are negotiated into [min, max]', () => {
    const core = new CoordinatorCore({ ...DEFAULT_LIMITS, sessionTimeoutMinMs: 1000, sessionTimeoutMaxMs: 5000 });
    expect(core.createSession(10, T0, 'a', 'p').timeoutMs).toBe(1000);
    expect(core.createSession(3000, T0, 'b', 'p').timeoutMs).toBe(3000);
    expect(core.createSession(99_999, T0, 'c', 'p').timeoutMs).toBe(5000);
    expect(core.sessionFor('b')).toEqual({ sessionId: 'b', password: 'p', timeoutMs: 3000 });
    expect(core.sessionFor('zz')).toBeNull();
  });

  test('expiry: deadlines move with traffic; closing deletes ephemerals in one txn and fires watches', () => {
    const { core, session, ok, close } = setup();
    const owner = session('owner', 2000);
    const watcher = session('watcher', 60_000);
    ok(owner, create('/brokers'));
    ok(owner, create('/brokers/1', '{}', 'ephemeral'));
    ok(owner, create('/brokers/2', '{}', 'ephemeral'));
    ok(watcher, { op: 'getChildren', path: '/brokers', watch: true });
    ok(watcher, { op: 'exists', path: '/brokers/1', watch: true });
    expect(core.expiredSessions(T0 + 1999)).toEqual([]);
    core.touchSession(owner, T0 + 1500);
    expect(core.expiredSessions(T0 + 2500)).toEqual([]);
    expect(core.expiredSessions(T0 + 3500)).toEqual([owner]);
    const outcome = close(owner, T0 + 3500);
    expect(outcome.txn).toMatchObject({ type: 'closeSession', sessionId: owner, ephemerals: ['/brokers/1', '/brokers/2'] });
    expect(outcome.events.map((e) => [e.sessionId, e.frame.event, e.frame.path])).toEqual([
      [watcher, 'NodeDeleted', '/brokers/1'],
      [watcher, 'NodeChildrenChanged', '/brokers'],
    ]);
    expect(core.sessionFor(owner)).toBeNull();
    expect(core.counts()).toMatchObject({ ephemeralsCount: 0, sessions: 1 });
    expect(close(owner).txn).toBeNull(); // closing twice is harmless
  });

  test('getEphemerals lists the session own ephemerals under a prefix', () => {
    const { session, ok } = setup();
    const a = session('a');
    const b = session('b');
    ok(a, create('/x'));
    ok(a, create('/x/a1', '', 'ephemeral'));
    ok(a, create('/y', '', 'ephemeral'));
    ok(b, create('/x/b1', '', 'ephemeral'));
    expect(ok<{ paths: string[] }>(a, { op: 'getEphemerals' }).paths).toEqual(['/x/a1', '/y']);
    expect(ok<{ paths: string[] }>(a, { op: 'getEphemerals', prefix: '/x' }).paths).toEqual(['/x/a1']);
  });
});

describe('replay and snapshots', () => {
  function workload() {
    const w = setup();
    const s = w.session('s1');
    const t = w.session('t1');
    w.ok(s, create('/a', 'one'));
    w.ok(s, create('/a/q-', '', 'persistent_sequential'));
    w.ok(t, create('/a/e', 'x', 'ephemeral'));
    w.ok(s, create('/c', '', 'container'));
    w.ok(t, create('/c/e', '', 'ephemeral'));
    w.ok(s, { op: 'setData', path: '/a', data: 'two', version: 0 });
    w.ok(s, { op: 'multi', ops: [create('/m') as never, { op: 'setData', path: '/m', data: 'z', version: 0 }] });
    w.ok(s, { op: 'delete', path: '/a/q-0000000000', version: -1 });
    w.close(t, T0 + 10); // deletes /a/e and /c/e; the container /c stays until the check
    const container = w.core.deleteContainer('/c', T0 + 20);
    w.log.push(container.txn!);
    return w;
  }

  test('replaying the transaction log rebuilds the same tree and sessions', () => {
    const { core, log } = workload();
    expect(log.find((txn) => txn.type === 'closeSession')).toMatchObject({ ephemerals: ['/a/e', '/c/e'] });
    expect(log[log.length - 1]).toMatchObject({ type: 'delete', path: '/c', time: T0 + 20 });
    const replayed = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of log) replayed.replay(txn);
    expect(replayed.snapshot()).toEqual(core.snapshot());
    expect(replayed.counts()).toEqual(core.counts());
  });

  test('a snapshot restores the core; transactions already in it are skipped on replay', () => {
    const { core, log } = workload();
    // Through JSON as the stores write it (data as base64, store/records.ts).
    const restored = CoordinatorCore.fromSnapshot(snapshotFromJson(JSON.parse(JSON.stringify(snapshotToJson(core.snapshot()))))!, DEFAULT_LIMITS, T0 + 100);
    for (const txn of log) restored.replay(txn);
    expect(restored.snapshot()).toEqual(core.snapshot());
    expect(restored.lastZxid).toBe(core.lastZxid);
    // Restored sessions get a fresh timeout from `now`.
    expect(restored.expiredSessions(T0 + 100 + 2999)).toEqual([]);
    expect(restored.expiredSessions(T0 + 100 + 3000)).toEqual(['s1']);
    // And the restored tree keeps numbering where it left off.
    const next = restored.execute('s1', coreOp(create('/a/q-', '', 'persistent_sequential')), T0 + 200);
    expect((next.reply as { result: CreateResult }).result.path).toBe('/a/q-0000000002'); // cversion 2: two creates under /a
  });
});
