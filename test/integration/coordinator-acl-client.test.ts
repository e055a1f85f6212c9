/**
 * ACLs from the client's side against a real coordinator: the client library (auth option,
 * addAuth, getACL/setACL, create with an ACL, credentials presented again after a dropped
 * socket and after a coordinator restart, AuthFailed) and the CLI (--auth, --acl, getacl,
 * setacl, digest), as a user drives them.
 */
import { digestId, parseAcl } from '../../shared/coordinator/acl';
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { CoordinatorClientOptions } from '../../shared/coordinator/client-api';
import { Acl, PERMS, PERMS_ALL } from '../../shared/coordinator/protocol';
import { code } from '../helpers/coordinator';
import { kill, runSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

/** ZooKeeper's own tests' superDigest ("password is 'test'", e.g. AuthTest, ReconfigTest): the id for super:test. */
const SUPER_DIGEST = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
const APP = 'app:secret';
const APP_ID = digestId(APP);
/** app may do anything, everyone else read. */
const APP_ALL_WORLD_READ: Acl[] = [{ scheme: 'digest', id: APP_ID, perms: PERMS_ALL }, { scheme: 'world', id: 'anyone', perms: PERMS.read }];
/** app only. */
const APP_ONLY: Acl[] = [{ scheme: 'digest', id: APP_ID, perms: PERMS_ALL }];

const samsa = (args: string[], env: NodeJS.ProcessEnv = {}) => runSamsa(args, env);

let coordinator: Awaited<ReturnType<typeof startCoordinator>>;
const clients: CoordinatorClient[] = [];

async function connected(options: Partial<CoordinatorClientOptions> = {}): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [coordinator.url], sessionTimeoutMs: 10_000, ...options });
  clients.push(client);
  await client.connect();
  return client;
}

beforeAll(async () => {
  coordinator = await startCoordinator({ extraArgs: ['--super-digest', SUPER_DIGEST] });
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await stopAll();
});

