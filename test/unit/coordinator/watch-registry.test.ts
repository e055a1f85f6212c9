/**
 * The client's watch bookkeeping: which callbacks an event reaches (ZooKeeper's client rules),
 * one-shot removal, persistent and recursive watchers, and what is registered again after a
 * reconnect.
 */
import type { WatchEventFrame, WatchEventType } from '../../../shared/coordinator/protocol';
import { WatchRegistry } from '../../../shared/coordinator/watch-registry';

const event = (type: WatchEventType, path: string): WatchEventFrame => ({ type: 'watch', event: type, path, zxid: 9 });

function setup() {
  const registry = new WatchRegistry();
  const calls: string[] = [];
  const watcher = (name: string) => (e: WatchEventFrame) => calls.push(`${name}:${e.event}:${e.path}`);
  registry.addOneShot('data', '/a', 3, watcher('data'));
  registry.addOneShot('child', '/a', 3, watcher('child'));
  registry.addPersistent('persistent', '/a', watcher('persistent'));
  registry.addPersistent('persistentRecursive', '/', watcher('recursive'));
  return { registry, calls };
}

describe('WatchRegistry', () => {
  test.each([
    ['NodeDataChanged', '/a', ['data', 'persistent', 'recursive']],
    ['NodeCreated', '/a', ['data', 'persistent', 'recursive']],
    ['NodeDeleted', '/a', ['data', 'child', 'persistent', 'recursive']],
    ['NodeChildrenChanged', '/a', ['child', 'persistent']],
    ['NodeDataChanged', '/a/b', ['recursive']],
    ['NodeChildrenChanged', '/a/b', []],
  ] as Array<[WatchEventType, string, string[]]>)('%s on %s reaches %j', (type, path, expected) => {
    const { registry, calls } = setup();
    for (const watcher of registry.take(event(type, path))) watcher(event(type, path));
    expect(calls.map((call) => call.split(':')[0])).toEqual(expected);
  });

  test('one-shot watchers fire once, persistent ones until removed', () => {
    const { registry, calls } = setup();
    for (const w of registry.take(event('NodeDataChanged', '/a'))) w(event('NodeDataChanged', '/a'));
    for (const w of registry.take(event('NodeDataChanged', '/a'))) w(event('NodeDataChanged', '/a'));
    expect(calls).toEqual([
      'data:NodeDataChanged:/a',
      'persistent:NodeDataChanged:/a',
      'recursive:NodeDataChanged:/a',
      'persistent:NodeDataChanged:/a',
      'recursive:NodeDataChanged:/a',
    ]);
    registry.remove('/a', 'persistent');
    expect(registry.take(event('NodeDataChanged', '/a'))).toHaveLength(1); // the recursive one on '/'
  });

  test('what a reconnect registers again, with the zxid each one-shot watch was set at', () => {
    const { registry } = setup();
    registry.addOneShot('data', '/a', 7, () => undefined);
    expect(registry.oneShotWatches()).toEqual([
      { kind: 'data', path: '/a', zxid: 7 },
      { kind: 'child', path: '/a', zxid: 3 },
    ]);
    expect(registry.persistentWatches()).toEqual([
      { mode: 'persistent', path: '/a' },
      { mode: 'persistentRecursive', path: '/' },
    ]);
    expect(registry.size).toBe(5);
    expect(registry.oneShotZxid('data', '/a')).toBe(7);
    expect(registry.oneShotZxid('child', '/a')).toBe(3);
    expect(registry.oneShotZxid('data', '/b')).toBeUndefined();
    registry.take(event('NodeDeleted', '/a'));
    expect(registry.oneShotZxid('data', '/a')).toBeUndefined();
    expect(registry.oneShotWatches()).toEqual([]);
  });
});
