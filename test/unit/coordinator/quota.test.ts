/**
 * Quotas in the core (coordinator/quota.ts): ZooKeeper's limits/stats nodes, soft limits that
 * warn, hard limits that refuse (QuotaExceeded, in multi too), the server-wide totals, and usage
 * counters that stay equal to a recount of the tree through rollback, session close, container
 * removal, replay and snapshot restore.
 */
import { CoordinatorCore } from '../../../coordinator/core';
import { CoordinatorLimits, DEFAULT_LIMITS, ExecuteOutcome, Txn } from '../../../coordinator/core-api';
import { formatQuotaLimits, parseQuotaLimits, quotaLimitsPath, quotaStatsPath } from '../../../coordinator/quota';
import { snapshotFromJson, snapshotToJson } from '../../../coordinator/store/records';
import type { ErrorCode, GetChildrenResult, MultiResult, Stat } from '../../../shared/coordinator/protocol';
import { coreOp, TextOperation } from './core-ops';

const T0 = 1_700_000_000_000;

/** A getData result as the core gives it: data as bytes. */
interface CoreRead {
  data: Buffer;
  stat: Stat;
}

function setup(limits: CoordinatorLimits = DEFAULT_LIMITS) {
  const core = new CoordinatorCore(limits);
  const log: Txn[] = [];
  log.push(core.createSession(30_000, T0, 's1', 'pw').txn);
  const run = (operation: TextOperation, sessionId = 's1'): ExecuteOutcome => {
    const outcome = core.execute(sessionId, coreOp(operation), T0);
    if (outcome.txn !== null) log.push(outcome.txn);
    return outcome;
  };
  const ok = <R = unknown>(operation: TextOperation, sessionId = 's1'): R => {
    const outcome = run(operation, sessionId);
    if (!outcome.reply.ok) throw new Error(`${operation.op} failed: ${outcome.reply.code} ${outcome.reply.message}`);
    return outcome.reply.result as R;
  };
  const fail = (operation: TextOperation): { code: ErrorCode; message: string; path?: string; results?: unknown } => {
    const outcome = run(operation);
    if (outcome.reply.ok) throw new Error(`${operation.op} unexpectedly succeeded`);
    expect(outcome.txn).toBeNull();
    expect(outcome.events).toEqual([]);
    expect(outcome.quotaWarnings).toBeUndefined();
    return outcome.reply;
  };
  const get = (path: string): string => Buffer.from(ok<CoreRead>({ op: 'getData', path }).data).toString('utf8');
  /** What `samsa setquota` writes: the quota's parents, its limits node and a stats node. */
  const setQuota = (path: string, limits: string): void => {
    const segments = path.split('/').slice(1);
    for (let i = 1; i <= segments.length; i++) {
      const outcome = run(create(`/zookeeper/quota/${segments.slice(0, i).join('/')}`));
      if (!outcome.reply.ok && outcome.reply.code !== 'NodeExists') throw new Error(`setQuota: ${outcome.reply.code}`);
    }
    ok(create(quotaLimitsPath(path), limits));
    ok(create(quotaStatsPath(path), 'count=0,bytes=0'));
  };
  /** The usage a recount of the tree gives: nodes below and at `path`, their data bytes. */
  const recount = (path: string): string => {
    let count = 0;
    let bytes = 0;
    const walk = (at: string): void => {
      const exists = core.execute('s1', coreOp({ op: 'exists', path: at }), T0).reply as { ok: true; result: { stat: { dataLength: number } | null } };
      if (exists.result.stat === null) return;
      count++;
      bytes += exists.result.stat.dataLength;
      for (const child of ok<GetChildrenResult>({ op: 'getChildren', path: at }).children) walk(`${at}/${child}`);
    };
    walk(path);
    return `count=${count},bytes=${bytes}`;
  };
  return { core, log, run, ok, fail, get, setQuota, recount };
}

const create = (path: string, data = '', mode: 'persistent' | 'ephemeral' | 'persistent_sequential' | 'container' = 'persistent'): TextOperation => ({ op: 'create', path, data, mode });
const setData = (path: string, data: string, version = -1): TextOperation => ({ op: 'setData', path, data, version });
const del = (path: string): TextOperation => ({ op: 'delete', path, version: -1 });