describe('the client library', () => {
  test('a digest ACL: others read per its perms and get NoAuth for the rest; addAuth lifts it', async () => {
    const owner = await connected({ auth: [{ scheme: 'digest', auth: APP }] });
    await owner.create('/shared', 'v0', { acl: APP_ALL_WORLD_READ });
    await owner.create('/shared/kept', 'k');
    await owner.create('/private', 'secret', { acl: APP_ONLY });
    await owner.create('/private/child', '');

    const other = await connected();
    // READ for world: data, children and the ACL can be read; digest ids come back redacted (no ADMIN).
    expect((await other.getData('/shared')).data).toBe('v0');
    expect((await other.getChildren('/shared')).children).toEqual(['kept']);
    expect((await other.getACL('/shared')).acl).toEqual([{ scheme: 'digest', id: 'app:x', perms: PERMS_ALL }, { scheme: 'world', id: 'anyone', perms: PERMS.read }]);
    // No WRITE, CREATE, DELETE, ADMIN.
    expect(await code(other.setData('/shared', 'mine'))).toBe('NoAuth');
    expect(await code(other.create('/shared/new', ''))).toBe('NoAuth');
    expect(await code(other.delete('/shared/kept'))).toBe('NoAuth');
    expect(await code(other.setACL('/shared', parseAcl('world:anyone:cdrwa')))).toBe('NoAuth');
    // No READ at all on /private; exists needs nothing, as in ZooKeeper.
    expect(await code(other.getData('/private'))).toBe('NoAuth');
    expect(await code(other.getChildren('/private'))).toBe('NoAuth');
    expect(await code(other.getACL('/private'))).toBe('NoAuth');
    expect((await other.exists('/private'))?.numChildren).toBe(1);
    // Nothing changed.
    expect((await owner.getData('/shared')).data).toBe('v0');
    expect((await owner.getChildren('/shared')).children).toEqual(['kept']);

    await other.addAuth('digest', APP);
    await other.setData('/shared', 'v1');
    await other.create('/shared/new', '');
    await other.delete('/shared/kept');
    expect((await other.getData('/private')).data).toBe('secret');
    // With ADMIN the id is shown whole.
    expect((await other.getACL('/shared')).acl).toEqual(APP_ALL_WORLD_READ);
    expect((await owner.getChildren('/shared')).children).toEqual(['new']);
  });

  test('an auth entry stands for the creator; the superuser passes every check', async () => {
    const owner = await connected({ auth: [{ scheme: 'digest', auth: 'ops:pw' }] });
    await owner.create('/ops', '', { acl: parseAcl('auth::cdrwa') });
    expect((await owner.getACL('/ops')).acl).toEqual([{ scheme: 'digest', id: digestId('ops:pw'), perms: PERMS_ALL }]);
    const anonymous = await connected();
    expect(await code(anonymous.create('/anon', '', { acl: parseAcl('auth::cdrwa') }))).toBe('InvalidACL');
    expect(await code(anonymous.getData('/ops'))).toBe('NoAuth');
    const admin = await connected({ auth: [{ scheme: 'digest', auth: 'super:test' }] });
    await admin.setData('/ops', 'by super');
    expect((await admin.getData('/ops')).data).toBe('by super');
  });

  test('setACL checks the aversion: a wrong one is BadVersion, the right one bumps it', async () => {
    const owner = await connected({ auth: [{ scheme: 'digest', auth: APP }] });
    await owner.create('/versioned', '', { acl: APP_ALL_WORLD_READ });
    const { stat } = await owner.getACL('/versioned');
    expect(stat.aversion).toBe(0);
    expect(await code(owner.setACL('/versioned', APP_ONLY, 5))).toBe('BadVersion');
    expect((await owner.setACL('/versioned', APP_ONLY, 0)).stat.aversion).toBe(1);
    expect(await code(owner.setACL('/versioned', APP_ONLY, 0))).toBe('BadVersion');
    expect((await owner.setACL('/versioned', APP_ALL_WORLD_READ)).stat.aversion).toBe(2);
    // The data version is not the ACL version.
    expect((await owner.exists('/versioned'))).toMatchObject({ version: 0, aversion: 2 });
    expect(await code(owner.setACL('/versioned', []))).toBe('InvalidACL');
  });

  test('defaultAcl applies to create, createParents, ensurePath and multi; an explicit acl wins for the node', async () => {
    const client = await connected({ auth: [{ scheme: 'digest', auth: APP }], defaultAcl: APP_ALL_WORLD_READ });
    await client.create('/defaults/a/b', '', { createParents: true, acl: APP_ONLY });
    expect((await client.getACL('/defaults')).acl).toEqual(APP_ALL_WORLD_READ);
    expect((await client.getACL('/defaults/a')).acl).toEqual(APP_ALL_WORLD_READ);
    expect((await client.getACL('/defaults/a/b')).acl).toEqual(APP_ONLY);
    await client.ensurePath('/defaults/c/d');
    expect((await client.getACL('/defaults/c/d')).acl).toEqual(APP_ALL_WORLD_READ);
    await client.multi([{ op: 'create', path: '/defaults/m', data: '', mode: 'persistent' }]);
    expect((await client.getACL('/defaults/m')).acl).toEqual(APP_ALL_WORLD_READ);
    // A client without defaultAcl creates open nodes, as before ACLs.
    const plain = await connected();
    await plain.create('/open', '');
    expect((await plain.getACL('/open')).acl).toEqual([{ scheme: 'world', id: 'anyone', perms: PERMS_ALL }]);
  });

  test('credentials survive a dropped socket and a coordinator restart (presented again on reconnect)', async () => {
    const owner = await connected({ auth: [{ scheme: 'digest', auth: APP }] });
    await owner.create('/survive', '0', { acl: APP_ONLY });
    // A client that authenticated later with addAuth: that is remembered too.
    const late = await connected();
    await late.addAuth('digest', APP);
    await late.setData('/survive', '1');

    const sessionBefore = late.sessionId;
    const states: string[] = [];
    late.on('state', (state) => states.push(state));
    (late as unknown as { socket: { terminate(): void } }).socket.terminate();
    await waitFor('reconnected after the dropped socket', () => states.includes('disconnected') && late.state === 'connected');
    expect(late.sessionId).toBe(sessionBefore);
    await late.setData('/survive', '2');
    expect((await late.getData('/survive')).data).toBe('2');

    // A request made while the coordinator is down is replayed on the restarted one: the connect
    // frame carries the credentials, so it is authorised there.
    await kill(coordinator.process, 'SIGKILL');
    await waitFor('the client noticed', () => late.state === 'disconnected');
    const pending = late.setData('/survive', '3');
    coordinator = await startCoordinator({ port: coordinator.port, dataDir: coordinator.dataDir, extraArgs: ['--super-digest', SUPER_DIGEST] });
    await pending;
    expect(late.sessionId).toBe(sessionBefore);
    expect((await late.getData('/survive')).data).toBe('3');
    expect((await owner.getData('/survive')).data).toBe('3');
    expect((await late.getACL('/survive')).acl).toEqual(APP_ONLY);
  });

  test('credentials the server refuses: addAuth fails with AuthFailed and is not kept; in the options, the client closes', async () => {
    const client = await connected();
    expect(await code(client.addAuth('kerberos', 'someone'))).toBe('AuthFailed');
    expect(client.state).toBe('connected');
    await client.create('/after-refusal', '');

    const refused = new CoordinatorClient({ servers: [coordinator.url], auth: [{ scheme: 'kerberos', auth: 'someone' }] });
    clients.push(refused);
    expect(await code(refused.connect())).toBe('AuthFailed');
    expect(refused.state).toBe('closed');
    expect(() => new CoordinatorClient({ servers: [coordinator.url], auth: [{ scheme: 'digest', auth: 'no-colon' }] })).toThrow(/user:password/);
  });

  test('under a chroot, getACL and setACL name paths below it', async () => {
    const root = await connected({ auth: [{ scheme: 'digest', auth: APP }] });
    await root.create('/tenant/x', '', { createParents: true });
    const chrooted = await connected({ servers: [`${coordinator.url}/tenant`], auth: [{ scheme: 'digest', auth: APP }] });
    await chrooted.setACL('/x', APP_ONLY);
    expect((await root.getACL('/tenant/x')).acl).toEqual(APP_ONLY);
    expect((await chrooted.getACL('/x')).acl).toEqual(APP_ONLY);
    expect(await code(chrooted.getACL('/missing'))).toBe('NoNode');
  });
});

