/**
 * ACLs in the coordinator's core, ZooKeeper 3.8's rules: which permission each operation needs,
 * the schemes (world, digest, ip, auth), the superuser, getACL's redaction, setACL's aversion,
 * InvalidACL, ACLs inside multi and multiRead, and ACLs surviving replay and snapshots.
 */
import { AuthContext, connectionAuth, NO_AUTH, withCredentials } from '../../../coordinator/acl-check';
import { CoordinatorCore } from '../../../coordinator/core';
import { DEFAULT_LIMITS, ExecuteOutcome, Txn } from '../../../coordinator/core-api';
import { snapshotFromJson, snapshotToJson, txnFromJson, txnToJson } from '../../../coordinator/store/records';
import { digestId, formatAcl, parseAcl, permsFromString, permsToString } from '../../../shared/coordinator/acl';
import { Acl, ErrorCode, GetAclResult, GetDataResult, MultiReadResult, PERMS, PERMS_ALL, SetAclResult } from '../../../shared/coordinator/protocol';
import { coreOp, TextOperation } from './core-ops';

const T0 = 1_700_000_000_000;
const SUPER = digestId('super:superpw');

function auth(...credentials: string[]): AuthContext {
  let context = connectionAuth('127.0.0.1');
  for (const userPassword of credentials) {
    const next = withCredentials(context, { scheme: 'digest', auth: userPassword }, SUPER);
    if (typeof next === 'string') throw new Error(next);
    context = next;
  }
  return context;
}

const ALICE = auth('alice:secret');
const BOB = auth('bob:hunter2');
const ANON = auth();

function setup() {
  const core = new CoordinatorCore(DEFAULT_LIMITS);
  const log: Txn[] = [];
  log.push(core.createSession(3000, T0, 's1', 'pw').txn);
  const run = (operation: TextOperation, as: AuthContext = ANON): ExecuteOutcome => {
    const outcome = core.execute('s1', coreOp(operation), T0, as);
    if (outcome.txn !== null) log.push(outcome.txn);
    return outcome;
  };
  const ok = <R>(operation: TextOperation, as?: AuthContext): R => {
    const outcome = run(operation, as);
    if (!outcome.reply.ok) throw new Error(`${operation.op} failed: ${outcome.reply.code} ${outcome.reply.message}`);
    return outcome.reply.result as R;
  };
  const code = (operation: TextOperation, as?: AuthContext): ErrorCode | 'Ok' => {
    const outcome = run(operation, as);
    return outcome.reply.ok ? 'Ok' : outcome.reply.code;
  };
  return { core, log, run, ok, code };
}

const digest = (userPassword: string, perms: string): Acl => ({ perms: permsFromString(perms)!, scheme: 'digest', id: digestId(userPassword) });
const world = (perms: string): Acl => ({ perms: permsFromString(perms)!, scheme: 'world', id: 'anyone' });

