/**
 * `make bench-coordinator`: the coordinator against Apache ZooKeeper 3.8 standalone, same
 * machine, same run. Workloads: create (sequential, 100-byte data), setData and getData at
 * 1, 16 and 128 requests in flight (ops/s, p50/p99 latency), create and setData at 128 in flight
 * spread over 8 sessions, then watch latency (one client
 * watches, another sets; 2,000 rounds after 1,000 not measured). Each workload starts once every
 * server is quiet (settle). Samsa runs on the file store with fsync on and, with
 * STORE=redis, also on a local redis-server with appendonly yes and appendfsync always (every
 * append acknowledged after Redis's fsync, as ZooKeeper's forceSync), followed by the takeover
 * time of two coordinators on that Redis over 20 SIGKILLs of the active one (TAKEOVER_ONLY=1:
 * that alone); ZooKeeper with its default forceSync=yes. One JSON line per workload and system, then
 * one line of Samsa/ZooKeeper ratios per workload.
 *
 * Before/after in one run: SAMSA_ROOTS=before=/tmp/old,after=. runs each checkout's coordinator
 * (its dist/, built) with that checkout's own client library, beside the one ZooKeeper.
 * BENCH_REPEAT=3 runs every system's workloads 3 times, the order of the systems reversed every
 * other round, and ends with the medians (ops/s, p99, and the median of the rounds' ratios).
 * BENCH_WORKLOADS=setData-128,setData-8-sessions,watch runs only those (names as in the output:
 * workload-inFlight, create-8-sessions, setData-8-sessions, watch). Each result also gives the
 * server's CPU per operation (its process's user + system time from /proc, ZooKeeper's whole
 * JVM; the Redis store's redis-server not included) and the benchmark client's. BENCH_OPS (50,000) and
 * BENCH_SECONDS (6) bound each workload, BENCH_WATCH_ROUNDS (2,000) and BENCH_WATCH_WARMUP_ROUNDS (1,000) the watch; BENCH_COORDINATOR_NODE_ARGS adds Node flags to the
 * coordinators (--cpu-prof, --trace-gc).
 *
 * Every loop is bounded in count and time; both servers listen on 127.0.0.1 on free ports
 * and are stopped by pid at the end, whatever happens.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { CoordinatorClient } from '../shared/coordinator/client';
import { cpuByPid, cpuSeconds } from './bench-support';

// node-zookeeper-client ships no types; the few calls used here are typed below.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const zookeeper = require('node-zookeeper-client') as ZooKeeperModule;

interface ZooKeeperClient {
  connect(): void;
  close(): void;
  once(event: 'connected', listener: () => void): void;
  create(path: string, data: Buffer, mode: number, callback: (error: Error | null, path: string) => void): void;
  setData(path: string, data: Buffer, version: number, callback: (error: Error | null) => void): void;
  getData(path: string, watcher: ((event: unknown) => void) | undefined, callback: (error: Error | null, data: Buffer) => void): void;
}
interface ZooKeeperModule {
  createClient(connection: string, options?: { sessionTimeout?: number }): ZooKeeperClient;
  CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number };
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const IN_FLIGHT = [1, 16, 128];
// 50,000: at 20,000 a workload Samsa ran at 40,000/s was measured over half a second, where one
// GC pause or snapshot chunk moved the figure by half.
const OPS_PER_WORKLOAD = Number(process.env.BENCH_OPS ?? 50_000);
const SECONDS_PER_WORKLOAD = Number(process.env.BENCH_SECONDS ?? 6);
const WATCH_ROUNDS = Number(process.env.BENCH_WATCH_ROUNDS ?? 2_000);
/**
 * Watch rounds run before the measured ones, for both systems: watches are used by this workload
 * only, and a fresh client process spends its first ~1,500 rounds compiling their path (measured
 * against one warm coordinator: p99 2.3-2.7 ms over a new client's first 2,000 rounds, 0.4-0.6
 * over its next 2,000).
 */
