/**
 * ACLs at the coordinator's wire, with a real coordinator process and raw frames: credentials in
 * the connect frame and by addAuth (AuthFailed for bad ones), identities held per connection, the
 * ip scheme over loopback, the configured superuser, and ACLs surviving a SIGKILL restart.
 */
import { digestId } from '../../shared/coordinator/acl';
import { Acl, ErrorCode, GetAclResult, PERMS, PERMS_ALL, ResponseFrame } from '../../shared/coordinator/protocol';
import { kill, runCommand, SAMSA_BIN, startCoordinator, stopAll, tempDir } from '../helpers/processes';
import { RawClient } from './coordinator-raw-client';

jest.setTimeout(60_000);

const raws: RawClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.terminate();
});
afterAll(stopAll);

const SUPER_DIGEST = digestId('admin:s3cret');
const ALICE: Acl = { perms: PERMS_ALL, scheme: 'digest', id: digestId('alice:secret') };
const WORLD_READ: Acl = { perms: PERMS.read, scheme: 'world', id: 'anyone' };

async function connect(url: string, auth?: string[]): Promise<RawClient> {
  const raw = await RawClient.open(url);
  raws.push(raw);
  const first = await raw.handshake({ protocolVersion: 2, auth: auth?.map((credentials) => ({ scheme: 'digest', auth: credentials })) });
  if (first.type !== 'connected') throw new Error(`not connected: ${JSON.stringify(first)}`);
  return raw;
}

function codeOf(response: ResponseFrame): ErrorCode | 'Ok' {
  return response.ok ? 'Ok' : response.error.code;
}

test('credentials in the connect frame or by addAuth; bad ones are AuthFailed; identities belong to the connection', async () => {
  const { url } = await startCoordinator({ store: 'memory' });
  const alice = await connect(url, ['alice:secret']);
  await alice.ok({ op: 'create', path: '/app', data: '', mode: 'persistent', acl: [ALICE, WORLD_READ] });
  expect(codeOf(await alice.request({ op: 'setData', path: '/app', data: 'eA==', version: -1 }))).toBe('Ok');

  // Another connection: world may read, not write, until it presents alice's password.
  const other = await connect(url);
  expect(codeOf(await other.request({ op: 'getData', path: '/app' }))).toBe('Ok');
  expect(codeOf(await other.request({ op: 'setData', path: '/app', data: 'eQ==', version: -1 }))).toBe('NoAuth');
  expect(codeOf(await other.request({ op: 'addAuth', scheme: 'kerberos', auth: 'x:y' }))).toBe('AuthFailed');
  expect(codeOf(await other.request({ op: 'addAuth', scheme: 'digest', auth: 'no-colon' }))).toBe('AuthFailed');
  expect(codeOf(await other.request({ op: 'ping' }))).toBe('Ok'); // an AuthFailed answer keeps the connection
  expect(codeOf(await other.request({ op: 'addAuth', scheme: 'digest', auth: 'alice:secret' }))).toBe('Ok');
  expect(codeOf(await other.request({ op: 'setData', path: '/app', data: 'eQ==', version: -1 }))).toBe('Ok');

  // Resuming alice's session on a new connection without credentials: the identity stayed with the old connection.
  const { sessionId, password } = alice.connected!;
  const resumed = await RawClient.open(url);
  raws.push(resumed);
  expect((await resumed.handshake({ protocolVersion: 2, sessionId, password })).type).toBe('connected');
  expect(codeOf(await resumed.request({ op: 'setData', path: '/app', data: 'eg==', version: -1 }))).toBe('NoAuth');

  // Bad credentials in the connect frame: an AuthFailed error frame, and the connection is closed.
  const refused = await RawClient.open(url);
  raws.push(refused);
  const first = await refused.handshake({ protocolVersion: 2, auth: [{ scheme: 'digest', auth: 'nocolon' }] });
  expect(first).toMatchObject({ type: 'error', code: 'AuthFailed' });
  await refused.closed;
});

test('the ip scheme grants by the connection address (loopback here)', async () => {
  const { url } = await startCoordinator({ store: 'memory' });
  const raw = await connect(url);
  await raw.ok({ op: 'create', path: '/local', data: '', mode: 'persistent', acl: [{ perms: PERMS_ALL, scheme: 'ip', id: '127.0.0.0/8' }] });
  await raw.ok({ op: 'create', path: '/lan', data: '', mode: 'persistent', acl: [{ perms: PERMS_ALL, scheme: 'ip', id: '10.0.0.0/8' }] });
  expect(codeOf(await raw.request({ op: 'setData', path: '/local', data: '', version: -1 }))).toBe('Ok');
  expect(codeOf(await raw.request({ op: 'getData', path: '/lan' }))).toBe('NoAuth');
  expect(codeOf(await raw.request({ op: 'create', path: '/lan/x', data: '', mode: 'persistent' }))).toBe('NoAuth');
});

