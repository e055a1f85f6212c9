/**
 * What the benchmarks share: free ports on 127.0.0.1, child processes stopped by pid at the end,
 * bounded waits, and a Samsa coordinator + broker started from dist/.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Whose `bin/samsa.js` runs the servers: this checkout, or SAMSA_ROOT (another build, e.g. a worktree of an older commit, for a before/after in one run). */
export const SAMSA_ROOT = path.resolve(process.env.SAMSA_ROOT ?? REPO_ROOT);

const children: ChildProcess[] = [];

export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export interface Started {
  child: ChildProcess;
  output: () => string;
}

export function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, SAMSA_LOG_PRETTY: 'false', SAMSA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => text };
}

export function stopChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}

/** A coordinator and broker 1 (replication factor 1, no fsync per batch: Kafka's default) under `root`; BENCH_BROKER_ARGS adds broker flags. */
export async function startSamsa(root: string, brokerArgs: string[] = []): Promise<{ coordinator: Started; broker: Started; brokerPort: number }> {
  const coordinatorPort = await freePort();
  const brokerPort = await freePort();
  log(`samsa (${SAMSA_ROOT}): coordinator on ${coordinatorPort}, broker 1 on ${brokerPort}`);
  const samsa = path.join(SAMSA_ROOT, 'bin', 'samsa.js');
  const coordinator = start(process.execPath, [samsa, 'coordinator', '--port', String(coordinatorPort), '--data-dir', path.join(root, 'coordinator'), '--metrics-port', '-1']);
  await waitUntil('the coordinator', () => canConnect(coordinatorPort));
  const broker = start(process.execPath, [samsa, 'broker', '--id', '1', '--port', String(brokerPort), '--host', '127.0.0.1', '--coordinator', `ws://127.0.0.1:${coordinatorPort}`, '--data-dir', path.join(root, 'broker-1'), '--session-timeout-ms', '10000', '--log-level', 'info', ...brokerArgs, ...(process.env.BENCH_BROKER_ARGS ?? '').split(' ').filter(Boolean)]);
  await waitUntil('broker 1', () => broker.output().includes('broker.ready') || broker.child.exitCode !== null);
  if (broker.child.exitCode !== null) throw new Error(`broker exited: ${broker.output()} ${coordinator.output()}`);
  return { coordinator, broker, brokerPort };
}

/** Runs `main`, then stops every child by pid, whatever happened. */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => {
      stopChildren();
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      stopChildren();
      process.exit(1);
    },
  );
}
