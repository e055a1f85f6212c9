/**
 * Znode data as bytes, end to end (issue 10's two defects): values that need escaping at the data
 * limit go through and one byte over is BadArguments with the connection kept; binary data round
 * trips through every store (file, memory, Redis) and across a SIGKILL restart; protocol-1 clients
 * (text data) keep working beside protocol-2 ones; a data directory written in the old text
 * format recovers; the CLI reads and writes binary data.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { encodeRecord, zxidName } from '../../coordinator/store/file';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { CoordinatorError, GetDataResult } from '../../shared/coordinator/protocol';
import { canConnect, freePort, kill, runCommand, SAMSA_BIN, spawnSamsa, startCoordinator, stopAll, tempDir, waitFor } from '../helpers/processes';
import { RedisHandle, startRedis } from '../helpers/redis';
import { RawClient } from './coordinator-raw-client';

jest.setTimeout(120_000);

const LIMIT = 1024 * 1024;
const clients: CoordinatorClient[] = [];
const raws: RawClient[] = [];
let redis: RedisHandle | null = null;

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const raw of raws.splice(0)) raw.terminate();
});
afterAll(stopAll);

async function client(url: string): Promise<CoordinatorClient> {
  const made = new CoordinatorClient({ servers: [url], requestTimeoutMs: 10_000, sessionTimeoutMs: 10_000 });
  clients.push(made);
  await made.connect();
  return made;
}

/** Deterministic pseudo-random bytes (a xorshift), so a failure can be reproduced. */
function randomBytes(length: number, seed = 12345): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** About `size` bytes of JSON in which 14% of the bytes are quotes (keys and short string values). */
function quoteRichJson(size: number): Buffer {
  const entries: string[] = [];
  let length = 2;
  for (let i = 0; length < size - 40; i++) {
    const entry = `"k${i}":"v${i % 1000}abcdefghijk"`;
    entries.push(entry);
    length += entry.length + 1;
  }
  return Buffer.from(`{${entries.join(',')}}`);
}

function errorCode(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error instanceof CoordinatorError ? error.code : String(error)),
  );
}

