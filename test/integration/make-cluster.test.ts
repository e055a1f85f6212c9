/**
 * `make cluster | status | crash | restart | stop` (scripts/cluster.sh) on free ports with
 * their own run and data directories (COORDINATOR_PORT, PORT_BASE, RUN_DIR, DATA_DIR,
 * METRICS_PORT), so it never collides with a developer's cluster. `-o build` skips the build
 * (jest runs against what is already built; `make test` builds first).
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { freePort, freePortRun, runCommand, SAMSA_BIN, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(90_000);

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) => runCommand(command, args, undefined, { env, timeoutMs: 60_000 });

const root = tempDir('make-cluster');
const runDir = path.join(root, 'run');
const dataDir = path.join(root, 'data');
let env: NodeJS.ProcessEnv;
let portBase: number;

const make = (...args: string[]) => run('make', ['--no-print-directory', '-o', 'build', ...args], env);
const samsaJson = async (args: string[]) => {
  const result = await run(process.execPath, [SAMSA_BIN, ...args, '--json', '--bootstrap', `127.0.0.1:${portBase + 1}`], env);
  expect(result).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout);
};
const pidOf = (name: string): number => Number(fs.readFileSync(path.join(runDir, `${name}.pid`), 'utf8').trim());
/** Alive and not a zombie (the script's nohup'd children are reparented to PID 1, which may never reap them). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

/** Three consecutive free ports for brokers 1..3 (PORT_BASE + id). */
async function freeRun(): Promise<number> {
  return (await freePortRun(3)) - 1;
}

beforeAll(async () => {
  portBase = await freeRun();
  env = { COORDINATOR_PORT: String(await freePort()), PORT_BASE: String(portBase), RUN_DIR: runDir, DATA_DIR: dataDir, METRICS_PORT: '0', CONSOLE_PORT: '0', READY_TIMEOUT_S: '30' };
});

afterAll(async () => {
  await make('stop');
  // Belt and braces: anything the script left behind, by pid.
  for (const file of fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => f.endsWith('.pid')) : []) {
    const pid = Number(fs.readFileSync(path.join(runDir, file), 'utf8'));
    if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('make cluster starts a coordinator, 3 ready brokers and the console, with pids and logs in RUN_DIR', async () => {
  const up = await make('cluster');
  expect(up).toMatchObject({ code: 0 });
  expect(up.stdout).toContain(`ready: bootstrap 127.0.0.1:${portBase + 1}`);
  // The console's URL is printed, and it answers with the three brokers.
  const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+)/.exec(up.stdout)?.[1];
  expect(consoleUrl).toBeDefined();
  const overview = (await (await fetch(`${consoleUrl}/api/overview`)).json()) as { brokers: Array<{ id: number; live: boolean }> };
  expect(overview.brokers.map((b) => [b.id, b.live])).toEqual([[1, true], [2, true], [3, true]]);
  for (const name of ['coordinator', 'broker-1', 'broker-2', 'broker-3', 'console']) {
    expect(isAlive(pidOf(name))).toBe(true);
    expect(fs.existsSync(path.join(runDir, `${name}.log`))).toBe(true);
  }
  // JSON logs (SAMSA_LOG_PRETTY=false), data under DATA_DIR.
  expect(fs.readFileSync(path.join(runDir, 'broker-1.log'), 'utf8')).toContain('"msg":"broker.ready"');
  expect(fs.readdirSync(dataDir).sort()).toEqual(['broker-1', 'broker-2', 'broker-3', 'coordinator']);
  const view = await samsaJson(['cluster']);
  expect(view.brokers.map((b: { id: number; port: number }) => [b.id, b.port])).toEqual([1, 2, 3].map((id) => [id, portBase + id]));
  const status = await make('status');
  expect(status.stdout.trim().split('\n').sort()).toEqual(['broker-1', 'broker-2', 'broker-3', 'console', 'coordinator'].map((n) => expect.stringMatching(new RegExp(`^${n}: running \\(pid \\d+\\)$`))));
  // Running it again starts nothing new.
  const again = await make('cluster');
  expect(again.stdout).toContain('coordinator already running');
});

test('make crash ID=2 kills broker 2 with SIGKILL; make restart ID=2 brings it back with its data', async () => {
  const pid = pidOf('broker-2');
  const crashed = await make('crash', 'ID=2');
  expect(crashed).toMatchObject({ code: 0, stdout: expect.stringContaining('broker 2 killed with SIGKILL') });
  expect(isAlive(pid)).toBe(false);
  await waitFor('broker 2 gone from the cluster', async () => (await samsaJson(['cluster'])).brokers.length === 2, 20_000);
  // 2 is make's exit code when a recipe fails.
  expect(await make('crash', 'ID=2')).toMatchObject({ code: 2, stderr: expect.stringContaining('broker 2 is not running') });

  const restarted = await make('restart', 'ID=2');
  expect(restarted).toMatchObject({ code: 0, stdout: expect.stringContaining(`broker 2: 127.0.0.1:${portBase + 2}`) });
  expect(pidOf('broker-2')).not.toBe(pid);
  await waitFor('broker 2 back', async () => (await samsaJson(['cluster'])).brokers.length === 3, 20_000);
});

test('a broker that cannot start fails at once with the tail of its log, not after the deadline', async () => {
  const blocker = net.createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
  try {
    const started = Date.now();
    const failed = await make('restart', 'ID=4', `PORT_BASE=${port - 4}`);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('cluster: broker-4 exited; last lines of');
    expect(failed.stderr).toMatch(/EADDRINUSE|address already in use/i);
    expect(Date.now() - started).toBeLessThan(25_000); // READY_TIMEOUT_S is 30
    expect(fs.existsSync(path.join(runDir, 'broker-4.pid'))).toBe(false);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('make stop ends every process by pid and removes the pid files', async () => {
  const pids = ['console', 'coordinator', 'broker-1', 'broker-2', 'broker-3'].map(pidOf);
  const stopped = await make('stop');
  expect(stopped).toMatchObject({ code: 0, stdout: expect.stringContaining('stopped 5 process(es)') });
  expect(pids.filter(isAlive)).toEqual([]);
  expect(fs.readdirSync(runDir).filter((f) => f.endsWith('.pid'))).toEqual([]);
});

test('make brokers without a running coordinator says so', async () => {
  const noCoordinator = await make('brokers', 'N=1');
  expect(noCoordinator.code).not.toBe(0);
  expect(noCoordinator.stderr).toContain('no coordinator on port');
});
