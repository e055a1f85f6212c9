/**
 * A coordinator and N brokers as real processes on free ports, for integration tests.
 */
import { canConnect, freePort, RunningProcess, spawnSamsa, startCoordinator, tempDir, waitFor } from './processes';

export interface BrokerHandle {
  id: number;
  port: number;
  dataDir: string;
  process: RunningProcess;
}

export interface TestCluster {
  coordinatorUrl: string;
  coordinator: RunningProcess;
  brokers: BrokerHandle[];
  bootstrap: string;
}

/** Starts broker `id` and waits until it logged broker.ready (registered and serving). */
export async function startBroker(coordinatorUrl: string, id: number, options: { port?: number; dataDir?: string; extraArgs?: string[] } = {}): Promise<BrokerHandle> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? tempDir(`broker-${id}`);
  // /metrics on a free port unless the test picks one: the default (7191 + id) collides across tests.
  const metricsArgs = options.extraArgs?.includes('--metrics-port') === true ? [] : ['--metrics-port', '0'];
  const handle = spawnSamsa(['broker', '--id', String(id), '--port', String(port), '--host', '127.0.0.1', '--coordinator', coordinatorUrl, '--data-dir', dataDir, ...metricsArgs, ...(options.extraArgs ?? [])]);
  await waitFor(`broker ${id} ready`, async () => {
    if (handle.child.exitCode !== null) throw new Error(`broker ${id} exited: ${handle.output()}`);
    return handle.output().includes('"msg":"broker.ready"') && (await canConnect(port));
  }, 20_000);
  return { id, port, dataDir, process: handle };
}

export async function startCluster(options: { brokers: number; brokerArgs?: string[] } = { brokers: 3 }): Promise<TestCluster> {
  const coordinator = await startCoordinator();
  const brokers: BrokerHandle[] = [];
  for (let id = 1; id <= options.brokers; id++) brokers.push(await startBroker(coordinator.url, id, { extraArgs: options.brokerArgs }));
  return { coordinatorUrl: coordinator.url, coordinator: coordinator.process, brokers, bootstrap: `127.0.0.1:${brokers[0]!.port}` };
}
