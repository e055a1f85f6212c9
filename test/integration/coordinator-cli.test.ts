/**
 * The znode commands driven as a user drives them: `node bin/samsa.js <command>` against a
 * real coordinator, checking stdout, stderr and exit codes.
 */
import { execFile } from 'child_process';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { SAMSA_BIN, spawnSamsa, startCoordinator, stopAll, waitFor } from '../helpers/processes';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function samsa(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SAMSA_BIN, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let url = '';
beforeAll(async () => {
  url = (await startCoordinator({ store: 'memory' })).url;
});
afterAll(stopAll);

describe('samsa znode commands', () => {
  test('create -p, get, get --json, stat, set -v, ls, tree, rm -r', async () => {
    const server = `--server=${url}`;
    expect(await samsa(['create', server, '-p', '/app/config', '{"a":1}'])).toMatchObject({ code: 0, stdout: 'Created /app/config\n' });
    const get = await samsa(['get', server, '/app/config']);
    expect(get.code).toBe(0);
    expect(get.stdout.split('\n')[0]).toBe('{"a":1}');
    expect(get.stdout).toContain('dataVersion = 0');
    const json = JSON.parse((await samsa(['get', server, '--json', '/app/config'])).stdout);
    expect(json).toMatchObject({ data: '{"a":1}', stat: { version: 0, dataLength: 7 } });

    const bad = await samsa(['set', server, '-v', '5', '/app/config', '{"a":2}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('BadVersion: /app/config\n');
    expect((await samsa(['set', server, '-v', '0', '/app/config', '{"a":2}'])).code).toBe(0);
    expect(JSON.parse((await samsa(['stat', server, '--json', '/app/config'])).stdout)).toMatchObject({ version: 1 });

    expect((await samsa(['create', server, '-s', '/app/job-', 'x'])).stdout).toMatch(/^Created \/app\/job-\d{10}\n$/);
    const ls = await samsa(['ls', server, '/app']);
    expect(ls.stdout.split('\n').filter(Boolean)).toEqual(['config', expect.stringMatching(/^job-\d{10}$/)]);
    const tree = await samsa(['tree', server, '/']);
    expect(tree.stdout).toMatch(/[├└]── app\n/); // the reserved /zookeeper sorts after it
    expect(tree.stdout).toMatch(/config {2}\{"a":2\}/);

    expect(await samsa(['rm', server, '/app'])).toMatchObject({ code: 1, stderr: 'NotEmpty: /app\n' });
    // An ephemeral node shows its owner in the tree.
    const owner = new CoordinatorClient({ servers: [url] });
    await owner.connect();
    await owner.create('/app/live', 'up', { mode: 'ephemeral' });
    expect((await samsa(['tree', server, '/app'])).stdout).toContain(`live  [ephemeral ${owner.sessionId}]  up`);
    await owner.close();
    expect((await samsa(['rm', server, '-r', '/app'])).code).toBe(0);
    expect(await samsa(['get', server, '/app/config'])).toMatchObject({ code: 1, stdout: '', stderr: 'NoNode: /app/config\n' });
    expect(await samsa(['stat', server, '/app'])).toMatchObject({ code: 1, stderr: 'NoNode: /app\n' });
    expect(await samsa(['rm', server, '-r', '/app'])).toMatchObject({ code: 1, stderr: 'NoNode: /app\n' });
    expect(await samsa(['create', server, 'relative'])).toMatchObject({ code: 1, stderr: 'BadArguments: relative\n' });
  });

  test('SAMSA_COORDINATOR is the default server; a dead server fails with one line', async () => {
    expect((await samsa(['ls', '/'], { SAMSA_COORDINATOR: url })).code).toBe(0);
    const dead = await samsa(['ls', '--server', 'ws://127.0.0.1:1', '/']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/^ConnectionLoss: could not reach ws:\/\/127\.0\.0\.1:1/);
    const usage = await samsa(['create']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Not enough non-option arguments');
  });

  test('every command has --help with a description, --server and an example', async () => {
    const runs = await Promise.all(['tree', 'ls', 'get', 'stat', 'create', 'set', 'rm', 'watch'].map(async (command) => [command, await samsa([command, '--help'])] as const));
    for (const [command, run] of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^samsa ${command}\\b.*\\n\\n\\w`));
      expect(run.stdout).toContain('--server');
      expect(run.stdout).toMatch(/Examples:\n {2}samsa \w+ .+ {2,}\w/);
    }
  });

  test('watch (persistent, not recursive) --json prints one JSON line per event on the path only; SIGTERM exits 0', async () => {
    const watcher = spawnSamsa(['watch', '--server', url, '--json', '/j']);
    await waitFor('watch started', () => watcher.output().includes('watching /j'));
    const client = new CoordinatorClient({ servers: [url] });
    await client.connect();
    await client.create('/j', 'a');
    await client.create('/j/below', 'x');
    await client.setData('/j/below', 'y'); // below the path: not reported without -r
    await client.setData('/j', 'b');
    await client.close();
    const lines = (): string[] => watcher.output().split('\n').filter((line) => line.startsWith('{'));
    await waitFor('three events', () => lines().length >= 3);
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
    expect(lines().map((line) => JSON.parse(line))).toEqual([
      { event: 'NodeCreated', path: '/j', zxid: expect.any(Number) },
      { event: 'NodeChildrenChanged', path: '/j', zxid: expect.any(Number) },
      { event: 'NodeDataChanged', path: '/j', zxid: expect.any(Number) },
    ]);
  });

  test('watch -r prints events until SIGINT, then exits 0', async () => {
    const watcher = spawnSamsa(['watch', '--server', url, '-r', '/w']);
    await waitFor('watch started', () => watcher.output().includes('watching /w'));
    const client = new CoordinatorClient({ servers: [url] });
    await client.connect();
    await client.create('/w', 'a');
    await client.setData('/w', 'b');
    await client.create('/w/x');
    await client.close();
    await waitFor('three events', () => (watcher.output().match(/^Node\w+ /gm) ?? []).length === 3);
    expect(watcher.output()).toMatch(/NodeCreated \/w \(zxid \d+\)\nNodeDataChanged \/w \(zxid \d+\)\nNodeCreated \/w\/x \(zxid \d+\)/);
    watcher.child.kill('SIGINT');
    expect(await watcher.exited).toBe(0);
  });
});
