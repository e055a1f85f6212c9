/**
 * What the benchmarks share: free ports on 127.0.0.1, child processes stopped by pid at the end,
 * bounded waits, a Samsa coordinator + brokers started from dist/, and nats-server (alone or a
 * 3-node JetStream cluster).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { BROKER_NODE_FLAGS } from '../shared/node-flags';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Whose `bin/samsa.js` runs the servers: this checkout, or SAMSA_ROOT (another build, e.g. a worktree of an older commit, for a before/after in one run). */
export const SAMSA_ROOT = path.resolve(process.env.SAMSA_ROOT ?? REPO_ROOT);

// ---------------------------------------------------------------------------------------------
// CPU time of processes, from /proc (Linux).

export const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ (getconf CLK_TCK)

/** The fields of /proc/<pid>/stat after the command name, or null when the process is gone. */
export function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Each process's user + system CPU seconds, including its children already waited for. */
export function cpuByPid(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const fields = statFields(pid);
    // utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat (index 11-14 after the command name).
    if (fields !== null) out.set(pid, [11, 12, 13, 14].reduce((ticks, index) => ticks + Number(fields[index]), 0) / CLOCK_TICKS_PER_SECOND);
  }
  return out;
}

export function cpuSeconds(pids: number[]): number {
  return [...cpuByPid(pids).values()].reduce((a, b) => a + b, 0);
}

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
  /** Lines logged at warn or above (pino levels 40-60), and ISR and leadership changes, so far, by message. */
  warnings: Map<string, number>;
}

/** Info-level messages counted with the warnings: ISR and leadership changes (a replicated write waits on them). */
const NOTED_INFO = /^partition\.(isr_|leader_elected)/;

/** What `started` logged at warn or above (or NOTED_INFO) since `before` (a copy of its `warnings` then), as "msg ×n" items. */
export function warningsSince(started: Started, before: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [msg, count] of started.warnings) {
    const added = count - (before.get(msg) ?? 0);
    if (added > 0) out.push(`${msg} ×${added}`);
  }
  return out;
}