const WATCH_WARMUP_ROUNDS = Number(process.env.BENCH_WATCH_WARMUP_ROUNDS ?? 1_000);
const WATCH_SECONDS_MAX = 60;
/**
 * Before each workload every server (the idle ones too) must have used at most SETTLE_CPU_SECONDS
 * of CPU over SETTLE_WINDOW_MS (two 10 ms ticks: 4%), waited for at most SETTLE_MS_MAX: what one
 * left running (a JVM's collector or snapshot thread, a coordinator's snapshot) is not measured
 * as the next one's latency.
 */
const SETTLE_WINDOW_MS = 500;
const SETTLE_CPU_SECONDS = 0.02;
const SETTLE_MS_MAX = 5_000;
const DATA = 'x'.repeat(100);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const WORKLOADS = process.env.BENCH_WORKLOADS ? new Set(process.env.BENCH_WORKLOADS.split(',').map((name) => name.trim())) : null;

/** Whether the workload named `name` (as BENCH_WORKLOADS spells it) is to run. */
function wanted(name: string): boolean {
  return WORKLOADS === null || WORKLOADS.has(name);
}

/** The round being run (BENCH_REPEAT), in each result. */
let currentRound = 1;
/** The server process of the system being measured (its CPU time goes into each result). */
let currentServerPid: number | null = null;
/** Every server process of the run (settle). */
const serverPids: number[] = [];

/** Polls the servers' CPU until they are quiet (see SETTLE_WINDOW_MS) or SETTLE_MS_MAX has passed. */
async function settle(): Promise<void> {
  const deadline = Date.now() + SETTLE_MS_MAX;
  let before = cpuSeconds(serverPids);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_WINDOW_MS));
    const now = cpuSeconds(serverPids);
    if (now - before <= SETTLE_CPU_SECONDS) return;
    before = now;
  }
  log(`servers still busy after ${SETTLE_MS_MAX} ms; measuring anyway`);
}

/**
 * CPU seconds (user + system, all threads) the server has used, from /proc, or null. Per operation
 * it is steadier than operations per second on a shared machine: waiting for a CPU or the disk
 * costs a process time, not CPU.
 */
function processCpuSeconds(pid: number | null): number | null {
  return pid === null ? null : (cpuByPid([pid]).get(pid) ?? null);
}

/** Starts counting CPU of the server and of this process (the clients); the result gives µs per operation. */
function cpuMeter(): (ops: number) => { serverCpuUsPerOp: number | null; clientCpuUsPerOp: number } {
  const server = processCpuSeconds(currentServerPid);
  const client = process.cpuUsage();
  return (ops) => {
    const serverNow = processCpuSeconds(currentServerPid);
    const clientUsed = process.cpuUsage(client);
    const perOp = (seconds: number) => Number(((seconds * 1e6) / Math.max(1, ops)).toFixed(1));
    return {
      serverCpuUsPerOp: server === null || serverNow === null ? null : perOp(serverNow - server),
      clientCpuUsPerOp: perOp((clientUsed.user + clientUsed.system) / 1e6),
    };
  };
}

/** The operations a workload needs, for either system. */
interface Driver {
  name: string;
  create(path: string, data: string, sequential: boolean): Promise<string>;
  setData(path: string, data: string): Promise<void>;
  getData(path: string, watcher?: () => void): Promise<void>;
  close(): Promise<void>;
}

interface Result {
  system: string;
  round?: number;
  workload: string;
  inFlight: number;
  ops: number;
  seconds: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the server process per operation (µs; ZooKeeper: its whole JVM), and of the benchmark's client side. */
  serverCpuUsPerOp?: number | null;
  clientCpuUsPerOp?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number(sorted[index].toFixed(3));
}

