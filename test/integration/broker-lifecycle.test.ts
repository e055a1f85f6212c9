/**
 * A broker's life with the coordinator: a second process with a live broker's id is refused;
 * a broker frozen past its session timeout (SIGSTOP) is fenced when it wakes, stops leading,
 * registers again with a new session, and leads again.
 */
import { CoordinatorClient } from '../../shared/coordinator/client';
import { startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { spawnSamsa, stopAll, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

let cluster: TestCluster;
let coordinator: CoordinatorClient;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2 });
  coordinator = new CoordinatorClient({ servers: [cluster.coordinatorUrl] });
  await coordinator.connect();
});
afterAll(async () => {
  await coordinator?.close();
  await stopAll();
});

describe('broker lifecycle', () => {
  test('a broker id held by a live session is refused with a clear error', async () => {
    const twin = spawnSamsa(['broker', '--id', '1', '--port', '0', '--host', '127.0.0.1', '--coordinator', cluster.coordinatorUrl, '--data-dir', tempDir('twin'), '--session-timeout-ms', '1000']);
    expect(await twin.exited).toBe(1);
    expect(twin.output()).toMatch(/broker id 1 is already registered by a live session/);
    expect(await coordinator.exists('/brokers/ids/1')).not.toBeNull();
  });

  test('a broker frozen past its session timeout is fenced, then registers again', async () => {
    const victim = cluster.brokers[1]!;
    const before = await coordinator.exists(`/brokers/ids/${victim.id}`);
    expect(before).not.toBeNull();
    process.kill(victim.process.pid, 'SIGSTOP');
    try {
      await waitFor('registration gone', async () => (await coordinator.exists(`/brokers/ids/${victim.id}`)) === null, 15_000);
    } finally {
      process.kill(victim.process.pid, 'SIGCONT');
    }
    await waitFor('fenced and back', () => victim.process.output().includes('"msg":"broker.unfenced"'), 20_000);
    const output = victim.process.output();
    expect(output.indexOf('"msg":"broker.fenced"')).toBeGreaterThan(-1);
    expect(output.indexOf('"msg":"broker.fenced"')).toBeLessThan(output.indexOf('"msg":"broker.unfenced"'));
    const after = await coordinator.exists(`/brokers/ids/${victim.id}`);
    expect(after).not.toBeNull();
    expect(after!.ephemeralOwner).not.toBe(before!.ephemeralOwner);
  });

  test('a restarted broker keeps its id once its old session is gone', async () => {
    const extra = await startBroker(cluster.coordinatorUrl, 3);
    expect(await coordinator.exists('/brokers/ids/3')).not.toBeNull();
    extra.process.child.kill('SIGKILL');
    await extra.process.exited;
    const again = await startBroker(cluster.coordinatorUrl, 3, { port: extra.port, dataDir: extra.dataDir });
    expect(again.process.output()).toContain('"msg":"broker.ready"');
  });
});
