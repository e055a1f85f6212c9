/**
 * `samsa console` as a real process on a free port, for the console's browser tests.
 */
import { freePort, RunningProcess, spawnSamsa, waitFor } from './processes';
import type { TestCluster } from './cluster';

export interface ConsoleHandle {
  url: string;
  port: number;
  process: RunningProcess;
}

/** Starts the console against `cluster` and waits until it logged console.ready (its first cluster picture is in). */
export async function startConsole(cluster: Pick<TestCluster, 'coordinatorUrl' | 'bootstrap'>, extraArgs: string[] = []): Promise<ConsoleHandle> {
  const port = await freePort();
  const handle = spawnSamsa(['console', '--port', String(port), '--coordinator', cluster.coordinatorUrl, '--bootstrap', cluster.bootstrap, ...extraArgs]);
  await waitFor('console ready', async () => {
    if (handle.child.exitCode !== null) throw new Error(`console exited: ${handle.output()}`);
    return handle.output().includes('"msg":"console.ready"');
  }, 20_000);
  return { url: `http://127.0.0.1:${port}`, port, process: handle };
}