describe('the limits text (StatsTrack)', () => {
  test.each([
    ['count=10,bytes=-1', { count: 10, bytes: -1, countHardLimit: -1, byteHardLimit: -1 }],
    ['count=-1,bytes=100=;byteHardLimit=200;countHardLimit=5', { count: -1, bytes: 100, countHardLimit: 5, byteHardLimit: 200 }],
    ['count=,bytes=', { count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1 }],
    ['countHardLimit=3', { count: -1, bytes: -1, countHardLimit: 3, byteHardLimit: -1 }],
    ['', { count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1 }],
    ['count=2;bytes=7;other=1', { count: 2, bytes: 7, countHardLimit: -1, byteHardLimit: -1 }],
  ])('%j parses', (text, limits) => {
    expect(parseQuotaLimits(text)).toEqual(limits);
  });

  test.each([['count=ten'], ['count=-2'], ['bytes=1.5']])('%j is invalid', (text) => {
    expect(parseQuotaLimits(text)).toBeNull();
  });

  test("formats as ZooKeeper 3.7's StatsTrack.toString, and parses back", () => {
    const soft = { count: 10, bytes: -1, countHardLimit: -1, byteHardLimit: -1 };
    const hard = { count: -1, bytes: 100, countHardLimit: 5, byteHardLimit: 200 };
    expect(formatQuotaLimits(soft)).toBe('count=10,bytes=-1');
    expect(formatQuotaLimits(hard)).toBe('count=-1,bytes=100=;byteHardLimit=200;countHardLimit=5');
    expect(parseQuotaLimits(formatQuotaLimits(hard))).toEqual(hard);
  });
});

