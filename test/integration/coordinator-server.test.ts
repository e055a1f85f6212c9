/**
 * The coordinator as a process: handshake, requests, durability across SIGKILL, torn log
 * tails, session resume after a restart, bad input, /metrics and `samsa coordinator stats`.
 * Raw WebSocket clients (coordinator-raw-client.ts) speak the frames directly.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { CreateResult, GetDataResult, StatsResult } from '../../shared/coordinator/protocol';
import { kill, spawnSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { RawClient } from './coordinator-raw-client';

const clients: RawClient[] = [];
async function connect(url: string, options: Parameters<typeof RawClient.connect>[1] = {}): Promise<RawClient> {
  const client = await RawClient.connect(url, options);
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const client of clients.splice(0)) client.terminate();
});
afterAll(stopAll);

function metricsPortFrom(output: string): number {
  const match = /"metrics":"http:\/\/127\.0\.0\.1:(\d+)\/metrics"/.exec(output);
  if (match === null) throw new Error('no metrics url logged yet');
  return Number(match[1]);
}

function httpGet(url: string): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, contentType: String(response.headers['content-type']) }));
    }).on('error', reject);
  });
}

describe('coordinator server', () => {
  test('handshake, create/get, watch event before the response that observes the change', async () => {
    const { url } = await startCoordinator();
    const a = await connect(url, { timeoutMs: 500_000 });
    expect(a.connected).toMatchObject({ type: 'connected', protocolVersion: 1, resumed: false, timeoutMs: 60_000 });
    expect(a.connected!.sessionId).toMatch(/^[0-9a-f]{16}$/);
    const created = await a.ok<CreateResult>({ op: 'create', path: '/app', data: '{"a":1}', mode: 'persistent' });
    expect(created.path).toBe('/app');
    const got = await a.ok<GetDataResult>({ op: 'getData', path: '/app', watch: true });
    expect(got.data).toBe('{"a":1}');
    expect(got.stat.version).toBe(0);

    const b = await connect(url);
    const set = await b.request({ op: 'setData', path: '/app', data: 'x', version: 0 });
    expect(set.ok).toBe(true);
    // a's next request observes the change; its watch event must have arrived before that response.
    const after = await a.request<GetDataResult>({ op: 'getData', path: '/app' });
    const eventIndex = a.frames.findIndex((frame) => frame.type === 'watch');
    const responseIndex = a.frames.indexOf(after);
    expect(eventIndex).toBeGreaterThan(-1);
    expect(eventIndex).toBeLessThan(responseIndex);
    expect(a.events).toEqual([{ type: 'watch', event: 'NodeDataChanged', path: '/app', zxid: set.zxid }]);
    expect(after.ok && after.result.data).toBe('x');
    expect(after.zxid).toBeGreaterThanOrEqual(set.zxid);

    expect((await a.request({ op: 'ping' })).ok).toBe(true);
    const close = await a.request({ op: 'close' });
    expect(close.ok).toBe(true);
    expect(await a.closed).toBe(1000);
  });

  test('a flood from several connections at once is answered in full, in order, and reading resumes after it', async () => {
    // 6 × 900 requests sent without waiting: more than the server handles in a turn (32) and more
    // than its inbox holds before it stops reading connections (4,096), each connection below its
    // 1,000 outstanding requests.
    const { url } = await startCoordinator();
    const flooders = await Promise.all(Array.from({ length: 6 }, () => connect(url)));
    await flooders[0]!.ok({ op: 'create', path: '/flood', data: '', mode: 'persistent' });
    const answers = await Promise.all(flooders.map((client, index) =>
      Promise.all(Array.from({ length: 900 }, (_, n) => client.request<CreateResult>({ op: 'create', path: `/flood/c${index}-`, data: String(n), mode: 'persistent_sequential' }))),
    ));
    for (const [index, responses] of answers.entries()) {
      expect(responses.every((response) => response.ok)).toBe(true);
      // Each connection's requests were executed in the order sent: sequence numbers and zxids rise with them.
      const paths = responses.map((response) => (response.ok ? response.result.path : ''));
      expect(paths).toEqual([...paths].sort());
      expect(new Set(paths).size).toBe(900);
      const zxids = responses.map((response) => response.zxid);
      expect(zxids.every((zxid, n) => n === 0 || zxid > zxids[n - 1]!)).toBe(true);
      // The connection is read again afterwards (it may have been paused meanwhile).
      expect((await flooders[index]!.request({ op: 'ping' })).ok).toBe(true);
    }
    const children = await flooders[0]!.ok<{ children: string[] }>({ op: 'getChildren', path: '/flood' });
    expect(children.children).toHaveLength(6 * 900);
  });

  test('every acknowledged write survives SIGKILL under load; sessions resume with their ephemerals', async () => {
    const first = await startCoordinator();
    const owner = await connect(first.url, { timeoutMs: 10_000 });
    await owner.ok({ op: 'create', path: '/load', data: '', mode: 'persistent' });
    await owner.ok({ op: 'create', path: '/owner-eph', data: 'mine', mode: 'ephemeral' });
    const { sessionId, password } = owner.connected!;

    const acknowledged: string[] = [];
    let stop = false;
    const writers = await Promise.all([0, 1, 2, 3].map(() => connect(first.url)));
    const loops = writers.map(async (writer, index) => {
      let n = 0;
      const inFlight = new Set<Promise<void>>();
      // Bounded: at most 5,000 creates per writer, and it stops when the process dies.
      while (!stop && n < 5000) {
        const pathName = `/load/w${index}-${n++}`;
        const request = writer
          .request<CreateResult>({ op: 'create', path: pathName, data: String(n), mode: 'persistent' })
          .then((response) => {
            if (response.ok) acknowledged.push(response.result.path);
          })
          .catch(() => undefined)
          .finally(() => inFlight.delete(request));
        inFlight.add(request);
        if (inFlight.size >= 16) await Promise.race(inFlight);
        if (writer.closeCode !== null) break;
      }
      await Promise.allSettled([...inFlight]);
    });
    await waitFor('some acknowledged writes', () => acknowledged.length >= 300, 20_000);
    await kill(first.process, 'SIGKILL');
    stop = true;
    await Promise.all(loops);
    const ackedAtKill = [...acknowledged];
    expect(ackedAtKill.length).toBeGreaterThanOrEqual(300);

    const second = await startCoordinator({ dataDir: first.dataDir });
    const reader = await connect(second.url);
    const children = await reader.ok<{ children: string[] }>({ op: 'getChildren', path: '/load' });
    const present = new Set(children.children.map((name) => `/load/${name}`));
    const missing = ackedAtKill.filter((p) => !present.has(p));
    expect(missing).toEqual([]);

    const resumed = await connect(second.url, { sessionId, password, lastZxid: owner.connected!.zxid });
    expect(resumed.connected).toMatchObject({ sessionId, resumed: true, timeoutMs: 10_000 });
    expect((await resumed.ok<GetDataResult>({ op: 'getData', path: '/owner-eph' })).stat.ephemeralOwner).toBe(sessionId);
    // Closing the resumed session takes its ephemeral with it, at once.
    await resumed.request({ op: 'close' });
    expect((await reader.ok<{ stat: unknown }>({ op: 'exists', path: '/owner-eph' })).stat).toBeNull();
    await kill(second.process, 'SIGTERM');
  });

  test('a torn log tail is truncated at start-up and everything before it is kept', async () => {
    const first = await startCoordinator();
    const client = await connect(first.url);
    for (let i = 0; i < 20; i++) await client.ok({ op: 'create', path: `/t${i}`, data: `v${i}`, mode: 'persistent' });
    await kill(first.process, 'SIGKILL');
    const logs = fs.readdirSync(first.dataDir).filter((name) => name.startsWith('log.')).sort();
    const last = path.join(first.dataDir, logs[logs.length - 1]);
    // The records end where the zeros written ahead of them (preallocation) begin: a torn record
    // there is what a crash in the middle of a write leaves.
    const bytes = fs.readFileSync(last);
    let recordsEnd = 0;
    while (recordsEnd + 8 <= bytes.length && bytes.readUInt32BE(recordsEnd) !== 0) recordsEnd += 8 + bytes.readUInt32BE(recordsEnd);
    expect(recordsEnd).toBeGreaterThan(0);
    const torn = Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 0x7b, 0x22]);
    const handle = fs.openSync(last, 'r+');
    fs.writeSync(handle, torn, 0, torn.length, recordsEnd);
    fs.closeSync(handle);
    const sizeWithTail = fs.statSync(last).size;

    const second = await startCoordinator({ dataDir: first.dataDir });
    await waitFor('truncation logged', () => second.process.output().includes('store.log_tail_truncated'));
    expect(second.process.output()).toContain(`"offset":${recordsEnd},"bytesDropped":${sizeWithTail - recordsEnd}`);
    expect(fs.statSync(last).size).toBe(recordsEnd);
    const reader = await connect(second.url);
    for (let i = 0; i < 20; i++) expect((await reader.ok<GetDataResult>({ op: 'getData', path: `/t${i}` })).data).toBe(`v${i}`);
    await reader.ok({ op: 'create', path: '/after', data: '', mode: 'persistent' });

    // A clean stop (SIGTERM) writes a snapshot; the next start loads it.
    await kill(second.process, 'SIGTERM');
    expect(await second.process.exited).toBe(0);
    expect(fs.readdirSync(first.dataDir).some((name) => name.startsWith('snapshot.'))).toBe(true);
    const third = await startCoordinator({ dataDir: first.dataDir });
    await waitFor('recovery logged', () => /"snapshotZxid":\d+,"txnsReplayed":0/.test(third.process.output()));
    const again = await connect(third.url);
    expect((await again.ok<GetDataResult>({ op: 'getData', path: '/t19' })).data).toBe('v19');
    expect((await again.ok<{ stat: unknown }>({ op: 'exists', path: '/after' })).stat).not.toBeNull();
  });

  test('bad input gets clear errors; another client keeps being served', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const good = await connect(url);
    await good.ok({ op: 'create', path: '/ok', data: '', mode: 'persistent' });
    const stillServed = async () => expect((await good.ok<GetDataResult>({ op: 'getData', path: '/ok' })).data).toBe('');

    // A request before the connect frame.
    const early = await RawClient.open(url);
    clients.push(early);
    early.socket.send(JSON.stringify({ type: 'request', xid: 1, request: { op: 'ping' } }));
    expect(await early.nextFrame()).toMatchObject({ type: 'error', code: 'BadArguments' });
    await early.closed;

    // Malformed JSON and a non-object: MarshallingError, connection closed.
    for (const text of ['{"type":', '[1,2]', '42']) {
      const client = await connect(url);
      client.socket.send(text);
      expect(await client.nextFrame()).toMatchObject({ type: 'error', code: 'MarshallingError' });
      await client.closed;
    }
    await stillServed();

    // Well-formed frames with bad fields: an error response with the xid, connection kept.
    const client = await connect(url);
    const cases: [unknown, number, string][] = [
      [{ type: 'request', xid: 7, request: { op: 'create', path: 5, data: '', mode: 'persistent' } }, 7, 'BadArguments'],
      [{ type: 'request', xid: 8, request: { op: 'create', path: '/x', data: '', mode: 'forever' } }, 8, 'BadArguments'],
      [{ type: 'request', xid: 9, request: { op: 'setData', path: '/ok', data: '', version: 1.5 } }, 9, 'BadArguments'],
      [{ type: 'request', xid: 10, request: { op: 'delete', path: '/ok', version: -2 } }, 10, 'BadVersion'], // as ZooKeeper answers
      [{ type: 'request', xid: 11, request: { op: 'getData', path: '/ok', watch: 'yes' } }, 11, 'BadArguments'],
      [{ type: 'request', xid: 12, request: { op: 'teleport' } }, 12, 'Unimplemented'],
      [{ type: 'request', xid: 13, request: 'getData' }, 13, 'BadArguments'],
      [{ type: 'request', xid: 14, request: { op: 'create', path: 'no-slash', data: '', mode: 'persistent' } }, 14, 'BadArguments'],
      [{ type: 'request', xid: 15, request: { op: 'create', path: '/a//b', data: '', mode: 'persistent' } }, 15, 'BadArguments'],
      [{ type: 'request', xid: 16, request: { op: 'multiRead', ops: [{ op: 'setData', path: '/ok', data: '', version: -1 }] } }, 16, 'BadArguments'],
      [{ type: 'request', xid: 17, request: { op: 'multi', ops: [{ op: 'getData', path: '/ok' }] } }, 17, 'BadArguments'],
    ];
    for (const [frame, xid, code] of cases) {
      const response = await client.sendRaw(frame, xid);
      expect(response).toMatchObject({ type: 'response', xid, ok: false, error: { code } });
    }
    // A frame without a readable xid: an error frame, the connection stays.
    client.socket.send(JSON.stringify({ type: 'request', xid: -1, request: { op: 'ping' } }));
    await waitFor('error frame', () => client.errors.length === 1);
    expect(client.errors[0].code).toBe('BadArguments');
    expect((await client.request({ op: 'ping' })).ok).toBe(true);
    expect(client.closeCode).toBeNull();

    // A frame over maxPayload (about 4/3 of the 1 MiB data limit, config.ts): ws closes the connection
    // with 1009. (The client library never sends one: it answers BadArguments itself.)
    const huge = await connect(url);
    huge.socket.send(JSON.stringify({ type: 'request', xid: 1, request: { op: 'create', path: '/big', data: 'x'.repeat(2 * 1024 * 1024), mode: 'persistent' } }));
    expect(await huge.closed).toBe(1009);
    await stillServed();
    expect((await good.ok<{ stat: unknown }>({ op: 'exists', path: '/big' })).stat).toBeNull();

    // Resuming an unknown session: SessionExpired, then close.
    const stranger = await RawClient.open(url);
    clients.push(stranger);
    expect(await stranger.handshake({ sessionId: 'ffffffffffffffff', password: 'nope' })).toMatchObject({ type: 'error', code: 'SessionExpired' });
    await stranger.closed;
    // A client that has seen more than the server: refused.
    const future = await RawClient.open(url);
    clients.push(future);
    expect(await future.handshake({ lastZxid: 1_000_000 })).toMatchObject({ type: 'error', code: 'RuntimeInconsistency' });
    await stillServed();
  });

  test('resume while the old connection is open moves the session (old one gets SessionMoved)', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const old = await connect(url);
    const { sessionId, password } = old.connected!;
    const moved = await connect(url, { sessionId, password });
    expect(moved.connected).toMatchObject({ sessionId, resumed: true });
    await old.closed;
    expect(old.errors).toEqual([expect.objectContaining({ code: 'SessionMoved' })]);
    expect((await moved.request({ op: 'ping' })).ok).toBe(true);
  });

  test('an expired session loses its ephemerals; events for a disconnected session wait for its resume', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const watcher = await connect(url, { timeoutMs: 10_000 });
    const { sessionId, password } = watcher.connected!;
    const doomed = await connect(url, { timeoutMs: 1000 });
    await doomed.ok({ op: 'create', path: '/eph', data: '', mode: 'ephemeral' });
    await watcher.ok({ op: 'exists', path: '/eph', watch: true });
    watcher.terminate();
    await watcher.closed;
    doomed.terminate(); // no more pings: expires after ~1 s

    const observer = await connect(url);
    await waitFor('ephemeral gone', async () => (await observer.ok<{ stat: unknown }>({ op: 'exists', path: '/eph' })).stat === null, 5000);
    const back = await connect(url, { sessionId, password });
    expect(back.connected!.resumed).toBe(true);
    await waitFor('queued event delivered', () => back.events.length === 1);
    expect(back.events[0]).toMatchObject({ event: 'NodeDeleted', path: '/eph' });
    expect(back.frames[0].type).toBe('connected');
  });

  test('/metrics answers Prometheus text; `samsa coordinator stats` prints the view', async () => {
    const coordinator = await startCoordinator();
    const client = await connect(coordinator.url);
    await client.ok({ op: 'create', path: '/m', data: '', mode: 'persistent' });
    const metricsPort = await waitFor('metrics url', () => metricsPortFrom(coordinator.process.output()));
    const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toContain('text/plain');
    expect(metrics.body).toMatch(/^samsa_coordinator_znodes \d+$/m);
    expect(metrics.body).toMatch(/^samsa_coordinator_sessions 1$/m);
    expect(metrics.body).toMatch(/^samsa_coordinator_connections 1$/m);
    expect(metrics.body).toMatch(/^samsa_coordinator_fsync_latency_ms_count [1-9]\d*$/m);
    expect(metrics.body).toContain('# TYPE samsa_coordinator_last_zxid gauge');

    const json = spawnSamsa(['coordinator', 'stats', '--json', '--server', coordinator.url]);
    expect(await json.exited).toBe(0);
    const stats = JSON.parse(json.output()) as StatsResult;
    expect(stats).toMatchObject({ serverState: 'standalone', store: 'file', connections: 2 });
    expect(stats.lastZxid).toBeGreaterThanOrEqual(2);
    expect(stats.requestLatencyMs.count).toBeGreaterThanOrEqual(1);

    const text = spawnSamsa(['coordinator', 'stats'], { SAMSA_COORDINATOR: coordinator.url });
    expect(await text.exited).toBe(0);
    expect(text.output()).toMatch(/^server_state\s+standalone$/m);
    expect(text.output()).toMatch(/^znode_count\s+\d+$/m);

    const down = spawnSamsa(['coordinator', 'stats', '--server', 'ws://127.0.0.1:1']);
    expect(await down.exited).toBe(1);
    expect(down.output().trim()).toMatch(/^ConnectionLoss: /);
  });
});
