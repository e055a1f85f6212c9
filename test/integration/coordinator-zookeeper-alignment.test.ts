/**
 * ZooKeeper 3.8 semantics against a real coordinator process and the client library (issue 10):
 * lazy container removal on a configurable interval (logged like any delete, so it survives a
 * SIGKILL restart), sequential suffixes and cversion, multi bounded by the frame size only,
 * version -2, a closing session told about its own ephemerals, multiRead, getAllChildrenNumber
 * and the reserved /zookeeper subtree.
 */
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { MultiSubOp, WatchEventFrame } from '../../shared/coordinator/protocol';
import { kill, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { RawClient } from './coordinator-raw-client';
import { code } from '../helpers/coordinator';

const clients: CoordinatorClient[] = [];
const raws: RawClient[] = [];
function client(url: string): CoordinatorClient {
  const made = new CoordinatorClient({ servers: [url], sessionTimeoutMs: 10_000 });
  clients.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const raw of raws.splice(0)) raw.terminate();
});
afterAll(stopAll);

describe('containers', () => {
  test('with the default-length interval, "delete the last child, then create another" succeeds', async () => {
    const { url } = await startCoordinator({ store: 'memory', extraArgs: ['--container-check-interval-ms', '60000'] });
    const c = client(url);
    await c.connect();
    await c.create('/lock', '', { mode: 'container' });
    await c.create('/lock/a');
    await c.delete('/lock/a');
    expect(await c.exists('/lock')).toMatchObject({ numChildren: 0 });
    expect((await c.create('/lock/b')).path).toBe('/lock/b');
  });

  test('the periodic check removes an emptied container with a logged delete; a watcher is told; a SIGKILL restart keeps it gone', async () => {
    const first = await startCoordinator({ extraArgs: ['--container-check-interval-ms', '200'] });
    const c = client(first.url);
    await c.connect();
    await c.create('/fresh', '', { mode: 'container' }); // never has a child: kept
    await c.create('/used', '', { mode: 'container' });
    await c.create('/used/x');
    await c.create('/keep/child', 'k', { createParents: true });
    const events: WatchEventFrame[] = [];
    await c.exists('/used', (event) => events.push(event));
    await c.delete('/used/x');
    await waitFor('the emptied container removed', async () => (await c.exists('/used')) === null, 5000);
    expect(events).toMatchObject([{ event: 'NodeDeleted', path: '/used' }]);
    expect(first.process.output()).toMatch(/"deleted":1,"candidates":1,"msg":"containers.checked"/);
    // The check that removed /used ran after /fresh was made, and left it.
    expect(await c.exists('/fresh')).not.toBeNull();
    const zxidAfter = c.lastZxid;

    await kill(first.process, 'SIGKILL');
    const second = await startCoordinator({ dataDir: first.dataDir, extraArgs: ['--container-check-interval-ms', '200'] });
    const d = client(second.url);
    await d.connect();
    expect(await d.exists('/used')).toBeNull();
    expect(await d.exists('/fresh')).not.toBeNull();
    expect((await d.getData('/keep/child')).data).toBe('k');
    expect(d.lastZxid).toBeGreaterThanOrEqual(zxidAfter);
  });
});

describe('sequential suffixes, cversion, multi, versions', () => {
  test('create, create, delete, delete: the next suffix is 0000000002; cversion counts creations and deletions', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    await c.create('/q');
    expect((await c.create('/q/n-', '', { mode: 'persistent_sequential' })).path).toBe('/q/n-0000000000');
    expect((await c.create('/q/n-', '', { mode: 'persistent_sequential' })).path).toBe('/q/n-0000000001');
    await c.delete('/q/n-0000000000');
    await c.delete('/q/n-0000000001');
    expect(await c.exists('/q')).toMatchObject({ cversion: 4, numChildren: 0 });
    expect((await c.create('/q/n-', '', { mode: 'ephemeral_sequential' })).path).toBe('/q/n-0000000002');
    expect(await c.exists('/q')).toMatchObject({ cversion: 5, numChildren: 1 });
  });

  test('a multi takes as many operations as fit in one frame: 20000 checks, 3000 creates', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    await c.create('/m');
    const checks: MultiSubOp[] = Array.from({ length: 20_000 }, () => ({ op: 'check', path: '/m', version: 0 }));
    expect((await c.multi(checks)).results).toHaveLength(20_000);
    const creates: MultiSubOp[] = Array.from({ length: 3000 }, (_, i) => ({ op: 'create', path: `/m/${i}`, data: '', mode: 'persistent' }));
    expect((await c.multi(creates)).results).toHaveLength(3000);
    expect(await c.getAllChildrenNumber('/m')).toBe(3000);
  });

  test('version -2 is BadVersion for setData, delete and check', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    await c.create('/v', 'a');
    expect(await code(c.setData('/v', 'b', -2))).toBe('BadVersion');
    expect(await code(c.delete('/v', -2))).toBe('BadVersion');
    expect(await code(c.multi([{ op: 'check', path: '/v', version: -2 }]))).toBe('BadVersion');
    expect((await c.getData('/v')).stat.version).toBe(0);
  });
});