function log(message: string): void {
  process.stderr.write(`bench-coordinator: ${message}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Runs `operation` with `inFlight` requests outstanding until `count` are done or time is up: one
 * worker per request in flight, each issuing its next request when the last one is answered.
 */
async function runClosedLoop(inFlight: number, count: number, operation: (index: number, worker: number) => Promise<void>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const deadline = Date.now() + SECONDS_PER_WORKLOAD * 1000;
  let issued = 0;
  const started = process.hrtime.bigint();
  async function worker(_: unknown, worker: number): Promise<void> {
    while (issued < count && Date.now() < deadline) {
      const index = issued++;
      const t0 = process.hrtime.bigint();
      await operation(index, worker);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, seconds };
}

async function measure(driver: Driver, workload: string, inFlight: number, operation: (index: number, worker: number) => Promise<void>): Promise<Result> {
  await settle();
  const cpu = cpuMeter();
  const { latencies, seconds } = await runClosedLoop(inFlight, OPS_PER_WORKLOAD, operation);
  const cpuPerOp = cpu(latencies.length);
  latencies.sort((a, b) => a - b);
  const result: Result = {
    system: driver.name,
    round: currentRound,
    workload,
    inFlight,
    ops: latencies.length,
    seconds: Number(seconds.toFixed(3)),
    opsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...cpuPerOp,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

async function watchLatency(watcher: Driver, setter: Driver, root: string): Promise<Result> {
  const nodePath = `${root}/watched`;
  await setter.create(nodePath, DATA, false);
  const latencies: number[] = [];
  const deadline = Date.now() + WATCH_SECONDS_MAX * 1000;
  const watchRound = async (): Promise<number> => {
    let fired!: () => void;
    const event = new Promise<void>((resolve) => (fired = resolve));
    await watcher.getData(nodePath, () => fired());
    const t0 = process.hrtime.bigint();
    await Promise.all([setter.setData(nodePath, DATA), event]);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  for (let round = 0; round < WATCH_WARMUP_ROUNDS && Date.now() < deadline; round++) await watchRound();
  await settle();
  const started = process.hrtime.bigint();
  for (let round = 0; round < WATCH_ROUNDS && Date.now() < deadline; round++) latencies.push(await watchRound());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const result: Result = {
    system: watcher.name,
    round: currentRound,
    workload: 'watch',
    inFlight: 1,
    ops: latencies.length,
    seconds: Number(seconds.toFixed(3)),
    opsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

/** Sessions for the spread workloads (issue 10: Samsa gets slower with sessions, ZooKeeper scales). */
const SESSIONS = 8;

let rootsMade = 0;

async function runWorkloads(makeDriver: () => Promise<Driver>): Promise<Result[]> {
  const results: Result[] = [];
  const driver = await makeDriver();
  try {
    const root = `/bench-${process.pid}-${rootsMade++}`;
    await driver.create(root, '', false);
    for (const inFlight of IN_FLIGHT) {
      if (!wanted(`create-${inFlight}`)) continue;
      log(`${driver.name}: create x${inFlight}`);
      results.push(await measure(driver, 'create', inFlight, async () => {
        await driver.create(`${root}/seq-`, DATA, true);
      }));
    }
    // setData and getData spread over 128 nodes so that requests in flight don't all hit one znode.
    const targets: string[] = [];
    for (let i = 0; i < 128; i++) targets.push(await driver.create(`${root}/node-${i}`, DATA, false));
    for (const inFlight of IN_FLIGHT) {
      if (!wanted(`setData-${inFlight}`)) continue;
      log(`${driver.name}: setData x${inFlight}`);
      results.push(await measure(driver, 'setData', inFlight, (index) => driver.setData(targets[index % targets.length], DATA)));
    }
    for (const inFlight of IN_FLIGHT) {
      if (!wanted(`getData-${inFlight}`)) continue;
      log(`${driver.name}: getData x${inFlight}`);
      results.push(await measure(driver, 'getData', inFlight, (index) => driver.getData(targets[index % targets.length])));
    }
    // The same 128 in flight spread over 8 sessions, 16 each, as 8 brokers or applications would send
    // them: each session has its own 16 workers (a worker sticks to its session).
    const spread = [`create-${SESSIONS}-sessions`, `setData-${SESSIONS}-sessions`].some(wanted);
    const sessions = spread ? [driver, ...(await Promise.all(Array.from({ length: SESSIONS - 1 }, makeDriver)))] : [];
    try {
      if (wanted(`create-${SESSIONS}-sessions`)) {
        log(`${driver.name}: create x128 over ${SESSIONS} sessions`);
        results.push(await measure(driver, `create-${SESSIONS}-sessions`, 128, async (_, worker) => {
          await sessions[worker % SESSIONS]!.create(`${root}/seq-`, DATA, true);
        }));
      }
      if (wanted(`setData-${SESSIONS}-sessions`)) {
        log(`${driver.name}: setData x128 over ${SESSIONS} sessions`);
        results.push(await measure(driver, `setData-${SESSIONS}-sessions`, 128, (index, worker) => sessions[worker % SESSIONS]!.setData(targets[index % targets.length], DATA)));
      }
    } finally {
      await Promise.all(sessions.slice(1).map((s) => s.close()));
    }
    if (wanted('watch')) {
      const setter = await makeDriver();
      try {
        log(`${driver.name}: watch latency, ${WATCH_ROUNDS} rounds`);
        results.push(await watchLatency(driver, setter, root));
      } finally {
        await setter.close();
      }
    }
  } finally {
    await driver.close();
  }
  return results;
}

/** The client library a build exports (each build's own: an older one may speak an older protocol). */
type ClientClass = new (options: { servers: string[]; sessionTimeoutMs: number; inFlightMax: number }) => Pick<CoordinatorClient, 'connect' | 'create' | 'setData' | 'getData' | 'close'>;

async function samsaDriver(url: string, name = 'samsa', Client: ClientClass = CoordinatorClient): Promise<Driver> {
  const client = new Client({ servers: [url], sessionTimeoutMs: 10_000, inFlightMax: 4096 });
  await client.connect();
  return {
    name,
    async create(nodePath, data, sequential) {
      // The path only, as node-zookeeper-client's create (ZooKeeper's create, not create2) gets
      // it; a build before withStat ignores the option and answers the Stat too.
      return (await client.create(nodePath, data, { mode: sequential ? 'persistent_sequential' : 'persistent', withStat: false })).path;
    },
    async setData(nodePath, data) {
      await client.setData(nodePath, data, -1);
    },
    async getData(nodePath, watcher) {
      await client.getData(nodePath, watcher ? () => watcher() : undefined);
    },
    close: () => client.close(),
  };
}

async function zookeeperDriver(port: number): Promise<Driver> {
  const client = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ZooKeeper connection timed out')), 15_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  const mode = zookeeper.CreateMode;
  return {
    name: 'zookeeper',
    create: (nodePath, data, sequential) =>
      new Promise((resolve, reject) =>
        client.create(nodePath, Buffer.from(data), sequential ? mode.PERSISTENT_SEQUENTIAL : mode.PERSISTENT, (error, created) =>
          error ? reject(error) : resolve(created))),
    setData: (nodePath, data) =>
      new Promise((resolve, reject) => client.setData(nodePath, Buffer.from(data), -1, (error) => (error ? reject(error) : resolve()))),
    getData: (nodePath, watcher) =>
      new Promise((resolve, reject) =>
        client.getData(nodePath, watcher ? () => watcher() : undefined, (error) => (error ? reject(error) : resolve()))),
    close: async () => client.close(),
  };
}

function startSamsa(port: number, dataDir: string, store: string, root = REPO_ROOT): ChildProcess {
  // BENCH_COORDINATOR_NODE_ARGS: Node/V8 flags of the coordinator processes (e.g. --cpu-prof), for measurements.
  const nodeArgs = (process.env.BENCH_COORDINATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, path.join(root, 'bin', 'samsa.js'), 'coordinator', '--port', String(port), '--data-dir', dataDir, '--store', store, '--metrics-port', '0', '--log-level', 'warn'], {
    cwd: root,
    env: { ...process.env, SAMSA_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Debian's redis-server, durable as the coordinator wants it: every write fsynced before Redis answers. */
function startRedis(port: number, dataDir: string): ChildProcess {
  fs.mkdirSync(dataDir, { recursive: true });
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function startZooKeeper(port: number, dataDir: string): ChildProcess {
  // Debian's zookeeper package: the same main class zkServer.sh runs for a standalone server
  // (ZooKeeperServerMain <port> <dataDir>), with forceSync at its default (yes).
  const classpath = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar'].join(':');
  return spawn('java', [
    '-cp', classpath,
    '-Dzookeeper.admin.enableServer=false',
    `-Dzookeeper.log.dir=${dataDir}`,
    '-Dzookeeper.maxClientCnxns=0',
    'org.apache.zookeeper.server.ZooKeeperServerMain',
    String(port),
    dataDir,
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
}

async function stop(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function ensureZooKeeper(): void {
  if (fs.existsSync('/usr/share/java/zookeeper.jar')) return;
  log('installing the Debian package zookeeper');
  const result = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-deps.sh'), 'zookeeper'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('could not install zookeeper (Debian package); install it and run again');
}

/**
 * Two coordinators on the Redis store (default 2000 ms lease): SIGKILL the active one, then time
 * until a client holding both URLs has its first write acknowledged (lease expiry, takeover,
 * reconnection and the write itself); the killed one comes back as the standby; TAKEOVER_KILLS
 * times (default 20).
 */
async function measureTakeover(redisUrl: string): Promise<Record<string, string | number>> {
  const kills = Number(process.env.TAKEOVER_KILLS ?? 20);
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
  const start = (port: number): ChildProcess =>
    spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'samsa.js'), 'coordinator', '--port', String(port), '--store', redisUrl, '--redis-prefix', 'takeover', '--metrics-port', '-1', '--log-level', 'warn'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SAMSA_LOG_PRETTY: 'false' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const processes = ports.map(start);
  const roleOf = async (port: number): Promise<string> => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/`)).headers.get('x-samsa-role') ?? 'active';
    } catch {
      return 'down';
    }
  };
  const times: number[] = [];
  const client = new CoordinatorClient({ servers: urls, sessionTimeoutMs: 10_000, requestTimeoutMs: 5000 });
  try {
    for (const [i, port] of ports.entries()) await waitForPort(port, processes[i]!, `coordinator ${i + 1}`);
    await client.connect();
    await client.create('/takeover', '').catch(() => undefined);
    log(`takeover: ${kills} SIGKILLs of the active coordinator (2 coordinators, lease 2000 ms)`);
    for (let kill = 0; kill < kills; kill++) {
      const roles = await Promise.all(ports.map(roleOf));
      const activeIndex = roles.indexOf('active');
      if (activeIndex < 0) throw new Error(`no active coordinator (roles ${roles.join(', ')})`);
      const victim = processes[activeIndex]!;
      const exited = new Promise((resolve) => victim.once('exit', resolve));
      const killedAt = performance.now();
      victim.kill('SIGKILL');
      await exited;
      let written = false;
      for (let attempt = 0; attempt < 300 && !written && performance.now() - killedAt < 30_000; attempt++) {
        try {
          await client.create(`/takeover/k-${kill}-${attempt}`, '');
          written = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      if (!written) throw new Error(`no write acknowledged within 30 s of kill ${kill + 1}`);
      times.push(performance.now() - killedAt);
      processes[activeIndex] = start(ports[activeIndex]!);
      await waitForPort(ports[activeIndex]!, processes[activeIndex]!, 'restarted coordinator');
    }
  } finally {
    await client.close().catch(() => undefined);
    await Promise.all(processes.map(stop));
  }
  times.sort((a, b) => a - b);
  return { workload: 'takeover', kills: times.length, leaseMs: 2000, p50Ms: Math.round(percentile(times, 50)), p99Ms: Math.round(percentile(times, 99)), maxMs: Math.round(times.at(-1) ?? 0) };
}

/** A Samsa build to run: its name in the output, the coordinator's store, and its checkout. */
interface SamsaRun {
  name: string;
  store: string;
  root: string;
}

/** SAMSA_ROOTS (`name=dir` or `dir`, comma-separated) or this checkout. */
function samsaRoots(): Array<{ name: string | null; root: string }> {
  const spec = process.env.SAMSA_ROOTS;
  if (spec === undefined || spec.trim() === '') return [{ name: null, root: REPO_ROOT }];
  return spec.split(',').map((entry) => {
    const equals = entry.indexOf('=');
    const name = equals < 0 ? path.basename(path.resolve(entry)) : entry.slice(0, equals);
    return { name, root: path.resolve(equals < 0 ? entry : entry.slice(equals + 1)) };
  });
}

/** The client library of `root`'s build (this checkout's own import for this checkout). */
function clientOf(root: string): ClientClass {
  if (root === REPO_ROOT) return CoordinatorClient;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require(path.join(root, 'dist', 'shared', 'coordinator', 'client')) as { CoordinatorClient: ClientClass }).CoordinatorClient;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One line per Samsa system and workload: Samsa/ZooKeeper of the same round (`round` set) or medians over the rounds. */
function ratioLines(samsaResults: Result[], zkResults: Result[], rounds: number): void {
  const key = (r: Result) => `${r.system} ${r.workload} ${r.inFlight}`;
  const groups = new Map<string, Result[]>();
  for (const result of samsaResults) groups.set(key(result), [...(groups.get(key(result)) ?? []), result]);
  for (const ours of groups.values()) {
    const pairs = ours
      .map((result) => ({ ours: result, theirs: zkResults.find((r) => r.workload === result.workload && r.inFlight === result.inFlight && r.round === result.round) }))
      .filter((pair): pair is { ours: Result; theirs: Result } => pair.theirs !== undefined);
    if (pairs.length === 0) continue;
    const first = pairs[0]!.ours;
    const ratio = (of: (r: Result) => number) => Number(median(pairs.map((pair) => of(pair.ours) / of(pair.theirs))).toFixed(2));
    const line: Record<string, string | number> = { ratio: `${first.system}/zookeeper`, workload: first.workload, inFlight: first.inFlight, rounds: pairs.length };
    if (rounds > 1) {
      line.samsaOpsPerSecond = Math.round(median(pairs.map((pair) => pair.ours.opsPerSecond)));
      line.zookeeperOpsPerSecond = Math.round(median(pairs.map((pair) => pair.theirs.opsPerSecond)));
      line.samsaP99Ms = Number(median(pairs.map((pair) => pair.ours.p99Ms)).toFixed(3));
      line.zookeeperP99Ms = Number(median(pairs.map((pair) => pair.theirs.p99Ms)).toFixed(3));
      line.samsaP50Ms = Number(median(pairs.map((pair) => pair.ours.p50Ms)).toFixed(3));
      line.zookeeperP50Ms = Number(median(pairs.map((pair) => pair.theirs.p50Ms)).toFixed(3));
    }
    line.throughput = ratio((r) => r.opsPerSecond);
    line.p50 = ratio((r) => r.p50Ms);
    line.p99 = ratio((r) => r.p99Ms);
    line.throughputPerRound = pairs.map((pair) => (pair.ours.opsPerSecond / pair.theirs.opsPerSecond).toFixed(2)).join(',');
    // Server CPU per operation (medians over the rounds): how much work each does, whatever the machine's load.
    const cpuPairs = pairs.filter((pair) => pair.ours.serverCpuUsPerOp != null && pair.theirs.serverCpuUsPerOp != null);
    if (cpuPairs.length > 0) {
      line.samsaServerCpuUsPerOp = Number(median(cpuPairs.map((pair) => pair.ours.serverCpuUsPerOp!)).toFixed(1));
      line.zookeeperServerCpuUsPerOp = Number(median(cpuPairs.map((pair) => pair.theirs.serverCpuUsPerOp!)).toFixed(1));
      line.serverCpuPerOp = Number(median(cpuPairs.map((pair) => pair.ours.serverCpuUsPerOp! / pair.theirs.serverCpuUsPerOp!)).toFixed(2));
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

async function main(): Promise<void> {
  ensureZooKeeper();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-coordinator-'));
  const samsas: Array<ChildProcess | null> = [];
  let zk: ChildProcess | null = null;
  let redis: ChildProcess | null = null;
  const stopAll = () => Promise.all([...samsas.map(stop), stop(zk)]).then(() => stop(redis));
  const storeKind = process.env.STORE ?? 'file';
  if (storeKind !== 'file' && storeKind !== 'redis') throw new Error(`STORE must be file or redis, got ${storeKind}`);
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const roots = samsaRoots();
    const runs: SamsaRun[] = roots.map(({ name, root }) => ({ name: name === null ? 'samsa-file' : `samsa-file@${name}`, store: 'file', root }));
    let redisUrl: string | null = null;
    if (storeKind === 'redis') {
      if (spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-deps.sh'), 'redis-server'], { stdio: 'inherit' }).status !== 0) throw new Error('could not install redis-server');
      const redisPort = await freePort();
      redis = startRedis(redisPort, path.join(work, 'redis'));
      await waitForPort(redisPort, redis, 'redis-server');
      redisUrl = `redis://127.0.0.1:${redisPort}/0`;
      for (const { name, root } of roots) runs.push({ name: name === null ? 'samsa-redis' : `samsa-redis@${name}`, store: redisUrl, root });
    }
    if (redisUrl !== null && process.env.TAKEOVER_ONLY === '1') {
      process.stdout.write(`${JSON.stringify(await measureTakeover(redisUrl))}\n`);
      return;
    }
    // Every server runs for the whole benchmark (one at a time under load), so that rounds can alternate.
    const systems: Array<{ name: string; pid: number | null; makeDriver: () => Promise<Driver> }> = [];
    for (const [index, run] of runs.entries()) {
      const samsaPort = await freePort();
      const child = startSamsa(samsaPort, path.join(work, `samsa-${index}`), run.store, run.root);
      samsas.push(child);
      if (child.pid !== undefined) serverPids.push(child.pid);
      await waitForPort(samsaPort, child, `samsa coordinator ${run.name}`);
      const Client = clientOf(run.root);
      const url = `ws://127.0.0.1:${samsaPort}`;
      // A Redis-backed coordinator starts as a standby and takes the lease within a moment: wait until it serves.
      await (await samsaDriver(url, run.name, Client)).close();
      log(`${run.name} coordinator on ${samsaPort} (${run.root}; ${run.store === 'file' ? 'file store, fsync on' : 'redis store: appendonly yes, appendfsync always'})`);
      systems.push({ name: run.name, pid: child.pid ?? null, makeDriver: () => samsaDriver(url, run.name, Client) });
    }
    const zkPort = await freePort();
    fs.mkdirSync(path.join(work, 'zookeeper'));
    zk = startZooKeeper(zkPort, path.join(work, 'zookeeper'));
    if (zk.pid !== undefined) serverPids.push(zk.pid);
    await waitForPort(zkPort, zk, 'zookeeper');
    log(`zookeeper 3.8 standalone on ${zkPort} (forceSync default)`);
    systems.push({ name: 'zookeeper', pid: zk.pid ?? null, makeDriver: () => zookeeperDriver(zkPort) });

    const samsaResults: Result[] = [];
    const zkResults: Result[] = [];
    for (let round = 1; round <= REPEAT; round++) {
      // Every other round in reverse order, so no system always runs first (a cold JIT, a fresh disk).
      const order = round % 2 === 1 ? systems : [...systems].reverse();
      for (const system of order) {
        if (REPEAT > 1) log(`round ${round} of ${REPEAT}: ${system.name}`);
        currentRound = round;
        currentServerPid = system.pid;
        const results = await runWorkloads(system.makeDriver);
        (system.name === 'zookeeper' ? zkResults : samsaResults).push(...results);
      }
    }
    ratioLines(samsaResults, zkResults, REPEAT);
    if (redisUrl !== null) {
      await Promise.all([...samsas.map(stop), stop(zk)]);
      process.stdout.write(`${JSON.stringify(await measureTakeover(redisUrl))}\n`);
    }
  } finally {
    await stopAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-coordinator: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