describe('data at the limit, whatever it holds', () => {
  test('escaping-rich values at the limit go through; one byte over is BadArguments; the connection stays', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = await client(url);
    const states: string[] = [];
    c.on('state', (state) => states.push(state));
    const sessionId = c.sessionId;

    const json = quoteRichJson(1_000_000);
    const quotes = json.filter((byte) => byte === 0x22).length / json.length;
    expect(json.length).toBeGreaterThan(990_000);
    expect(quotes).toBeGreaterThan(0.13);
    await c.create('/json', json);
    expect((await c.getData('/json')).bytes.equals(json)).toBe(true);
    expect((await c.getData('/json')).data).toBe(json.toString('utf8'));

    const controls = Buffer.alloc(200 * 1024, 1); // 200 KB of U+0001: 6 bytes each as JSON text
    await c.create('/controls', controls.toString('utf8')); // written as text: the same bytes
    expect((await c.getData('/controls')).bytes.equals(controls)).toBe(true);

    for (const [name, fill] of [['quotes', '"'], ['backslashes', '\\'], ['controls', '\u0001'], ['0xff', 0xff]] as const) {
      const exact = Buffer.alloc(LIMIT, fill);
      const stat = (await c.create(`/exact-${name}`, exact)).stat;
      expect(stat.dataLength).toBe(LIMIT);
      expect((await c.getData(`/exact-${name}`)).bytes.equals(exact)).toBe(true);
      expect(await errorCode(c.setData(`/exact-${name}`, Buffer.alloc(LIMIT + 1, fill)))).toBe('BadArguments');
    }
    const random = randomBytes(LIMIT);
    await c.setData('/json', random);
    expect((await c.getData('/json')).bytes.equals(random)).toBe(true);
    expect(await errorCode(c.create('/over', randomBytes(LIMIT + 1)))).toBe('BadArguments');
    // Far over the limit: the library refuses it without sending (the server would have to drop the connection).
    expect(await errorCode(c.create('/far-over', Buffer.alloc(4 * LIMIT)))).toBe('BadArguments');
    expect(await errorCode(c.multi([{ op: 'create', path: '/m1', data: random, mode: 'persistent' }, { op: 'create', path: '/m2', data: random, mode: 'persistent' }]))).toBe('BadArguments');

    // Still the same connection and session, and it still works.
    expect(states).toEqual([]);
    expect(c.sessionId).toBe(sessionId);
    expect(await c.exists('/over')).toBeNull();
    expect(await c.exists('/far-over')).toBeNull();
    await c.setData('/controls', 'still here');
    expect((await c.getData('/controls')).data).toBe('still here');
  });

  test('a raw protocol-2 client: one byte over is BadArguments with its xid, on the same connection', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const raw = await RawClient.connect(url, { protocolVersion: 2 });
    raws.push(raw);
    expect(raw.connected).toMatchObject({ protocolVersion: 2, dataBytesMax: LIMIT, frameBytesMax: 1_439_064 });
    const over = await raw.request({ op: 'create', path: '/x', data: Buffer.alloc(LIMIT + 1, '"').toString('base64'), mode: 'persistent' });
    expect(over).toMatchObject({ ok: false, error: { code: 'BadArguments', path: '/x' } });
    const notBase64 = await raw.request({ op: 'create', path: '/x', data: 'not base64!', mode: 'persistent' });
    expect(notBase64).toMatchObject({ ok: false, error: { code: 'BadArguments' } });
    expect(await raw.ok({ op: 'create', path: '/x', data: Buffer.from([0, 0xff]).toString('base64'), mode: 'persistent' })).toMatchObject({ path: '/x' });
    expect(await raw.ok({ op: 'getData', path: '/x' })).toMatchObject({ data: 'AP8=', stat: { dataLength: 2 } });
    expect(raw.closeCode).toBeNull();
  });

  test('protocol 1 (text) and protocol 2 (bytes) clients share one tree', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const old = await RawClient.connect(url); // protocol 1
    raws.push(old);
    expect(old.connected).toMatchObject({ protocolVersion: 1 });
    expect(old.connected).not.toHaveProperty('frameBytesMax');
    await old.ok({ op: 'create', path: '/text', data: 'é "q" \\', mode: 'persistent' });
    const c = await client(url);
    expect(await c.getData('/text')).toMatchObject({ data: 'é "q" \\', bytes: Buffer.from('é "q" \\') });
    await c.create('/bin', Buffer.from([0x41, 0xff, 0x42]));
    // What a protocol-1 client always got for bytes that are not UTF-8: a lossy decoding.
    expect(await old.ok({ op: 'getData', path: '/bin' })).toMatchObject({ data: 'A\ufffdB', stat: { dataLength: 3 } });
    expect(await old.ok({ op: 'multiRead', ops: [{ op: 'getData', path: '/text' }] })).toMatchObject({ results: [{ type: 'getData', data: 'é "q" \\' }] });
    const [read] = (await c.multiRead([{ op: 'getData', path: '/bin' }])).results;
    expect(read).toMatchObject({ type: 'getData', bytes: Buffer.from([0x41, 0xff, 0x42]) });
  });
});

/** Every byte value, a megabyte of noise, and empty data: created, set, in a multi. */
async function writeBinary(c: CoordinatorClient): Promise<Map<string, Buffer>> {
  const expected = new Map<string, Buffer>();
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await c.create('/bin', all);
  expected.set('/bin', all);
  const noise = randomBytes(LIMIT, 99);
  await c.create('/bin/noise', Buffer.alloc(1));
  await c.setData('/bin/noise', noise);
  expected.set('/bin/noise', noise);
  const a = randomBytes(1000, 7);
  const b = Buffer.from([0xc3, 0x28, 0x00, 0xfe]); // invalid UTF-8
  await c.multi([
    { op: 'create', path: '/bin/a', data: a, mode: 'persistent' },
    { op: 'create', path: '/bin/b', data: Buffer.alloc(0), mode: 'persistent' },
    { op: 'setData', path: '/bin/b', data: b, version: 0 },
  ]);
  expected.set('/bin/a', a).set('/bin/b', b);
  return expected;
}

