import { parseEndpoints, toClientEvent, toClientPath, toClientResult, toClientText, toServerOperation, toServerPath } from '../../../shared/coordinator/chroot';
import type { Operation, Stat } from '../../../shared/coordinator/protocol';

const stat = { czxid: 1 } as Stat;

describe('parseEndpoints', () => {
  it('takes no chroot from URLs without a path, and keeps those URLs as given', () => {
    expect(parseEndpoints(['ws://127.0.0.1:2181', 'ws://h2:2182/'])).toEqual({ servers: ['ws://127.0.0.1:2181', 'ws://h2:2182/'], chroot: null });
  });

  it('takes the chroot from the path and connects without it', () => {
    expect(parseEndpoints(['ws://127.0.0.1:2181/kafka'])).toEqual({ servers: ['ws://127.0.0.1:2181'], chroot: '/kafka' });
    expect(parseEndpoints(['ws://h1:2181/a/b', 'wss://h2:2182/a/b'])).toEqual({ servers: ['ws://h1:2181', 'wss://h2:2182'], chroot: '/a/b' });
    expect(parseEndpoints(['ws://[::1]:2181/kafka']).servers).toEqual(['ws://[::1]:2181']);
  });

  it('decodes a percent-encoded path', () => {
    expect(parseEndpoints(['ws://h:2181/my%20app']).chroot).toBe('/my app');
  });

  it('refuses URLs that name different chroots, naming them', () => {
    expect(() => parseEndpoints(['ws://h1:2181', 'ws://h2:2181/kafka'])).toThrow(/different chroots \('\/', '\/kafka'\)/);
    expect(() => parseEndpoints(['ws://h1:2181/a', 'ws://h2:2181/b'])).toThrow(/write the same path on every URL/);
  });

  it('refuses an invalid chroot as ZooKeeper does (trailing slash, empty or relative segments)', () => {
    expect(() => parseEndpoints(['ws://h:2181/kafka/'])).toThrow(/invalid coordinator chroot '\/kafka\/'.*must not end with \//);
    expect(() => parseEndpoints(['ws://h:2181//kafka'])).toThrow(/empty segment/);
    expect(() => parseEndpoints(['ws://h:2181/x'], 'kafka')).toThrow(/must start with \//);
  });

  it('refuses what is not a URL', () => {
    expect(() => parseEndpoints(['127.0.0.1:2181'])).toThrow(/is not a URL/);
  });

  it('takes the chroot option, alone or agreeing with the URLs', () => {
    expect(parseEndpoints(['ws://h:2181'], '/kafka')).toEqual({ servers: ['ws://h:2181'], chroot: '/kafka' });
    expect(parseEndpoints(['ws://h:2181/kafka'], '/kafka').chroot).toBe('/kafka');
    expect(parseEndpoints(['ws://h:2181'], '/').chroot).toBeNull();
    expect(() => parseEndpoints(['ws://h:2181/a'], '/b')).toThrow(/option '\/b' differs from the URLs' path '\/a'/);
  });
});

describe('path mapping', () => {
  it('prefixes client paths; the root is the chroot itself', () => {
    expect(toServerPath('/kafka', '/')).toBe('/kafka');
    expect(toServerPath('/kafka', '/brokers/ids')).toBe('/kafka/brokers/ids');
    expect(toServerPath(null, '/brokers')).toBe('/brokers');
  });

  it('maps a sequential create of / to a child of the chroot', () => {
    expect(toServerPath('/kafka', '/', true)).toBe('/kafka/');
    expect(toServerPath('/kafka', '/jobs/', true)).toBe('/kafka/jobs/');
  });

  it('leaves a path without a leading / for the server to refuse, instead of gluing it on', () => {
    expect(toServerPath('/kafka', 'x')).toBe('x');
    expect(toServerPath('/kafka', '')).toBe('');
  });

  it('strips the chroot; a path outside it comes back unchanged', () => {
    expect(toClientPath('/kafka', '/kafka')).toBe('/');
    expect(toClientPath('/kafka', '/kafka/a/b')).toBe('/a/b');
    expect(toClientPath('/kafka', '/kafka2/a')).toBe('/kafka2/a');
    expect(toClientPath('/kafka', '/')).toBe('/');
    expect(toClientPath(null, '/kafka/a')).toBe('/kafka/a');
  });

  it('round-trips', () => {
    for (const path of ['/', '/a', '/a/b/c', '/kafka']) expect(toClientPath('/kafka', toServerPath('/kafka', path))).toBe(path);
  });
});

describe('toServerOperation', () => {
  const c = '/ch';

  it('returns the same object when there is no chroot', () => {
    const op: Operation = { op: 'getData', path: '/a' };
    expect(toServerOperation(null, op)).toBe(op);
  });

  it('maps every path-carrying operation and leaves the caller’s object alone', () => {
    const cases: Array<[Operation, Operation]> = [
      [{ op: 'create', path: '/a', data: 'x', mode: 'persistent' }, { op: 'create', path: '/ch/a', data: 'x', mode: 'persistent' }],
      [{ op: 'create', path: '/', data: '', mode: 'persistent_sequential' }, { op: 'create', path: '/ch/', data: '', mode: 'persistent_sequential' }],
      [{ op: 'delete', path: '/a', version: -1 }, { op: 'delete', path: '/ch/a', version: -1 }],
      [{ op: 'setData', path: '/a', data: 'y', version: 3 }, { op: 'setData', path: '/ch/a', data: 'y', version: 3 }],
      [{ op: 'exists', path: '/', watch: true }, { op: 'exists', path: '/ch', watch: true }],
      [{ op: 'getData', path: '/a' }, { op: 'getData', path: '/ch/a' }],
      [{ op: 'getChildren', path: '/', withStat: true }, { op: 'getChildren', path: '/ch', withStat: true }],
      [{ op: 'sync', path: '/a' }, { op: 'sync', path: '/ch/a' }],
      [{ op: 'addWatch', path: '/', mode: 'persistentRecursive' }, { op: 'addWatch', path: '/ch', mode: 'persistentRecursive' }],
      [{ op: 'removeWatches', path: '/a', watcherType: 'any' }, { op: 'removeWatches', path: '/ch/a', watcherType: 'any' }],
      [{ op: 'getAllChildrenNumber', path: '/' }, { op: 'getAllChildrenNumber', path: '/ch' }],
      [{ op: 'getEphemerals' }, { op: 'getEphemerals', prefix: '/ch' }],
      [{ op: 'getEphemerals', prefix: '/e' }, { op: 'getEphemerals', prefix: '/ch/e' }],
      [
        { op: 'multi', ops: [{ op: 'create', path: '/q/', data: '', mode: 'ephemeral_sequential' }, { op: 'check', path: '/a', version: 0 }, { op: 'delete', path: '/b', version: -1 }, { op: 'setData', path: '/c', data: '', version: -1 }] },
        { op: 'multi', ops: [{ op: 'create', path: '/ch/q/', data: '', mode: 'ephemeral_sequential' }, { op: 'check', path: '/ch/a', version: 0 }, { op: 'delete', path: '/ch/b', version: -1 }, { op: 'setData', path: '/ch/c', data: '', version: -1 }] },
      ],
      [{ op: 'multiRead', ops: [{ op: 'getData', path: '/a' }, { op: 'getChildren', path: '/' }] }, { op: 'multiRead', ops: [{ op: 'getData', path: '/ch/a' }, { op: 'getChildren', path: '/ch' }] }],
      [{ op: 'ping' }, { op: 'ping' }],
      [{ op: 'stats' }, { op: 'stats' }],
    ];
    for (const [given, sent] of cases) {
      const copy = JSON.parse(JSON.stringify(given)) as Operation;
      expect(toServerOperation(c, given)).toEqual(sent);
      expect(given).toEqual(copy);
    }
  });
});

describe('toClientResult', () => {
  const c = '/ch';

  it('strips created names, sequential ones included, and sync paths', () => {
    expect(toClientResult(c, { op: 'create', path: '/q/', data: '', mode: 'persistent_sequential' }, { path: '/ch/q/0000000003', stat })).toEqual({ path: '/q/0000000003', stat });
    expect(toClientResult(c, { op: 'create', path: '/', data: '', mode: 'persistent' }, { path: '/ch', stat })).toEqual({ path: '/', stat });
    expect(toClientResult(c, { op: 'sync', path: '/a' }, { path: '/ch/a' })).toEqual({ path: '/a' });
  });

  it('strips the paths of multi creates only', () => {
    const result = { results: [{ type: 'create', path: '/ch/a0000000000', stat }, { type: 'delete' }, { type: 'setData', stat }, { type: 'check' }] };
    expect(toClientResult(c, { op: 'multi', ops: [] }, result)).toEqual({ results: [{ type: 'create', path: '/a0000000000', stat }, { type: 'delete' }, { type: 'setData', stat }, { type: 'check' }] });
  });

  it('lists only the ephemerals under the chroot, stripped (the server matches the prefix as a string)', () => {
    expect(toClientResult(c, { op: 'getEphemerals' }, { paths: ['/ch', '/ch/e1', '/ch2/e', '/other'] })).toEqual({ paths: ['/', '/e1'] });
  });

  it('leaves results without paths, and everything without a chroot, as they are', () => {
    const data = { data: '/ch/x', stat };
    expect(toClientResult(c, { op: 'getData', path: '/x' }, data)).toBe(data);
    const children = { children: ['a', 'b'] };
    expect(toClientResult(c, { op: 'getChildren', path: '/' }, children)).toBe(children);
    const created = { path: '/ch/a', stat };
    expect(toClientResult(null, { op: 'create', path: '/ch/a', data: '', mode: 'persistent' }, created)).toBe(created);
  });
});

describe('events and messages', () => {
  it('strips watch event paths; the chroot itself is /', () => {
    expect(toClientEvent('/ch', { type: 'watch', event: 'NodeCreated', path: '/ch/a', zxid: 5 })).toEqual({ type: 'watch', event: 'NodeCreated', path: '/a', zxid: 5 });
    expect(toClientEvent('/ch', { type: 'watch', event: 'NodeChildrenChanged', path: '/ch', zxid: 6 }).path).toBe('/');
  });

  it('takes the chroot out of the paths a message quotes, whole paths only', () => {
    expect(toClientText('/kafka', 'parent /kafka/a does not exist')).toBe('parent /a does not exist');
    expect(toClientText('/kafka', 'parent /kafka does not exist')).toBe('parent / does not exist');
    expect(toClientText('/kafka', "path '/kafka/x/' must not end with /")).toBe("path '/x/' must not end with /");
    expect(toClientText('/kafka', 'node /kafka2/a and /kafkas')).toBe('node /kafka2/a and /kafkas');
    expect(toClientText('/a.b', 'at /axb/c')).toBe('at /axb/c');
    expect(toClientText(null, 'parent /kafka/a')).toBe('parent /kafka/a');
  });
});
