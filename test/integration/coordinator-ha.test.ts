/**
 * Coordinators on one Redis store (issue 9), as real processes: one active, the other standby
 * (redirecting clients to the active); SIGKILL of the active hands over to the standby within
 * about the lease, and brokers keep their sessions and registrations and no partition changes
 * leader; a paused active loses the lease and, resumed, steps down to standby instead of
 * writing (its appends are fenced).
 */
import { Kafka, logLevel } from 'kafkajs';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { BrokerHandle, startBroker } from '../helpers/cluster';
import { canConnect, freePort, kill, runCommand, RunningProcess, SAMSA_BIN, spawnSamsa, stopAll, waitFor } from '../helpers/processes';
import { RedisHandle, startRedis } from '../helpers/redis';
import { createTopicWith, produceWith } from '../helpers/kafkajs';

jest.setTimeout(120_000);

const LEASE_MS = 1000;

interface Coordinator {
  port: number;
  url: string;
  process: RunningProcess;
}

let redis: RedisHandle;
const coordinators: Coordinator[] = [];
let servers: string;
let brokers: BrokerHandle[] = [];
const clients: CoordinatorClient[] = [];

async function startHaCoordinator(port?: number): Promise<Coordinator> {
  const bound = port ?? (await freePort());
  const handle = spawnSamsa(['coordinator', '--store', redis.url, '--redis-prefix', 'ha', '--lease-ms', String(LEASE_MS), '--port', String(bound), '--metrics-port', '-1']);
  await waitFor(`coordinator on ${bound}`, async () => {
    if (handle.child.exitCode !== null) throw new Error(`coordinator exited: ${handle.output()}`);
    return canConnect(bound);
  }, 15_000);
  return { port: bound, url: `ws://127.0.0.1:${bound}`, process: handle };
}

/** The role a coordinator reports on a plain GET of its port (standby) or by accepting a WebSocket (active). */
async function roleOf(c: Coordinator): Promise<'active' | 'standby' | 'down'> {
  try {
    const response = await fetch(`http://127.0.0.1:${c.port}/`);
    return response.headers.get('x-samsa-role') === 'standby' ? 'standby' : 'active';
  } catch {
    return 'down';
  }
}

async function client(url: string): Promise<CoordinatorClient> {
  const c = new CoordinatorClient({ servers: url.split(','), sessionTimeoutMs: 10_000 });
  clients.push(c);
  await c.connect();
  return c;
}

/** Registrations and their owning sessions, partition leaders and epochs, read through any coordinator. */
async function clusterState(): Promise<{ owners: Record<string, string>; leaders: Record<string, string> }> {
  const c = await client(servers);
  try {
    const owners: Record<string, string> = {};
    for (const id of (await c.getChildren('/brokers/ids')).children) owners[id] = (await c.exists(`/brokers/ids/${id}`))!.ephemeralOwner;
    const leaders: Record<string, string> = {};
    for (const p of (await c.getChildren('/brokers/topics/ha-topic/partitions')).children) {
      const state = JSON.parse((await c.getData(`/brokers/topics/ha-topic/partitions/${p}/state`)).data) as { leader: number; leaderEpoch: number };
      leaders[p] = `${state.leader}@${state.leaderEpoch}`;
    }
    return { owners, leaders };
  } finally {
    await c.close();
  }
}

beforeAll(async () => {
  redis = await startRedis();
  coordinators.push(await startHaCoordinator());
  await waitFor('the first coordinator active', async () => (await roleOf(coordinators[0]!)) === 'active', 10_000);
  coordinators.push(await startHaCoordinator());
  servers = coordinators.map((c) => c.url).join(',');
  for (const id of [1, 2]) brokers.push(await startBroker(servers, id));
  const kafka = new Kafka({ clientId: 'ha', brokers: brokers.map((b) => `127.0.0.1:${b.port}`), logLevel: logLevel.NOTHING });
  await createTopicWith(kafka, 'ha-topic', 4, 2);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopAll();
});

