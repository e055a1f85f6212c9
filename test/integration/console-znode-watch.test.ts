/**
 * The tree browser's live znodes (console/server/znode-watch.ts) against a real coordinator: a
 * missing node is reported deleted and shows once created; streams on one path share one read
 * and hear each change once; a closed stream hears nothing more; a path watched again is read
 * afresh; and opening and closing streams does not pile up watches in the coordinator (one data
 * and one child watch per path, whatever the number of streams).
 */
import pino from 'pino';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { ZnodeWatcher, type NodeEvent } from '../../console/server/znode-watch';
import { startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

let watched: CoordinatorClient;
let writer: CoordinatorClient;

beforeAll(async () => {
  const { url } = await startCoordinator({ store: 'memory' });
  watched = new CoordinatorClient({ servers: [url] });
  writer = new CoordinatorClient({ servers: [url] });
  await Promise.all([watched.connect(), writer.connect()]);
});

afterAll(async () => {
  await watched?.close();
  await writer?.close();
  await stopAll();
});

const dataOf = (event: NodeEvent | undefined): string | null | undefined => (event === undefined ? undefined : 'deleted' in event ? null : event.data);
const last = <T>(list: T[]): T | undefined => list[list.length - 1];

test('deleted, created, changed, children: every stream hears each change once; a closed one hears nothing more', async () => {
  const watcher = new ZnodeWatcher(watched, pino({ level: 'silent' }));
  const first: NodeEvent[] = [];
  const closeFirst = watcher.subscribe('/w', (e) => first.push(e));
  await waitFor('the missing node reported', () => first.length === 1);
  expect(first[0]).toEqual({ path: '/w', deleted: true });

  await writer.create('/w', 'x');
  await waitFor('the created node', () => dataOf(last(first)) === 'x');

  // A second stream gets the current body at once, from the shared entry.
  const second: NodeEvent[] = [];
  const closeSecond = watcher.subscribe('/w', (e) => second.push(e));
  expect(second.map(dataOf)).toEqual(['x']);
  expect(watcher.activePaths).toBe(1);

  await writer.setData('/w', 'y');
  await waitFor('the change on both streams', () => dataOf(last(first)) === 'y' && dataOf(last(second)) === 'y');
  await writer.create('/w/c', '');
  await waitFor('the new child on both streams', () => [first, second].every((events) => JSON.stringify((last(events) as { children?: string[] }).children) === '["c"]'));
  expect(first.map(dataOf)).toEqual([null, 'x', 'y', 'y']);
  expect(second.map(dataOf)).toEqual(['x', 'y', 'y']);

  closeFirst();
  await writer.setData('/w', 'z');
  await waitFor('the change on the open stream', () => dataOf(last(second)) === 'z');
  expect(first).toHaveLength(4);

  closeSecond();
  expect(watcher.activePaths).toBe(0);
  await writer.setData('/w', 'q');
  // A sync through the watched client: the change's watch event (if any) has reached it.
  await watched.sync('/w');
  await watched.getData('/w');
  expect(second.map(dataOf)).toEqual(['x', 'y', 'y', 'z']);

  // Watched again: read afresh (the idle entry ignored the change above).
  const third: NodeEvent[] = [];
  const closeThird = watcher.subscribe('/w', (e) => third.push(e));
  await waitFor('a fresh read', () => third.length === 1);
  expect(third[0]).toMatchObject({ path: '/w', data: 'q', children: ['c'], ephemeral: false, stat: { version: 3 } });

  await writer.deleteRecursive('/w');
  await waitFor('the deletion', () => 'deleted' in (last(third) ?? {}));
  await writer.create('/w', 'again');
  await waitFor('the re-creation', () => dataOf(last(third)) === 'again');
  closeThird();
});

test('opening and closing many streams on a path leaves at most its data and child watch in the coordinator', async () => {
  const watcher = new ZnodeWatcher(watched, pino({ level: 'silent' }));
  await writer.create('/many', 'v');
  const before = (await writer.stats()).watchCount;
  for (let i = 0; i < 50; i++) {
    const events: NodeEvent[] = [];
    const close = watcher.subscribe('/many', (e) => events.push(e));
    await waitFor('the body', () => events.length >= 1);
    close();
  }
  expect((await writer.stats()).watchCount - before).toBeLessThanOrEqual(2);
  // The spent-while-idle case: a change fires the idle entry's watches, which are then gone.
  await writer.setData('/many', 'w');
  await watched.sync('/many');
  await waitFor('the idle watches spent', async () => (await writer.stats()).watchCount - before <= 1, 5000);
});
