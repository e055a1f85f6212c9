import { parseClientFrame } from '../../../shared/coordinator/validate';

const request = (xid: unknown, op: Record<string, unknown>) => JSON.stringify({ type: 'request', xid, request: op });

describe('parseClientFrame', () => {
  test.each([
    ['connect', JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: 3000, lastZxid: 0 })],
    ['resume', JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: 3000, lastZxid: 5, sessionId: 'ab', password: 'cd' })],
    ['create', request(0, { op: 'create', path: '/a', data: '', mode: 'ephemeral_sequential' })],
    ['create without its Stat', request(0, { op: 'create', path: '/a', data: '', mode: 'persistent', withStat: false })],
    ['delete any version', request(1, { op: 'delete', path: '/a', version: -1 })],
    ['getChildren', request(2, { op: 'getChildren', path: '/', watch: true, withStat: false })],
    ['multi', request(3, { op: 'multi', ops: [{ op: 'check', path: '/a', version: 0 }, { op: 'setData', path: '/a', data: 'eA==', version: 0 }] })],
    ['addWatch', request(4, { op: 'addWatch', path: '/a', mode: 'persistentRecursive' })],
    ['removeWatches', request(5, { op: 'removeWatches', path: '/a', watcherType: 'any' })],
    ['getEphemerals', request(6, { op: 'getEphemerals', prefix: '/b' })],
    ['ping', request(Number.MAX_SAFE_INTEGER, { op: 'ping' })],
    // Versions below -1 are the core's BadVersion, not a malformed frame (ZooKeeper answers BadVersion).
    ['version -2', request(7, { op: 'setData', path: '/a', data: '', version: -2 })],
    ['check version far below -1', request(8, { op: 'multi', ops: [{ op: 'check', path: '/a', version: -(2 ** 31) }] })],
    ['multiRead', request(9, { op: 'multiRead', ops: [{ op: 'getData', path: '/a' }, { op: 'getChildren', path: '/' }] })],
    ['getAllChildrenNumber', request(10, { op: 'getAllChildrenNumber', path: '/a' })],
  ])('accepts %s', (_name, text) => {
    const result = parseClientFrame(text);
    expect(result.ok).toBe(true);
    // Data arrives as base64 (protocol 2) and leaves the validator as bytes.
    if (result.ok) expect(result.frame).toEqual(JSON.parse(text, (key, value: unknown) => (key === 'data' ? Buffer.from(value as string, 'base64') : value)));
  });

  test('data is base64 in protocol 2 and UTF-8 text in protocol 1; either way the validator hands on bytes', () => {
    const bytes = Buffer.from([0, 0xff, 0xfe, 0x22, 0x5c, 0x01, 0x80]);
    const v2 = parseClientFrame(request(1, { op: 'create', path: '/b', data: bytes.toString('base64'), mode: 'persistent' }), 2);
    expect(v2).toEqual({ ok: true, frame: { type: 'request', xid: 1, request: { op: 'create', path: '/b', data: bytes, mode: 'persistent' } } });
    const v1 = parseClientFrame(request(2, { op: 'setData', path: '/b', data: 'é "q" \\', version: -1 }), 1);
    expect(v1.ok && v1.frame.type === 'request' && v1.frame.request).toEqual({ op: 'setData', path: '/b', data: Buffer.from('é "q" \\', 'utf8'), version: -1 });
    const inMulti = parseClientFrame(request(3, { op: 'multi', ops: [{ op: 'create', path: '/c', data: 'AAE=', mode: 'persistent' }] }), 2);
    expect(inMulti.ok && inMulti.frame.type === 'request' && inMulti.frame.request).toEqual({ op: 'multi', ops: [{ op: 'create', path: '/c', data: Buffer.from([0, 1]), mode: 'persistent' }] });
  });

  test.each([
    ['not a multiple of 4', 'eA='],
    ['a character outside the alphabet', 'eA!='],
    ['whitespace', 'eA= ='],
    ['the URL-safe alphabet', '-_8='],
    ['padding in the middle', 'eA==eA=='],
  ])('data that is not base64 (%s) is BadArguments with the xid, the connection kept', (_name, data) => {
    expect(parseClientFrame(request(4, { op: 'setData', path: '/a', data, version: -1 }), 2)).toEqual({ ok: false, code: 'BadArguments', message: 'request.data must be base64 (protocol 2)', xid: 4, fatal: false });
    expect(parseClientFrame(request(5, { op: 'multi', ops: [{ op: 'create', path: '/a', data, mode: 'persistent' }] }), 2)).toMatchObject({ ok: false, code: 'BadArguments', xid: 5, fatal: false });
  });

  test('keeps only known fields', () => {
    const result = parseClientFrame(request(1, { op: 'getData', path: '/a', extra: { deep: 1 } }));
    expect(result).toEqual({ ok: true, frame: { type: 'request', xid: 1, request: { op: 'getData', path: '/a' } } });
  });

  test.each([
    ['not JSON', '{"type"', 'MarshallingError', true, undefined],
    ['an array', '[]', 'MarshallingError', true, undefined],
    ['null', 'null', 'MarshallingError', true, undefined],
    ['unknown type', JSON.stringify({ type: 'hello', xid: 3 }), 'MarshallingError', false, 3],
    ['negative xid', request(-1, { op: 'ping' }), 'BadArguments', false, undefined],
    ['fractional xid', request(1.5, { op: 'ping' }), 'BadArguments', false, undefined],
    ['unsafe xid', request(2 ** 53, { op: 'ping' }), 'BadArguments', false, undefined],
    ['string xid', request('1', { op: 'ping' }), 'BadArguments', false, undefined],
    ['unknown op', request(4, { op: 'fly' }), 'Unimplemented', false, 4],
    ['op not a string', request(4, { op: 7 }), 'BadArguments', false, 4],
    ['request not an object', JSON.stringify({ type: 'request', xid: 4, request: [] }), 'BadArguments', false, 4],
    ['path not a string', request(5, { op: 'getData', path: null }), 'BadArguments', false, 5],
    ['data missing', request(5, { op: 'create', path: '/a', mode: 'persistent' }), 'BadArguments', false, 5],
    ['bad mode', request(5, { op: 'create', path: '/a', data: '', mode: 'sticky' }), 'BadArguments', false, 5],
    ['fractional version', request(5, { op: 'setData', path: '/a', data: '', version: -1.5 }), 'BadArguments', false, 5],
    ['version as string', request(5, { op: 'delete', path: '/a', version: '0' }), 'BadArguments', false, 5],
    ['watch not boolean', request(5, { op: 'exists', path: '/a', watch: 1 }), 'BadArguments', false, 5],
    ['withStat not boolean', request(5, { op: 'create', path: '/a', data: '', mode: 'persistent', withStat: 'no' }), 'BadArguments', false, 5],
    ['multi ops not array', request(5, { op: 'multi', ops: {} }), 'BadArguments', false, 5],
    ['multi with a read', request(5, { op: 'multi', ops: [{ op: 'getData', path: '/a' }] }), 'BadArguments', false, 5],
    ['multiRead with a write', request(5, { op: 'multiRead', ops: [{ op: 'delete', path: '/a', version: -1 }] }), 'BadArguments', false, 5],
    ['multiRead ops not array', request(5, { op: 'multiRead', ops: 'x' }), 'BadArguments', false, 5],
    ['multiRead sub-op without path', request(5, { op: 'multiRead', ops: [{ op: 'getData' }] }), 'BadArguments', false, 5],
    ['getAllChildrenNumber without path', request(5, { op: 'getAllChildrenNumber' }), 'BadArguments', false, 5],
    ['bad watcherType', request(5, { op: 'removeWatches', path: '/a', watcherType: 'all' }), 'BadArguments', false, 5],
    ['connect without lastZxid', JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: 1 }), 'BadArguments', false, undefined],
    ['connect with sessionId only', JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: 1, lastZxid: 0, sessionId: 'a' }), 'BadArguments', false, undefined],
    ['connect with negative timeout', JSON.stringify({ type: 'connect', protocolVersion: 1, timeoutMs: -1, lastZxid: 0 }), 'BadArguments', false, undefined],
  ])('rejects %s', (_name, text, code, fatal, xid) => {
    const result = parseClientFrame(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.fatal).toBe(fatal);
      expect(result.xid).toBe(xid);
    }
  });

  test('a multi has no fixed operation count: 20000 checks in one frame parse', () => {
    const text = request(1, { op: 'multi', ops: Array.from({ length: 20_000 }, () => ({ op: 'check', path: '/', version: -1 })) });
    const result = parseClientFrame(text);
    expect(result.ok && result.frame.type === 'request' && result.frame.request.op === 'multi' && result.frame.request.ops.length).toBe(20_000);
  });
});
