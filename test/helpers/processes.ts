/**
 * Real processes for integration tests: free ports on 127.0.0.1, spawn `samsa` (the built
 * dist/), poll conditions with deadlines (never sleep-and-hope), clean up by pid.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { nodeFlagsFor } from '../../shared/node-flags';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SAMSA_BIN = path.join(REPO_ROOT, 'bin', 'samsa.js');

/** A port the kernel just handed out on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** True when nothing on this machine holds `port` on 127.0.0.1 (checked by binding it, then closing). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports (the first returned), for `make cluster`'s PORT_BASE + id.
 * Taken below the kernel's ephemeral range (32768 and up here): a port next to a kernel-given
 * one can be held by any outgoing connection (which a connect check does not see, and which
 * makes the broker's bind fail); ports under 32768 are never given to outgoing connections.
 * Each is checked by binding; bounded attempts.
 */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (32_000 - 20_000 - count));
    let all = true;
    for (let i = 0; i < count && all; i++) all = await canBind(first + i);
    if (all) return first;
  }
  throw new Error(`no ${count} consecutive free ports below the ephemeral range`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `samsa-${prefix}-`));
}

/** Polls `condition` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True once something accepts TCP connections on host:port. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

const running = new Set<RunningProcess>();

/**
 * Spawns `node bin/samsa.js ...args` (a broker with the Node flags brokers run with,
 * shared/node-flags.ts). The process is killed by `stopAll` if still alive.
 */
export function spawnSamsa(args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return spawnProcess(process.execPath, [...nodeFlagsFor(args), SAMSA_BIN, ...args], env);
}

export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, SAMSA_LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    if (text.length > 1_000_000) text = text.slice(-500_000); // bounded
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  const handle: RunningProcess = { child, pid: child.pid, output: () => text, exited };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** The fields of each pino line with `msg` in a process's output. */
export function logLines(output: string, msg: string): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  for (const line of output.split('\n')) {
    if (!line.includes(`"${msg}"`)) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === msg) found.push(parsed);
    } catch {
      // not a log line
    }
  }
  return found;
}

/** SIGKILL, then wait until the process is gone. */
export async function kill(handle: RunningProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (handle.child.exitCode !== null || handle.child.signalCode !== null) return;
  try {
    process.kill(handle.pid, signal);
  } catch {
    return;
  }
  await handle.exited;
}

/** Kills every process this test file started that is still alive. Call from afterAll. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((handle) => kill(handle)));
}

/** Starts a coordinator on a free port with its own data directory and waits until it accepts connections. */
export async function startCoordinator(options: { dataDir?: string; port?: number; store?: 'file' | 'memory'; extraArgs?: string[] } = {}): Promise<{
  process: RunningProcess;
  port: number;
  url: string;
  dataDir: string;
}> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? tempDir('coordinator');
  const handle = spawnSamsa([
    'coordinator',
    '--port', String(port),
    '--data-dir', dataDir,
    '--store', options.store ?? 'file',
    '--metrics-port', '0',
    ...(options.extraArgs ?? []),
  ]);
  await waitFor(`coordinator on port ${port}`, async () => {
    if (handle.child.exitCode !== null) throw new Error(`coordinator exited: ${handle.output()}`);
    return canConnect(port);
  }, 15_000);
  return { process: handle, port, url: `ws://127.0.0.1:${port}`, dataDir };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by `timeoutMs`) in the repository, feeding `input` on stdin, with `env` added to this process's; never rejects. */
export function runCommand(command: string, args: string[], input?: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { cwd: REPO_ROOT, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/**
 * `samsa <args>` as a user runs it, with `env` added. SAMSA_COORDINATOR_AUTH from the developer's
 * shell is left out (unless `env` sets it), so a run meant to be unauthenticated is.
 */
export function runSamsa(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CommandResult> {
  return runCommand(process.execPath, [SAMSA_BIN, ...args], undefined, { timeoutMs, env: { SAMSA_COORDINATOR_AUTH: undefined, ...env } });
}
