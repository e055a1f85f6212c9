/**
 * Snapshots written and read a chunk at a time (store/snapshot-stream.ts) through the file store:
 * round trips of many chunks with binary data, the event loop served between chunks, the
 * snapshots of earlier formats still read, torn, corrupt or mixed snapshots skipped for the older
 * one, and the source closed whatever happens; the binary chunks of format 4 field by field and
 * against every kind of damage.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import type { CoreSnapshot, SnapshotSource, ZnodeRecord } from '../../../coordinator/core-api';
import { FileStore, decodeRecords, encodeRecord } from '../../../coordinator/store/file';
import { nodeFromTuple, nodeToJson, nodeToTuple, snapshotToJson } from '../../../coordinator/store/records';
import { BINARY_CHUNK_MARK, CHUNK_NODES_MAX, SnapshotAssembler, decodeChunk, encodeChunk, sourceOf } from '../../../coordinator/store/snapshot-stream';
import { tempDir } from '../../helpers/processes';

const logger = pino({ level: 'silent' });

function node(pathName: string, data: Buffer | string, zxid: number): ZnodeRecord {
  return { path: pathName, data, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: zxid, mtime: zxid, version: 0, cversion: 0, ephemeralOwner: '0', container: false };
}

/** A snapshot of `big` nodes of 1.5 MiB random bytes and `small` short ones (some with an ACL). */
function bigSnapshot(lastZxid: number, big: number, small: number): CoreSnapshot {
  const nodes = [node('/', Buffer.alloc(0), 0)];
  for (let i = 0; i < big; i++) nodes.push(node(`/big${i}`, randomBytes(1.5 * 1024 * 1024), i + 1));
  for (let i = 0; i < small; i++) {
    const record = node(`/small${i}`, Buffer.from([i & 255, 0, 34, 92]), 100 + i);
    if (i % 7 === 0) Object.assign(record, { acl: [{ perms: 1, scheme: 'world', id: 'anyone' }], aversion: 3 });
    nodes.push(record);
  }
  return { lastZxid, nodes, sessions: [{ sessionId: 's1', password: 'p', timeoutMs: 3000 }] };
}

/** Data as a hash: jest compares Buffers byte by byte, slowly (minutes for a few MiB). */
function canonical(snapshot: CoreSnapshot | null) {
  if (snapshot === null) return null;
  const digest = (data: Buffer | string) => `${typeof data} ${createHash('sha256').update(data).digest('hex')}`;
  return { ...snapshot, nodes: snapshot.nodes.map((record) => ({ ...record, data: digest(record.data) })) };
}

function snapshotFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('snapshot.')).sort();
}

async function reopen(dir: string) {
  const store = new FileStore({ dataDir: dir, logger });
  const state = await store.open();
  await store.close();
  return state;
}

