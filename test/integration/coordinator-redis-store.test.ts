/**
 * The Redis store against a real redis-server: transactions and snapshots survive a store
 * reopen and a SIGKILL of Redis itself (appendonly yes, appendfsync always); the log is trimmed
 * behind each snapshot; appends are ordered and all-or-nothing; a fence refuses a stale
 * writer; an unreachable Redis is a clear error at start and a failed append (never a hang)
 * later; a Redis that would forget what it acknowledges is reported loudly; WAIT for replicas
 * that do not exist fails the append. The lease: one holder, rising epochs, expiry. A standby
 * following the log sees every append, and resyncs from the snapshot after a trim. Snapshots
 * go in chunks (a header string and a list), replace the previous one at once, and the
 * single-string snapshots of earlier versions are still read.
 */
import { createHash, randomBytes } from 'crypto';
import pino from 'pino';
import Redis from 'ioredis';
import type { CoreSnapshot, Txn, ZnodeRecord } from '../../coordinator/core-api';
import { acquireLease, defineLeaseCommands, leaseKeys, readLease, releaseLease, renewLease, safeUntil } from '../../coordinator/lease';
import { nodeToTuple, snapshotToJson } from '../../coordinator/store/records';
import { FencedError, RedisStore } from '../../coordinator/store/redis';
import { BINARY_CHUNK_MARK, CHUNK_NODES_MAX } from '../../coordinator/store/snapshot-stream';
import { freePort, kill, stopAll, waitFor } from '../helpers/processes';
import { RedisHandle, startRedis } from '../helpers/redis';

jest.setTimeout(60_000);

const silent = pino({ level: 'silent' });

function setTxn(zxid: number): Txn {
  return { type: 'setData', zxid, time: 1_700_000_000_000 + zxid, path: `/n${zxid}`, data: `v${zxid} "quoted" \\ ü` };
}

function snapshotAt(lastZxid: number): CoreSnapshot {
  return { lastZxid, nodes: [], sessions: [{ sessionId: 'abc', password: 'pw', timeoutMs: 3000 }] };
}

/** A logger that keeps every line, to read what the store said. */
function recordingLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

let redis: RedisHandle;
let admin: Redis;
let prefixCount = 0;
const nextPrefix = () => `t${++prefixCount}`;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await stopAll();
});

test('appended transactions come back in order after a reopen, after the newest snapshot', async () => {
  const prefix = nextPrefix();
  const store = new RedisStore({ url: redis.url, prefix, logger: silent });
  expect(await store.open()).toEqual({ snapshot: null, txns: [] });
  await Promise.all([store.append([setTxn(1), setTxn(2)]), store.append([setTxn(3)]), store.append([setTxn(4), setTxn(5)])]);
  await store.snapshot(snapshotAt(3));
  await store.append([setTxn(6)]);
  expect(store.syncLatency().count).toBe(4);
  await store.close();

  const again = new RedisStore({ url: redis.url, prefix, logger: silent });
  const state = await again.open();
  expect(state.snapshot).toEqual(snapshotAt(3));
  expect(state.txns).toEqual([setTxn(4), setTxn(5), setTxn(6)]);
  // Trimmed behind the snapshot: Redis keeps only what the snapshot does not cover.
  expect(await admin.xlen(`${prefix}:log`)).toBe(3);
  // Appends carry on after the recovered zxid, and refuse to go backwards.
  await expect(again.append([setTxn(6)])).rejects.toThrow('append out of order: zxid 6 after 6');
  await again.close();
});

