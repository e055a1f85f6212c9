import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { FileStore, decodeRecords, encodeRecord } from '../../../coordinator/store/file';
import type { CoreSnapshot, Txn } from '../../../coordinator/core-api';
import { tempDir } from '../../helpers/processes';

const logger = pino({ level: 'silent' });

function setTxn(zxid: number): Txn {
  return { type: 'setData', zxid, time: 1_700_000_000_000 + zxid, path: `/n${zxid}`, data: `v${zxid}` };
}

function snapshotAt(lastZxid: number): CoreSnapshot {
  return { lastZxid, nodes: [], sessions: [{ sessionId: 'abc', password: 'pw', timeoutMs: 3000 }] };
}

function logFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('log.')).sort();
}

function snapshotFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('snapshot.')).sort();
}

async function reopen(dir: string, options: { fsync?: boolean } = {}) {
  const store = new FileStore({ dataDir: dir, logger, ...options });
  const state = await store.open();
  return { store, state };
}

describe('record framing', () => {
  test.each([
    ['empty', Buffer.alloc(0), 0, null],
    ['one record', encodeRecord({ a: 1 }), 1, null],
    ['short header', Buffer.concat([encodeRecord({ a: 1 }), Buffer.from([0, 0, 1])]), 1, 'short header'],
    ['preallocated zeros after the last record', Buffer.concat([encodeRecord({ a: 1 }), Buffer.alloc(200_000)]), 1, null],
    ['a short run of zeros after the last record', Buffer.concat([encodeRecord({ a: 1 }), Buffer.alloc(3)]), 1, null],
    ['zeros, then a record', Buffer.concat([encodeRecord({ a: 1 }), Buffer.alloc(100), encodeRecord({ b: 2 }), Buffer.alloc(100)]), 1, 'zeros before written records'],
    ['short record', Buffer.concat([encodeRecord({ a: 1 }), encodeRecord({ b: 2 }).subarray(0, 12)]), 1, 'short record'],
    ['huge length', Buffer.concat([encodeRecord({ a: 1 }), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]), 1, 'record length 4294967295 too large'],
  ])('%s', (_name, buffer, count, problem) => {
    const decoded = decodeRecords(buffer);
    expect(decoded.values).toHaveLength(count);
    expect(decoded.problem).toBe(problem);
  });

  test('a flipped byte in the body is a bad crc', () => {
    const record = encodeRecord({ hello: 'world' });
    record[record.length - 3] ^= 0x01;
    expect(decodeRecords(record)).toEqual({ values: [], validBytes: 0, problem: 'bad crc' });
  });
});

