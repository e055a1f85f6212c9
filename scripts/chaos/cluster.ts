/**
 * The chaos run's private cluster: a coordinator and N brokers as real processes on free
 * 127.0.0.1 ports under one directory, each broker talking to the coordinator through its own
 * CoordinatorProxy. Every process is tracked by pid: killAll() SIGKILLs what is still alive
 * (synchronously, so it also works from an exit handler). Each process's output is appended
 * to <root>/<name>.log for the post-mortem.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from '../../shared/logging';
import { nodeFlagsFor } from '../../shared/node-flags';
import { canConnect, freePort } from '../bench-support';
import { CoordinatorProxy } from './proxy';

/** The checkout this file is in, from scripts/chaos/ (ts-jest) or dist/scripts/chaos/ (make chaos). */
function repoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'bin', 'samsa.js'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no bin/samsa.js above ${from}`);
  }
}

const REPO_ROOT = repoRoot(__dirname);
const SAMSA_BIN = path.join(REPO_ROOT, 'bin', 'samsa.js');
/** A process must be serving within this long of its start (a broker restart may wait one session timeout for its old registration). */
export const START_TIMEOUT_MS = 30_000;
/** A clean stop (SIGTERM) gets this long before SIGKILL. */
export const STOP_TIMEOUT_MS = 20_000;
/** Output kept in memory per process, to find its ready line. */
const OUTPUT_TAIL_BYTES = 256 * 1024;

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  /** Set when the run meant the process to go (kill or stop), to tell crashes apart. */
  expectedExit: boolean;
  output(): string;
}

export interface BrokerSlot {
  id: number;
  port: number;
  dataDir: string;
  proxy: CoordinatorProxy;
  process: ServerProcess | null;
  paused: boolean;
}

function running(server: ServerProcess | null): boolean {
  return server !== null && server.child.exitCode === null && server.child.signalCode === null;
}

export class ChaosCluster {
  readonly brokers = new Map<number, BrokerSlot>();
  coordinator: ServerProcess | null = null;
  /** Processes that exited without the run stopping them (crashes): a finding. */
  readonly unexpectedExits: string[] = [];
  private readonly live = new Set<ServerProcess>();

  private constructor(
    readonly root: string,
    readonly coordinatorPort: number,
    private readonly sessionTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  static async create(root: string, brokers: number, sessionTimeoutMs: number, logger: Logger): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(root, await freePort(), sessionTimeoutMs, logger);
    for (let id = 1; id <= brokers; id++) {
      const proxy = new CoordinatorProxy(cluster.coordinatorPort);
      await proxy.listen();
      cluster.brokers.set(id, { id, port: await freePort(), dataDir: path.join(root, `broker-${id}`), proxy, process: null, paused: false });
    }
    return cluster;
  }

  /** host:port of every broker, for bootstrapping clients. */
  bootstrap(): string[] {
    return [...this.brokers.values()].map((slot) => `127.0.0.1:${slot.port}`);
  }

  pids(): number[] {
    return [...this.live].map((p) => p.pid);
  }

  async startCoordinator(): Promise<void> {
    const server = this.spawn('coordinator', ['coordinator', '--port', String(this.coordinatorPort), '--data-dir', path.join(this.root, 'coordinator'), '--store', 'file', '--metrics-port', '-1']);
    this.coordinator = server;
    try {
      await this.waitServing(server, this.coordinatorPort, null);
    } catch (error) {
      await this.kill(server, 'SIGKILL');
      this.coordinator = null;
      throw error;
    }
  }

  async startBroker(id: number): Promise<void> {
    const slot = this.slot(id);
    const args = [
      'broker', '--id', String(id), '--port', String(slot.port), '--host', '127.0.0.1',
      '--coordinator', `ws://127.0.0.1:${slot.proxy.port}`, '--data-dir', slot.dataDir,
      '--session-timeout-ms', String(this.sessionTimeoutMs), '--log-level', 'info',
    ];
    const server = this.spawn(`broker-${id}`, args);
    slot.process = server;
    slot.paused = false;
    try {
      await this.waitServing(server, slot.port, '"msg":"broker.ready"');
    } catch (error) {
      await this.kill(server, 'SIGKILL');
      slot.process = null;
      throw error;
    }
  }

  async killBroker(id: number): Promise<void> {
    const slot = this.slot(id);
    if (slot.process !== null) await this.kill(slot.process, 'SIGKILL');
    slot.process = null;
    slot.paused = false;
  }

  pauseBroker(id: number): void {
    const slot = this.slot(id);
    if (slot.process === null) return;
    process.kill(slot.process.pid, 'SIGSTOP');
    slot.paused = true;
  }

  resumeBroker(id: number): void {
    const slot = this.slot(id);
    if (slot.process === null || !slot.paused) return;
    process.kill(slot.process.pid, 'SIGCONT');
    slot.paused = false;
  }

  async killCoordinator(): Promise<void> {
    if (this.coordinator !== null) await this.kill(this.coordinator, 'SIGKILL');
    this.coordinator = null;
  }

  /** Brokers whose process is gone (killed by a fault not yet healed, or crashed). */
  downBrokers(): number[] {
    return [...this.brokers.values()].filter((slot) => !running(slot.process)).map((slot) => slot.id);
  }

  coordinatorDown(): boolean {
    return !running(this.coordinator);
  }

  /**
   * Ends the run cleanly: heals every cut, resumes paused brokers, SIGTERMs the brokers one at
   * a time (a broker's controlled shutdown hands its leaderships over), then the coordinator;
   * SIGKILL for anything that outlives STOP_TIMEOUT_MS (reported: a clean stop should not hang).
   */
  async stop(): Promise<string[]> {
    const forced: string[] = [];
    for (const slot of this.brokers.values()) {
      slot.proxy.heal();
      this.resumeBroker(slot.id);
    }
    const terminate = async (server: ServerProcess): Promise<void> => {
      if (!(await this.terminate(server))) forced.push(server.name);
    };
    for (const slot of this.brokers.values()) {
      if (slot.process !== null) await terminate(slot.process);
      slot.process = null;
    }
    if (this.coordinator !== null) await terminate(this.coordinator);
    this.coordinator = null;
    await Promise.all([...this.brokers.values()].map((slot) => slot.proxy.close()));
    return forced;
  }

  /** SIGKILL every process still alive, by pid (a stopped one dies too), and close the proxies. Synchronous. */
  killAll(): void {
    for (const slot of this.brokers.values()) void slot.proxy.close();
    for (const server of this.live) {
      server.expectedExit = true;
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private slot(id: number): BrokerSlot {
    const slot = this.brokers.get(id);
    if (slot === undefined) throw new Error(`no broker ${id}`);
    return slot;
  }

  private spawn(name: string, args: string[]): ServerProcess {
    const child = spawn(process.execPath, [...nodeFlagsFor(args), SAMSA_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SAMSA_LOG_PRETTY: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
    const file = fs.createWriteStream(path.join(this.root, `${name}.log`), { flags: 'a' });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      file.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const handle: ServerProcess = {
      name,
      child,
      pid: child.pid,
      expectedExit: false,
      output: () => tail,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          this.live.delete(handle);
          file.end();
          if (!handle.expectedExit) {
            this.unexpectedExits.push(`${name} (pid ${handle.pid}) exited by itself: ${signal ?? code}`);
            this.logger.error({ process: name, pid: handle.pid, code, signal }, 'chaos.process_exited');
          }
          resolve();
        });
      }),
    };
    this.live.add(handle);
    return handle;
  }

  private async waitServing(handle: ServerProcess, port: number, readyLine: string | null): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (handle.child.exitCode !== null || handle.child.signalCode !== null) throw new Error(`${handle.name} exited while starting: ${handle.output().slice(-2000)}`);
      if ((readyLine === null || handle.output().includes(readyLine)) && (await canConnect(port))) return;
      if (Date.now() > deadline) throw new Error(`${handle.name} not serving on ${port} within ${START_TIMEOUT_MS} ms: ${handle.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private async kill(handle: ServerProcess, signal: NodeJS.Signals): Promise<void> {
    handle.expectedExit = true;
    try {
      process.kill(handle.pid, signal);
    } catch {
      return;
    }
    await handle.exited;
  }

  /** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; true when the process stopped by itself. */
  private async terminate(handle: ServerProcess): Promise<boolean> {
    handle.expectedExit = true;
    try {
      process.kill(handle.pid, 'SIGTERM');
    } catch {
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([handle.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (!stopped) await this.kill(handle, 'SIGKILL');
    return stopped;
  }
}