test('the superuser digest passes every check; a malformed one stops the coordinator with a clear error', async () => {
  const { url } = await startCoordinator({ store: 'memory', extraArgs: ['--super-digest', SUPER_DIGEST] });
  const alice = await connect(url, ['alice:secret']);
  await alice.ok({ op: 'create', path: '/locked', data: '', mode: 'persistent', acl: [ALICE] });
  const admin = await connect(url, ['admin:s3cret']);
  expect(codeOf(await admin.request({ op: 'setData', path: '/locked', data: 'eA==', version: -1 }))).toBe('Ok');
  expect(codeOf(await admin.request({ op: 'setACL', path: '/locked', acl: [WORLD_READ], version: 0 }))).toBe('Ok');
  expect(codeOf(await admin.request({ op: 'setData', path: '/zookeeper/config', data: '', version: -1 }))).toBe('Ok');
  const wrongPassword = await connect(url, ['admin:guess']);
  expect(codeOf(await wrongPassword.request({ op: 'setData', path: '/zookeeper/config', data: '', version: -1 }))).toBe('NoAuth');

  const bad = await runCommand(process.execPath, [SAMSA_BIN, 'coordinator', '--port', '0', '--store', 'memory', '--metrics-port', '-1', '--super-digest', 'admin'], undefined, { timeoutMs: 20_000 });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr + bad.stdout).toMatch(/superDigest must be user:base64-sha1/);
});

test('ACLs and aversions survive a SIGKILL restart (replayed from the log)', async () => {
  const dataDir = tempDir('coordinator-acl');
  const first = await startCoordinator({ dataDir });
  const alice = await connect(first.url, ['alice:secret']);
  await alice.ok({ op: 'create', path: '/kept', data: '', mode: 'persistent', acl: [ALICE, WORLD_READ] });
  await alice.ok({ op: 'setACL', path: '/kept', acl: [ALICE], version: 0 });
  const before = await alice.ok<GetAclResult>({ op: 'getACL', path: '/kept' });
  await kill(first.process);

  const second = await startCoordinator({ dataDir, port: first.port });
  const again = await connect(second.url, ['alice:secret']);
  const after = await again.ok<GetAclResult>({ op: 'getACL', path: '/kept' });
  expect(after).toEqual(before);
  expect(after.stat.aversion).toBe(1);
  const stranger = await connect(second.url);
  expect(codeOf(await stranger.request({ op: 'getData', path: '/kept' }))).toBe('NoAuth');
});

test("a recursive watch on an open parent does not reveal changes to children the watcher may not read (ZooKeeper 3.8.4's fix of CVE-2024-23944)", async () => {
  const { url } = await startCoordinator({ store: 'memory' });
  const alice = await connect(url, ['alice:secret']);
  await alice.ok({ op: 'create', path: '/tenants', data: '', mode: 'persistent' });
  await alice.ok({ op: 'create', path: '/tenants/alice-private', data: '', mode: 'persistent', acl: [ALICE] });
  await alice.ok({ op: 'create', path: '/tenants/public', data: '', mode: 'persistent' });

  const watcher = await connect(url);
  await watcher.ok({ op: 'addWatch', path: '/tenants', mode: 'persistentRecursive' });
  const aliceWatching = await connect(url, ['alice:secret']);
  await aliceWatching.ok({ op: 'addWatch', path: '/tenants', mode: 'persistentRecursive' });

  await alice.ok({ op: 'setData', path: '/tenants/alice-private', data: 'eA==', version: -1 });
  await alice.ok({ op: 'create', path: '/tenants/alice-private/child', data: '', mode: 'persistent', acl: [ALICE] });
  await alice.ok({ op: 'delete', path: '/tenants/alice-private/child', version: -1 });
  await alice.ok({ op: 'setData', path: '/tenants/public', data: 'eA==', version: -1 });

  // Events arrive in zxid order: once the public change is in, every earlier one would have been too.
  const deadline = Date.now() + 10_000;
  while (!watcher.events.some((event) => event.path === '/tenants/public') || aliceWatching.events.length < 4) {
    if (Date.now() > deadline) throw new Error(`events not in: ${JSON.stringify([watcher.events, aliceWatching.events])}`);
    await watcher.request({ op: 'ping' });
  }
  expect(watcher.events.map((event) => [event.event, event.path])).toEqual([['NodeDataChanged', '/tenants/public']]);
  expect(aliceWatching.events.map((event) => [event.event, event.path])).toEqual([
    ['NodeDataChanged', '/tenants/alice-private'],
    ['NodeCreated', '/tenants/alice-private/child'],
    ['NodeDeleted', '/tenants/alice-private/child'],
    ['NodeDataChanged', '/tenants/public'],
  ]);
});
