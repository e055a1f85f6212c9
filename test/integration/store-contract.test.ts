/**
 * One contract, three stores (file, memory, Redis against a real redis-server): appends
 * resolve in call order, zxids only rise, nothing is accepted after close; the durable stores
 * give back, after a reopen, the newest snapshot and exactly the transactions after it, and a
 * snapshot read from a tree that changes while it is written as the tree was when it began.
 */
import { createHash } from 'crypto';
import pino from 'pino';
import type { CoreSnapshot, SnapshotSource, Txn, ZnodeRecord } from '../../coordinator/core-api';
import { DataTree } from '../../coordinator/tree';
import { CHUNK_NODES_MAX } from '../../coordinator/store/snapshot-stream';
import { FileStore } from '../../coordinator/store/file';
import { MemoryStore } from '../../coordinator/store/memory';
import { RedisStore } from '../../coordinator/store/redis';
import type { CoordinatorStore } from '../../coordinator/store/store';
import { stopAll, tempDir } from '../helpers/processes';
import { RedisHandle, startRedis } from '../helpers/redis';

jest.setTimeout(60_000);

const logger = pino({ level: 'silent' });
let redis: RedisHandle;
let locations = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(stopAll);

/** A store factory per implementation: `location` names where its data lives, so a second store opens the same data. */
const STORES: Array<{ kind: string; durable: boolean; make: (location: string) => CoordinatorStore; location: () => string }> = [
  { kind: 'file', durable: true, make: (dir) => new FileStore({ dataDir: dir, logger }), location: () => tempDir('store-contract') },
  { kind: 'memory', durable: false, make: () => new MemoryStore(), location: () => 'memory' },
  { kind: 'redis', durable: true, make: (prefix) => new RedisStore({ url: redis.url, prefix, logger }), location: () => `contract${++locations}` },
];

const txn = (zxid: number): Txn => ({ type: 'create', zxid, time: 1_700_000_000_000 + zxid, path: `/n${zxid}`, data: `d${zxid} "q" \\ é`, mode: 'persistent', parentCversion: zxid } as unknown as Txn);
const snapshotAt = (lastZxid: number): CoreSnapshot => ({ lastZxid, nodes: [], sessions: [{ sessionId: 's1', password: 'p', timeoutMs: 3000 }] });

/** Records sorted by path, data as a hash (jest compares Buffers byte by byte, slowly). */
const canonical = (records: ZnodeRecord[]) =>
  records
    .map((record) => ({ ...record, data: createHash('sha256').update(record.data).digest('hex') }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

describe.each(STORES)('$kind store', ({ kind, durable, make, location }) => {
  test('opens empty; overlapping appends resolve in call order; zxids must rise; nothing after close', async () => {
    const store = make(location());
    expect(store.kind).toBe(kind);
    expect(await store.open()).toEqual({ snapshot: null, txns: [] });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => store.append([txn(n * 2 - 1), txn(n * 2)]).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3, 4]);
    await expect(store.append([txn(8)])).rejects.toThrow('append out of order: zxid 8 after 8');
    await store.close();
    await expect(store.append([txn(9)])).rejects.toThrow(`${kind} store is closed`);
  });

  test(durable ? 'a reopen gives the newest snapshot and exactly the transactions after it' : 'keeps nothing across a reopen', async () => {
    const where = location();
    const store = make(where);
    await store.open();
    await store.append([txn(1), txn(2), txn(3)]);
    await store.snapshot(snapshotAt(2));
    await store.append([txn(4)]);
    await store.snapshot(snapshotAt(4));
    await store.append([txn(5), txn(6)]);
    await store.close();
    const again = make(where);
    const state = await again.open();
    if (durable) expect(state).toEqual({ snapshot: snapshotAt(4), txns: [txn(5), txn(6)] });
    else expect(state).toEqual({ snapshot: null, txns: [] });
    await again.close();
  });

  test('a snapshot read from a tree that changes between its chunks comes back as the tree was when it began', async () => {
    const tree = new DataTree();
    const count = 2 * CHUNK_NODES_MAX + 10;
    for (let i = 0; i < count; i++) tree.create(`/n${i}`, Buffer.from([i & 255, 0, 255, 34, 92]), '0', false, i + 1, i + 1);
    const before = canonical(tree.records());
    const nodes = tree.beginSnapshot(count);
    let zxid = count;
    let changes = 0;
    const source: SnapshotSource = {
      lastZxid: count,
      sessions: [],
      nextNodes: (nodesMax, bytesMax) => {
        const chunk = nodes.next(nodesMax, bytesMax);
        // Between chunks the server goes on: a change ahead of the walk, one behind it, a delete, a create.
        zxid++;
        tree.setData(`/n${count - 1 - changes}`, Buffer.from(`new ${zxid}`), zxid, zxid);
        tree.setData(`/n${changes}`, Buffer.from(`new ${zxid}`), zxid, zxid);
        tree.delete(`/n${count - 100 - changes}`, zxid);
        tree.create(`/m${changes}`, Buffer.from('created'), '0', false, zxid, zxid);
        changes++;
        return chunk;
      },
      close: () => nodes.close(),
    };
    const where = location();
    const store = make(where);
    await store.open();
    await store.snapshot(source);
    await store.close();
    // The store closed the source: the tree can begin another.
    tree.beginSnapshot(zxid).close();
    if (!durable) return;
    expect(changes).toBeGreaterThanOrEqual(3);
    const again = make(where);
    const state = await again.open();
    await again.close();
    expect(state.snapshot?.lastZxid).toBe(count);
    expect(canonical(DataTree.fromRecords(state.snapshot!.nodes).records())).toEqual(before);
  });
});
