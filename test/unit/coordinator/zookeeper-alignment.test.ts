/**
 * The core's behaviour where it follows ZooKeeper 3.8 (issue 10, "Semantics to align with
 * ZooKeeper"): lazy container removal, cversion and sequential suffixes counting child creations
 * only, multi without a fixed operation count, versions below -1, a closing session told about its
 * own ephemerals, multiRead, getAllChildrenNumber, the reserved /zookeeper subtree, and replay of
 * transactions logged before these changes.
 */
import { ConfigError, loadCoordinatorConfig } from '../../../coordinator/config';
import { CoordinatorCore } from '../../../coordinator/core';
import { DEFAULT_LIMITS, ExecuteOutcome, Txn } from '../../../coordinator/core-api';
import { snapshotFromJson, snapshotToJson } from '../../../coordinator/store/records';
import { coreOp, TextOperation } from './core-ops';
import type { CreateResult, ErrorCode, GetChildrenResult, MultiReadResult, MultiResult, Stat } from '../../../shared/coordinator/protocol';

const T0 = 1_700_000_000_000;

function setup() {
  const core = new CoordinatorCore(DEFAULT_LIMITS);
  const log: Txn[] = [];
  const keep = (outcome: ExecuteOutcome): ExecuteOutcome => {
    if (outcome.txn !== null) log.push(outcome.txn);
    return outcome;
  };
  const session = (id: string): string => {
    log.push(core.createSession(3000, T0, id, `pw-${id}`).txn);
    return id;
  };
  const run = (sessionId: string, operation: TextOperation, now = T0): ExecuteOutcome => keep(core.execute(sessionId, coreOp(operation), now));
  const ok = <R>(sessionId: string, operation: TextOperation, now = T0): R => {
    const outcome = run(sessionId, operation, now);
    if (!outcome.reply.ok) throw new Error(`${operation.op} failed: ${outcome.reply.code} ${outcome.reply.message}`);
    return outcome.reply.result as R;
  };
  const fail = (sessionId: string, operation: TextOperation): ErrorCode => {
    const outcome = run(sessionId, operation);
    if (outcome.reply.ok) throw new Error(`${operation.op} unexpectedly succeeded`);
    expect(outcome.txn).toBeNull();
    return outcome.reply.code;
  };
  const stat = (sessionId: string, path: string): Stat | null => ok<{ stat: Stat | null }>(sessionId, { op: 'exists', path }).stat;
  /** One run of the server's periodic container check. */
  const checkContainers = (now = T0): ExecuteOutcome[] => core.containerCandidates().map((path) => keep(core.deleteContainer(path, now)));
  return { core, log, session, run, ok, fail, stat, checkContainers };
}

