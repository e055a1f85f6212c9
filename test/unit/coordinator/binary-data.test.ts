/**
 * Znode data as bytes (issue 10): the wire form (base64 in protocol 2, text in 1), the frame limit
 * derived so that any value within the data limit fits whatever its content, the client's refusal
 * of an oversized frame, the stores' JSON records (base64, and the old text records still read),
 * and the core replaying both.
 */
import { defaultFrameBytesMax, loadCoordinatorConfig } from '../../../coordinator/config';
import { CoordinatorCore } from '../../../coordinator/core';
import { DEFAULT_LIMITS, Txn } from '../../../coordinator/core-api';
import { snapshotFromJson, snapshotToJson, txnFromJson, txnToJson } from '../../../coordinator/store/records';
import { dataResult, oversizedFrame, serverLimits, wireOps } from '../../../shared/coordinator/client-data';
import { base64Length, bytesFromWire, chooseFormat, formatData, fromBase64, toBytes, wireData } from '../../../shared/coordinator/data';
import { parseClientFrame } from '../../../shared/coordinator/validate';

const T0 = 1_700_000_000_000;
/** Every byte value, twice, in a scrambled order. */
const ALL_BYTES = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 157) % 256));

/** The frame the client library sends for a setData (protocol 2). */
function setDataFrame(path: string, data: Buffer, xid = Number.MAX_SAFE_INTEGER): string {
  return JSON.stringify({ type: 'request', xid, request: { op: 'setData', path, data: wireData(data, 2), version: -2147483648 } });
}

describe('wire form', () => {
  test('protocol 2 is base64 both ways, for any bytes; protocol 1 is UTF-8 text', () => {
    expect(wireData(ALL_BYTES, 2)).toBe(ALL_BYTES.toString('base64'));
    expect(bytesFromWire(wireData(ALL_BYTES, 2), 2)).toEqual(ALL_BYTES);
    expect(wireData('é"\\', 2)).toBe(Buffer.from('é"\\').toString('base64'));
    expect(wireData('', 2)).toBe('');
    expect(bytesFromWire('', 2)).toEqual(Buffer.alloc(0));
    expect(wireData(Buffer.from('é'), 1)).toBe('é');
    expect(bytesFromWire('é"\\', 1)).toEqual(Buffer.from('é"\\'));
  });

  test('base64 decoding is strict', () => {
    for (const bad of ['A', 'AB=', 'AB=C', 'A B=', '@@@@', 'ab-_', 'QQ==QQ==', 'é===']) expect(fromBase64(bad)).toBeNull();
    expect(fromBase64('QQ==')).toEqual(Buffer.from('A'));
    expect(fromBase64('QUI=')).toEqual(Buffer.from('AB'));
  });

  test('decoded values are packed in slabs of values only (never a slice of the shared pool, which the tree would pin), large ones on their own', () => {
    const pool = Buffer.from('pool').buffer;
    const first = bytesFromWire('QUJD', 2)!;
    const second = bytesFromWire('REVG', 1)!;
    expect(first.buffer).not.toBe(pool);
    expect(first).toEqual(Buffer.from('ABC'));
    expect(second).toEqual(Buffer.from('REVG'));
    // Either the same slab (packed, 8-byte aligned) or the next one.
    if (second.buffer === first.buffer) expect(second.byteOffset).toBe(first.byteOffset + 8);
    const large = bytesFromWire(Buffer.alloc(4096, 1).toString('base64'), 2)!;
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(4096);
    // A value's bytes are not overwritten by the values decoded after it.
    const values = Array.from({ length: 200 }, (_, i) => Buffer.alloc(i % 300, i));
    const decoded = values.map((value) => bytesFromWire(value.toString('base64'), 2)!);
    decoded.forEach((bytes, i) => expect(bytes).toEqual(values[i]));
  });

  test('toBytes: text is its UTF-8; bytes are themselves', () => {
    expect(toBytes('ü')).toEqual(Buffer.from([0xc3, 0xbc]));
    expect(toBytes(ALL_BYTES)).toBe(ALL_BYTES);
  });

  test('formats for people: text when UTF-8, hex otherwise, or as asked', () => {
    expect(chooseFormat(Buffer.from('{"a":1}'))).toBe('text');
    expect(chooseFormat(Buffer.from([0xff, 0x00]))).toBe('hex');
    expect(chooseFormat(Buffer.from([0xff]), 'base64')).toBe('base64');
    expect(formatData(Buffer.from([0xde, 0xad]), 'hex')).toBe('dead');
    expect(formatData(Buffer.from([0xde, 0xad]), 'base64')).toBe('3q0=');
  });
});

