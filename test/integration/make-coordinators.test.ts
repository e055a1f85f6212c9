/**
 * `make cluster COORDINATORS=3` (scripts/cluster.sh) on free ports with its own run and data
 * directories: a redis-server, three coordinators on it (one active), three brokers given all
 * three URLs; `make crash-coordinator` of the active one leaves the brokers registered under the
 * same sessions, read through another coordinator; `make stop` ends all eight processes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { freePort, freePortRun, runCommand, SAMSA_BIN, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const root = tempDir('make-coordinators');
const runDir = path.join(root, 'run');
let env: NodeJS.ProcessEnv;
let coordinatorPort: number;

const run = (command: string, args: string[]) => runCommand(command, args, undefined, { env, timeoutMs: 90_000 });
const make = (...args: string[]) => run('make', ['--no-print-directory', '-o', 'build', ...args]);
const registrations = async (server: string): Promise<Record<string, string>> => {
  const result = await run(process.execPath, [SAMSA_BIN, 'ls', '/brokers/ids', '--server', server, '--json']);
  expect(result).toMatchObject({ code: 0 });
  const ids = JSON.parse(result.stdout) as string[];
  const owners: Record<string, string> = {};
  for (const id of ids) {
    const stat = await run(process.execPath, [SAMSA_BIN, 'stat', `/brokers/ids/${id}`, '--server', server, '--json']);
    owners[id] = (JSON.parse(stat.stdout) as { ephemeralOwner: string }).ephemeralOwner;
  }
  return owners;
};
const roleOf = async (port: number): Promise<string> => {
  const stats = await run(process.execPath, [SAMSA_BIN, 'coordinator', 'stats', '--server', `ws://127.0.0.1:${port}`]);
  return /^role\s+(\w+)/m.exec(stats.stdout)?.[1] ?? `none (${stats.stderr.trim()})`;
};

beforeAll(async () => {
  coordinatorPort = await freePortRun(3);
  env = {
    COORDINATOR_PORT: String(coordinatorPort),
    PORT_BASE: String((await freePortRun(3)) - 1),
    REDIS_PORT: String(await freePort()),
    RUN_DIR: runDir,
    DATA_DIR: path.join(root, 'data'),
    METRICS_PORT: '0',
    CONSOLE_PORT: '-1',
    READY_TIMEOUT_S: '30',
  };
});

afterAll(async () => {
  await make('stop');
});

test('three coordinators on one redis-server, one active; crashing it keeps every broker registration', async () => {
  const up = await make('cluster', 'COORDINATORS=3');
  expect(up).toMatchObject({ code: 0 });
  expect(up.stdout).toMatch(/redis: 127\.0\.0\.1:\d+ \(pid \d+, appendonly yes, appendfsync always/);
  for (const id of [1, 2, 3]) expect(up.stdout).toContain(`coordinator ${id}: ws://127.0.0.1:${coordinatorPort + id - 1}`);
  expect(fs.readFileSync(path.join(runDir, 'coordinators'), 'utf8').trim()).toBe([0, 1, 2].map((i) => `ws://127.0.0.1:${coordinatorPort + i}`).join(','));
  const roles = await Promise.all([0, 1, 2].map((i) => roleOf(coordinatorPort + i)));
  expect(roles.filter((r) => r === 'active')).toHaveLength(1);
  expect(roles.filter((r) => r === 'standby')).toHaveLength(2);
  const active = roles.indexOf('active') + 1;
  const other = coordinatorPort + (active % 3);
  await waitFor('three brokers registered', async () => Object.keys(await registrations(`ws://127.0.0.1:${other}`)).length === 3, 20_000);
  const before = await registrations(`ws://127.0.0.1:${other}`);

  expect(await make('crash-coordinator', `ID=${active}`)).toMatchObject({ code: 0, stdout: expect.stringContaining(`coordinator ${active} killed with SIGKILL`) });
  await waitFor('a standby active', async () => (await Promise.all([0, 1, 2].filter((i) => i !== active - 1).map((i) => roleOf(coordinatorPort + i)))).includes('active'), 15_000);
  expect(await registrations(`ws://127.0.0.1:${other}`)).toEqual(before);

  const restarted = await make('restart-coordinator', `ID=${active}`);
  expect(restarted).toMatchObject({ code: 0, stdout: expect.stringContaining(`coordinator ${active}: ws://127.0.0.1:${coordinatorPort + active - 1}`) });
  await waitFor('the restarted one standby', async () => (await roleOf(coordinatorPort + active - 1)) === 'standby', 15_000);

  const stopped = await make('stop');
  expect(stopped).toMatchObject({ code: 0, stdout: expect.stringContaining('stopped 7 process(es)') });
});
