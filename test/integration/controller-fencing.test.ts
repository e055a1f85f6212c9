/**
 * Controller fencing against a real coordinator process, with the Controller and MetadataCache
 * running in this process (so their logs and timing can be observed), plus a cluster of real
 * broker processes whose coordinator is frozen during elections.
 *
 *   - A deposed controller's write fails as a whole: no state of a multi-partition topic ever
 *     carries the old epoch.
 *   - Becoming controller never deletes another session's /controller: it waits for it to go.
 *   - Connection loss during elections (coordinator SIGSTOPped, sessions expiring) never kills a
 *     broker process.
 */
import pino from 'pino';
import { MetadataCache } from '../../broker/cluster/metadata-cache';
import { Controller } from '../../broker/controller/controller';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { startBroker } from '../helpers/cluster';
import { kill, RunningProcess, startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const clients: CoordinatorClient[] = [];
const stoppers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const stop of stoppers.splice(0)) await stop().catch(() => undefined);
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await stopAll();
});

async function session(url: string, sessionTimeoutMs = 2000): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [url], sessionTimeoutMs, requestTimeoutMs: 5000 });
  clients.push(client);
  await client.connect();
  return client;
}

/** A Controller for broker `id` with its own session, registration and cache; its log lines land in `lines`. */
async function controllerFor(url: string, id: number): Promise<{ controller: Controller; client: CoordinatorClient; lines: string[] }> {
  const lines: string[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void lines.push(line) });
  const client = await session(url);
  for (const path of ['/brokers/ids', '/brokers/topics', '/config/topics', '/admin/delete_topics']) await client.ensurePath(path);
  await client.create(`/brokers/ids/${id}`, JSON.stringify({ host: '127.0.0.1', port: 9000 + id, rack: null }), { mode: 'ephemeral' });
  const cache = new MetadataCache(client, logger);
  await cache.start();
  const controller = new Controller(id, cache, logger);
  stoppers.push(async () => {
    cache.stop();
    await controller.stop();
  });
  await controller.start(client);
  return { controller, client, lines };
}

const has = (lines: string[], msg: string): boolean => lines.some((line) => line.includes(`"msg":"${msg}"`));

describe('controller fencing', () => {
  test("a deposed controller's state writes fail as a whole", async () => {
    const coordinator = await startCoordinator();
    const { client, lines, controller } = await controllerFor(coordinator.url, 1);
    await waitFor('elected', () => controller.isActive);
    const oldEpoch = controller.epoch;
    const { data, stat } = await client.getData('/controller_epoch');
    const rival = Number(data) + 100;
    await client.setData('/controller_epoch', String(rival), stat.version); // what a newer controller's election does
    await client.create('/brokers/topics/three', JSON.stringify({ partitions: { '0': [1], '1': [1], '2': [1] } }));
    await waitFor('deposed', () => has(lines, 'controller.deposed'));
    // It resigns, stands again and is elected with an epoch past the rival's; only then are states written.
    const states = await waitFor('states written', async () => {
      const found = await Promise.all([0, 1, 2].map((p) => client.getData(`/brokers/topics/three/partitions/${p}/state`).then((r) => JSON.parse(r.data) as { controllerEpoch: number }, () => null)));
      return found.every((s) => s !== null) ? found : null;
    }, 20_000);
    for (const state of states) {
      expect(state!.controllerEpoch).toBeGreaterThan(rival);
      expect(state!.controllerEpoch).not.toBe(oldEpoch);
    }
  });

  test("becoming controller waits for another session's /controller to go, never deletes it", async () => {
    const coordinator = await startCoordinator();
    const squatter = await session(coordinator.url);
    await squatter.create('/controller', JSON.stringify({ brokerId: 99, epoch: 0 }), { mode: 'ephemeral' });
    const { client, lines } = await controllerFor(coordinator.url, 1);
    await waitFor('waiting logged', () => has(lines, 'controller.waiting_for_previous'));
    const held = await client.exists('/controller');
    expect(held!.ephemeralOwner).toBe(squatter.sessionId);
    expect(has(lines, 'controller.elected')).toBe(false);
    await squatter.close(); // its session ends: the node goes with it
    await waitFor('elected', () => has(lines, 'controller.elected'));
    const now = JSON.parse((await client.getData('/controller')).data) as { brokerId: number };
    expect(now.brokerId).toBe(1);
    expect((await client.exists('/controller'))!.ephemeralOwner).toBe(client.sessionId);
  });

  test('connection loss during elections never kills a broker', async () => {
    const coordinator = await startCoordinator({ extraArgs: ['--session-timeout-min-ms', '500'] });
    const args = ['--session-timeout-ms', '1000'];
    const brokers = [await startBroker(coordinator.url, 1, { extraArgs: args }), await startBroker(coordinator.url, 2, { extraArgs: args }), await startBroker(coordinator.url, 3, { extraArgs: args })];
    const observer = await session(coordinator.url, 30_000); // outlives the pauses
    const pause = async (process_: RunningProcess, ms: number): Promise<void> => {
      process.kill(process_.pid, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ms)); // the fault itself lasts this long
      process.kill(process_.pid, 'SIGCONT');
    };
    // Freeze the coordinator right as elections run: after the controller dies, and again while sessions expire.
    for (const ms of [150, 700, 2500]) {
      const current = await waitFor('a controller', async () => JSON.parse((await observer.getData('/controller')).data) as { brokerId: number }, 20_000);
      const victim = brokers.find((b) => b.id === current.brokerId)!;
      await kill(victim.process);
      await pause(coordinator.process, ms);
      for (const broker of brokers) if (broker !== victim) expect(broker.process.child.exitCode).toBeNull();
      const index = brokers.indexOf(victim);
      brokers[index] = await startBroker(coordinator.url, victim.id, { port: victim.port, dataDir: victim.dataDir, extraArgs: args });
    }
    await waitFor('a controller after the storm', async () => (await observer.exists('/controller')) !== null, 20_000);
    await waitFor('all registered', async () => (await observer.getChildren('/brokers/ids')).children.length === 3, 20_000);
    for (const broker of brokers) {
      expect(broker.process.child.exitCode).toBeNull();
      expect(broker.process.output()).not.toMatch(/Unhandled|unhandledRejection|UnhandledPromiseRejection/);
    }
  });
});