describe('the frame limit is derived from the data limit', () => {
  test('default: 4/3 of 1 MiB plus a fully escaped longest path plus the envelope', () => {
    expect(base64Length(DEFAULT_LIMITS.dataBytesMax)).toBe(1_398_104);
    expect(defaultFrameBytesMax(DEFAULT_LIMITS)).toBe(1_439_064);
    expect(loadCoordinatorConfig().frameBytesMax).toBe(1_439_064);
    expect(loadCoordinatorConfig({}, {}, { limits: { dataBytesMax: 3000 } }).frameBytesMax).toBe(4000 + 6 * 4096 + 16 * 1024);
  });

  test.each([
    ['zero bytes', Buffer.alloc(DEFAULT_LIMITS.dataBytesMax)],
    ['0xff bytes', Buffer.alloc(DEFAULT_LIMITS.dataBytesMax, 0xff)],
    ['quotes', Buffer.alloc(DEFAULT_LIMITS.dataBytesMax, '"')],
    ['backslashes', Buffer.alloc(DEFAULT_LIMITS.dataBytesMax, '\\')],
    ['U+0001', Buffer.alloc(DEFAULT_LIMITS.dataBytesMax, 1)],
  ])('a value of exactly the limit fits in one frame whatever its content (%s), even with the worst path', (_name, data) => {
    // The longest path, every byte a control character (BadArguments from the core, but it must still arrive).
    const worstPath = `/${'\u0001'.repeat(DEFAULT_LIMITS.pathBytesMax - 1)}`;
    const frame = setDataFrame(worstPath, data);
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(defaultFrameBytesMax(DEFAULT_LIMITS));
    // One byte over the data limit still fits, so the server answers it (BadArguments) instead of dropping the connection.
    const over = setDataFrame(worstPath, Buffer.concat([data, Buffer.from([0])]));
    expect(Buffer.byteLength(over)).toBeLessThanOrEqual(defaultFrameBytesMax(DEFAULT_LIMITS));
    const parsed = parseClientFrame(setDataFrame('/x', data), 2);
    expect(parsed.ok && parsed.frame.type === 'request' && parsed.frame.request.op === 'setData' && parsed.frame.request.data.equals(data)).toBe(true);
  });

  test('the client refuses a frame over the announced limit, and only then', () => {
    const limits = { dataBytesMax: 1000, frameBytesMax: 2000 };
    expect(oversizedFrame('x'.repeat(2000), limits)).toBeNull();
    expect(oversizedFrame('x'.repeat(2001), limits)).toBe("request of 2001 bytes is over the server's frame limit of 2000 bytes; data may be at most 1000 bytes per znode");
    expect(oversizedFrame('é'.repeat(1001), limits)).toMatch(/^request of 2002 bytes/); // bytes, not characters
    expect(oversizedFrame('x'.repeat(10_000), {})).toBeNull(); // a server that announced nothing (protocol 1)
    expect(serverLimits({ dataBytesMax: 1000, frameBytesMax: 2000 })).toEqual(limits);
    expect(serverLimits({ dataBytesMax: '1000', frameBytesMax: -1 })).toEqual({}); // not numbers we can use: none
  });

  test("the client's conversions: multi data to base64, results to bytes and text", () => {
    expect(wireOps([{ op: 'create', path: '/a', data: Buffer.from([1, 2]), mode: 'persistent' }, { op: 'check', path: '/a', version: 0 }, { op: 'setData', path: '/a', data: 'é', version: -1 }])).toEqual([
      { op: 'create', path: '/a', data: 'AQI=', mode: 'persistent' },
      { op: 'check', path: '/a', version: 0 },
      { op: 'setData', path: '/a', data: 'w6k=', version: -1 },
    ]);
    const stat = { czxid: 1, mzxid: 1, pzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, ephemeralOwner: '0', dataLength: 3, numChildren: 0, aversion: 0 };
    expect(dataResult({ data: Buffer.from('{"a":1}').toString('base64'), stat })).toEqual({ data: '{"a":1}', bytes: Buffer.from('{"a":1}'), stat });
    const binary = dataResult({ data: '/w==', stat });
    expect(binary.bytes).toEqual(Buffer.from([0xff]));
    expect(binary.data).toBe('\ufffd'); // the lossy text view; `bytes` is the data
  });
});