describe('FileStore', () => {
  test('appends survive a reopen, in order, across batches', async () => {
    const dir = tempDir('file-store');
    const { store, state } = await reopen(dir);
    expect(state).toEqual({ snapshot: null, txns: [] });
    await store.append([setTxn(1), setTxn(2), setTxn(3)]);
    await Promise.all([store.append([setTxn(4)]), store.append([setTxn(5), setTxn(6)])]);
    await store.close();
    const again = await reopen(dir);
    expect(again.state.snapshot).toBeNull();
    expect(again.state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(again.state.txns[2]).toEqual(setTxn(3));
    // A reopened store starts a new log file and keeps appending after the recovered zxid.
    await again.store.append([setTxn(7)]);
    await expect(again.store.append([setTxn(7)])).rejects.toThrow(/out of order/);
    await again.store.close();
    expect(logFiles(dir)).toEqual(['log.0000000000000001', 'log.0000000000000007']);
    expect((await reopen(dir)).state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('a torn tail (garbage after the last record) is truncated, everything before it kept', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1), setTxn(2)]);
    await store.close();
    const file = path.join(dir, logFiles(dir)[0]);
    const goodBytes = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.concat([encodeRecord(setTxn(3)).subarray(0, 20)]));
    const again = await reopen(dir);
    expect(again.state.txns.map((txn) => txn.zxid)).toEqual([1, 2]);
    expect(fs.statSync(file).size).toBe(goodBytes);
    await again.store.append([setTxn(3)]);
    await again.store.close();
    expect((await reopen(dir)).state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3]);
  });

  test.each([
    ['bad crc', (record: Buffer) => { record[record.length - 2] ^= 0xff; }],
    ['bad json', (record: Buffer) => { record.write('{', record.length - 1); record.writeUInt32BE(require('zlib').crc32(record.subarray(8)), 4); }],
  ])('a last record with %s is dropped', async (_name, corrupt) => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1)]);
    await store.close();
    const record = encodeRecord(setTxn(2));
    corrupt(record);
    fs.appendFileSync(path.join(dir, logFiles(dir)[0]), record);
    expect((await reopen(dir)).state.txns.map((txn) => txn.zxid)).toEqual([1]);
  });

  test('a log file with no valid record at all is removed', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1)]);
    await store.close();
    fs.writeFileSync(path.join(dir, 'log.0000000000000002'), Buffer.from('garbage!garbage!'));
    const again = await reopen(dir);
    expect(again.state.txns.map((txn) => txn.zxid)).toEqual([1]);
    expect(logFiles(dir)).toEqual(['log.0000000000000001']);
    await again.store.append([setTxn(2)]);
    await again.store.close();
  });

  test('corruption in a log file that is not the last stops start-up', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1)]);
    await store.close();
    const second = await reopen(dir);
    await second.store.append([setTxn(2)]);
    await second.store.close();
    const first = path.join(dir, logFiles(dir)[0]);
    const bytes = fs.readFileSync(first);
    bytes[bytes.length - 2] ^= 0xff;
    fs.writeFileSync(first, bytes);
    await expect(new FileStore({ dataDir: dir, logger }).open()).rejects.toThrow(/corrupt at offset 0/);
  });

  test('snapshots: recovery starts from the newest, replays the log after it, and old logs go', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1), setTxn(2)]);
    await store.snapshot(snapshotAt(2));
    await store.append([setTxn(3), setTxn(4)]);
    let state = (await reopen(dir)).state;
    expect(state.snapshot?.lastZxid).toBe(2);
    expect(state.txns.map((txn) => txn.zxid)).toEqual([3, 4]);

    await store.snapshot(snapshotAt(4));
    await store.append([setTxn(5)]);
    await store.snapshot(snapshotAt(5));
    await store.append([setTxn(6)]);
    await store.close();
    // Two snapshots are kept; log files wholly before the older kept one (zxid 4) are gone.
    expect(snapshotFiles(dir)).toEqual(['snapshot.0000000000000004', 'snapshot.0000000000000005']);
    expect(logFiles(dir)).toEqual(['log.0000000000000005', 'log.0000000000000006']);
    state = (await reopen(dir)).state;
    expect(state.snapshot).toEqual(snapshotAt(5));
    expect(state.txns.map((txn) => txn.zxid)).toEqual([6]);
  });

  test('a corrupt newest snapshot falls back to the older one and replays from there', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    await store.append([setTxn(1)]);
    await store.snapshot(snapshotAt(1));
    await store.append([setTxn(2), setTxn(3)]);
    await store.snapshot(snapshotAt(3));
    await store.append([setTxn(4)]);
    await store.close();
    fs.writeFileSync(path.join(dir, 'snapshot.0000000000000003'), Buffer.from('not a snapshot'));
    fs.writeFileSync(path.join(dir, 'snapshot.0000000000000009.tmp'), Buffer.from('half-written'));
    const { state } = await reopen(dir);
    expect(state.snapshot?.lastZxid).toBe(1);
    expect(state.txns.map((txn) => txn.zxid)).toEqual([2, 3, 4]);
    expect(fs.existsSync(path.join(dir, 'snapshot.0000000000000009.tmp'))).toBe(false);
  });

  test('zeros are written ahead of the appends, left by a crash (and read as the end), cut off at close', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    let dataBytes = 0;
    for (let zxid = 1; zxid <= 3; zxid++) {
      await store.append([setTxn(zxid)]);
      dataBytes += encodeRecord(setTxn(zxid)).length;
    }
    const file = path.join(dir, logFiles(dir)[0]);
    const deadline = Date.now() + 10_000;
    while (fs.statSync(file).size <= dataBytes && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const preallocated = fs.statSync(file).size;
    expect(preallocated).toBeGreaterThanOrEqual(dataBytes + 64 * 1024);
    expect(fs.readFileSync(file).subarray(dataBytes).every((byte) => byte === 0)).toBe(true);
    // What a crash leaves: the log with its zeros.
    const crashed = tempDir('file-store-crashed');
    fs.copyFileSync(file, path.join(crashed, logFiles(dir)[0]));
    await store.close();
    expect(fs.statSync(file).size).toBe(dataBytes);

    const afterCrash = await reopen(crashed);
    expect(afterCrash.state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3]);
    // Not a torn tail: nothing is truncated at start-up.
    expect(fs.statSync(path.join(crashed, logFiles(crashed)[0])).size).toBe(preallocated);
    await afterCrash.store.append([setTxn(4)]);
    await afterCrash.store.close();
    // The file with zeros is no longer the last one, and still reads cleanly.
    expect(logFiles(crashed)).toEqual(['log.0000000000000001', 'log.0000000000000004']);
    expect((await reopen(crashed)).state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3, 4]);
  });

  test('small appends alone are written at once, big or overlapping ones on the pool: all land in call order', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir);
    const bigTxn = (zxid: number): Txn => ({ type: 'setData', zxid, time: 1_700_000_000_000 + zxid, path: `/n${zxid}`, data: 'b'.repeat(8 * 1024) });
    await store.append([setTxn(1)]); // opens the file (on the pool)
    const before = store.syncLatency().count;
    // Alone and small: written before append returns (its sync latency is recorded already).
    const small = store.append([setTxn(2)]);
    expect(store.syncLatency().count).toBe(before + 1);
    await small;
    // A big one goes to the pool; the small ones behind it while it is on its way go there too.
    const mixed = [store.append([bigTxn(3)]), store.append([setTxn(4)]), store.append([setTxn(5), setTxn(6)])];
    expect(store.syncLatency().count).toBe(before + 1);
    const settled: number[] = [];
    mixed.forEach((append, index) => void append.then(() => settled.push(index)));
    await Promise.all(mixed);
    expect(settled).toEqual([0, 1, 2]);
    await store.append([setTxn(7)]);
    await store.close();
    const again = await reopen(dir);
    expect(again.state.txns.map((txn) => txn.zxid)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(again.state.txns[2]).toEqual(bigTxn(3));
    await again.store.close();
  });

  test('a record after zeros (an append that landed while an earlier one did not) is a torn tail', async () => {
    const dir = tempDir('file-store');
    const first = encodeRecord(setTxn(1));
    fs.writeFileSync(path.join(dir, 'log.0000000000000001'), Buffer.concat([first, Buffer.alloc(64), encodeRecord(setTxn(3)), Buffer.alloc(4096)]));
    const { store, state } = await reopen(dir);
    expect(state.txns.map((txn) => txn.zxid)).toEqual([1]);
    expect(fs.statSync(path.join(dir, 'log.0000000000000001')).size).toBe(first.length);
    await store.close();
  });

  test('without fsync appends still land and report no fsync latency', async () => {
    const dir = tempDir('file-store');
    const { store } = await reopen(dir, { fsync: false });
    await store.append([setTxn(1)]);
    expect(store.syncLatency().count).toBe(0);
    await store.close();
    const fsynced = await reopen(dir);
    await fsynced.store.append([setTxn(2)]);
    expect(fsynced.store.syncLatency().count).toBe(1);
    await fsynced.store.close();
  });
});
