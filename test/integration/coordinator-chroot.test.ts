/**
 * Chroot (issue 10) against real coordinator and broker processes: a client connected as
 * ws://host:port/app sees /app as its root in every result, error and watch event; a chroot
 * that does not exist yet behaves as in ZooKeeper; two Kafka clusters share one coordinator
 * under /a and /b, each seeing only its own topics, and `samsa tree` shows either view.
 */
import { Kafka, logLevel } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { CoordinatorError, ErrorCode, WatchEventFrame } from '../../shared/coordinator/protocol';
import { startBroker } from '../helpers/cluster';
import { createTopicWith } from '../helpers/kafkajs';
import { canConnect, freePort, kill, runCommand, SAMSA_BIN, spawnSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { startRedis } from '../helpers/redis';

const clients: CoordinatorClient[] = [];
function client(servers: string, options: Partial<ConstructorParameters<typeof CoordinatorClient>[0]> = {}): CoordinatorClient {
  const made = new CoordinatorClient({ servers: servers.split(','), sessionTimeoutMs: 10_000, ...options });
  clients.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(stopAll);

async function failure(promise: Promise<unknown>): Promise<CoordinatorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CoordinatorError) return error;
    throw error;
  }
  throw new Error('expected a CoordinatorError');
}
async function code(promise: Promise<unknown>): Promise<ErrorCode> {
  return (await failure(promise)).code;
}