describe('the digest scheme and the text form', () => {
  test("digest ids are ZooKeeper's (values printed by its DigestAuthenticationProvider, as quoted in public setups)", () => {
    expect(digestId('super:superpw')).toBe('super:g9oN2HttPfn8MMWJZ2r45Np/LIA=');
    expect(digestId('super:test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });

  test('scheme:id:perms parses and formats, with digest and IPv6 ids holding colons', () => {
    const text = 'world:anyone:r,digest:alice:abc=:cdrwa,ip:fe80::1/64:rw,ip:10.0.0.0/8:a';
    const acl = parseAcl(text);
    expect(acl).toEqual([
      { perms: PERMS.read, scheme: 'world', id: 'anyone' },
      { perms: PERMS_ALL, scheme: 'digest', id: 'alice:abc=' },
      { perms: PERMS.read | PERMS.write, scheme: 'ip', id: 'fe80::1/64' },
      { perms: PERMS.admin, scheme: 'ip', id: '10.0.0.0/8' },
    ]);
    expect(formatAcl(acl)).toBe('world:anyone:r,digest:alice:abc=:cdrwa,ip:fe80::1/64:rw,ip:10.0.0.0/8:a');
    expect(permsToString(PERMS_ALL)).toBe('cdrwa');
  });

  test.each(['world:bob:r', 'nope:x:r', 'world:anyone:rx', 'ip:300.1.1.1:r', 'ip:10.0.0.0/33:r', 'digest:alice:r', 'world:anyone', ''])('%j is refused', (text) => {
    expect(() => parseAcl(text)).toThrow();
  });

  test('only digest credentials of the form user:password are accepted', () => {
    expect(withCredentials(ANON, { scheme: 'digest', auth: 'nocolon' }, null)).toMatch(/user:password/);
    expect(withCredentials(ANON, { scheme: 'kerberos', auth: 'a:b' }, null)).toMatch(/unknown auth scheme/);
  });
});

describe('permissions per operation', () => {
  test('a digest-protected node: reads, writes, children and deletes need the permission; exists needs none', () => {
    const { ok, code } = setup();
    ok({ op: 'create', path: '/p', data: 'x', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa'), world('r')] });
    // Anyone may read (world r) but nothing else.
    expect(ok<GetDataResult>({ op: 'getData', path: '/p' }).data.toString()).toBe('x');
    expect(code({ op: 'setData', path: '/p', data: 'y', version: -1 })).toBe('NoAuth');
    expect(code({ op: 'create', path: '/p/c', data: '', mode: 'persistent' })).toBe('NoAuth');
    expect(code({ op: 'setData', path: '/p', data: 'y', version: -1 }, BOB)).toBe('NoAuth');
    // Alice may do everything.
    expect(code({ op: 'setData', path: '/p', data: 'y', version: -1 }, ALICE)).toBe('Ok');
    expect(code({ op: 'create', path: '/p/c', data: '', mode: 'persistent' }, ALICE)).toBe('Ok');
    // Deleting a child needs DELETE on the parent (the child itself is open).
    expect(code({ op: 'delete', path: '/p/c', version: -1 })).toBe('NoAuth');
    expect(code({ op: 'delete', path: '/p/c', version: -1 }, ALICE)).toBe('Ok');
    // The node's own ACL does not protect it from deletion: its parent's (the open root) does.
    expect(code({ op: 'exists', path: '/p' }, BOB)).toBe('Ok');
  });

  test('READ guards getData, getChildren, getAllChildrenNumber, addWatch; the ACL check comes before the version check', () => {
    const { ok, code } = setup();
    ok({ op: 'create', path: '/secret', data: 's', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa')] });
    for (const operation of [
      { op: 'getData', path: '/secret' },
      { op: 'getChildren', path: '/secret' },
      { op: 'getAllChildrenNumber', path: '/secret' },
      { op: 'addWatch', path: '/secret', mode: 'persistent' },
    ] as TextOperation[]) {
      expect([operation.op, code(operation)]).toEqual([operation.op, 'NoAuth']);
      expect([operation.op, code(operation, ALICE)]).toEqual([operation.op, 'Ok']);
    }
    // ZooKeeper checks the ACL first: a stale version from someone without WRITE is NoAuth, not BadVersion.
    expect(code({ op: 'setData', path: '/secret', data: '', version: 7 })).toBe('NoAuth');
    expect(code({ op: 'setData', path: '/secret', data: '', version: 7 }, ALICE)).toBe('BadVersion');
    // A watch on a path that does not exist needs nothing, as exists.
    expect(code({ op: 'addWatch', path: '/secret-not-there', mode: 'persistent' })).toBe('Ok');
  });

  test('the ip scheme matches the connection address, by CIDR block, IPv4-mapped addresses too', () => {
    const { ok, code } = setup();
    ok({ op: 'create', path: '/lan', data: '', mode: 'persistent', acl: [{ perms: PERMS_ALL, scheme: 'ip', id: '10.0.0.0/8' }] });
    expect(code({ op: 'getData', path: '/lan' }, connectionAuth('10.1.2.3'))).toBe('Ok');
    expect(code({ op: 'getData', path: '/lan' }, connectionAuth('::ffff:10.200.0.1'))).toBe('Ok');
    expect(code({ op: 'getData', path: '/lan' }, connectionAuth('11.0.0.1'))).toBe('NoAuth');
    expect(code({ op: 'getData', path: '/lan' }, connectionAuth('::1'))).toBe('NoAuth');
    ok({ op: 'create', path: '/host', data: '', mode: 'persistent', acl: [{ perms: PERMS.read, scheme: 'ip', id: '127.0.0.1' }] });
    expect(code({ op: 'getData', path: '/host' }, ANON)).toBe('Ok');
    expect(code({ op: 'setData', path: '/host', data: '', version: -1 }, ANON)).toBe('NoAuth');
  });

  test('the superuser passes every check, including the read-only /zookeeper/config', () => {
    const { ok, code } = setup();
    ok({ op: 'create', path: '/locked', data: '', mode: 'persistent', acl: [digest('alice:secret', 'r')] });
    const superuser = auth('super:superpw');
    expect(superuser.superuser).toBe(true);
    expect(code({ op: 'setData', path: '/locked', data: 'z', version: -1 }, superuser)).toBe('Ok');
    expect(code({ op: 'setData', path: '/zookeeper/config', data: 'z', version: -1 })).toBe('NoAuth');
    expect(code({ op: 'create', path: '/zookeeper/config/x', data: '', mode: 'persistent' })).toBe('NoAuth');
    expect(code({ op: 'setData', path: '/zookeeper/config', data: 'z', version: -1 }, superuser)).toBe('Ok');
    expect(code({ op: 'getData', path: '/zookeeper/config' })).toBe('Ok');
  });
});

describe('getACL and setACL', () => {
  test('getACL needs READ or ADMIN; without ADMIN digest ids are redacted', () => {
    const { ok, code } = setup();
    const acl = [digest('alice:secret', 'cdrwa'), world('r')];
    ok({ op: 'create', path: '/n', data: '', mode: 'persistent', acl });
    expect(ok<GetAclResult>({ op: 'getACL', path: '/n' }, ALICE).acl).toEqual(acl);
    expect(ok<GetAclResult>({ op: 'getACL', path: '/n' }, BOB).acl).toEqual([{ ...acl[0], id: 'alice:x' }, acl[1]]);
    ok({ op: 'create', path: '/hidden', data: '', mode: 'persistent', acl: [digest('alice:secret', 'cdw')] });
    expect(code({ op: 'getACL', path: '/hidden' }, BOB)).toBe('NoAuth');
    expect(code({ op: 'getACL', path: '/missing' })).toBe('NoNode');
    expect(ok<GetAclResult>({ op: 'getACL', path: '/' }).acl).toEqual([world('cdrwa')]);
  });

  test('setACL needs ADMIN, checks the aversion and counts it in the Stat', () => {
    const { ok, code } = setup();
    ok({ op: 'create', path: '/n', data: '', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa')] });
    const next = [digest('alice:secret', 'a'), world('r')];
    expect(code({ op: 'setACL', path: '/n', acl: next, version: -1 }, BOB)).toBe('NoAuth');
    expect(code({ op: 'setACL', path: '/n', acl: next, version: 1 }, ALICE)).toBe('BadVersion');
    const { stat } = ok<SetAclResult>({ op: 'setACL', path: '/n', acl: next, version: 0 }, ALICE);
    expect(stat.aversion).toBe(1);
    expect(stat.version).toBe(0);
    expect(code({ op: 'setACL', path: '/n', acl: next, version: 0 }, ALICE)).toBe('BadVersion');
    expect(ok<GetDataResult>({ op: 'getData', path: '/n' }, BOB).stat.aversion).toBe(1);
    // Alice kept ADMIN only: she can read through world and change the ACL, but not write data.
    expect(code({ op: 'setData', path: '/n', data: 'x', version: -1 }, ALICE)).toBe('NoAuth');
    expect(code({ op: 'setACL', path: '/missing', acl: next, version: -1 }, ALICE)).toBe('NoNode');
  });

  test('InvalidACL: empty, unknown scheme, bad ids, auth without credentials', () => {
    const { code } = setup();
    const bad: Acl[][] = [
      [],
      [{ perms: 31, scheme: 'sasl', id: 'alice' }],
      [{ perms: 31, scheme: 'world', id: 'everyone' }],
      [{ perms: 31, scheme: 'digest', id: 'alice' }],
      [{ perms: 31, scheme: 'ip', id: '10.0.0.0/40' }],
      [{ perms: 64, scheme: 'world', id: 'anyone' }],
      [{ perms: 31, scheme: 'auth', id: '' }],
    ];
    for (const acl of bad) {
      expect([acl, code({ op: 'create', path: '/x', data: '', mode: 'persistent', acl })]).toEqual([acl, 'InvalidACL']);
    }
    expect(code({ op: 'create', path: '/x', data: '', mode: 'persistent' })).toBe('Ok');
    expect(code({ op: 'setACL', path: '/x', acl: [], version: -1 })).toBe('InvalidACL');
  });

  test("the auth scheme stands for the caller's digest identities and is stored expanded", () => {
    const { ok } = setup();
    const both = auth('alice:secret', 'bob:hunter2');
    ok({ op: 'create', path: '/mine', data: '', mode: 'persistent', acl: [{ perms: PERMS_ALL, scheme: 'auth', id: '' }] }, both);
    expect(ok<GetAclResult>({ op: 'getACL', path: '/mine' }, both).acl).toEqual([digest('alice:secret', 'cdrwa'), digest('bob:hunter2', 'cdrwa')]);
  });
});

describe('multi and multiRead', () => {
  test('a NoAuth inside a multi fails all of it; check needs READ', () => {
    const { ok, run, core } = setup();
    ok({ op: 'create', path: '/guarded', data: '', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa'), world('r')] });
    ok({ op: 'create', path: '/private', data: '', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa')] });
    const before = core.lastZxid;
    const outcome = run({
      op: 'multi',
      ops: [
        { op: 'create', path: '/free', data: '', mode: 'persistent' },
        { op: 'setData', path: '/guarded', data: 'x', version: -1 },
        { op: 'create', path: '/free2', data: '', mode: 'persistent' },
      ],
    });
    expect(outcome.reply.ok).toBe(false);
    if (outcome.reply.ok) return;
    expect(outcome.reply.code).toBe('NoAuth');
    expect(outcome.reply.results).toEqual([
      { type: 'error', code: 'Ok' },
      { type: 'error', code: 'NoAuth' },
      { type: 'error', code: 'RuntimeInconsistency' },
    ]);
    expect(core.lastZxid).toBe(before);
    expect(run({ op: 'exists', path: '/free' }).reply).toEqual({ ok: true, result: { stat: null } });
    const check = (as: AuthContext) => run({ op: 'multi', ops: [{ op: 'check', path: '/private', version: 0 }] }, as).reply;
    expect(check(BOB)).toMatchObject({ ok: false, code: 'NoAuth' });
    expect(check(ALICE)).toMatchObject({ ok: true });
    expect(run({ op: 'multi', ops: [{ op: 'setData', path: '/guarded', data: 'x', version: -1 }] }, ALICE).reply.ok).toBe(true);
  });

  test('multiRead answers NoAuth for the reads it may not do and the others as usual', () => {
    const { ok } = setup();
    ok({ op: 'create', path: '/open', data: 'o', mode: 'persistent' });
    ok({ op: 'create', path: '/private', data: 'p', mode: 'persistent', acl: [digest('alice:secret', 'r')] });
    const { results } = ok<MultiReadResult>({ op: 'multiRead', ops: [{ op: 'getData', path: '/private' }, { op: 'getData', path: '/open' }, { op: 'getChildren', path: '/private' }] }, BOB);
    expect(results[0]).toEqual({ type: 'error', code: 'NoAuth' });
    expect(results[1]).toMatchObject({ type: 'getData' });
    expect(results[2]).toEqual({ type: 'error', code: 'NoAuth' });
  });
});

describe('ACLs are durable', () => {
  test('replay of the log and a snapshot round trip rebuild the same ACLs and aversions', () => {
    const { ok, log, core } = setup();
    ok({ op: 'create', path: '/a', data: '', mode: 'persistent', acl: [digest('alice:secret', 'cdrwa'), world('r')] });
    ok({ op: 'create', path: '/b', data: '', mode: 'persistent' });
    ok({ op: 'setACL', path: '/b', acl: [{ perms: PERMS.read, scheme: 'ip', id: '10.0.0.0/8' }], version: 0 });
    ok({ op: 'multi', ops: [{ op: 'create', path: '/a/c', data: '', mode: 'persistent', acl: [digest('bob:hunter2', 'r')] }] }, ALICE);

    const aclsOf = (target: CoordinatorCore) =>
      ['/a', '/b', '/a/c'].map((path) => {
        const outcome = target.execute('s1', { op: 'getACL', path }, T0, auth('super:superpw'));
        return outcome.reply.ok ? (outcome.reply.result as GetAclResult) : outcome.reply.code;
      });
    const expected = aclsOf(core);

    const replayed = new CoordinatorCore(DEFAULT_LIMITS);
    // Through the stores' JSON form, as a restart reads them.
    for (const txn of log) replayed.replay(txnFromJson(JSON.parse(JSON.stringify(txnToJson(txn))))!);
    expect(aclsOf(replayed)).toEqual(expected);

    const restored = CoordinatorCore.fromSnapshot(snapshotFromJson(JSON.parse(JSON.stringify(snapshotToJson(core.snapshot()))))!, DEFAULT_LIMITS, T0);
    expect(aclsOf(restored)).toEqual(expected);
    expect((expected[1] as GetAclResult).stat.aversion).toBe(1);
    // A node whose ACL is open is stored without one, as before ACLs existed.
    expect(core.snapshot().nodes.find((node) => node.path === '/a/c')?.acl).toBeDefined();
    expect(log.find((txn) => txn.type === 'create' && txn.path === '/b')).not.toHaveProperty('acl');
  });

  test('without auth (the core default) only world entries grant', () => {
    const { core, ok } = setup();
    ok({ op: 'create', path: '/ip-only', data: '', mode: 'persistent', acl: [{ perms: PERMS_ALL, scheme: 'ip', id: '127.0.0.1' }] });
    expect(core.execute('s1', { op: 'getData', path: '/ip-only' }, T0, NO_AUTH).reply).toMatchObject({ ok: false, code: 'NoAuth' });
  });
});