async function expectBinary(c: CoordinatorClient, expected: Map<string, Buffer>): Promise<void> {
  for (const [at, bytes] of expected) {
    const got: GetDataResult = await c.getData(at);
    expect({ at, equal: got.bytes.equals(bytes), length: got.stat.dataLength }).toEqual({ at, equal: true, length: bytes.length });
  }
}

describe('binary data through every store', () => {
  test('memory store', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const c = await client(url);
    await expectBinary(c, await writeBinary(c));
  });

  test('file store: across a SIGKILL (log replay) and a clean restart (snapshot)', async () => {
    const first = await startCoordinator();
    const c = await client(first.url);
    const expected = await writeBinary(c);
    await c.close();
    await kill(first.process, 'SIGKILL');
    const second = await startCoordinator({ port: first.port, dataDir: first.dataDir });
    await expectBinary(await client(second.url), expected);
    await kill(second.process, 'SIGTERM'); // clean: writes a snapshot
    expect(fs.readdirSync(first.dataDir).some((name) => name.startsWith('snapshot.'))).toBe(true);
    const third = await startCoordinator({ port: first.port, dataDir: first.dataDir });
    await expectBinary(await client(third.url), expected);
  });

  test('redis store: snapshots and log across a SIGKILL', async () => {
    redis ??= await startRedis();
    const port = await freePort();
    const prefix = `bin${process.pid}`;
    // A snapshot every 3 transactions: recovery reads a snapshot and the log after it, both with bytes.
    const start = async () => {
      const handle = spawnSamsa(['coordinator', '--store', redis!.url, '--redis-prefix', prefix, '--lease-ms', '1000', '--port', String(port), '--metrics-port', '-1', '--snapshot-every-txns', '3', '--snapshot-tree-ratio', '0']);
      await waitFor(`coordinator on ${port}`, async () => {
        if (handle.child.exitCode !== null) throw new Error(`coordinator exited: ${handle.output()}`);
        return canConnect(port);
      }, 15_000);
      return handle;
    };
    const url = `ws://127.0.0.1:${port}`;
    const first = await start();
    const c = await client(url);
    const expected = await writeBinary(c);
    await c.close();
    await kill(first, 'SIGKILL');
    await start(); // a standby until the dead one's lease runs out; the client retries until then
    await expectBinary(await client(url), expected);
  });
});

describe('a data directory written in the old text format', () => {
  test('recovers: its text is read as its UTF-8 bytes, and new binary data joins it', async () => {
    const dataDir = tempDir('old-format');
    const text = 'é "quoted" \\ {"a":[1,2]} \u0001';
    const node = (nodePath: string, data: string, zxid: number) => ({ path: nodePath, data, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: 1_700_000_000_000, mtime: 1_700_000_000_000, version: 0, cversion: 0, ephemeralOwner: '0', container: false });
    // What the coordinator wrote before data was bytes: data as text in `data`, in a snapshot and in the log after it.
    const snapshot = { lastZxid: 2, sessions: [], nodes: [{ ...node('/', '', 0), pzxid: 2, cversion: 1 }, node('/old', text, 2)] };
    fs.writeFileSync(path.join(dataDir, zxidName('snapshot.', 2)), encodeRecord(snapshot));
    const log = [
      { type: 'create', zxid: 3, time: 1_700_000_000_000, path: '/old/child', data: 'ü', ephemeralOwner: '0', container: false },
      { type: 'multi', zxid: 4, time: 1_700_000_000_000, txns: [{ type: 'setData', path: '/old', data: `${text}!` }] },
    ];
    fs.writeFileSync(path.join(dataDir, zxidName('log.', 3)), Buffer.concat(log.map(encodeRecord)));

    const first = await startCoordinator({ dataDir });
    const c = await client(first.url);
    expect(await c.getData('/old')).toMatchObject({ data: `${text}!`, bytes: Buffer.from(`${text}!`), stat: { version: 1, dataLength: Buffer.byteLength(`${text}!`) } });
    expect((await c.getData('/old/child')).bytes).toEqual(Buffer.from('ü'));
    await c.create('/old/bin', Buffer.from([0xff, 0xfe]));
    await c.close();
    await kill(first.process, 'SIGKILL');
    const second = await startCoordinator({ port: first.port, dataDir });
    const again = await client(second.url);
    expect((await again.getData('/old')).data).toBe(`${text}!`);
    expect((await again.getData('/old/bin')).bytes).toEqual(Buffer.from([0xff, 0xfe]));
  });
});