describe('a chrooted client', () => {
  test('sees the chroot as / in every result, error and watch event', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const root = client(url);
    await root.connect();
    await root.create('/app');
    await root.create('/outside');
    const c = client(`${url}/app`);
    await c.connect();
    expect(c.chroot).toBe('/app');

    // create, sequential names (under a child and under the root itself), reads
    expect((await c.create('/a', 'one')).path).toBe('/a');
    expect((await root.getData('/app/a')).data).toBe('one');
    expect((await c.create('/q-', '', { mode: 'persistent_sequential' })).path).toMatch(/^\/q-\d{10}$/);
    expect((await c.create('/', '', { mode: 'persistent_sequential' })).path).toMatch(/^\/\d{10}$/);
    expect((await c.create('/p/x/y', 'deep', { createParents: true })).path).toBe('/p/x/y');
    expect((await c.getChildren('/')).children.sort()).toEqual((await root.getChildren('/app')).children.sort());
    expect((await c.getData('/p/x/y')).data).toBe('deep');
    expect((await c.exists('/'))!.czxid).toBe((await root.exists('/app'))!.czxid);
    expect(await c.exists('/outside')).toBeNull();
    expect((await c.setData('/a', 'two', 0)).stat.version).toBe(1);
    expect(await c.getAllChildrenNumber('/')).toBe(await root.getAllChildrenNumber('/app'));
    await c.sync('/a');

    // errors name client paths, in the code's path and in the server's message
    const noNode = await failure(c.getData('/nope'));
    expect(noNode).toMatchObject({ code: 'NoNode', path: '/nope' });
    const noParent = await failure(c.create('/x/y'));
    expect(noParent).toMatchObject({ code: 'NoNode', path: '/x/y' });
    expect(noParent.message).not.toContain('/app');
    expect(await failure(c.setData('/a', 'v', 7))).toMatchObject({ code: 'BadVersion', path: '/a' });
    expect(await code(c.create('relative'))).toBe('BadArguments');
    expect(await code(c.create('/a/'))).toBe('BadArguments');

    // multi: created names stripped; a failing multi changes nothing
    const multi = await c.multi([
      { op: 'create', path: '/m', data: '', mode: 'persistent' },
      { op: 'create', path: '/m/s-', data: '', mode: 'persistent_sequential' },
      { op: 'setData', path: '/a', data: 'three', version: 1 },
      { op: 'check', path: '/a', version: 2 },
    ]);
    expect(multi.results).toEqual([
      { type: 'create', path: '/m', stat: expect.any(Object) },
      { type: 'create', path: expect.stringMatching(/^\/m\/s-\d{10}$/), stat: expect.any(Object) },
      { type: 'setData', stat: expect.objectContaining({ version: 2 }) },
      { type: 'check' },
    ]);
    expect(await root.exists('/app/m')).not.toBeNull();
    const failed = await failure(c.multi([{ op: 'delete', path: '/a', version: -1 }, { op: 'delete', path: '/gone', version: -1 }]));
    expect(failed.code).toBe('NoNode');
    if (failed.path !== undefined) expect(failed.path).toBe('/gone');
    expect(await c.exists('/a')).not.toBeNull();

    // multiRead: each read under the chroot
    const read = await c.multiRead([{ op: 'getData', path: '/a' }, { op: 'getChildren', path: '/m' }, { op: 'getData', path: '/nope' }]);
    expect(read.results).toMatchObject([
      { type: 'getData', data: 'three', stat: expect.any(Object) },
      { type: 'getChildren', children: [expect.stringMatching(/^s-\d{10}$/)] },
      { type: 'error', code: 'NoNode' },
    ]);

    // ephemerals: listed as client paths, the prefix taken under the chroot
    await c.create('/e', '', { mode: 'ephemeral' });
    const seqEphemeral = (await c.create('/m/e-', '', { mode: 'ephemeral_sequential' })).path;
    expect(seqEphemeral).toMatch(/^\/m\/e-\d{10}$/);
    expect(await c.getEphemerals()).toEqual(['/e', seqEphemeral]);
    expect(await c.getEphemerals('/m')).toEqual([seqEphemeral]);
    expect((await root.exists('/app/e'))!.ephemeralOwner).toBe(c.sessionId);

    // watches: one-shot data / child / exists, and a persistent recursive one on the root
    const events: WatchEventFrame[] = [];
    const recursive: WatchEventFrame[] = [];
    await c.getData('/a', (event) => events.push(event));
    await c.getChildren('/', (event) => events.push(event));
    await c.exists('/later', (event) => events.push(event));
    await c.addWatch('/', 'persistentRecursive', (event) => recursive.push(event));
    await root.setData('/app/a', 'four');
    await root.create('/app/later');
    await root.create('/outside/kid'); // not under the chroot: no event
    await root.setData('/app', 'root data');
    await root.create('/app/m/deep');
    await waitFor('one-shot events', () => events.length === 3);
    expect(events.map((e) => [e.event, e.path]).sort()).toEqual([
      ['NodeChildrenChanged', '/'],
      ['NodeCreated', '/later'],
      ['NodeDataChanged', '/a'],
    ]);
    await waitFor('recursive events', () => recursive.some((e) => e.path === '/m/deep'));
    expect(recursive.map((e) => [e.event, e.path])).toEqual([
      ['NodeDataChanged', '/a'],
      ['NodeCreated', '/later'],
      ['NodeDataChanged', '/'],
      ['NodeCreated', '/m/deep'],
    ]);

    // removeWatches finds the watch by its chrooted path; an unknown one is NoWatcher at the client path
    await c.removeWatches('/', 'any');
    expect(await failure(c.removeWatches('/nope', 'any'))).toMatchObject({ code: 'NoWatcher', path: '/nope' });

    // the chroot's own node: delete of / removes /app (once empty), as in ZooKeeper
    await c.deleteRecursive('/');
    expect(await root.exists('/app')).toBeNull();
    expect(await root.exists('/outside/kid')).not.toBeNull();
  });

  test('a chroot that does not exist: NoNode until it is created; a watch on / sees it created', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const root = client(url);
    const c = client(`${url}/kafka`);
    await Promise.all([root.connect(), c.connect()]); // connecting does not check the chroot, as in ZooKeeper
    expect(await c.exists('/')).toBeNull();
    expect(await code(c.getChildren('/'))).toBe('NoNode');
    expect(await code(c.getData('/brokers'))).toBe('NoNode');
    expect(await failure(c.create('/brokers'))).toMatchObject({ code: 'NoNode', path: '/brokers' });
    const events: WatchEventFrame[] = [];
    expect(await c.exists('/', (event) => events.push(event))).toBeNull();
    await root.create('/kafka');
    await waitFor('chroot created', () => events.length === 1);
    expect(events[0]).toMatchObject({ event: 'NodeCreated', path: '/' });
    expect((await c.create('/brokers')).path).toBe('/brokers');
    expect((await root.getChildren('/kafka')).children).toEqual(['brokers']);

    // create('/') makes the chroot itself (ZooKeeper's prependChroot('/') is the chroot)
    const other = client(`${url}/other`);
    await other.connect();
    expect((await other.create('/', 'mine')).path).toBe('/');
    expect((await root.getData('/other')).data).toBe('mine');

    // createParents / ensurePath make a missing chroot and its ancestors too (as Curator's namespace, Kafka's chroot)
    const deep = client(`${url}/deep/er`);
    await deep.connect();
    await deep.ensurePath('/x/y');
    expect(await root.exists('/deep/er/x/y')).not.toBeNull();
    expect((await deep.create('/z/w', 'v', { createParents: true })).path).toBe('/z/w');
    expect((await root.getData('/deep/er/z/w')).data).toBe('v');
  });

  test('the chroot option, URL lists, and URLs that disagree', async () => {
    const { url, port } = await startCoordinator({ store: 'memory' });
    const root = client(url);
    await root.connect();
    await root.create('/opt');
    const byOption = client(url, { chroot: '/opt' });
    await byOption.connect();
    await byOption.create('/n');
    expect(await root.exists('/opt/n')).not.toBeNull();
    // Every URL of a list carries the chroot (two entries for one server here: a list, not an ensemble).
    const listed = client(`ws://127.0.0.1:${port}/opt,${url}/opt`);
    await listed.connect();
    expect((await listed.getChildren('/')).children).toEqual(['n']);
    expect(() => new CoordinatorClient({ servers: [url, `${url}/opt`] })).toThrow(/different chroots/);
    expect(() => new CoordinatorClient({ servers: [`${url}/opt/`] })).toThrow(/must not end with \//);
    expect(() => new CoordinatorClient({ servers: [`${url}/a`], chroot: '/b' })).toThrow(/differs/);
  });

  test('watches come back under the chroot after a coordinator restart (re-registered through the chroot)', async () => {
    const first = await startCoordinator();
    const root = client(first.url);
    await root.connect();
    await root.create('/app');
    await root.create('/app/w', 'a');
    const c = client(`${first.url}/app`, { reconnectBackoffMaxMs: 200 });
    await c.connect();
    const sessionId = c.sessionId;
    const events: WatchEventFrame[] = [];
    await c.getData('/w', (event) => events.push(event));
    await c.create('/mine', '', { mode: 'ephemeral' });
    await root.close();
    await kill(first.process, 'SIGKILL');
    await waitFor('client noticed', () => c.state === 'disconnected');
    await startCoordinator({ port: first.port, dataDir: first.dataDir });
    await waitFor('resumed', () => c.state === 'connected', 15_000);
    expect(c.sessionId).toBe(sessionId);
    expect(await c.getEphemerals()).toEqual(['/mine']);
    const other = client(first.url);
    await other.connect();
    await other.setData('/app/w', 'b');
    await waitFor('watch after restart', () => events.length === 1);
    expect(events[0]).toMatchObject({ event: 'NodeDataChanged', path: '/w' });
  });
});