test('what Redis acknowledged survives a SIGKILL of redis-server (appendonly yes, appendfsync always)', async () => {
  const own = await startRedis();
  const store = new RedisStore({ url: own.url, logger: silent });
  await store.open();
  for (let zxid = 1; zxid <= 50; zxid++) await store.append([setTxn(zxid)]);
  await kill(own.process);
  // Redis is gone: the next append fails (at once, not after a hang).
  await expect(store.append([setTxn(51)])).rejects.toThrow(/redis store: append to redis:\/\/127\.0\.0\.1:\d+\/0 failed/);
  await store.close();

  const restarted = await startRedis({ port: own.port, dataDir: own.dataDir });
  const reopened = new RedisStore({ url: restarted.url, logger: silent });
  const state = await reopened.open();
  expect(state.txns.map((t) => t.zxid)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  await reopened.close();
});

test('a stream that already has a zxid refuses it again, and nothing of the refused call is written', async () => {
  const prefix = nextPrefix();
  const first = new RedisStore({ url: redis.url, prefix, logger: silent });
  await first.open();
  await first.append([setTxn(1), setTxn(2)]);
  // A second writer that believes it is at zxid 1 (what a split brain would do).
  const second = new RedisStore({ url: redis.url, prefix: `${prefix}`, logger: silent });
  await second.open();
  (second as unknown as { lastAppendedZxid: number }).lastAppendedZxid = 1;
  await expect(second.append([setTxn(2), setTxn(3)])).rejects.toThrow(/equal or smaller than the target stream top item/);
  expect(await admin.xlen(`${prefix}:log`)).toBe(2);
  await first.close();
  await second.close();
});

test('a fenced writer (the fence key holds another epoch) writes nothing', async () => {
  const prefix = nextPrefix();
  await admin.set(`${prefix}:lease-epoch`, '7');
  const current = new RedisStore({ url: redis.url, prefix, fence: { key: `${prefix}:lease-epoch`, epoch: 7 }, logger: silent });
  await current.open();
  await current.append([setTxn(1)]);
  const stale = new RedisStore({ url: redis.url, prefix, fence: { key: `${prefix}:lease-epoch`, epoch: 6 }, logger: silent });
  await stale.open();
  await expect(stale.append([setTxn(2)])).rejects.toThrow(FencedError);
  await expect(stale.snapshot(snapshotAt(1))).rejects.toThrow(FencedError);
  expect(await admin.xlen(`${prefix}:log`)).toBe(1);
  expect(await admin.exists(`${prefix}:snapshot`, `${prefix}:snapshot:staging`, `${prefix}:snapshot:chunks`)).toBe(0);
  await current.close();
  await stale.close();
});

test('an unreachable Redis is a clear error at start, quickly', async () => {
  const port = await freePort();
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}/0`, logger: silent, connectTimeoutMs: 2000 });
  const started = Date.now();
  await expect(store.open()).rejects.toThrow(`redis store: cannot reach redis://127.0.0.1:${port}/0`);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(() => new RedisStore({ url: 'http://127.0.0.1:1', logger: silent })).toThrow('--store must be file, memory or redis://host:port[/db]');
});

test('a Redis without appendonly is reported as an error line; appendfsync everysec as a warning', async () => {
  const volatile = await startRedis({ appendonly: false });
  const { logger, lines } = recordingLogger();
  const store = new RedisStore({ url: volatile.url, logger });
  await store.open();
  await store.close();
  expect(lines.find((l) => l.msg.startsWith('store.redis_not_durable'))).toMatchObject({ level: 50 });

  const everysec = await startRedis({ appendfsync: 'everysec' });
  const second = recordingLogger();
  const other = new RedisStore({ url: everysec.url, logger: second.logger });
  await other.open();
  await other.close();
  expect(second.lines.find((l) => l.msg.startsWith('store.redis_fsync_everysec'))).toMatchObject({ level: 40 });
  expect(lines.concat(second.lines).some((l) => l.msg === 'store.redis_durable')).toBe(false);
});

test('--redis-wait N with fewer replicas than N fails the append with a clear error', async () => {
  const store = new RedisStore({ url: redis.url, prefix: nextPrefix(), wait: 1, waitTimeoutMs: 200, logger: silent });
  await store.open();
  await expect(store.append([setTxn(1)])).rejects.toThrow('redis store: only 0 of 1 Redis replicas acknowledged within 200 ms (--redis-wait)');
  await store.close();
});

