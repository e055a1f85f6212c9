/**
 * `make pause | resume | restart | stop | status` (scripts/cluster.sh) on free ports with their
 * own run and data directories (as make-cluster.test.ts): SIGSTOP/SIGCONT by pid file, restart
 * of a running broker (stopped with SIGTERM first), and a stop that ends the brokers one at a
 * time and the coordinator last, resuming a paused broker so that SIGTERM, not SIGKILL, ends it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { freePort, freePortRun, runCommand, tempDir } from '../helpers/processes';

jest.setTimeout(120_000);

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) => runCommand(command, args, undefined, { env, timeoutMs: 90_000 });

const root = tempDir('make-pause');
const runDir = path.join(root, 'run');
const dataDir = path.join(root, 'data');
const STOP_TIMEOUT_S = 20;
let env: NodeJS.ProcessEnv;

const make = (...args: string[]) => run('make', ['--no-print-directory', '-o', 'build', ...args], env);
const pidOf = (name: string): number => Number(fs.readFileSync(path.join(runDir, `${name}.pid`), 'utf8').trim());
/** The process state letter from /proc (R, S, T = stopped, Z = zombie), or null when gone. */
const stateOf = (pid: number): string | null => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
};
const isAlive = (pid: number): boolean => {
  const state = stateOf(pid);
  return state !== null && state !== 'Z';
};
/** The time of the first log line with this event, in ms. */
const loggedAt = (name: string, event: string): number => {
  const line = fs.readFileSync(path.join(runDir, `${name}.log`), 'utf8').split('\n').find((l) => l.includes(`"msg":"${event}"`));
  if (line === undefined) throw new Error(`${name}.log has no ${event}`);
  return (JSON.parse(line) as { time: number }).time;
};

/** Three consecutive free ports for brokers 1..3 (PORT_BASE + id). */
async function freeRun(): Promise<number> {
  return (await freePortRun(3)) - 1;
}

beforeAll(async () => {
  env = { COORDINATOR_PORT: String(await freePort()), PORT_BASE: String(await freeRun()), RUN_DIR: runDir, DATA_DIR: dataDir, METRICS_PORT: '0', CONSOLE_PORT: '0', READY_TIMEOUT_S: '30', STOP_TIMEOUT_S: String(STOP_TIMEOUT_S) };
  const up = await make('cluster');
  if (up.code !== 0) throw new Error(`make cluster failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
});

afterAll(async () => {
  for (const file of fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => f.endsWith('.pid')) : []) {
    const pid = Number(fs.readFileSync(path.join(runDir, file), 'utf8'));
    if (pid > 0 && isAlive(pid)) {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    }
  }
});

test('make pause ID=2 stops broker 2 with SIGSTOP, make status says paused, make resume ID=2 continues it', async () => {
  const pid = pidOf('broker-2');
  expect(await make('pause', 'ID=2')).toMatchObject({ code: 0, stdout: 'broker 2 paused with SIGSTOP\n' });
  expect(stateOf(pid)).toBe('T');
  expect((await make('status')).stdout).toContain(`broker-2: paused (pid ${pid})`);
  expect(await make('resume', 'ID=2')).toMatchObject({ code: 0, stdout: 'broker 2 resumed with SIGCONT\n' });
  expect(stateOf(pid)).not.toBe('T');
  expect((await make('status')).stdout).toContain(`broker-2: running (pid ${pid})`);
  // 2 is make's exit code when a recipe fails.
  expect(await make('pause', 'ID=9')).toMatchObject({ code: 2, stderr: expect.stringContaining('broker 9 is not running') });
  expect(await make('resume', 'ID=9')).toMatchObject({ code: 2, stderr: expect.stringContaining('broker 9 is not running') });
});

test('make restart ID=3 of a running broker stops it with SIGTERM first, then starts it and waits until ready', async () => {
  const pid = pidOf('broker-3');
  const restarted = await make('restart', 'ID=3');
  expect(restarted.code).toBe(0);
  expect(restarted.stdout).toMatch(/^broker-3: stopped \(\d+s\)\nbroker 3: 127\.0\.0\.1:\d+ \(pid \d+/);
  expect(restarted.stderr).not.toContain('SIGKILL');
  expect(isAlive(pid)).toBe(false);
  expect(pidOf('broker-3')).not.toBe(pid);
  expect(isAlive(pidOf('broker-3'))).toBe(true);
  expect(fs.readFileSync(path.join(runDir, 'broker-3.log'), 'utf8')).toContain('"msg":"broker.ready"');
});

test('make stop resumes a paused broker, stops the console, the brokers one at a time with SIGTERM and the coordinator last', async () => {
  expect(await make('pause', 'ID=1')).toMatchObject({ code: 0 });
  const pids = ['console', 'broker-1', 'broker-2', 'broker-3', 'coordinator'].map(pidOf);
  const started = Date.now();
  const stopped = await make('stop');
  expect(stopped.code).toBe(0);
  // Before: a paused broker ignored SIGTERM until the SIGKILL after the deadline.
  expect(stopped.stderr).not.toContain('SIGKILL');
  expect(Date.now() - started).toBeLessThan(STOP_TIMEOUT_S * 1000);
  expect(stopped.stdout.split('\n').filter(Boolean).map((line) => line.replace(/ \(\d+s\)$/, ''))).toEqual([
    'console: stopped',
    'broker-1: stopped',
    'broker-2: stopped',
    'broker-3: stopped',
    'coordinator: stopped',
    'stopped 5 process(es)',
  ]);
  expect(pids.filter(isAlive)).toEqual([]);
  // Each broker had finished before the next was signalled, and the coordinator ran until the last had.
  const [b1, b2, b3] = ['broker-1', 'broker-2', 'broker-3'].map((name) => loggedAt(name, 'broker.stopped'));
  expect(b1).toBeLessThanOrEqual(b2!);
  expect(b2).toBeLessThanOrEqual(b3!);
  expect(loggedAt('coordinator', 'coordinator.stopping')).toBeGreaterThanOrEqual(b3!);
  expect(fs.readdirSync(runDir).filter((f) => f.endsWith('.pid'))).toEqual([]);
});