describe('per-subtree quotas', () => {
  test('a quota set on an existing subtree counts it; zookeeper_stats answers with live usage', () => {
    const w = setup();
    w.ok(create('/app', 'ab'));
    w.ok(create('/app/x', '123'));
    w.setQuota('/app', 'count=10,bytes=-1');
    expect(w.get(quotaStatsPath('/app'))).toBe('count=2,bytes=5');
    w.ok(create('/app/y', 'zzzz'));
    w.ok(setData('/app/x', '1'));
    const read = w.ok<CoreRead>({ op: 'getData', path: quotaStatsPath('/app') });
    expect(Buffer.from(read.data).toString()).toBe('count=3,bytes=7');
    expect(read.stat.dataLength).toBe('count=3,bytes=7'.length);
    // multiRead answers the same.
    const multiRead = w.ok<{ results: Array<{ data: Buffer }> }>({ op: 'multiRead', ops: [{ op: 'getData', path: quotaStatsPath('/app') }] });
    expect(Buffer.from(multiRead.results[0]!.data).toString()).toBe('count=3,bytes=7');
    w.ok(del('/app/y'));
    expect(w.get(quotaStatsPath('/app'))).toBe(w.recount('/app'));
    // Nodes outside the subtree do not count, nor does a sibling sharing the prefix.
    w.ok(create('/application', 'xxxxxxxx'));
    expect(w.get(quotaStatsPath('/app'))).toBe('count=2,bytes=3');
  });

  test('a hard count limit refuses the create beyond it; deletes always go', () => {
    const w = setup();
    w.ok(create('/app'));
    w.setQuota('/app', 'count=-1,bytes=-1=;countHardLimit=3');
    w.ok(create('/app/a'));
    w.ok(create('/app/b'));
    const refused = w.fail(create('/app/c'));
    expect(refused).toMatchObject({ code: 'QuotaExceeded', path: '/app/c' });
    expect(refused.message).toContain('/app');
    expect(refused.message).toContain('hard limit 3');
    expect(w.fail(create('/app/a/deeper')).code).toBe('QuotaExceeded');
    expect(w.get(quotaStatsPath('/app'))).toBe('count=3,bytes=0');
    w.ok(del('/app/b'));
    w.ok(create('/app/c'));
    // Sequential and ephemeral nodes count alike.
    expect(w.fail(create('/app/s-', '', 'persistent_sequential')).code).toBe('QuotaExceeded');
  });

  test('a hard byte limit refuses a growing setData; shrinking always goes, even over the limit', () => {
    const w = setup();
    w.ok(create('/app', '12345'));
    w.setQuota('/app', 'count=-1,bytes=-1=;byteHardLimit=8');
    w.ok(setData('/app', '12345678'));
    expect(w.fail(setData('/app', '123456789'))).toMatchObject({ code: 'QuotaExceeded', path: '/app' });
    expect(w.fail(create('/app/x', 'a')).code).toBe('QuotaExceeded');
    w.ok(create('/app/empty')); // no bytes: within the byte limit
    // A limit lowered below the usage: nothing grows, but shrinking and deleting go.
    w.ok(setData(quotaLimitsPath('/app'), 'count=-1,bytes=-1=;byteHardLimit=2'));
    w.ok(setData('/app', '1234'));
    expect(w.fail(setData('/app', '12345')).code).toBe('QuotaExceeded');
    w.ok(setData('/app', '1234')); // same size
    w.ok(del('/app/empty'));
    expect(w.get(quotaStatsPath('/app'))).toBe('count=1,bytes=4');
  });

  test('soft limits only warn: the write goes and its outcome carries the warning', () => {
    const w = setup();
    w.ok(create('/app'));
    w.setQuota('/app', 'count=2,bytes=3');
    expect(w.run(create('/app/a', 'ab')).quotaWarnings).toBeUndefined();
    const over = w.run(create('/app/b', 'cd'));
    expect(over.reply.ok).toBe(true);
    expect(over.quotaWarnings).toEqual(['quota of /app exceeded: count would be 3, soft limit 2', 'quota of /app exceeded: bytes would be 4, soft limit 3']);
    expect(w.get(quotaStatsPath('/app'))).toBe('count=3,bytes=4');
    expect(w.run(del('/app/b')).quotaWarnings).toBeUndefined();
  });

  test('with enforceQuota off, hard limits only warn (ZooKeeper without zookeeper.enforceQuota)', () => {
    const w = setup({ ...DEFAULT_LIMITS, enforceQuota: false });
    w.ok(create('/app'));
    w.setQuota('/app', 'count=-1,bytes=-1=;countHardLimit=1');
    const over = w.run(create('/app/a'));
    expect(over.reply.ok).toBe(true);
    expect(over.quotaWarnings).toEqual(['quota of /app exceeded: count would be 2, hard limit 1']);
  });

  test('a quota on a path that does not exist yet counts it once it is created; deleting the limits node ends the quota', () => {
    const w = setup();
    w.setQuota('/later', 'count=-1,bytes=-1=;countHardLimit=1');
    expect(w.get(quotaStatsPath('/later'))).toBe('count=0,bytes=0');
    w.ok(create('/later', 'x'));
    expect(w.fail(create('/later/child')).code).toBe('QuotaExceeded');
    w.ok(del(quotaLimitsPath('/later')));
    w.ok(create('/later/child'));
    // No quota any more: the stats node gives what it stores.
    expect(w.get(quotaStatsPath('/later'))).toBe('count=0,bytes=0');
  });

  test('quotas do not nest: a limits node above or below another quota is BadArguments', () => {
    const w = setup();
    w.ok(create('/a'));
    w.ok(create('/a/b'));
    w.setQuota('/a/b', 'count=5,bytes=-1');
    const above = w.fail(create(quotaLimitsPath('/a'), 'count=5,bytes=-1'));
    expect(above.code).toBe('BadArguments');
    expect(above.message).toBe('/a has a child /a/b which has a quota');
    w.ok(create('/zookeeper/quota/a/b/c'));
    expect(w.fail(create(quotaLimitsPath('/a/b/c'), 'count=5,bytes=-1')).message).toBe('/a/b/c has a parent /a/b which has a quota');
  });
});

