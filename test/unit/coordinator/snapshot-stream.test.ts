/**
 * Snapshots written and read a chunk at a time (store/snapshot-stream.ts) through the file store:
 * round trips of many chunks with binary data, the event loop served between chunks, the
 * single-record snapshots of earlier versions still read, torn or mixed snapshots skipped for
 * the older one, and the source closed whatever happens.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import type { CoreSnapshot, SnapshotSource, ZnodeRecord } from '../../../coordinator/core-api';
import { FileStore, decodeRecords, encodeRecord } from '../../../coordinator/store/file';
import { nodeFromTuple, nodeToJson, nodeToTuple, snapshotToJson } from '../../../coordinator/store/records';
import { CHUNK_NODES_MAX, SnapshotAssembler, sourceOf } from '../../../coordinator/store/snapshot-stream';
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
    const records = decodeRecords(fs.readFileSync(path.join(dir, 'snapshot.0000000000002328')));
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

  test('a snapshot of format 2 (znodes as objects, written before format 3) is still read', async () => {
    const dir = tempDir('snapshot-stream');
    const snapshot = bigSnapshot(12, 1, CHUNK_NODES_MAX + 3);
    const values = [
      { snapshot: 2, lastZxid: 12, sessions: snapshot.sessions },
      { lastZxid: 12, chunk: 0, nodes: snapshot.nodes.slice(0, 1000).map(nodeToJson) },
      { lastZxid: 12, chunk: 1, nodes: snapshot.nodes.slice(1000).map(nodeToJson) },
      { lastZxid: 12, end: true, chunks: 2, nodes: snapshot.nodes.length },
    ];
    fs.writeFileSync(path.join(dir, 'snapshot.000000000000000c'), Buffer.concat(values.map((value) => encodeRecord(value))));
    expect(canonical((await reopen(dir)).snapshot)).toEqual(canonical(snapshot));
  });

  test('format 3 writes each znode as an array (no field names)', async () => {
    const dir = tempDir('snapshot-stream');
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    await store.snapshot(bigSnapshot(3, 0, 8));
    await store.close();
    const [header, chunk] = decodeRecords(fs.readFileSync(path.join(dir, 'snapshot.0000000000000003'))).values as Array<Record<string, unknown>>;
    expect(header).toMatchObject({ snapshot: 3, lastZxid: 3 });
    const nodes = chunk!.nodes as unknown[][];
    expect(nodes[0]).toEqual(['/', '', 0, 0, 0, 0, 0, 0, 0, '0', 0]);
    expect(nodes[1]).toEqual(['/small0', Buffer.from([0, 0, 34, 92]).toString('base64'), 100, 100, 100, 100, 100, 0, 0, '0', 0, [{ perms: 1, scheme: 'world', id: 'anyone' }], 3]);
    expect(nodes[2]).toHaveLength(11);
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
    ['a chunk of another snapshot', (records: Buffer[]) => Buffer.concat([records[0]!, encodeRecord({ lastZxid: 3, chunk: 0, nodes: [] }), ...records.slice(2)])],
  ])('a newest snapshot %s is skipped for the older one', async (_name, damage) => {
    const dir = tempDir('snapshot-stream');
    const store = new FileStore({ dataDir: dir, logger });
    await store.open();
    const older = bigSnapshot(4, 0, 3);
    await store.snapshot(older);
    await store.snapshot(bigSnapshot(8, 0, CHUNK_NODES_MAX + 1));
    await store.close();
    const file = path.join(dir, 'snapshot.0000000000000008');
    const decoded = decodeRecords(fs.readFileSync(file));
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
    ['a later format', { snapshot: 4, lastZxid: 1, sessions: [] }, 'not a snapshot header (format 4; this version reads 1 to 3)'],
    ['not an object', [1, 2], 'a snapshot value is not an object'],
    ['a bad node in the single-value form', { lastZxid: 1, nodes: [{ path: '/', data64: '!!' }], sessions: [] }, 'not a snapshot (single-value form)'],
  ])('%s is refused', (_name, value, problem) => {
    expect(() => new SnapshotAssembler().add(value)).toThrow(problem);
  });
});