describe('file store snapshots in chunks', () => {
  test('many chunks of binary data round-trip byte for byte; the event loop gets a turn between chunks', async () => {
    const dir = tempDir('snapshot-stream');
    const snapshot = bigSnapshot(9000, 6, 2 * CHUNK_NODES_MAX + 5);
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    await store.snapshot(snapshot);
    counting = false;
    await store.close();
    const records = decodeRecords(fs.readFileSync(path.join(dir, 'snapshot.0000000000002328')), Infinity, true);
    expect(records.problem).toBeNull();
    // A header, a chunk per big node, three chunks of small nodes, a trailer.
    expect(records.values).toHaveLength(1 + 6 + 3 + 1);
    expect(turns).toBeGreaterThanOrEqual(records.values.length - 2);
    expect(canonical((await reopen(dir)).snapshot)).toEqual(canonical(snapshot));
  });

  test('a source is read while it is written, and closed once written, or when writing fails', async () => {
    const dir = tempDir('snapshot-stream');
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    const closed: string[] = [];
    const watched = (source: SnapshotSource, name: string): SnapshotSource => ({ ...source, nextNodes: source.nextNodes, close: () => closed.push(name) });
    await store.snapshot(watched(sourceOf(bigSnapshot(5, 0, 10)), 'written'));
    const failing: SnapshotSource = {
      lastZxid: 6,
      sessions: [],
      nextNodes: () => {
        throw new Error('disk on fire');
      },
      close: () => closed.push('failed'),
    };
    await expect(store.snapshot(failing)).rejects.toThrow('disk on fire');
    expect(closed).toEqual(['written', 'failed']);
    // The unfinished temp file went; the finished snapshot stays.
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('snapshot.'))).toEqual(['snapshot.0000000000000005']);
    await store.close();
  });

  test.each([
    [2, 'znodes as objects, written before format 3', nodeToJson],
    [3, 'JSON chunks, znodes as arrays, written before format 4', nodeToTuple],
  ])('a snapshot of format %i (%s) is still read', async (format, _what, nodeForm: (node: ZnodeRecord) => unknown) => {
    const dir = tempDir('snapshot-stream');
    const zxid = 10 + format;
    const snapshot = bigSnapshot(zxid, 1, CHUNK_NODES_MAX + 3);
    const values = [
      { snapshot: format, lastZxid: zxid, sessions: snapshot.sessions },
      { lastZxid: zxid, chunk: 0, nodes: snapshot.nodes.slice(0, 1000).map(nodeForm) },
      { lastZxid: zxid, chunk: 1, nodes: snapshot.nodes.slice(1000).map(nodeForm) },
      { lastZxid: zxid, end: true, chunks: 2, nodes: snapshot.nodes.length },
    ];
    fs.writeFileSync(path.join(dir, `snapshot.${zxid.toString(16).padStart(16, '0')}`), Buffer.concat(values.map((value) => encodeRecord(value))));
    expect(canonical((await reopen(dir)).snapshot)).toEqual(canonical(snapshot));
  });

  test('format 4 writes a JSON header and trailer around binary chunks', async () => {
    const dir = tempDir('snapshot-stream');
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    const snapshot = bigSnapshot(3, 0, 8);
    await store.snapshot(snapshot);
    await store.close();
    const file = fs.readFileSync(path.join(dir, 'snapshot.0000000000000003'));
    // Read as JSON only (a log's way), the binary chunk is where the records stop making sense.
    expect(decodeRecords(file).problem).toBe('bad json');
    const [header, chunk, trailer] = decodeRecords(file, Infinity, true).values as [Record<string, unknown>, Buffer, Record<string, unknown>];
    expect(header).toEqual({ snapshot: 4, lastZxid: 3, sessions: snapshot.sessions });
    expect(Buffer.isBuffer(chunk)).toBe(true);
    expect(chunk[0]).toBe(BINARY_CHUNK_MARK);
    expect(trailer).toEqual({ lastZxid: 3, end: true, chunks: 1, nodes: 9 });
    const nodes: ZnodeRecord[] = [];
    decodeChunk(chunk, 3, 0, nodes);
    expect(canonical({ ...snapshot, nodes })).toEqual(canonical(snapshot));
  });

  test('a snapshot written before chunks (one record, text data) is still read', async () => {
    const dir = tempDir('snapshot-stream');
    const legacy: CoreSnapshot = { lastZxid: 7, nodes: [node('/', '', 0), node('/a', 'text "q" é', 3), node('/b', Buffer.from([0, 255]), 4)], sessions: [] };
    fs.writeFileSync(path.join(dir, 'snapshot.0000000000000007'), encodeRecord(snapshotToJson(legacy)));
    expect(canonical((await reopen(dir)).snapshot)).toEqual(canonical(legacy));
  });

  test.each([
    ['cut before its trailer', (records: Buffer[]) => Buffer.concat(records.slice(0, -1))],
    ['cut inside a chunk', (records: Buffer[]) => Buffer.concat(records).subarray(0, records[0]!.length + 20)],
    ['a chunk left out', (records: Buffer[]) => Buffer.concat([records[0]!, ...records.slice(2)])],
    ['bytes after its trailer', (records: Buffer[]) => Buffer.concat([...records, Buffer.from([1])])],
    ['a chunk of another snapshot', (records: Buffer[]) => Buffer.concat([records[0]!, encodeRecord(encodeChunk(3, 0, [node('/', '', 0)])), ...records.slice(2)])],
    ['a JSON chunk (format 3) in a snapshot of format 4', (records: Buffer[]) => Buffer.concat([records[0]!, encodeRecord({ lastZxid: 8, chunk: 0, nodes: [] }), ...records.slice(2)])],
    ['a chunk damaged under a good CRC', (records: Buffer[]) => {
      const chunk = records[1]!.subarray(8);
      return Buffer.concat([records[0]!, encodeRecord(chunk.subarray(0, chunk.length - 1)), ...records.slice(2)]);
    }],
  ])('a newest snapshot %s is skipped for the older one', async (_name, damage) => {
    const dir = tempDir('snapshot-stream');
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    const older = bigSnapshot(4, 0, 3);
    await store.snapshot(older);
    await store.snapshot(bigSnapshot(8, 0, CHUNK_NODES_MAX + 1));
    await store.close();
    const file = path.join(dir, 'snapshot.0000000000000008');
    const decoded = decodeRecords(fs.readFileSync(file), Infinity, true);
    expect(decoded.values).toHaveLength(4);
    fs.writeFileSync(file, damage(decoded.values.map((value) => encodeRecord(value))));
    expect(snapshotFiles(dir)).toHaveLength(2);
    expect(canonical((await reopen(dir)).snapshot)).toEqual(canonical(older));
  });
});