describe('the lease', () => {
  test('one holder at a time; the epoch only rises; renew and release only by the holder; expiry frees it', async () => {
    const keys = leaseKeys(nextPrefix());
    defineLeaseCommands(admin);
    const first = await acquireLease(admin, keys, 'a', 'ws://127.0.0.1:1', 300);
    expect(first).toBe(1);
    expect(await acquireLease(admin, keys, 'b', 'ws://127.0.0.1:2', 300)).toBeNull();
    expect(await readLease(admin, keys)).toEqual({ id: 'a', url: 'ws://127.0.0.1:1', epoch: 1 });
    expect(await renewLease(admin, keys, 'b', 1, 300)).toBe(false);
    expect(await renewLease(admin, keys, 'a', 1, 300)).toBe(true);
    expect(await releaseLease(admin, keys, 'b')).toBe(false);
    expect(await releaseLease(admin, keys, 'a')).toBe(true);
    expect(await acquireLease(admin, keys, 'b', 'ws://127.0.0.1:2', 200)).toBe(2);
    // b stops renewing: the key expires and a renewal after that is refused, even by b.
    await waitFor('the lease to expire', async () => (await readLease(admin, keys)) === null, 5000);
    expect(await renewLease(admin, keys, 'b', 2, 200)).toBe(false);
    expect(await acquireLease(admin, keys, 'a', 'ws://127.0.0.1:1', 200)).toBe(3);
    expect(safeUntil(1000, 2000)).toBe(2600);
  });
});

describe('a standby following the log', () => {
  test('gets every appended transaction in order, and the snapshot when the log was trimmed past it', async () => {
    const prefix = nextPrefix();
    const active = new RedisStore({ url: redis.url, prefix, logger: silent });
    await active.open();
    await active.append([setTxn(1), setTxn(2)]);
    const standby = new RedisStore({ url: redis.url, prefix, logger: silent });
    const recovered = await standby.open();
    expect(recovered.txns.map((t) => t.zxid)).toEqual([1, 2]);
    const seen: number[] = [];
    const snapshots: number[] = [];
    const stop = standby.follow(2, (txns) => seen.push(...txns.map((t) => t.zxid)), (snapshot) => {
      snapshots.push(snapshot.lastZxid);
      seen.length = 0;
    });
    try {
      await active.append([setTxn(3)]);
      await active.append([setTxn(4), setTxn(5)]);
      await waitFor('the standby to see zxid 5', async () => seen.at(-1) === 5, 5000);
      expect(seen).toEqual([3, 4, 5]);
      stop();
      // While the standby is away, the active snapshots at 7 and trims 1..7.
      await active.append([setTxn(6), setTxn(7), setTxn(8)]);
      await active.snapshot(snapshotAt(7));
      await active.append([setTxn(9)]);
      seen.length = 0;
      const stopAgain = standby.follow(5, (txns) => seen.push(...txns.map((t) => t.zxid)), (snapshot) => {
        snapshots.push(snapshot.lastZxid);
        seen.length = 0;
      });
      try {
        await waitFor('the standby to resync and reach zxid 9', async () => seen.at(-1) === 9, 5000);
        expect(snapshots).toEqual([7]);
        expect(seen).toEqual([8, 9]);
      } finally {
        stopAgain();
      }
    } finally {
      stop();
      await active.close();
      await standby.close();
    }
  });
});