describe('quotas inside multi', () => {
  test('a multi that would exceed a hard limit fails whole, with per-op results; usage is as before', () => {
    const w = setup();
    w.ok(create('/app'));
    w.setQuota('/app', 'count=-1,bytes=-1=;countHardLimit=2');
    const refused = w.fail({ op: 'multi', ops: [create('/app/a') as never, create('/app/b') as never, create('/other') as never] });
    expect(refused.code).toBe('QuotaExceeded');
    expect(refused.results).toEqual([
      { type: 'error', code: 'Ok' },
      { type: 'error', code: 'QuotaExceeded' },
      { type: 'error', code: 'RuntimeInconsistency' },
    ]);
    expect(w.get(quotaStatsPath('/app'))).toBe('count=1,bytes=0');
    // Space freed earlier in the same multi counts.
    w.ok(create('/app/a'));
    w.ok<MultiResult>({ op: 'multi', ops: [del('/app/a') as never, create('/app/b') as never] });
    expect(w.get(quotaStatsPath('/app'))).toBe('count=2,bytes=0');
  });

  test('a failed multi that set or created quota nodes leaves the quotas as they were', () => {
    const w = setup();
    w.ok(create('/app', 'abc'));
    w.ok(create('/app/x', 'de'));
    w.setQuota('/app', 'count=-1,bytes=-1=;countHardLimit=2');
    w.ok(create('/svc'));
    const refused = w.fail({
      op: 'multi',
      ops: [
        setData(quotaLimitsPath('/app'), 'count=-1,bytes=-1=;countHardLimit=10') as never,
        create('/app/y', 'fgh') as never,
        create('/zookeeper/quota/svc') as never,
        create(quotaLimitsPath('/svc'), 'count=-1,bytes=-1=;countHardLimit=1') as never,
        del('/app/x') as never,
        { op: 'check', path: '/app', version: 7 } as never,
      ],
    });
    expect(refused.code).toBe('BadVersion');
    expect(w.get(quotaStatsPath('/app'))).toBe('count=2,bytes=5');
    expect(w.get(quotaLimitsPath('/app'))).toBe('count=-1,bytes=-1=;countHardLimit=2');
    expect(w.fail(create('/app/y')).code).toBe('QuotaExceeded');
    w.ok(create('/svc/one')); // the /svc quota never came to be
    w.ok(create('/svc/two'));
  });
});

describe('server-wide totals', () => {
  test('dataTotalBytesMax counts data and path characters; beyond it is QuotaExceeded naming the limit', () => {
    const w = setup({ ...DEFAULT_LIMITS, dataTotalBytesMax: 200 });
    const base = w.core.counts().approximateDataSize; // the reserved nodes' paths
    w.ok(create('/a', 'x'.repeat(200 - base - 2))); // exactly at the limit
    expect(w.core.counts().approximateDataSize).toBe(200);
    const refused = w.fail(create('/b'));
    expect(refused.code).toBe('QuotaExceeded');
    expect(refused.message).toContain('dataTotalBytesMax');
    expect(refused.message).toContain('200');
    expect(w.fail(setData('/a', 'x'.repeat(200))).code).toBe('QuotaExceeded');
    w.ok(setData('/a', 'short')); // shrinking always goes
    w.ok(create('/b'));
    w.ok(del('/b'));
    w.ok(del('/a'));
    expect(w.core.counts().approximateDataSize).toBe(base);
  });

  test('znodeCountMax counts every znode, the reserved ones included', () => {
    const w = setup({ ...DEFAULT_LIMITS, znodeCountMax: 6 }); // /, /zookeeper, quota, config + 2
    w.ok(create('/a'));
    w.ok(create('/b'));
    const refused = w.fail(create('/c'));
    expect(refused.code).toBe('QuotaExceeded');
    expect(refused.message).toContain('znodeCountMax');
    expect(w.fail({ op: 'multi', ops: [del('/a') as never, create('/c') as never, create('/d') as never] }).code).toBe('QuotaExceeded');
    w.ok({ op: 'multi', ops: [del('/a') as never, create('/c') as never] });
  });

  test('the defaults: 1 GiB of data, no znode count limit, hard limits enforced', () => {
    expect(DEFAULT_LIMITS).toMatchObject({ dataTotalBytesMax: 1024 * 1024 * 1024, znodeCountMax: -1, enforceQuota: true });
  });
});

