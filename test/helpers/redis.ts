/**
 * A real redis-server (Debian's, installed by scripts/ensure-deps.sh redis-server, which
 * `make test` runs) on a free loopback port with its own data directory, for the Redis store's
 * tests. Durable by default, as the coordinator wants it: appendonly yes, appendfsync always.
 */
import { canConnect, freePort, RunningProcess, spawnProcess, tempDir, waitFor } from './processes';

export interface RedisHandle {
  port: number;
  url: string;
  dataDir: string;
  process: RunningProcess;
}

export async function startRedis(options: { appendonly?: boolean; appendfsync?: 'always' | 'everysec' | 'no'; port?: number; dataDir?: string } = {}): Promise<RedisHandle> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? tempDir('redis');
  const handle = spawnProcess('redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dataDir,
    '--appendonly', options.appendonly === false ? 'no' : 'yes',
    '--appendfsync', options.appendfsync ?? 'always',
    '--save', '',
    '--daemonize', 'no',
  ]);
  await waitFor(`redis-server on port ${port}`, async () => {
    if (handle.child.exitCode !== null) throw new Error(`redis-server exited: ${handle.output()}`);
    return (await canConnect(port)) && handle.output().includes('Ready to accept connections');
  }, 15_000);
  return { port, url: `redis://127.0.0.1:${port}/0`, dataDir, process: handle };
}
