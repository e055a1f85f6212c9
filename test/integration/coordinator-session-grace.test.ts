/**
 * Samsa's disconnect grace against real coordinator processes (docs/coordinator-protocol.md,
 * "Disconnect grace"): a SIGKILLed client with a grace loses its ephemeral long before its
 * session timeout, a client without one keeps it until the timeout, a client that reconnects
 * within its grace keeps its session, a coordinator SIGKILLed and restarted on the same data
 * dir gives restored sessions their full timeout (not the grace), and bad values get a clear
 * error frame.
 *
 * No timing thresholds: each test compares against a witness (another session killed at the
 * same moment, or one whose grace has visibly run out) or waits with a deadline far from the
 * expected time (a 20 s timeout against a 300 ms grace).
 */
import * as path from 'path';
import { CoordinatorClient } from '../../shared/coordinator/client';
import type { ConnectedFrame, ServerFrame, WatchEventFrame } from '../../shared/coordinator/protocol';
import { PROTOCOL_VERSION } from '../../shared/coordinator/protocol';
import { kill, REPO_ROOT, RunningProcess, spawnProcess, startCoordinator, stopAll, waitFor } from '../helpers/processes';
import { RawClient } from './coordinator-raw-client';

const GRACE = 300;
/** Long enough that an ephemeral gone within WITHIN_GRACE_DEADLINE can only be the grace's doing. */
const LONG_TIMEOUT = 20_000;
const WITHIN_GRACE_DEADLINE = 10_000;

const clients: CoordinatorClient[] = [];
const raws: RawClient[] = [];

function client(url: string, options: Partial<ConstructorParameters<typeof CoordinatorClient>[0]> = {}): CoordinatorClient {
  const made = new CoordinatorClient({ servers: [url], ...options });
  clients.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const raw of raws.splice(0)) raw.terminate();
});
afterAll(stopAll);

/** A raw connection and its handshake, with any extra connect fields (the RawClient helper knows none of the grace). */
async function rawConnect(url: string, fields: { timeoutMs: number; disconnectGraceMs?: unknown; sessionId?: string; password?: string; lastZxid?: number }): Promise<{ raw: RawClient; first: ServerFrame }> {
  const raw = await RawClient.open(url);
  raws.push(raw);
  const first = raw.nextFrame();
  raw.socket.send(JSON.stringify({ type: 'connect', protocolVersion: PROTOCOL_VERSION, lastZxid: 0, ...fields }));
  return { raw, first: await first };
}

/** A raw session holding one ephemeral node. */
async function rawOwner(url: string, nodePath: string, timeoutMs: number, graceMs?: number): Promise<{ raw: RawClient; connected: ConnectedFrame }> {
  const { raw, first } = await rawConnect(url, graceMs === undefined ? { timeoutMs } : { timeoutMs, disconnectGraceMs: graceMs });
  if (first.type !== 'connected') throw new Error(`handshake failed: ${JSON.stringify(first)}`);
  await raw.ok({ op: 'create', path: nodePath, data: '', mode: 'ephemeral' });
  return { raw, connected: first };
}

/** A separate process holding a session (timeout, grace; 0 = none) with an ephemeral node at `nodePath`. */
async function ownerProcess(url: string, nodePath: string, timeoutMs: number, graceMs: number): Promise<{ process: RunningProcess; grantedGraceMs: number }> {
  const owner = spawnProcess(process.execPath, [path.join(REPO_ROOT, 'test', 'fixtures', 'graceful-ephemeral-owner.js'), url, nodePath, String(timeoutMs), String(graceMs)]);
  const ready = await waitFor(`owner of ${nodePath} ready`, () => {
    if (owner.child.exitCode !== null) throw new Error(`owner exited: ${owner.output()}`);
    return /ready [0-9a-f]+ (\d+)/.exec(owner.output());
  });
  return { process: owner, grantedGraceMs: Number(ready[1]) };
}