describe('store records', () => {
  const create = (zxid: number, data: Buffer | string): Txn => ({ type: 'create', zxid, time: T0, path: `/n${zxid}`, data, ephemeralOwner: '0', container: false });

  test('bytes go as base64 (data64) and come back as the same bytes, in every kind of transaction', () => {
    const txns: Txn[] = [
      create(1, ALL_BYTES),
      { type: 'setData', zxid: 2, time: T0, path: '/n1', data: Buffer.alloc(0) },
      { type: 'multi', zxid: 3, time: T0, txns: [{ type: 'create', path: '/m', data: ALL_BYTES, ephemeralOwner: '0', container: false }, { type: 'setData', path: '/m', data: Buffer.from([0]) }, { type: 'check', path: '/m' }, { type: 'delete', path: '/n1' }] },
      { type: 'delete', zxid: 4, time: T0, path: '/m' },
    ];
    for (const txn of txns) {
      const text = JSON.stringify(txnToJson(txn));
      expect(text).not.toContain('"type":"Buffer"');
      expect(txnFromJson(JSON.parse(text))).toEqual(txn);
    }
    expect(JSON.parse(JSON.stringify(txnToJson(create(5, Buffer.from([0xff]))))).data64).toBe('/w==');
  });

  test('records written before data was bytes (text in `data`) are read as text; the core makes them bytes', () => {
    const legacyText = 'é "quoted" \\ \u0001 {"a":1}';
    const legacy = [
      '{"type":"createSession","zxid":1,"time":1700000000000,"sessionId":"s","password":"p","timeoutMs":3000}',
      `{"type":"create","zxid":2,"time":1700000000000,"path":"/old","data":${JSON.stringify(legacyText)},"ephemeralOwner":"0","container":false}`,
      '{"type":"multi","zxid":3,"time":1700000000000,"txns":[{"type":"create","path":"/old/m","data":"x","ephemeralOwner":"0","container":false},{"type":"setData","path":"/old","data":"ü"}]}',
    ].map((line) => txnFromJson(JSON.parse(line))!);
    expect(legacy[1]).toMatchObject({ data: legacyText });
    const core = new CoordinatorCore(DEFAULT_LIMITS);
    for (const txn of legacy) core.replay(txn);
    const nodes = new Map(core.snapshot().nodes.map((node) => [node.path, node.data]));
    expect(nodes.get('/old')).toEqual(Buffer.from('ü'));
    expect(nodes.get('/old/m')).toEqual(Buffer.from('x'));

    const oldSnapshot = { lastZxid: 3, sessions: [], nodes: [{ path: '/', data: '', czxid: 0, mzxid: 0, pzxid: 2, ctime: 0, mtime: 0, version: 0, cversion: 1, ephemeralOwner: '0', container: false }, { path: '/old', data: legacyText, czxid: 2, mzxid: 2, pzxid: 2, ctime: T0, mtime: T0, version: 0, cversion: 0, ephemeralOwner: '0', container: false }] };
    const restored = CoordinatorCore.fromSnapshot(snapshotFromJson(JSON.parse(JSON.stringify(oldSnapshot)))!, DEFAULT_LIMITS, T0);
    const old = restored.snapshot().nodes.find((node) => node.path === '/old')!;
    expect(old.data).toEqual(Buffer.from(legacyText));
    restored.createSession(3000, T0, 'r', 'p');
    const read = restored.execute('r', { op: 'getData', path: '/old' }, T0).reply;
    expect(read).toMatchObject({ ok: true, result: { data: Buffer.from(legacyText), stat: { dataLength: Buffer.byteLength(legacyText) } } });
  });

  test('a snapshot of bytes round-trips through its JSON', () => {
    const core = new CoordinatorCore(DEFAULT_LIMITS);
    core.createSession(3000, T0, 's', 'p');
    core.execute('s', { op: 'create', path: '/bin', data: ALL_BYTES, mode: 'persistent' }, T0);
    const snapshot = core.snapshot();
    const back = snapshotFromJson(JSON.parse(JSON.stringify(snapshotToJson(snapshot))));
    expect(back).toEqual(snapshot);
  });

  test.each([
    ['data64 that is not base64', { type: 'create', zxid: 1, time: T0, path: '/a', data64: 'A', ephemeralOwner: '0', container: false }],
    ['data64 not a string', { type: 'setData', zxid: 1, time: T0, path: '/a', data64: 5 }],
    ['no data at all', { type: 'setData', zxid: 1, time: T0, path: '/a' }],
    ['a multi sub without data', { type: 'multi', zxid: 1, time: T0, txns: [{ type: 'create', path: '/a', ephemeralOwner: '0', container: false }] }],
    ['not an object', [1, 2]],
  ])('a record with %s is not a transaction', (_name, value) => {
    expect(txnFromJson(value)).toBeNull();
  });
});