describe('usage stays equal to a recount', () => {
  /** A workload through every path that removes nodes: ephemerals at session close, containers, rollback. */
  function workload() {
    const w = setup();
    w.log.push(w.core.createSession(30_000, T0, 's2', 'pw2').txn);
    w.ok(create('/app', 'root'));
    w.setQuota('/app', 'count=5,bytes=-1=;countHardLimit=8;byteHardLimit=40');
    w.ok(create('/app/e1', 'eph', 'ephemeral'), 's2');
    w.ok(create('/app/e2', 'eph2', 'ephemeral'), 's2');
    w.ok(create('/app/c', 'cc', 'container'));
    w.ok(create('/app/c/child', 'x'));
    w.ok(create('/app/q-', 'seq', 'persistent_sequential'));
    w.ok(setData('/app', 'root-longer'));
    w.fail({ op: 'multi', ops: [create('/app/m1', 'mm') as never, setData('/app/c', 'a-lot-more-bytes-than-fit-here-for-sure') as never] });
    expect(w.get(quotaStatsPath('/app'))).toBe(w.recount('/app'));
    const closed = w.core.closeSession('s2', T0 + 1);
    w.log.push(closed.txn!);
    expect(w.get(quotaStatsPath('/app'))).toBe('count=4,bytes=17');
    w.ok(del('/app/c/child'));
    expect(w.core.containerCandidates()).toEqual(['/app/c']);
    w.log.push(w.core.deleteContainer('/app/c', T0 + 2).txn!);
    expect(w.get(quotaStatsPath('/app'))).toBe('count=2,bytes=14');
    expect(w.get(quotaStatsPath('/app'))).toBe(w.recount('/app'));
    return w;
  }

  test('through session close, container removal and rollback', () => {
    workload();
  });

  test('after replaying the log, and after a restore from a snapshot taken in any node order', () => {
    const w = workload();
    const replayed = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of w.log) replayed.replay(txn);
    const readStats = (core: CoordinatorCore): string => {
      const outcome = core.execute('s1', coreOp({ op: 'getData', path: quotaStatsPath('/app') }), T0);
      return Buffer.from((outcome.reply as { result: CoreRead }).result.data).toString();
    };
    expect(readStats(replayed)).toBe('count=2,bytes=14');
    // The limits hold after replay: 8 nodes at most, 40 bytes at most.
    expect(replayed.execute('s1', coreOp(create('/app/big', 'x'.repeat(30))), T0).reply).toMatchObject({ ok: false, code: 'QuotaExceeded' });

    const snapshot = snapshotFromJson(JSON.parse(JSON.stringify(snapshotToJson(w.core.snapshot()))))!;
    for (const nodes of [snapshot.nodes, [...snapshot.nodes].reverse()]) {
      const restored = CoordinatorCore.fromSnapshot({ ...snapshot, nodes }, DEFAULT_LIMITS, T0 + 10);
      expect(readStats(restored)).toBe('count=2,bytes=14');
      for (const txn of w.log) restored.replay(txn); // all in the snapshot already
      expect(readStats(restored)).toBe('count=2,bytes=14');
    }
  });

  test('a seeded random workload of creates, sets, deletes and multis keeps usage equal to a recount after each step', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    const w = setup({ ...DEFAULT_LIMITS, dataTotalBytesMax: 4000 });
    w.ok(create('/q'));
    w.setQuota('/q', 'count=-1,bytes=-1=;countHardLimit=4;byteHardLimit=60');
    const paths = ['/q/a', '/q/b', '/q/a/x', '/q/b/y', '/outside', '/q/c'];
    const randomOp = (): TextOperation => {
      const path = paths[random(paths.length)]!;
      const data = 'd'.repeat(random(30));
      switch (random(4)) {
        case 0:
          return create(path, data);
        case 1:
          return setData(path, data);
        case 2:
          return del(path);
        default:
          return { op: 'multi', ops: [create(paths[random(paths.length)]!, data) as never, setData(path, data) as never, del(paths[random(paths.length)]!) as never] };
      }
    };
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const outcome = w.run(randomOp());
      const key = outcome.reply.ok ? 'ok' : outcome.reply.code;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      expect(w.get(quotaStatsPath('/q'))).toBe(w.recount('/q'));
    }
    // The workload did reach the limits and also succeeded often.
    expect(outcomes.QuotaExceeded).toBeGreaterThan(10);
    expect(outcomes.ok).toBeGreaterThan(50);
    const replayed = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of w.log) replayed.replay(txn);
    expect(Buffer.from((replayed.execute('s1', coreOp({ op: 'getData', path: quotaStatsPath('/q') }), T0).reply as { result: CoreRead }).result.data).toString()).toBe(w.recount('/q'));
  });
});