describe('a chroot behind a standby coordinator', () => {
  test('a client of a standby follows its redirect and keeps its chroot', async () => {
    const redis = await startRedis(); // stopped by stopAll
    const startHa = async (): Promise<string> => {
      const port = await freePort();
      const handle = spawnSamsa(['coordinator', '--store', redis.url, '--redis-prefix', 'chroot', '--lease-ms', '1000', '--port', String(port), '--metrics-port', '-1']);
      await waitFor(`coordinator on ${port}`, async () => {
        if (handle.child.exitCode !== null) throw new Error(`coordinator exited: ${handle.output()}`);
        return canConnect(port);
      }, 15_000);
      return `ws://127.0.0.1:${port}`;
    };
    const role = async (url: string): Promise<string | null> => (await fetch(url.replace('ws://', 'http://'))).headers.get('x-samsa-role');
    const active = await startHa();
    await waitFor('the first coordinator active', async () => (await role(active)) !== 'standby', 10_000);
    const standby = await startHa();
    await waitFor('the second coordinator standby', async () => (await role(standby)) === 'standby', 10_000);
    const c = client(`${standby}/kafka`);
    await c.connect();
    await c.ensurePath('/brokers/ids');
    expect((await c.create('/brokers/ids/1', 'me', { mode: 'ephemeral' })).path).toBe('/brokers/ids/1');
    const listed = client(`${standby}/kafka,${active}/kafka`);
    await listed.connect();
    expect((await listed.getChildren('/brokers/ids')).children).toEqual(['1']);
    const root = client(active);
    await root.connect();
    expect((await root.getData('/kafka/brokers/ids/1')).data).toBe('me');
  });
});