describe('closing a session', () => {
  test('the client hears NodeDeleted for its own watched ephemeral before close() resolves', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    await c.create('/svc/me', '', { createParents: true });
    await c.delete('/svc/me');
    await c.create('/svc/me', 'up', { mode: 'ephemeral' });
    const events: WatchEventFrame[] = [];
    await c.exists('/svc/me', (event) => events.push(event));
    await c.getChildren('/svc', (event) => events.push(event));
    await c.close();
    expect(events.map((event) => [event.event, event.path])).toEqual([
      ['NodeDeleted', '/svc/me'],
      ['NodeChildrenChanged', '/svc'],
    ]);
  });

  test('on the wire: the watch events come before the response to close', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const raw = await RawClient.connect(url);
    raws.push(raw);
    await raw.ok({ op: 'create', path: '/e', data: '', mode: 'ephemeral' });
    await raw.ok({ op: 'getData', path: '/e', watch: true });
    const response = await raw.request({ op: 'close' });
    expect(response.ok).toBe(true);
    const kinds = raw.frames.slice(-2).map((frame) => (frame.type === 'watch' ? `${frame.event} ${frame.path}` : frame.type));
    expect(kinds).toEqual(['NodeDeleted /e', 'response']);
    expect(await raw.closed).toBe(1000);
  });
});

describe('multiRead, getAllChildrenNumber, /zookeeper', () => {
  test('multiRead: one request, a result or an error per read', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    await c.create('/r/a', 'A', { createParents: true });
    await c.create('/r/b', 'B');
    const { results } = await c.multiRead([
      { op: 'getData', path: '/r/a' },
      { op: 'getChildren', path: '/r' },
      { op: 'getData', path: '/r/missing' },
      { op: 'getData', path: '/r/b' },
    ]);
    expect(results[0]).toMatchObject({ type: 'getData', data: 'A', stat: { version: 0, dataLength: 1 } });
    expect(results[1]).toEqual({ type: 'getChildren', children: ['a', 'b'] });
    expect(results[2]).toEqual({ type: 'error', code: 'NoNode' });
    expect(results[3]).toMatchObject({ type: 'getData', data: 'B' });
    expect(await code(c.multiRead([{ op: 'create', path: '/x', data: '', mode: 'persistent' } as never]))).toBe('BadArguments');
  });

  test('getAllChildrenNumber counts all descendants; NoNode for a missing path', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    expect(await c.getAllChildrenNumber('/')).toBe(3); // the reserved /zookeeper subtree
    await c.create('/t/a/b', '', { createParents: true });
    await c.create('/t/c');
    expect(await c.getAllChildrenNumber('/t')).toBe(3);
    expect(await c.getAllChildrenNumber('/')).toBe(7);
    expect(await code(c.getAllChildrenNumber('/none'))).toBe('NoNode');
  });

  test('the reserved /zookeeper subtree: listed, NodeExists on create, BadArguments on delete', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = client(url);
    await c.connect();
    expect((await c.getChildren('/')).children).toEqual(['zookeeper']);
    expect((await c.getChildren('/zookeeper')).children).toEqual(['config', 'quota']);
    expect(await code(c.create('/zookeeper'))).toBe('NodeExists');
    expect(await code(c.delete('/zookeeper'))).toBe('BadArguments');
    expect(await code(c.delete('/zookeeper/quota'))).toBe('BadArguments');
    expect(await code(c.setData('/zookeeper/config', 'x'))).toBe('NoAuth');
    // ensurePath over it is harmless.
    await c.ensurePath('/zookeeper/quota');
  });
});
