/**
 * The tree browser's pure parts: the `?path=` rules (ZooKeeper's, via shared/coordinator/paths.ts),
 * the znode body (JSON parsed when it is JSON, children sorted, ephemeral flagged), the stream
 * bound; and the browser's path ↔ route helpers and the group pages' text.
 */
import { StreamSlots, treePath, znodeBody, ZNODE_PATH_BYTES_MAX } from '../../../console/server/znode-view';
import { breadcrumbs, childOf, dataText, treeHref, znodePathOf } from '../../../console/web/src/znode-paths';
import { assignmentText, groupHref, lagTone, offsetText } from '../../../console/web/src/group-lines';

const stat = { czxid: 5, mzxid: 7, pzxid: 9, ctime: 1_700_000_000_000, mtime: 1_700_000_001_000, version: 2, cversion: 3, ephemeralOwner: '0', dataLength: 5, numChildren: 2, aversion: 0 };

describe('treePath', () => {
  test.each([
    [null, '/'],
    ['', '/'],
    ['/', '/'],
    ['/brokers/ids', '/brokers/ids'],
    ['/a b/ü', '/a b/ü'],
  ])('%p is the znode %p', (raw, path) => {
    expect(treePath(raw)).toEqual({ path });
  });

  test.each([
    ['brokers', 'path must start with /'],
    ['/brokers/', 'path must not end with /'],
    ['/a//b', 'empty segment in path'],
    ['/a/../b', "relative segment '..' in path"],
    ['/a\u0001', 'invalid character U+0001 in path'],
  ])('%p is refused: %s', (raw, problem) => {
    const parsed = treePath(raw);
    expect('problem' in parsed && parsed.problem.startsWith(problem)).toBe(true);
  });

  test('the byte limit: at it is fine, one byte over is not', () => {
    expect(treePath(`/${'a'.repeat(ZNODE_PATH_BYTES_MAX - 1)}`)).toEqual({ path: `/${'a'.repeat(ZNODE_PATH_BYTES_MAX - 1)}` });
    expect('problem' in treePath(`/${'a'.repeat(ZNODE_PATH_BYTES_MAX)}`)).toBe(true);
  });
});

describe('znodeBody', () => {
  test('JSON data is parsed too; children sorted; a persistent node is not ephemeral', () => {
    expect(znodeBody('/brokers/ids/1', '{"host":"127.0.0.1","port":9092}', stat, ['b', 'a'])).toEqual({ path: '/brokers/ids/1', data: '{"host":"127.0.0.1","port":9092}', json: { host: '127.0.0.1', port: 9092 }, stat, ephemeral: false, children: ['a', 'b'] });
  });

  test('text data has no json; empty data has none either; an ephemeral owner is flagged', () => {
    const text = znodeBody('/x', 'hello', { ...stat, ephemeralOwner: '0x1234' }, []);
    expect(text).toEqual({ path: '/x', data: 'hello', stat: { ...stat, ephemeralOwner: '0x1234' }, ephemeral: true, children: [] });
    expect('json' in znodeBody('/x', '', stat, [])).toBe(false);
    expect('json' in znodeBody('/x', '  ', stat, [])).toBe(false);
    expect(znodeBody('/x', '42', stat, []).json).toBe(42);
  });
});

describe('StreamSlots', () => {
  test('takes up to max, refuses the next, takes again after a release', () => {
    const slots = new StreamSlots(2);
    expect([slots.take(), slots.take(), slots.take()]).toEqual([true, true, false]);
    expect(slots.inUse).toBe(2);
    slots.release();
    expect(slots.take()).toBe(true);
    expect(slots.take()).toBe(false);
  });

  test('a release without a take is a bug; a max below 1 too', () => {
    expect(() => new StreamSlots(1).release()).toThrow(/without a matching take/);
    expect(() => new StreamSlots(0)).toThrow(/>= 1/);
  });
});

describe('znode paths in the browser', () => {
  test.each([
    [undefined, '/'],
    ['', '/'],
    ['brokers/ids', '/brokers/ids'],
    ['brokers/ids/', '/brokers/ids'],
  ])('route parameter %p is %p', (param, path) => {
    expect(znodePathOf(param)).toBe(path);
  });

  test('routes encode each segment (names may hold ? # %) and round-trip through the router’s decoding', () => {
    expect(treeHref('/')).toBe('#/tree');
    expect(treeHref('/brokers/ids')).toBe('#/tree/brokers/ids');
    const odd = '/a?b/c#d/50%';
    const href = treeHref(odd);
    expect(href).toBe('#/tree/a%3Fb/c%23d/50%25');
    expect(znodePathOf(href.slice('#/tree/'.length).split('/').map(decodeURIComponent).join('/'))).toBe(odd);
  });

  test('breadcrumbs and children', () => {
    expect(breadcrumbs('/')).toEqual([{ name: '/', path: '/', href: '#/tree' }]);
    expect(breadcrumbs('/brokers/ids').map((c) => [c.name, c.href])).toEqual([
      ['/', '#/tree'],
      ['brokers', '#/tree/brokers'],
      ['ids', '#/tree/brokers/ids'],
    ]);
    expect(childOf('/', 'brokers')).toBe('/brokers');
    expect(childOf('/brokers', 'ids')).toBe('/brokers/ids');
  });

  test('data: objects pretty-printed, scalars and text as they are', () => {
    expect(dataText({ data: '{"a":1}', json: { a: 1 } })).toEqual({ text: '{\n  "a": 1\n}', isJson: true });
    expect(dataText({ data: '42', json: 42 })).toEqual({ text: '42', isJson: true });
    expect(dataText({ data: 'hello' })).toEqual({ text: 'hello', isJson: false });
  });
});

describe('group pages text', () => {
  test('assignments, offsets, lag tones, routes', () => {
    expect(assignmentText([{ topic: 'orders', partitions: [2, 0] }, { topic: 'audit', partitions: [1] }])).toBe('orders: 0, 2; audit: 1');
    expect(assignmentText([])).toBe('—');
    expect(assignmentText(null, 7)).toBe('(7 bytes, not a consumer assignment)');
    expect(offsetText(null)).toBe('—');
    expect(offsetText(12345)).toBe('12,345');
    expect([lagTone(0), lagTone(3), lagTone(null)]).toEqual(['ok', 'warn', 'muted']);
    expect(groupHref('a b/c')).toBe('#/groups/a%20b%2Fc');
  });
});