describe('two clusters on one coordinator', () => {
  test('brokers under /a and /b keep every znode under their chroot and see only their own topics', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    // The same broker id in both: the chroots keep their registrations apart.
    const [a, b] = await Promise.all([startBroker(`${url}/a`, 1), startBroker(`${url}/b`, 1)]);
    const kafkaA = new Kafka({ brokers: [`127.0.0.1:${a.port}`], clientId: 'chroot-a', logLevel: logLevel.NOTHING });
    const kafkaB = new Kafka({ brokers: [`127.0.0.1:${b.port}`], clientId: 'chroot-b', logLevel: logLevel.NOTHING });
    await createTopicWith(kafkaA, 'orders-a', 2, 1);
    await createTopicWith(kafkaB, 'orders-b', 1, 1);

    const listTopics = async (kafka: Kafka): Promise<string[]> => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return (await admin.listTopics()).sort();
      } finally {
        await admin.disconnect();
      }
    };
    expect(await listTopics(kafkaA)).toEqual(['orders-a']);
    expect(await listTopics(kafkaB)).toEqual(['orders-b']);

    // Nothing of either cluster at the root: registrations, topics, controller, config, admin, cluster id are all below.
    const root = client(url);
    await root.connect();
    expect((await root.getChildren('/')).children.sort()).toEqual(['a', 'b', 'zookeeper']);
    for (const chroot of ['/a', '/b']) {
      const children = (await root.getChildren(chroot)).children;
      expect(children).toEqual(expect.arrayContaining(['brokers', 'cluster', 'config', 'admin']));
      await waitFor(`${chroot} controller`, async () => (await root.exists(`${chroot}/controller`)) !== null);
      expect(await root.exists(`${chroot}/brokers/ids/1`)).not.toBeNull();
    }
    expect(await root.exists('/a/brokers/topics/orders-a')).not.toBeNull();
    expect(await root.exists('/a/brokers/topics/orders-b')).toBeNull();
    expect(await root.exists('/b/brokers/topics/orders-b')).not.toBeNull();
    expect((await root.getData('/a/cluster/id')).data).not.toBe((await root.getData('/b/cluster/id')).data);

    // The CLI takes the same form: the whole tree at the root, one cluster's under its chroot.
    const tree = async (server: string): Promise<string> => {
      const run = await runCommand(process.execPath, [SAMSA_BIN, 'tree', '/', '--server', server]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      return run.stdout;
    };
    const whole = await tree(url);
    expect(whole).toMatch(/^[├└]── a$/m);
    expect(whole).toMatch(/^[├└]── b$/m);
    expect(whole).toContain('orders-a');
    expect(whole).toContain('orders-b');
    const onlyA = await tree(`${url}/a`);
    expect(onlyA.split('\n')[0]).toBe('/');
    expect(onlyA).toMatch(/^[├└]── brokers$/m);
    expect(onlyA).toContain('orders-a');
    expect(onlyA).not.toContain('orders-b');
    const ls = await runCommand(process.execPath, [SAMSA_BIN, 'ls', '/brokers/topics', '--server', `${url}/b`]);
    expect(ls).toMatchObject({ code: 0, stdout: 'orders-b\n' });
  });
});