test('one active, one standby; the standby redirects a client to the active', async () => {
  expect(await roleOf(coordinators[0]!)).toBe('active');
  expect(await roleOf(coordinators[1]!)).toBe('standby');
  const viaStandby = await client(coordinators[1]!.url);
  await viaStandby.create('/through-standby', 'x');
  const direct = await client(coordinators[0]!.url);
  expect((await direct.getData('/through-standby')).data).toBe('x');
  // `samsa coordinator stats` on each: the role, the lease epoch, where the active is.
  const stats = async (c: Coordinator) => runCommand(process.execPath, [SAMSA_BIN, 'coordinator', 'stats', '--server', c.url], '', { timeoutMs: 15_000 });
  const active = await stats(coordinators[0]!);
  expect(active.stdout).toMatch(/^role\s+active\nlease_epoch\s+1\nactive\s+ws:\/\/127\.0\.0\.1:\d+\nlag\s+0\n/);
  expect(active.stdout).toContain('store                   redis');
  const standby = await stats(coordinators[1]!);
  expect(standby).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^role\\s+standby\\nactive\\s+${coordinators[0]!.url}\\nlease_epoch\\s+1\\napplied_zxid\\s+\\d+\\nlag\\s+\\d+\\n$`)) });
});

test('SIGKILL of the active: the standby takes over; brokers keep sessions and registrations; no leader changes; produce works', async () => {
  await waitFor('the topic led everywhere', async () => Object.keys((await clusterState()).leaders).length === 4, 20_000);
  const before = await clusterState();
  expect(Object.keys(before.owners).sort()).toEqual(['1', '2']);
  // A writer keeps creating znodes through the kill (bounded: 400 attempts, 20 s); a watcher follows /load.
  const writer = await client(servers);
  const watcher = await client(servers);
  const seen: string[] = [];
  await writer.create('/load', '');
  await watcher.addWatch('/load', 'persistentRecursive', (event) => seen.push(event.path));
  const acknowledged: string[] = [];
  let stopWriting = false;
  const writing = (async () => {
    const until = Date.now() + 20_000;
    for (let i = 0; i < 400 && !stopWriting && Date.now() < until; i++) {
      try {
        acknowledged.push((await writer.create(`/load/w-${i}`, String(i))).path);
      } catch {
        // ConnectionLoss while the standby takes over: not acknowledged, and the next one goes on.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  })();
  await waitFor('writes before the kill', async () => acknowledged.length >= 20, 10_000);
  const killedAt = Date.now();
  await kill(coordinators[0]!.process);
  await waitFor('the standby active', async () => (await roleOf(coordinators[1]!)) === 'active', 10_000);
  const tookOverMs = Date.now() - killedAt;
  expect(tookOverMs).toBeLessThan(LEASE_MS * 4);
  const countAtTakeover = acknowledged.length;
  // The watcher's session re-registers its watch when it reconnects; under load that can come after
  // many writes, whose events it then cannot see (as on ZooKeeper). Writing goes on until the watch
  // is back: a write acknowledged after the takeover has been seen.
  await waitFor(
    'writes after the takeover, and the re-registered watch seeing one',
    async () => acknowledged.length >= countAtTakeover + 20 && acknowledged.slice(countAtTakeover).some((path) => seen.includes(path)),
    15_000,
  );
  stopWriting = true;
  await writing;
  // Every acknowledged write is there, and the watcher (same session, re-registered watch) saw the later ones.
  const reader = await client(coordinators[1]!.url);
  const present = new Set((await reader.getChildren('/load')).children.map((name) => `/load/${name}`));
  expect(acknowledged.filter((p) => !present.has(p))).toEqual([]);
  await waitFor('the watcher to see the last write', async () => seen.includes(acknowledged.at(-1)!), 10_000);
  // Sessions survived: the same ephemeral owners, and they stay (a session expiring would delete its registration).
  const after = await clusterState();
  expect(after.owners).toEqual(before.owners);
  expect(after.leaders).toEqual(before.leaders);
  const kafka = new Kafka({ clientId: 'ha2', brokers: brokers.map((b) => `127.0.0.1:${b.port}`), logLevel: logLevel.NOTHING });
  await produceWith(kafka, 'ha-topic', [{ key: 'k', value: 'after failover' }]);
  // The invariant over longer than a broker's session timeout (3 s): no registration is lost or replaced.
  const watchUntil = Date.now() + 4000;
  for (let checks = 0; checks < 40 && Date.now() < watchUntil; checks++) expect((await clusterState()).owners).toEqual(before.owners);

  // The killed one comes back as a standby on its port.
  coordinators[0] = await startHaCoordinator(coordinators[0]!.port);
  await waitFor('the restarted coordinator standby', async () => (await roleOf(coordinators[0]!)) === 'standby', 10_000);
});

test('a paused active loses the lease; resumed, it steps down to standby, its write is refused and never visible; the new active keeps serving', async () => {
  const active = coordinators[1]!;
  const standby = coordinators[0]!;
  // A client of the old active alone, whose write is sent while that coordinator is paused.
  const stale = new CoordinatorClient({ servers: [active.url], sessionTimeoutMs: 10_000, requestTimeoutMs: 20_000 });
  clients.push(stale);
  await stale.connect();
  process.kill(active.process.pid, 'SIGSTOP');
  const fencedWrite = stale.create('/written-while-paused', 'no');
  fencedWrite.catch(() => undefined);
  try {
    await waitFor('the standby to take over', async () => {
      // A paused process still accepts TCP connections (the kernel does) but answers nothing: ask the other one.
      return (await roleOf(standby)) === 'active';
    }, 10_000);
  } finally {
    process.kill(active.process.pid, 'SIGCONT');
  }
  await waitFor('the resumed one to step down', async () => (await roleOf(active)) === 'standby', 10_000);
  expect(active.process.output()).toContain('"msg":"ha.step_down"');
  await expect(fencedWrite).rejects.toThrow();
  const c = await client(servers);
  expect(await c.exists('/written-while-paused')).toBeNull();
  await c.create('/after-pause', 'ok');
  expect((await c.getData('/after-pause')).data).toBe('ok');
  expect((await clusterState()).owners).toEqual(expect.objectContaining({ '1': expect.any(String), '2': expect.any(String) }));
});
