/**
 * The client library against a real coordinator process: every operation and its errors,
 * watches, a client process killed with SIGKILL (its ephemeral goes, a watcher is told),
 * session resume across a coordinator SIGKILL + restart, bounded waits while disconnected.
 */
import * as path from 'path';
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { WatchEventFrame } from '../../shared/coordinator/protocol';
import { kill, REPO_ROOT, spawnProcess, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { code } from '../helpers/coordinator';

const clients: CoordinatorClient[] = [];
function client(url: string, options: Partial<ConstructorParameters<typeof CoordinatorClient>[0]> = {}): CoordinatorClient {
  const made = new CoordinatorClient({ servers: [url], ...options });
  clients.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(stopAll);

describe('coordinator client', () => {
  test('operations, their errors, and multi', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    expect(c.state).toBe('connected');
    expect(c.sessionId).toMatch(/^[0-9a-f]+$/);

    const created = await c.create('/a/b/c', 'deep', { createParents: true });
    expect(created.path).toBe('/a/b/c');
    expect((await c.getData('/a/b/c')).data).toBe('deep');
    expect(await code(c.create('/a/b/c'))).toBe('NodeExists');
    expect(await code(c.create('/x/y'))).toBe('NoNode');
    expect(await code(c.getData('/nope'))).toBe('NoNode');
    expect(await code(c.setData('/a/b/c', 'v', 7))).toBe('BadVersion');
    expect(await code(c.delete('/a/b'))).toBe('NotEmpty');
    expect(await code(c.create('bad'))).toBe('BadArguments');
    await c.create('/e', '', { mode: 'ephemeral' });
    expect(await code(c.create('/e/kid'))).toBe('NoChildrenForEphemerals');
    expect(await c.getEphemerals()).toEqual(['/e']);

    const set = await c.setData('/a/b/c', 'v2', 0);
    expect(set.stat.version).toBe(1);
    const seq = await c.create('/a/s-', '', { mode: 'persistent_sequential' });
    expect(seq.path).toMatch(/^\/a\/s-\d{10}$/);
    // ZooKeeper's create (the path only) beside its create2 (the default here: path and Stat).
    expect(seq.stat).toMatchObject({ version: 0, dataLength: 0, numChildren: 0 });
    const bare = await c.create('/a/s-', 'x', { mode: 'persistent_sequential', withStat: false });
    expect(bare).toEqual({ path: `/a/s-${String(Number(seq.path.slice(-10)) + 1).padStart(10, '0')}` });
    expect((await c.exists(bare.path))?.dataLength).toBe(1);
    expect((await c.getChildren('/a')).children).toEqual(['b', seq.path.slice(3), bare.path.slice(3)]);

    const multi = await c.multi([
      { op: 'check', path: '/a/b/c', version: 1 },
      { op: 'create', path: '/a/m', data: 'm', mode: 'persistent' },
    ]);
    expect(multi.results.map((r) => r.type)).toEqual(['check', 'create']);
    expect(await code(c.multi([{ op: 'create', path: '/a/m2', data: '', mode: 'persistent' }, { op: 'check', path: '/a/b/c', version: 0 }]))).toBe('BadVersion');
    expect(await c.exists('/a/m2')).toBeNull();

    await c.deleteRecursive('/a');
    expect(await c.exists('/a')).toBeNull();
    await c.sync('/');
    const stats = await c.stats();
    expect(stats.sessions).toBeGreaterThanOrEqual(1);
  });

  test('one-shot and persistent-recursive watches; the event comes before the response that observes it', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const watcher = client(url);
    const writer = client(url);
    await Promise.all([watcher.connect(), writer.connect()]);
    await writer.create('/w', 'a');
    const oneShot: WatchEventFrame[] = [];
    const recursive: WatchEventFrame[] = [];
    await watcher.getData('/w', (event) => oneShot.push(event));
    await watcher.getChildren('/w', (event) => oneShot.push(event));
    await watcher.addWatch('/w', 'persistentRecursive', (event) => recursive.push(event));

    const set = await writer.setData('/w', 'b');
    const read = await watcher.getData('/w');
    expect(read.data).toBe('b');
    expect(oneShot).toEqual([{ type: 'watch', event: 'NodeDataChanged', path: '/w', zxid: set.stat.mzxid }]);
    await writer.setData('/w', 'c');
    await writer.create('/w/kid');
    await watcher.sync('/');
    // The data watch fired once; the child watch fired on the create; the recursive one saw everything.
    expect(oneShot.map((e) => e.event)).toEqual(['NodeDataChanged', 'NodeChildrenChanged']);
    await waitFor('recursive events', () => recursive.length === 3);
    expect(recursive.map((e) => [e.event, e.path])).toEqual([
      ['NodeDataChanged', '/w'],
      ['NodeDataChanged', '/w'],
      ['NodeCreated', '/w/kid'],
    ]);
    await watcher.removeWatches('/w', 'persistent');
    await writer.setData('/w', 'd');
    await watcher.sync('/');
    expect(recursive).toHaveLength(3);
  });

  test('a client process killed with SIGKILL: its ephemeral goes after the timeout and a watcher is told', async () => {
    const { url } = await startCoordinator();
    const owner = spawnProcess(process.execPath, [path.join(REPO_ROOT, 'test', 'fixtures', 'ephemeral-owner.js'), url, '/brokers/ids/7', '1500']);
    await waitFor('owner ready', () => /ready [0-9a-f]+/.test(owner.output()), 10_000);
    const c = client(url);
    await c.connect();
    const stat = await c.exists('/brokers/ids/7');
    expect(stat?.ephemeralOwner).toMatch(/^[0-9a-f]+$/);
    const deleted = new Promise<WatchEventFrame>((resolve) => void c.exists('/brokers/ids/7', resolve));
    const children: WatchEventFrame[] = [];
    await c.getChildren('/brokers/ids', (event) => children.push(event));
    await kill(owner, 'SIGKILL');
    const killedAt = Date.now();
    const event = await deleted;
    expect(event).toMatchObject({ event: 'NodeDeleted', path: '/brokers/ids/7' });
    // Expiry happens after the negotiated timeout (1500 ms), not before.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(500);
    expect(await c.exists('/brokers/ids/7')).toBeNull();
    await waitFor('child event', () => children.length === 1);
    expect(children[0]).toMatchObject({ event: 'NodeChildrenChanged', path: '/brokers/ids' });
  });

  test('the coordinator killed and restarted: the client resumes its session, ephemerals and watches', async () => {
    const first = await startCoordinator();
    const c = client(first.url, { sessionTimeoutMs: 10_000, reconnectBackoffMaxMs: 200 });
    const states: string[] = [];
    c.on('state', (state) => states.push(state));
    await c.connect();
    const sessionId = c.sessionId;
    await c.create('/mine', '', { mode: 'ephemeral' });
    await c.create('/watched', 'a');
    const events: WatchEventFrame[] = [];
    await c.getData('/watched', (event) => events.push(event));
    const zxidBefore = c.lastZxid;

    await kill(first.process, 'SIGKILL');
    await waitFor('client noticed', () => c.state === 'disconnected');
    // While disconnected a request waits; it succeeds once the coordinator is back.
    const pending = c.getData('/watched');
    await startCoordinator({ port: first.port, dataDir: first.dataDir });
    expect((await pending).data).toBe('a');
    expect(c.state).toBe('connected');
    expect(c.sessionId).toBe(sessionId);
    expect(c.lastZxid).toBeGreaterThanOrEqual(zxidBefore);
    expect(await c.getEphemerals()).toEqual(['/mine']);
    // The watch was registered again on the restarted server.
    const other = client(first.url);
    await other.connect();
    await other.setData('/watched', 'b');
    await waitFor('watch after restart', () => events.length === 1);
    expect(events[0]).toMatchObject({ event: 'NodeDataChanged', path: '/watched' });
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
  });

  test('a dropped connection: the change made meanwhile is delivered once on resume, not again by the re-registration', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url, { sessionTimeoutMs: 10_000, reconnectBackoffMinMs: 1000, reconnectBackoffMaxMs: 1000 });
    const other = client(url);
    await Promise.all([c.connect(), other.connect()]);
    await other.create('/q', 'a');
    const events: WatchEventFrame[] = [];
    await c.getData('/q', (event) => events.push(event));
    const sessionId = c.sessionId;
    // Drop the socket under the client (as a network blip would); the server keeps the session and its watch.
    (c as unknown as { socket: { terminate(): void } }).socket.terminate();
    await waitFor('client noticed', () => c.state === 'disconnected');
    const changed = await other.setData('/q', 'b');
    expect(c.state).toBe('disconnected'); // the change happened while we were away
    await waitFor('resumed', () => c.state === 'connected');
    expect(c.sessionId).toBe(sessionId);
    await waitFor('queued event', () => events.length === 1);
    await c.sync('/');
    expect(events).toEqual([{ type: 'watch', event: 'NodeDataChanged', path: '/q', zxid: changed.stat.mzxid }]);
    // The one-shot watch is spent: later changes reach nobody.
    await other.setData('/q', 'c');
    await c.sync('/');
    expect(events).toHaveLength(1);
  });

  test('the coordinator restarted and the watched node changed before the client is back: the watch fires once, from the re-registration', async () => {
    const first = await startCoordinator();
    const c = client(first.url, { sessionTimeoutMs: 15_000, reconnectBackoffMinMs: 4000, reconnectBackoffMaxMs: 4000 });
    const zxids: number[] = [];
    const track = (): void => void zxids.push(c.lastZxid);
    c.on('state', track);
    await c.connect();
    await c.create('/r', 'a');
    await c.create('/r/kid');
    const dataEvents: WatchEventFrame[] = [];
    const childEvents: WatchEventFrame[] = [];
    await c.getData('/r', (event) => (dataEvents.push(event), track()));
    await c.getChildren('/r', (event) => (childEvents.push(event), track()));
    await kill(first.process, 'SIGKILL');
    await waitFor('client noticed', () => c.state === 'disconnected');
    await startCoordinator({ port: first.port, dataDir: first.dataDir });
    const other = client(first.url);
    await other.connect();
    const changed = await other.setData('/r', 'b');
    await other.create('/r/kid2');
    expect(c.state).toBe('disconnected'); // so only the re-registration can tell the client
    await waitFor('resumed', () => c.state === 'connected', 15_000);
    await waitFor('missed events', () => dataEvents.length === 1 && childEvents.length === 1);
    await c.sync('/');
    expect(dataEvents).toEqual([{ type: 'watch', event: 'NodeDataChanged', path: '/r', zxid: changed.stat.mzxid }]);
    expect(childEvents).toMatchObject([{ event: 'NodeChildrenChanged', path: '/r' }]);
    await other.setData('/r', 'c');
    await c.sync('/');
    expect(dataEvents).toHaveLength(1);
    track();
    // lastZxid never went back, across the crash and the resume.
    expect(zxids).toEqual([...zxids].sort((x, y) => x - y));
    expect(c.lastZxid).toBeGreaterThanOrEqual(changed.stat.mzxid);
  });

  test('requests while disconnected fail with ConnectionLoss after requestTimeoutMs; connect to nothing fails too', async () => {
    const coordinator = await startCoordinator({ store: 'memory' });
    const c = client(coordinator.url, { requestTimeoutMs: 700, reconnectBackoffMaxMs: 100 });
    await c.connect();
    await kill(coordinator.process, 'SIGKILL');
    await waitFor('client noticed', () => c.state === 'disconnected');
    expect(await code(c.getData('/'))).toBe('ConnectionLoss');
    const lonely = client('ws://127.0.0.1:1', { requestTimeoutMs: 500 });
    expect(await code(lonely.connect())).toBe('ConnectionLoss');
  });

  test('a client that stops pinging has its session expired and is told SessionExpired', async () => {
    const coordinator = await startCoordinator({ store: 'memory' });
    const c = client(coordinator.url, { sessionTimeoutMs: 1000 });
    await c.connect();
    const expired = new Promise<void>((resolve) => c.on('state', (state) => state === 'expired' && resolve()));
    // Silence this client's pings, as a client stalled by a long GC pause or SIGSTOP would be:
    // the server expires the session after 1000 ms and tells the still-open connection.
    (c as unknown as { keepAlive: () => void }).keepAlive = () => undefined;
    await expired;
    expect(c.state).toBe('expired');
    expect(await code(c.getData('/'))).toBe('SessionExpired');
  });
});