describe('coordinator disconnect grace', () => {
  test('a SIGKILLed client with a grace loses its ephemeral long before its session timeout', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const owner = await ownerProcess(url, '/brokers/ids/1', LONG_TIMEOUT, GRACE);
    expect(owner.grantedGraceMs).toBe(GRACE);
    const observer = client(url);
    await observer.connect();
    const deleted = new Promise<WatchEventFrame>((resolve) => void observer.exists('/brokers/ids/1', resolve));
    expect((await observer.stats()).sessions).toBe(2);

    await kill(owner.process, 'SIGKILL');
    // With only its 20 s timeout this would time out: the grace alone can end the session in time.
    await waitFor('ephemeral gone', async () => (await observer.exists('/brokers/ids/1')) === null, WITHIN_GRACE_DEADLINE);
    expect(await deleted).toMatchObject({ event: 'NodeDeleted', path: '/brokers/ids/1' });
    expect((await observer.stats()).sessions).toBe(1); // the session ended, not just the node
  });

  test('without a grace the ephemeral outlives the grace period and goes only at the session timeout', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const graceful = await ownerProcess(url, '/brokers/ids/1', LONG_TIMEOUT, GRACE);
    const plain = await ownerProcess(url, '/brokers/ids/2', 3000, 0);
    expect(plain.grantedGraceMs).toBe(0);
    const observer = client(url);
    await observer.connect();
    const deletions: WatchEventFrame[] = [];
    await observer.addWatch('/brokers/ids', 'persistentRecursive', (event) => event.event === 'NodeDeleted' && deletions.push(event));

    await Promise.all([kill(graceful.process, 'SIGKILL'), kill(plain.process, 'SIGKILL')]);
    await waitFor('graceful ephemeral gone', async () => (await observer.exists('/brokers/ids/1')) === null, WITHIN_GRACE_DEADLINE);
    // Killed at the same moment, the one without a grace is still there once the grace has run out...
    expect(await observer.exists('/brokers/ids/2')).not.toBeNull();
    // ...and goes at its timeout.
    await waitFor('plain ephemeral gone', async () => (await observer.exists('/brokers/ids/2')) === null, WITHIN_GRACE_DEADLINE);
    await waitFor('both deletions seen', () => deletions.length === 2);
    expect(deletions.map((event) => event.path)).toEqual(['/brokers/ids/1', '/brokers/ids/2']);
    expect(deletions[0].zxid).toBeLessThan(deletions[1].zxid);
  });

  test('a client whose connection drops and that reconnects within its grace keeps its session', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const observer = client(url);
    await observer.connect();
    const c = client(url, { sessionTimeoutMs: LONG_TIMEOUT, disconnectGraceMs: 1500, reconnectBackoffMinMs: 50 });
    const states: string[] = [];
    c.on('state', (state) => states.push(state));
    await c.connect();
    expect(c.disconnectGraceMs).toBe(1500);
    const sessionId = c.sessionId;
    await c.create('/kept', '', { mode: 'ephemeral' });
    // A witness with the same grace whose connection drops at the same moment and never comes back.
    const witness = await rawOwner(url, '/witness', LONG_TIMEOUT, 1500);

    // Drop both sockets under the clients (as a network blip would).
    (c as unknown as { socket: { terminate(): void } }).socket.terminate();
    witness.raw.terminate();
    await waitFor('witness ephemeral gone: the grace has run out', async () => (await observer.exists('/witness')) === null, WITHIN_GRACE_DEADLINE);
    await waitFor('client back', () => c.state === 'connected');
    expect(c.sessionId).toBe(sessionId);
    expect(c.disconnectGraceMs).toBe(1500); // sent again with the resume
    expect(await observer.exists('/kept')).not.toBeNull();
    expect(await c.getEphemerals()).toEqual(['/kept']);
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
  });

  test('a raw resume within the grace: resumed, grace echoed; an explicit close still ends the session at once', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const observer = client(url);
    await observer.connect();
    const first = await rawOwner(url, '/r', LONG_TIMEOUT, 2000);
    const { sessionId, password } = first.connected;
    first.raw.terminate();
    await first.raw.closed;
    const { raw, first: again } = await rawConnect(url, { timeoutMs: LONG_TIMEOUT, disconnectGraceMs: 2000, sessionId, password });
    expect(again).toMatchObject({ type: 'connected', sessionId, resumed: true, timeoutMs: LONG_TIMEOUT, disconnectGraceMs: 2000 });
    expect(await raw.ok<{ paths: string[] }>({ op: 'getEphemerals' })).toEqual({ paths: ['/r'] });
    await raw.ok({ op: 'close' });
    expect(await observer.exists('/r')).toBeNull();
  });

  test('bounds: a grace above the timeout is clamped to it; a bad value gets an error frame naming the field', async () => {
    const { url } = await startCoordinator({ store: 'memory' });
    const clamped = await rawConnect(url, { timeoutMs: 3000, disconnectGraceMs: 60_000 });
    expect(clamped.first).toMatchObject({ type: 'connected', timeoutMs: 3000, disconnectGraceMs: 3000 });
    const none = await rawConnect(url, { timeoutMs: 3000 });
    expect(none.first.type).toBe('connected');
    expect('disconnectGraceMs' in none.first).toBe(false);
    for (const bad of ['300', 0, -5, 2.5, null]) {
      const refused = await rawConnect(url, { timeoutMs: 3000, disconnectGraceMs: bad });
      expect(refused.first).toEqual({ type: 'error', code: 'BadArguments', message: 'connect.disconnectGraceMs must be an integer >= 1' });
      await refused.raw.closed;
    }
    const library = client(url, { sessionTimeoutMs: 2000, disconnectGraceMs: 9000 });
    await library.connect();
    expect(library.disconnectGraceMs).toBe(2000);
  });

  test('coordinator SIGKILL + restart: graceful sessions get their full timeout back, not the grace', async () => {
    const first = await startCoordinator();
    const timeoutMs = 4000;
    const setupClient = client(first.url);
    await setupClient.ensurePath('/brokers/ids');
    // A: reconnects late (after the grace, within the timeout); B: never reconnects; C: the client library.
    const a = await rawOwner(first.url, '/brokers/ids/1', timeoutMs, GRACE);
    const b = await rawOwner(first.url, '/brokers/ids/2', timeoutMs, GRACE);
    const c = client(first.url, { sessionTimeoutMs: timeoutMs, disconnectGraceMs: GRACE, reconnectBackoffMaxMs: 200 });
    await c.connect();
    await c.create('/brokers/ids/3', '', { mode: 'ephemeral' });
    const cSession = c.sessionId;

    await kill(first.process, 'SIGKILL');
    await Promise.all([a.raw.closed, b.raw.closed]);
    await startCoordinator({ port: first.port, dataDir: first.dataDir });
    const observer = client(first.url);
    await observer.connect();
    // Restored sessions have no connection; were the grace applied to them, they would all go
    // within GRACE of the restart. A witness created after the restart shows the grace has passed.
    const witness = await rawOwner(first.url, '/witness', LONG_TIMEOUT, GRACE);
    witness.raw.terminate();
    await waitFor('witness gone: a grace has passed since the restart', async () => (await observer.exists('/witness')) === null, WITHIN_GRACE_DEADLINE);
    expect((await observer.getChildren('/brokers/ids')).children.sort()).toEqual(['1', '2', '3']);

    const resumed = await rawConnect(first.url, { timeoutMs, disconnectGraceMs: GRACE, sessionId: a.connected.sessionId, password: a.connected.password });
    expect(resumed.first).toMatchObject({ type: 'connected', sessionId: a.connected.sessionId, resumed: true, disconnectGraceMs: GRACE });
    await waitFor('library client back', () => c.state === 'connected');
    expect(c.sessionId).toBe(cSession);

    // B, never back, goes at its (full) timeout; A and C, connected, stay.
    await waitFor('B expired', async () => {
      await resumed.raw.ok({ op: 'ping' }); // the raw client has no pinger of its own: keep A alive
      return (await observer.exists('/brokers/ids/2')) === null;
    }, WITHIN_GRACE_DEADLINE);
    expect((await observer.getChildren('/brokers/ids')).children.sort()).toEqual(['1', '3']);
    // And A's grace holds again on its new connection.
    resumed.raw.terminate();
    await waitFor('A gone after its grace', async () => (await observer.exists('/brokers/ids/1')) === null, WITHIN_GRACE_DEADLINE);
    expect(await observer.exists('/brokers/ids/3')).not.toBeNull();
  });
});