describe('znodes as arrays (format 3)', () => {
  test('every field round-trips: ACL, aversion, container, empty and binary data; legacy text becomes its bytes', () => {
    const plain = node('/a', Buffer.from([0, 1, 255]), 7);
    const withAcl = { ...node('/b', Buffer.alloc(0), 8), container: true, acl: [{ perms: 31, scheme: 'digest', id: 'u:x' }], aversion: 2 };
    const onlyAversion = { ...node('/c', Buffer.from('z'), 9), aversion: 1 };
    for (const record of [plain, withAcl, onlyAversion]) {
      const back = nodeFromTuple(JSON.parse(JSON.stringify(nodeToTuple(record))));
      expect(back).toEqual({ ...record, data: record.data });
      expect(Buffer.compare(back!.data as Buffer, record.data as Buffer)).toBe(0);
    }
    expect(nodeToTuple(onlyAversion).slice(11)).toEqual([null, 1]);
    expect((nodeFromTuple(nodeToTuple(node('/t', 'é', 1)))!.data as Buffer).toString('utf8')).toBe('é');
  });

  test.each([
    ['an object', { path: '/' }],
    ['too short', ['/', '', 0, 0, 0, 0, 0, 0, 0, '0']],
    ['too long', ['/', '', 0, 0, 0, 0, 0, 0, 0, '0', 0, null, 1, 2]],
    ['a zxid that is not a number', ['/', '', '1', 0, 0, 0, 0, 0, 0, '0', 0]],
    ['bad base64', ['/', '!!', 0, 0, 0, 0, 0, 0, 0, '0', 0]],
    ['container not 0 or 1', ['/', '', 0, 0, 0, 0, 0, 0, 0, '0', true]],
    ['an ACL that is not a list', ['/', '', 0, 0, 0, 0, 0, 0, 0, '0', 0, 'open']],
  ])('%s is not a znode', (_name, value) => {
    expect(nodeFromTuple(value)).toBeNull();
  });
});

describe('SnapshotAssembler', () => {
  test('a node given twice keeps both (loading keeps the later); counts must match the trailer', () => {
    const assembler = new SnapshotAssembler();
    expect(assembler.add({ snapshot: 2, lastZxid: 5, sessions: [] })).toBe(false);
    expect(assembler.add({ lastZxid: 5, chunk: 0, nodes: [{ ...node('/', '', 0), data: undefined, data64: '' }] })).toBe(false);
    expect(() => assembler.snapshot).toThrow('the snapshot ends before its trailer');
    expect(() => assembler.add({ lastZxid: 5, end: true, chunks: 1, nodes: 2 })).toThrow('the trailer counts 1 chunks and 2 nodes, not 1 and 1');
  });

  test.each([
    ['a later format', { snapshot: 5, lastZxid: 1, sessions: [] }, 'not a snapshot header (format 5; this version reads 1 to 4)'],
    ['a binary chunk before the header', encodeChunk(1, 0, []), 'a binary chunk outside a snapshot of format 4'],
    ['not an object', [1, 2], 'a snapshot value is not an object'],
    ['a bad node in the single-value form', { lastZxid: 1, nodes: [{ path: '/', data64: '!!' }], sessions: [] }, 'not a snapshot (single-value form)'],
  ])('%s is refused', (_name, value, problem) => {
    expect(() => new SnapshotAssembler().add(value)).toThrow(problem);
  });
});