describe('samsa get / set / create with binary data', () => {
  test('get prints text when it is UTF-8, hex otherwise, or as --format says; set/create --file write bytes', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const server = `--server=${url}`;
    const samsa = (args: string[], input?: string) => runCommand(process.execPath, [SAMSA_BIN, ...args], input);
    const file = path.join(tempDir('cli-binary'), 'blob.bin');
    const blob = Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x80, 0x41]);
    fs.writeFileSync(file, blob);

    expect(await samsa(['create', server, '/blob', '--file', file])).toMatchObject({ code: 0, stdout: 'Created /blob\n' });
    const c = await client(url);
    expect((await c.getData('/blob')).bytes).toEqual(blob);
    const get = await samsa(['get', server, '/blob']);
    expect(get.code).toBe(0);
    expect(get.stdout.split('\n')[0]).toBe('00ff100a8041');
    expect(get.stdout).toContain('dataLength = 6');
    expect((await samsa(['get', server, '--format', 'base64', '/blob'])).stdout.split('\n')[0]).toBe(blob.toString('base64'));
    expect(JSON.parse((await samsa(['get', server, '--json', '/blob'])).stdout)).toMatchObject({ data: '00ff100a8041', format: 'hex', stat: { dataLength: 6 } });
    expect(JSON.parse((await samsa(['get', server, '--json', '--format', 'base64', '/blob'])).stdout)).toMatchObject({ data: 'AP8QCoBB', format: 'base64' });
    expect((await samsa(['tree', server, '/'])).stdout).toContain('blob  <6 bytes> 00ff100a8041');

    // --format raw: the bytes alone, as they are.
    const raw = await new Promise<Buffer>((resolve, reject) => {
      execFile(process.execPath, [SAMSA_BIN, 'get', server, '--format', 'raw', '/blob'], { encoding: 'buffer', timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    expect(raw).toEqual(blob);

    const text = Buffer.from('{"a":"é"}\n');
    fs.writeFileSync(file, text);
    expect((await samsa(['set', server, '/blob', '--file', file])).code).toBe(0);
    expect((await c.getData('/blob')).bytes).toEqual(text);
    expect((await samsa(['get', server, '/blob'])).stdout.startsWith('{"a":"é"}\n')).toBe(true); // valid UTF-8: text
    expect((await samsa(['get', server, '--format', 'hex', '/blob'])).stdout.split('\n')[0]).toBe(text.toString('hex'));

    // From stdin, and the mistakes.
    expect((await samsa(['set', server, '/blob', '--file', '-'], 'from stdin')).code).toBe(0);
    expect((await c.getData('/blob')).data).toBe('from stdin');
    expect(await samsa(['set', server, '/blob'])).toMatchObject({ code: 1, stderr: 'BadArguments: set needs the data or --file\n' });
    expect(await samsa(['set', server, '/blob', 'x', '--file', file])).toMatchObject({ code: 1, stderr: 'BadArguments: give the data or --file, not both\n' });
    expect((await samsa(['create', server, '/nofile', '--file', `${file}.missing`])).stderr).toMatch(/^BadArguments: cannot read --file /);
    expect((await samsa(['get', server, '--format', 'raw', '--json', '/blob'])).code).toBe(1);
  });
});