describe('the CLI', () => {
  test('samsa digest prints the id ZooKeeper computes', async () => {
    expect(await samsa(['digest', 'super:test'])).toEqual({ code: 0, stdout: `${SUPER_DIGEST}\n`, stderr: '' });
    expect((await samsa(['digest', APP, 'b:c:d'])).stdout).toBe(`${APP_ID}\n${digestId('b:c:d')}\n`);
    const bad = await samsa(['digest', 'nocolon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^BadArguments: /);
  });

  test('create --acl, getacl, setacl with --auth; NoAuth, InvalidACL, BadVersion as one line and exit 1', async () => {
    const server = `--server=${coordinator.url}`;
    const acl = `digest:${APP_ID}:cdrwa,world:anyone:r`;
    expect(await samsa(['create', server, '--auth', APP, '--acl', acl, '/cli', 'v0'])).toMatchObject({ code: 0, stdout: 'Created /cli\n' });

    // Without credentials: readable, redacted, not writable.
    expect(await samsa(['getacl', server, '/cli'])).toEqual({ code: 0, stdout: 'digest:app:x:cdrwa\nworld:anyone:r\n', stderr: '' });
    expect((await samsa(['get', server, '/cli'])).stdout.split('\n')[0]).toBe('v0');
    expect(await samsa(['set', server, '/cli', 'v1'])).toMatchObject({ code: 1, stderr: 'NoAuth: /cli\n' });
    expect(await samsa(['create', server, '/cli/child'])).toMatchObject({ code: 1, stderr: 'NoAuth: /cli/child\n' });
    expect(await samsa(['setacl', server, '/cli', 'world:anyone:cdrwa'])).toMatchObject({ code: 1, stderr: 'NoAuth: /cli\n' });

    // With them (flag or environment).
    expect(await samsa(['getacl', server, '--auth', APP, '/cli'])).toMatchObject({ code: 0, stdout: `digest:${APP_ID}:cdrwa\nworld:anyone:r\n` });
    expect(await samsa(['set', server, '/cli', 'v1'], { SAMSA_COORDINATOR_AUTH: APP })).toMatchObject({ code: 0 });
    expect(await samsa(['setacl', server, '--auth', APP, '-v', '7', '/cli', acl])).toMatchObject({ code: 1, stderr: 'BadVersion: /cli\n' });
    expect(await samsa(['setacl', server, '--auth', APP, '-v', '0', '/cli', `digest:${APP_ID}:cdrwa`])).toMatchObject({ code: 0, stdout: '' });
    const withStat = await samsa(['getacl', server, '--auth', APP, '-s', '/cli']);
    expect(withStat.stdout).toContain(`digest:${APP_ID}:cdrwa\n`);
    expect(withStat.stdout).toContain('aclVersion = 1\n');
    expect(await samsa(['get', server, '/cli'])).toMatchObject({ code: 1, stderr: 'NoAuth: /cli\n' });
    const json = JSON.parse((await samsa(['getacl', server, '--auth', APP, '--json', '/cli'])).stdout) as { acl: Acl[]; text: string; stat: { aversion: number } };
    expect(json).toMatchObject({ acl: [{ scheme: 'digest', id: APP_ID, perms: PERMS_ALL }], text: `digest:${APP_ID}:cdrwa`, stat: { aversion: 1 } });

    // Malformed input is refused before anything is sent.
    expect(await samsa(['setacl', server, '--auth', APP, '/cli', 'world:anyone:xyz'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^InvalidACL: /) });
    expect(await samsa(['create', server, '--acl', 'nonsense', '/cli2'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^InvalidACL: /) });
    expect(await samsa(['ls', server, '--auth', 'nocolon', '/'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^BadArguments: --auth/) });
    // An ACL the server finds invalid (auth entry without credentials on the session).
    expect(await samsa(['create', server, '--acl', 'auth::cdrwa', '/cli3'])).toMatchObject({ code: 1, stderr: 'InvalidACL: /cli3\n' });
  });

  test('setacl -R sets the subtree; the superuser reaches everything', async () => {
    const server = `--server=${coordinator.url}`;
    expect((await samsa(['create', server, '-p', '/tree-r/a/b'])).code).toBe(0);
    expect(await samsa(['setacl', server, '-R', '/tree-r', `digest:${APP_ID}:cdrwa`])).toMatchObject({ code: 0 });
    for (const path of ['/tree-r', '/tree-r/a', '/tree-r/a/b']) {
      expect(await samsa(['getacl', server, '--auth', 'super:test', path])).toMatchObject({ code: 0, stdout: `digest:${APP_ID}:cdrwa\n` });
    }
    expect(await samsa(['ls', server, '/tree-r'])).toMatchObject({ code: 1, stderr: 'NoAuth: /tree-r\n' });
    expect(await samsa(['rm', server, '--auth', 'super:test', '-r', '/tree-r'])).toMatchObject({ code: 0 });
  });
});