const create = (path: string, mode: 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container' = 'persistent', data = ''): TextOperation => ({ op: 'create', path, data, mode });
const del = (path: string, version = -1): TextOperation => ({ op: 'delete', path, version });

describe('containers are removed lazily, by the periodic check', () => {
  test('delete the last child, then create another: the container is still there', () => {
    const { session, ok, stat, checkContainers } = setup();
    const s = session('s');
    ok(s, create('/lock', 'container'));
    ok(s, create('/lock/a'));
    ok(s, del('/lock/a'));
    expect(stat(s, '/lock')).toMatchObject({ numChildren: 0, cversion: 2 });
    expect(ok<CreateResult>(s, create('/lock/b')).path).toBe('/lock/b');
    expect(checkContainers()).toEqual([]); // it has a child again
    expect(stat(s, '/lock')).not.toBeNull();
  });

  test('the check removes a container that had children and has none: an ordinary delete txn with its events', () => {
    const { core, session, ok, stat, checkContainers } = setup();
    const s = session('s');
    const w = session('w');
    ok(s, create('/c', 'container'));
    ok(s, create('/c/x'));
    ok(s, del('/c/x'));
    ok(w, { op: 'exists', path: '/c', watch: true });
    ok(w, { op: 'getChildren', path: '/', watch: true });
    expect(core.containerCandidates()).toEqual(['/c']);
    const [outcome] = checkContainers(T0 + 60_000);
    expect(outcome!.txn).toEqual({ type: 'delete', zxid: outcome!.zxid, time: T0 + 60_000, path: '/c' });
    expect(outcome!.events.map((e) => [e.sessionId, e.frame.event, e.frame.path, e.frame.zxid])).toEqual([
      [w, 'NodeDeleted', '/c', outcome!.zxid],
      [w, 'NodeChildrenChanged', '/', outcome!.zxid],
    ]);
    expect(stat(s, '/c')).toBeNull();
    expect(core.containerCandidates()).toEqual([]);
  });

  test('a container that never had a child is kept (cversion 0), as ZooKeeper keeps it', () => {
    const { core, session, ok, stat, checkContainers } = setup();
    const s = session('s');
    ok(s, create('/fresh', 'container'));
    expect(core.containerCandidates()).toEqual([]);
    checkContainers();
    expect(stat(s, '/fresh')).not.toBeNull();
  });

  test('nested containers go one level per check; a removed candidate that changed meanwhile is left alone', () => {
    const { core, session, ok, stat, checkContainers } = setup();
    const s = session('s');
    ok(s, create('/outer', 'container'));
    ok(s, create('/outer/inner', 'container'));
    ok(s, create('/outer/inner/leaf'));
    ok(s, del('/outer/inner/leaf'));
    checkContainers();
    expect(stat(s, '/outer/inner')).toBeNull();
    expect(stat(s, '/outer')).toMatchObject({ numChildren: 0 });
    checkContainers();
    expect(stat(s, '/outer')).toBeNull();
    // deleteContainer on something that is no longer a candidate does nothing.
    ok(s, create('/p'));
    expect(core.deleteContainer('/p', T0).txn).toBeNull();
    expect(core.deleteContainer('/missing', T0).txn).toBeNull();
  });

  test('a session closing deletes only its ephemerals; their emptied container waits for the check', () => {
    const { core, session, ok, stat, checkContainers } = setup();
    const s = session('s');
    const e = session('e');
    ok(s, create('/c', 'container'));
    ok(e, create('/c/eph', 'ephemeral'));
    const closed = core.closeSession(e, T0);
    expect(closed.txn).toMatchObject({ type: 'closeSession', ephemerals: ['/c/eph'] });
    expect(stat(s, '/c')).not.toBeNull();
    expect(checkContainers()).toHaveLength(1);
    expect(stat(s, '/c')).toBeNull();
  });
});

describe('sequential suffixes count child creations; Stat.cversion counts creations and deletions (ZooKeeper 3.8)', () => {
  // Checked against Apache ZooKeeper 3.8.0 with zkCli: the same steps give n-0000000002 and cversion 2, 4, 5.
  test('create, create, delete, delete: the next suffix is 0000000002; cversion 2, 4, then 5; pzxid moves on deletes', () => {
    const { session, ok, run, stat } = setup();
    const s = session('s');
    ok(s, create('/q'));
    expect(ok<CreateResult>(s, create('/q/n-', 'persistent_sequential')).path).toBe('/q/n-0000000000');
    expect(ok<CreateResult>(s, create('/q/n-', 'persistent_sequential')).path).toBe('/q/n-0000000001');
    expect(stat(s, '/q')).toMatchObject({ cversion: 2, numChildren: 2 });
    ok(s, del('/q/n-0000000000'));
    const lastDelete = run(s, del('/q/n-0000000001'));
    // A deletion moves pzxid and the reported cversion, but not the suffix counter.
    expect(stat(s, '/q')).toMatchObject({ cversion: 4, numChildren: 0, pzxid: lastDelete.zxid });
    expect(ok<CreateResult>(s, create('/q/n-', 'ephemeral_sequential')).path).toBe('/q/n-0000000002');
    expect(stat(s, '/q')).toMatchObject({ cversion: 5, numChildren: 1 });
  });

  test('plain creates advance the counter too, and a failed create does not', () => {
    const { session, ok, fail, stat } = setup();
    const s = session('s');
    ok(s, create('/q'));
    ok(s, create('/q/plain'));
    expect(fail(s, create('/q/plain'))).toBe('NodeExists');
    ok(s, del('/q/plain'));
    expect(ok<CreateResult>(s, create('/q/', 'persistent_sequential')).path).toBe('/q/0000000001');
    expect(stat(s, '/q')!.cversion).toBe(3); // two creations, one deletion
  });

  test('a multi that fails leaves cversion as it was', () => {
    const { session, ok, fail, stat } = setup();
    const s = session('s');
    ok(s, create('/q'));
    expect(fail(s, { op: 'multi', ops: [create('/q/a') as never, { op: 'check', path: '/q', version: 9 }] })).toBe('BadVersion');
    expect(stat(s, '/q')!.cversion).toBe(0);
  });
});

describe('multi and versions', () => {
  test('a multi of 5000 operations is one transaction (no fixed 1000 cap)', () => {
    const { session, ok, run } = setup();
    const s = session('s');
    ok(s, create('/m'));
    const ops = Array.from({ length: 5000 }, (_, i) => create(`/m/${i}`) as never);
    const outcome = run(s, { op: 'multi', ops });
    expect((outcome.reply as { result: MultiResult }).result.results).toHaveLength(5000);
    expect(outcome.txn).toMatchObject({ type: 'multi' });
    expect(ok<GetChildrenResult>(s, { op: 'getChildren', path: '/m', withStat: true }).stat).toMatchObject({ numChildren: 5000, cversion: 5000 });
  });

  test.each([-2, -3, -(2 ** 31), 5])('version %d is BadVersion for setData, delete and check', (version) => {
    const { session, ok, fail, stat } = setup();
    const s = session('s');
    ok(s, create('/v'));
    expect(fail(s, { op: 'setData', path: '/v', data: 'x', version })).toBe('BadVersion');
    expect(fail(s, { op: 'delete', path: '/v', version })).toBe('BadVersion');
    expect(fail(s, { op: 'multi', ops: [{ op: 'check', path: '/v', version }] })).toBe('BadVersion');
    expect(fail(s, { op: 'delete', path: '/none', version })).toBe('NoNode'); // existence is checked first
    expect(stat(s, '/v')!.version).toBe(0);
  });
});

describe('a closing session', () => {
  test('receives NodeDeleted (and NodeChildrenChanged) for its own watched ephemerals, then loses its watches', () => {
    const { core, session, ok } = setup();
    const s = session('s');
    const other = session('other');
    ok(s, create('/svc'));
    ok(s, create('/svc/me', 'ephemeral'));
    ok(s, { op: 'exists', path: '/svc/me', watch: true });
    ok(s, { op: 'getChildren', path: '/svc', watch: true });
    ok(s, { op: 'addWatch', path: '/', mode: 'persistentRecursive' });
    ok(other, { op: 'getData', path: '/svc/me', watch: true });
    const closed = core.closeSession(s, T0 + 1);
    expect(closed.events.map((e) => [e.sessionId, e.frame.event, e.frame.path])).toEqual([
      [s, 'NodeDeleted', '/svc/me'],
      [other, 'NodeDeleted', '/svc/me'],
      [s, 'NodeChildrenChanged', '/svc'],
    ]);
    expect(core.counts().watchCount).toBe(0);
  });
});

describe('multiRead and getAllChildrenNumber', () => {
  test('multiRead answers each read on its own, errors included, and sets no watches', () => {
    const { core, session, ok, run } = setup();
    const s = session('s');
    ok(s, create('/a', 'persistent', 'A'));
    ok(s, create('/a/b'));
    const outcome = run(s, {
      op: 'multiRead',
      ops: [
        { op: 'getData', path: '/a' },
        { op: 'getChildren', path: '/a' },
        { op: 'getData', path: '/missing' },
        { op: 'getChildren', path: 'bad' },
        { op: 'getData', path: '/a/b' },
      ],
    });
    expect(outcome.txn).toBeNull();
    const results = (outcome.reply as { result: MultiReadResult }).result.results;
    expect(results[0]).toMatchObject({ type: 'getData', data: Buffer.from('A'), stat: { numChildren: 1 } });
    expect(results.slice(1, 4)).toEqual([
      { type: 'getChildren', children: ['b'] },
      { type: 'error', code: 'NoNode' },
      { type: 'error', code: 'BadArguments' },
    ]);
    expect(results[4]).toMatchObject({ type: 'getData', data: Buffer.alloc(0) });
    expect(ok<MultiReadResult>(s, { op: 'multiRead', ops: [] }).results).toEqual([]);
    expect(core.counts().watchCount).toBe(0);
  });

  test('getAllChildrenNumber counts every node below, at all depths; NoNode for a missing path', () => {
    const { session, ok, fail } = setup();
    const s = session('s');
    const total = (path: string): number => ok<{ totalNumber: number }>(s, { op: 'getAllChildrenNumber', path }).totalNumber;
    expect(total('/')).toBe(3); // /zookeeper, /zookeeper/quota, /zookeeper/config, as on a fresh ZooKeeper
    ok(s, create('/a'));
    ok(s, create('/a/b'));
    ok(s, create('/a/b/c'));
    ok(s, create('/a/d'));
    ok(s, create('/ab')); // a sibling whose name starts like /a is not below it
    expect(total('/a')).toBe(3);
    expect(total('/a/b')).toBe(1);
    expect(total('/a/d')).toBe(0);
    expect(total('/')).toBe(8);
    expect(fail(s, { op: 'getAllChildrenNumber', path: '/none' })).toBe('NoNode');
  });
});

describe('the reserved /zookeeper subtree', () => {
  test('exists from the start; creating it is NodeExists; deleting any of it is BadArguments; config is read-only', () => {
    const { session, ok, fail, stat } = setup();
    const s = session('s');
    expect(ok<GetChildrenResult>(s, { op: 'getChildren', path: '/' }).children).toEqual(['zookeeper']);
    expect(ok<GetChildrenResult>(s, { op: 'getChildren', path: '/zookeeper' }).children).toEqual(['config', 'quota']);
    // Zeroed Stats; cversion -2 and -1 as a fresh ZooKeeper 3.8.0 reports them (2 x 0 creations - numChildren).
    expect(stat(s, '/zookeeper')).toEqual({ czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: -2, ephemeralOwner: '0', dataLength: 0, numChildren: 2, aversion: 0 });
    expect(stat(s, '/')).toMatchObject({ numChildren: 1, cversion: -1 });
    expect(stat(s, '/zookeeper/quota')).toMatchObject({ numChildren: 0, cversion: 0 });
    expect(fail(s, create('/zookeeper'))).toBe('NodeExists');
    expect(fail(s, create('/zookeeper/quota'))).toBe('NodeExists');
    for (const path of ['/zookeeper', '/zookeeper/quota', '/zookeeper/config']) expect(fail(s, del(path))).toBe('BadArguments');
    expect(fail(s, { op: 'multi', ops: [del('/zookeeper/config') as never] })).toBe('BadArguments');
    expect(fail(s, { op: 'setData', path: '/zookeeper/config', data: 'x', version: -1 })).toBe('NoAuth');
    expect(fail(s, { op: 'setData', path: '/zookeeper/config', data: 'x', version: 7 })).toBe('NoAuth'); // the ACL before the version
    expect(fail(s, create('/zookeeper/config/x'))).toBe('NoAuth');
    // Elsewhere under /zookeeper is an ordinary tree, as in ZooKeeper.
    ok(s, create('/zookeeper/mine'));
    ok(s, del('/zookeeper/mine'));
  });

  test('survives snapshots and replay, including a snapshot taken before it existed', () => {
    const { core, log, session, ok } = setup();
    ok(session('s'), create('/app'));
    // Through JSON as the stores write it (data as base64, store/records.ts).
    const restored = CoordinatorCore.fromSnapshot(snapshotFromJson(JSON.parse(JSON.stringify(snapshotToJson(core.snapshot()))))!, DEFAULT_LIMITS, T0);
    expect(restored.snapshot()).toEqual(core.snapshot());
    const replayed = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of log) replayed.replay(txn);
    expect(replayed.snapshot()).toEqual(core.snapshot());
    const old = core.snapshot();
    old.nodes = old.nodes.filter((node) => !node.path.startsWith('/zookeeper'));
    const fromOld = CoordinatorCore.fromSnapshot(old, DEFAULT_LIMITS, T0);
    expect(fromOld.snapshot().nodes.map((node) => node.path).sort()).toEqual(['/', '/app', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
  });
});

describe('replaying transactions logged before the alignment', () => {
  test('legacy deletes advance cversion as they did then, so later sequential names stay unique', () => {
    // Logged by the old core: /q/n-0 created and deleted (cversion 2), then /q/n-0000000002 created
    // (cversion 3); a container /c removed with its last child; a session closed with `deleted`.
    const legacy = [
      { type: 'createSession', zxid: 1, time: T0, sessionId: 's', password: 'p', timeoutMs: 3000 },
      { type: 'create', zxid: 2, time: T0, path: '/q', data: '', ephemeralOwner: '0', container: false },
      { type: 'create', zxid: 3, time: T0, path: '/q/n-0000000000', data: '', ephemeralOwner: '0', container: false },
      { type: 'delete', zxid: 4, time: T0, path: '/q/n-0000000000', alsoDeleted: [] },
      { type: 'create', zxid: 5, time: T0, path: '/q/n-0000000002', data: '', ephemeralOwner: '0', container: false },
      { type: 'create', zxid: 6, time: T0, path: '/c', data: '', ephemeralOwner: '0', container: true },
      { type: 'create', zxid: 7, time: T0, path: '/c/x', data: '', ephemeralOwner: '0', container: false },
      { type: 'multi', zxid: 8, time: T0, txns: [{ type: 'delete', path: '/c/x', alsoDeleted: ['/c'] }] },
      { type: 'create', zxid: 9, time: T0, path: '/q/e', data: '', ephemeralOwner: 's', container: false },
      { type: 'closeSession', zxid: 10, time: T0, sessionId: 's', deleted: ['/q/e'] },
      // An old tree could hold a user-made /zookeeper; its create and delete are skipped now.
      { type: 'create', zxid: 11, time: T0, path: '/zookeeper', data: 'mine', ephemeralOwner: '0', container: false },
      { type: 'delete', zxid: 12, time: T0, path: '/zookeeper', alsoDeleted: [] },
    ] as Txn[];
    const core = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of legacy) core.replay(txn);
    expect(core.lastZxid).toBe(12);
    const q = core.snapshot().nodes.find((node) => node.path === '/q')!;
    expect(q.cversion).toBe(5); // three creates and two deletes, counted the old way
    expect(core.snapshot().nodes.some((node) => node.path === '/c')).toBe(false);
    expect(core.snapshot().nodes.some((node) => node.path === '/zookeeper/quota')).toBe(true);
    core.createSession(3000, T0, 't', 'p');
    const next = core.execute('t', coreOp(create('/q/n-', 'persistent_sequential')), T0);
    expect((next.reply as { result: CreateResult }).result.path).toBe('/q/n-0000000005');
  });
});

describe('the container check interval', () => {
  test("defaults to ZooKeeper's 60 s; set by flag or SAMSA_COORDINATOR_CONTAINER_CHECK_INTERVAL_MS; must be >= 1", () => {
    expect(loadCoordinatorConfig().containerCheckIntervalMs).toBe(60_000);
    expect(loadCoordinatorConfig({ SAMSA_COORDINATOR_CONTAINER_CHECK_INTERVAL_MS: '500' }).containerCheckIntervalMs).toBe(500);
    expect(loadCoordinatorConfig({ SAMSA_COORDINATOR_CONTAINER_CHECK_INTERVAL_MS: '500' }, { containerCheckIntervalMs: 250 }).containerCheckIntervalMs).toBe(250);
    expect(() => loadCoordinatorConfig({}, { containerCheckIntervalMs: 0 })).toThrow(ConfigError);
  });
});