describe('snapshots in chunks', () => {
  function node(path: string, data: Buffer | string, zxid: number): ZnodeRecord {
    return { path, data, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: zxid, mtime: zxid, version: 0, cversion: 0, ephemeralOwner: '0', container: false };
  }

  /** Data as a hash: jest compares Buffers byte by byte, slowly. */
  function canonical(snapshot: CoreSnapshot | null) {
    if (snapshot === null) return null;
    const digest = (data: Buffer | string) => `${typeof data} ${createHash('sha256').update(data).digest('hex')}`;
    return { ...snapshot, nodes: snapshot.nodes.map((record) => ({ ...record, data: digest(record.data) })) };
  }

  test('many chunks of binary data round-trip; the new snapshot replaces the old at once and trims the log', async () => {
    const prefix = nextPrefix();
    const store = new RedisStore({ url: redis.url, prefix, logger: silent });
    await store.open();
    await store.append([setTxn(1), setTxn(2), setTxn(3)]);
    await store.snapshot(snapshotAt(1));
    // An unfinished snapshot of a writer that died: the next one starts its staging list over.
    await admin.rpush(`${prefix}:snapshot:staging`, 'left over');
    const nodes = [node('/', Buffer.alloc(0), 0), node('/big0', randomBytes(1.5 * 1024 * 1024), 1), node('/big1', randomBytes(1024 * 1024 + 1), 2)];
    for (let i = 0; i < CHUNK_NODES_MAX + 5; i++) nodes.push(node(`/small${i}`, Buffer.from([i & 255, 0, 34]), 3));
    const big: CoreSnapshot = { ...snapshotAt(2), nodes };
    await store.snapshot(big);
    await store.close();
    // A header, then chunks ['/', big0], [big1], CHUNK_NODES_MAX small, 5 small, and the trailer.
    expect(JSON.parse((await admin.get(`${prefix}:snapshot`))!)).toMatchObject({ snapshot: 4, lastZxid: 2 });
    expect(await admin.llen(`${prefix}:snapshot:chunks`)).toBe(5);
    // The chunks are stored as bytes (format 4), the trailer as JSON.
    expect((await admin.lindexBuffer(`${prefix}:snapshot:chunks`, 0))![0]).toBe(BINARY_CHUNK_MARK);
    expect(JSON.parse((await admin.lindex(`${prefix}:snapshot:chunks`, 4))!)).toEqual({ lastZxid: 2, end: true, chunks: 4, nodes: nodes.length });
    expect(await admin.exists(`${prefix}:snapshot:staging`)).toBe(0);
    expect(await admin.xlen(`${prefix}:log`)).toBe(1);
    const again = new RedisStore({ url: redis.url, prefix, logger: silent });
    const state = await again.open();
    expect(canonical(state.snapshot)).toEqual(canonical(big));
    expect(state.txns.map((t) => t.zxid)).toEqual([3]);
    await again.close();
  });

  test('a snapshot written as one string (before chunks) is still read, and the next one replaces it', async () => {
    const prefix = nextPrefix();
    const legacy: CoreSnapshot = { lastZxid: 4, nodes: [node('/', '', 0), node('/a', 'text "q" é', 3), node('/b', Buffer.from([0, 255]), 4)], sessions: [] };
    await admin.set(`${prefix}:snapshot`, JSON.stringify(snapshotToJson(legacy)));
    const store = new RedisStore({ url: redis.url, prefix, logger: silent });
    expect(canonical((await store.open()).snapshot)).toEqual(canonical(legacy));
    await store.append([setTxn(5)]);
    await store.snapshot(snapshotAt(5));
    await store.close();
    const again = new RedisStore({ url: redis.url, prefix, logger: silent });
    expect((await again.open()).snapshot).toEqual(snapshotAt(5));
    await again.close();
  });

  test('a snapshot of format 3 (JSON chunks, before binary ones) is still read', async () => {
    const prefix = nextPrefix();
    const nodes = [node('/', Buffer.alloc(0), 0), node('/a', Buffer.from([0, 255, 34]), 3), { ...node('/b', 'text é', 4), aversion: 2 }];
    await admin.set(`${prefix}:snapshot`, JSON.stringify({ snapshot: 3, lastZxid: 4, sessions: [] }));
    await admin.rpush(`${prefix}:snapshot:chunks`, JSON.stringify({ lastZxid: 4, chunk: 0, nodes: nodes.map(nodeToTuple) }), JSON.stringify({ lastZxid: 4, end: true, chunks: 1, nodes: 3 }));
    const store = new RedisStore({ url: redis.url, prefix, logger: silent });
    const expected = nodes.map((record) => ({ ...record, data: typeof record.data === 'string' ? Buffer.from(record.data) : record.data }));
    expect(canonical((await store.open()).snapshot)).toEqual(canonical({ lastZxid: 4, nodes: expected, sessions: [] }));
    await store.close();
  });

  test('chunks of another snapshot than the header names are never mixed in: the read fails clearly', async () => {
    const prefix = nextPrefix();
    const store = new RedisStore({ url: redis.url, prefix, logger: silent });
    await store.open();
    await store.snapshot(snapshotAt(6));
    await store.close();
    // A header naming zxid 5 over the chunks of the snapshot at 6 (what a reader racing a writer would see).
    await admin.set(`${prefix}:snapshot`, JSON.stringify({ snapshot: 4, lastZxid: 5, sessions: [] }));
    const again = new RedisStore({ url: redis.url, prefix, logger: silent });
    await expect(again.open()).rejects.toThrow(`redis store: ${prefix}:snapshot at ${redis.url} is not a coordinator snapshot (a value of the snapshot at zxid 6 in the one at 5)`);
    await again.close();
  });
});