describe('binary chunks (format 4)', () => {
  const plain = node('/a', Buffer.from([0, 1, 255]), 7);
  const withAcl: ZnodeRecord = { ...node('/b', Buffer.alloc(0), 8), container: true, acl: [{ perms: 31, scheme: 'digest', id: 'u:x' }], aversion: 2, ephemeralOwner: '0x1f2e3d4c5b6a7988' };
  const unicode: ZnodeRecord = { ...node('/é/ü-日本', Buffer.from('z'), 2 ** 52), version: 2 ** 31 + 5, cversion: 9, aversion: 1 };
  const long = node(`/${'p'.repeat(300)}`, Buffer.alloc(5_000, 7), 11);
  const chunkOf = (...records: ZnodeRecord[]) => encodeChunk(42, 3, records);

  test('every field round-trips: ACL, aversion, container, session, empty, binary and large data, non-ASCII and long paths, numbers past 2^31', () => {
    const records = [plain, withAcl, unicode, long];
    const back: ZnodeRecord[] = [];
    decodeChunk(chunkOf(...records), 42, 3, back);
    expect(back).toEqual(records);
    for (let i = 0; i < records.length; i++) expect(Buffer.compare(back[i]!.data as Buffer, records[i]!.data as Buffer)).toBe(0);
  });

  test('legacy text data is written as its UTF-8 bytes; a decoded znode does not hold the chunk', () => {
    const back: ZnodeRecord[] = [];
    const chunk = chunkOf(node('/t', 'é "q"', 1));
    decodeChunk(chunk, 42, 3, back);
    expect(Buffer.isBuffer(back[0]!.data)).toBe(true);
    chunk.fill(0);
    expect((back[0]!.data as Buffer).toString('utf8')).toBe('é "q"');
  });

  /** Byte offsets in chunkOf(plain): the head is 17 bytes, then plain's path length (u32) and path. */
  const PATH_LENGTH_AT = 17;
  const FLAGS_AT = 17 + 4 + 2 + 4 + 3 + 64 + 2 + 1;
  const damaged = (change: (chunk: Buffer) => Buffer) => change(Buffer.from(chunkOf(plain)));
  test.each([
    ['another snapshot', () => encodeChunk(41, 3, [plain]), 'a value of the snapshot at zxid 41 in the one at 42'],
    ['another chunk number', () => encodeChunk(42, 4, [plain]), 'chunk 4 where chunk 3 belongs'],
    ['too short for its head', () => chunkOf(plain).subarray(0, 10), 'chunk 3 is too short for a binary chunk'],
    ['cut inside a znode', () => chunkOf(plain).subarray(0, 40), 'chunk 3 ends inside a znode'],
    ['a path length past its end', () => damaged((chunk) => (chunk.writeUInt32LE(0xffffffff, PATH_LENGTH_AT), chunk)), 'chunk 3 ends inside a znode'],
    ['more znodes counted than it holds', () => damaged((chunk) => (chunk.writeUInt32LE(2, 13), chunk)), 'chunk 3 ends inside a znode'],
    ['bytes after its znodes', () => Buffer.concat([chunkOf(plain), Buffer.from([0])]), 'chunk 3 has 1 bytes after its 1 znodes'],
    ['unknown flags', () => damaged((chunk) => ((chunk[FLAGS_AT] = 4), chunk)), 'chunk 3 holds unknown znode flags 4'],
    ['a number that is not finite', () => damaged((chunk) => (chunk.writeDoubleLE(NaN, 17 + 4 + 2 + 4 + 3), chunk)), 'chunk 3 holds a number that is not finite'],
    ['an ACL that is not JSON', () => {
      const chunk = encodeChunk(42, 3, [{ ...plain, acl: 'x' as unknown as ZnodeRecord['acl'] }]); // the ACL '"x"' ends the chunk
      return chunk.fill(0x7b, chunk.length - 3);
    }, 'chunk 3 holds an ACL that is not JSON'],
    ['an ACL that is not a list', () => encodeChunk(42, 3, [{ ...plain, acl: { perms: 1 } as unknown as ZnodeRecord['acl'] }]), 'chunk 3 holds an ACL that is not a list'],
  ])('%s is refused', (_name, make, problem) => {
    expect(() => decodeChunk(make(), 42, 3, [])).toThrow(problem);
  });
});