export function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, SAMSA_LOG_PRETTY: 'false', SAMSA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  let partial = '';
  const warnings = new Map<string, number>();
  const keep = (chunk: Buffer): void => {
    const added = chunk.toString();
    text = (text + added).slice(-100_000);
    // Counted as whole lines go by, so that a workload can say what the servers warned about during it.
    const lines = (partial + added).split('\n');
    partial = lines.pop()!.slice(-100_000);
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line);
      if (level === null) continue;
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? 'unparsed';
      if (Number(level[1]) >= 40 || NOTED_INFO.test(msg)) warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // BENCH_SERVER_OUTPUT_DIR: each server's whole output also goes to <dir>/<name>-<pid>.log
  // (what `--trace-gc` prints through BENCH_BROKER_NODE_ARGS, say; `text` keeps only the end).
  const outputDir = process.env.BENCH_SERVER_OUTPUT_DIR;
  if (outputDir !== undefined && outputDir !== '') {
    const file = fs.createWriteStream(path.join(outputDir, `${path.basename(command)}-${child.pid}.log`));
    file.on('error', (error) => process.stderr.write(`bench: ${file.path}: ${error.message}\n`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  return { child, output: () => text, warnings };
}

export function stopChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Sends `signal` to one started process and waits (bounded) until it has exited. */
export async function stopProcess(started: Started, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function brokerExtraArgs(): string[] {
  return (process.env.BENCH_BROKER_ARGS ?? '').split(' ').filter(Boolean);
}

/**
 * Brokers serve /metrics on any free port (their default, 7191 + id, would collide with a
 * `make cluster` on this machine): metrics are on in every run, as by default. Not for a
 * SAMSA_ROOT build older than the flag, nor when BENCH_BROKER_ARGS sets it.
 */
function metricsPortArgs(extra: string[]): string[] {
  if (extra.includes('--metrics-port')) return [];
  const cli = path.join(SAMSA_ROOT, 'dist', 'cli', 'commands', 'broker.js');
  return fs.existsSync(cli) && fs.readFileSync(cli, 'utf8').includes('metrics-port') ? ['--metrics-port', '0'] : [];
}

export interface SamsaBroker {
  id: number;
  port: number;
  dataDir: string;
  process: Started;
}

export interface SamsaCluster {
  coordinator: Started;
  coordinatorPort: number;
  /** The coordinator's /metrics port. */
  coordinatorMetricsPort: number;
  brokers: SamsaBroker[];
  brokerArgs: string[];
}

/** Starts broker `id` against the coordinator and waits until it logged broker.ready. */
export async function startSamsaBroker(coordinatorPort: number, id: number, port: number, dataDir: string, brokerArgs: string[] = []): Promise<SamsaBroker> {
  const samsa = path.join(SAMSA_ROOT, 'bin', 'samsa.js');
  // The flags brokers always run with (shared/node-flags.ts), then BENCH_BROKER_NODE_ARGS: more
  // Node/V8 flags for the broker processes (e.g. --min-semi-space-size=16), for measurements.
  const nodeArgs = [...BROKER_NODE_FLAGS, ...(process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const broker = start(process.execPath, [...nodeArgs, samsa, 'broker', '--id', String(id), '--port', String(port), '--host', '127.0.0.1', '--coordinator', `ws://127.0.0.1:${coordinatorPort}`, '--data-dir', dataDir, '--session-timeout-ms', process.env.BENCH_SESSION_TIMEOUT_MS ?? '10000', '--log-level', 'info', ...metricsPortArgs([...brokerArgs, ...brokerExtraArgs()]), ...brokerArgs, ...brokerExtraArgs()]);
  await waitUntil(`broker ${id}`, () => broker.output().includes('broker.ready') || broker.child.exitCode !== null);
  if (broker.child.exitCode !== null) throw new Error(`broker ${id} exited: ${broker.output()}`);
  return { id, port, dataDir, process: broker };
}

/**
 * A coordinator and brokers 1..n under `root`, each broker on its own free port and data dir
 * (no fsync per batch: Kafka's default). BENCH_BROKER_ARGS adds broker flags.
 */
export async function startSamsaCluster(root: string, brokers: number, brokerArgs: string[] = []): Promise<SamsaCluster> {
  const coordinatorPort = await freePort();
  const samsa = path.join(SAMSA_ROOT, 'bin', 'samsa.js');
  const coordinatorMetricsPort = await freePort();
  const coordinator = start(process.execPath, [samsa, 'coordinator', '--port', String(coordinatorPort), '--data-dir', path.join(root, 'coordinator'), '--metrics-port', String(coordinatorMetricsPort)]);
  await waitUntil('the coordinator', () => canConnect(coordinatorPort));
  const started: SamsaBroker[] = [];
  for (let id = 1; id <= brokers; id++) started.push(await startSamsaBroker(coordinatorPort, id, await freePort(), path.join(root, `broker-${id}`), brokerArgs));
  log(`samsa (${SAMSA_ROOT}): coordinator on ${coordinatorPort}, brokers ${started.map((b) => `${b.id} on ${b.port}`).join(', ')}`);
  return { coordinator, coordinatorPort, coordinatorMetricsPort, brokers: started, brokerArgs };
}

/** Stops a cluster: brokers by SIGTERM (controlled shutdown), the coordinator last. */
export async function stopSamsaCluster(cluster: SamsaCluster): Promise<void> {
  for (const broker of cluster.brokers) await stopProcess(broker.process);
  await stopProcess(cluster.coordinator);
}

export function natsServerBinary(): string {
  return ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((candidate) => fs.existsSync(candidate)) ?? 'nats-server';
}

/**
 * `servers` nats-server processes with JetStream (file storage under `root`), each with its
 * server_name; with more than one, cluster routes between them on free 127.0.0.1 ports.
 * Returns the client ports once every server accepts connections.
 */
export async function startNats(root: string, servers: number): Promise<{ ports: number[]; processes: Started[] }> {
  const ports: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < servers; i++) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const processes = ports.map((port, i) => {
    const args = ['-js', '-sd', path.join(root, `nats-${i + 1}`), '-a', '127.0.0.1', '-p', String(port), '-n', `bench-${i + 1}`];
    if (servers > 1) {
      const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(',');
      args.push('--cluster_name', 'bench', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes);
    }
    return start(natsServerBinary(), args);
  });
  for (const port of ports) await waitUntil(`nats-server on ${port}`, () => canConnect(port));
  log(`jetstream: ${servers} nats-server -js on ${ports.join(', ')}${servers > 1 ? ` (routes on ${routePorts.join(', ')})` : ''}`);
  return { ports, processes };
}

/** Runs `main`, then stops every child by pid, whatever happened. */
/** No workload runs longer than this (BENCH_WORKLOAD_CAP_MS); a capped one reports what it did. */
export const WORKLOAD_CAP_MS = Number(process.env.BENCH_WORKLOAD_CAP_MS ?? 120_000);

/**
 * The sending side of an end-to-end latency workload, the same for every system: `total`
 * records of `recordBytes`, record i due at `started + i / rate`, each stamped with the time
 * it leaves (performance.now(), the first 8 bytes) and handed to `send`, which must not wait
 * for an answer. Bounded by WORKLOAD_CAP_MS.
 */
export async function sendAtFixedRate(total: number, rate: number, recordBytes: number, started: number, send: (index: number, value: Buffer) => void): Promise<void> {
  const period = 1000 / rate;
  for (let i = 0; i < total && performance.now() - started < WORKLOAD_CAP_MS; i++) {
    const wait = started + i * period - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const value = Buffer.alloc(recordBytes);
    value.writeDoubleBE(performance.now(), 0);
    send(i, value);
  }
}

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
