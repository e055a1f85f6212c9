/**
 * Quotas against a real coordinator process: `samsa setquota/listquota/delquota` as a user runs
 * them, hard limits refusing writes from the client library with QuotaExceeded, the quota and
 * its usage surviving a SIGKILL restart (replayed from the log), and the server-wide total.
 */
import { CoordinatorClient } from '../../shared/coordinator/client';
import { CoordinatorError } from '../../shared/coordinator/protocol';
import { code } from '../helpers/coordinator';
import { kill, runSamsa, startCoordinator, stopAll } from '../helpers/processes';

const samsa = (args: string[]) => runSamsa(args);

async function connected(url: string): Promise<CoordinatorClient> {
  const client = new CoordinatorClient({ servers: [url] });
  await client.connect();
  return client;
}

afterAll(stopAll);

describe('quotas through the CLI and the client', () => {
  test('setquota, hard limits, listquota after a SIGKILL restart, delquota', async () => {
    const first = await startCoordinator({ store: 'file' });
    const server = `--server=${first.url}`;
    expect(await samsa(['create', server, '-p', '/app/a', 'x'])).toMatchObject({ code: 0 });
    expect(await samsa(['setquota', server, '-N', '3', '-b', '10', '/app'])).toMatchObject({ code: 0, stderr: '' });
    expect(await samsa(['listquota', server, '/app'])).toMatchObject({
      code: 0,
      stdout: 'Output quota for /app count=-1,bytes=10=;countHardLimit=3\nOutput stat for /app count=2,bytes=1\n',
    });
    expect(await samsa(['setquota', server, '-n', '5', '/app/a'])).toMatchObject({ code: 1, stderr: 'BadArguments: /app/a has a parent /app which has a quota\n' });
    expect(await samsa(['setquota', server, '-n', '5', '/missing'])).toMatchObject({ code: 1, stderr: 'NoNode: /missing\n' });

    const client = await connected(first.url);
    await client.create('/app/b', 'yy');
    const refused = await client.create('/app/c', '').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CoordinatorError);
    expect(refused).toMatchObject({ code: 'QuotaExceeded', path: '/app/c', retriable: false });
    expect((refused as Error).message).toContain('hard limit 3');
    // Within a multi: the whole multi fails.
    expect(await code(client.multi([{ op: 'delete', path: '/app/b', version: -1 }, { op: 'create', path: '/app/c', data: '', mode: 'persistent' }, { op: 'create', path: '/app/d', data: '', mode: 'persistent' }]))).toBe('QuotaExceeded');
    expect((await client.exists('/app/b')) !== null).toBe(true);
    expect(await samsa(['create', server, '/app/c'])).toMatchObject({ code: 1, stderr: 'QuotaExceeded: /app/c (quota of /app exceeded: count would be 4, hard limit 3)\n' });
    await client.close();

    // SIGKILL and restart on the same data: the quota and its usage come back from the log.
    await kill(first.process);
    const second = await startCoordinator({ store: 'file', dataDir: first.dataDir });
    const again = `--server=${second.url}`;
    expect((await samsa(['listquota', again, '--json', '/app'])).stdout).toBe(
      `${JSON.stringify({ path: '/app', limits: { count: -1, bytes: 10, countHardLimit: 3, byteHardLimit: -1 }, usage: { count: 3, bytes: 3 } })}\n`,
    );
    expect(await samsa(['create', again, '/app/c'])).toMatchObject({ code: 1, stderr: 'QuotaExceeded: /app/c (quota of /app exceeded: count would be 4, hard limit 3)\n' });

    // delquota -N drops the hard limit only; delquota alone the whole quota and its empty parents.
    expect(await samsa(['delquota', again, '-N', '/app'])).toMatchObject({ code: 0 });
    expect((await samsa(['listquota', again, '/app'])).stdout).toBe('Output quota for /app count=-1,bytes=10\nOutput stat for /app count=3,bytes=3\n');
    expect(await samsa(['create', again, '/app/c'])).toMatchObject({ code: 0 });
    expect(await samsa(['delquota', again, '/app'])).toMatchObject({ code: 0 });
    expect(await samsa(['listquota', again, '/app'])).toMatchObject({ code: 1, stderr: 'NoNode: quota for /app does not exist\n' });
    expect(await samsa(['ls', again, '/zookeeper/quota'])).toMatchObject({ code: 0, stdout: '' });
    expect(await samsa(['delquota', again, '/app'])).toMatchObject({ code: 0, stdout: 'Quota does not exist for /app\n' });
  });

  test('the server-wide total refuses a create beyond --data-total-bytes-max, naming the limit', async () => {
    const { url } = await startCoordinator({ store: 'memory', extraArgs: ['--data-total-bytes-max', '2000'] });
    const client = await connected(url);
    try {
      await client.create('/small', 'x'.repeat(1000));
      const refused = await client.create('/big', 'x'.repeat(1000)).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'QuotaExceeded', path: '/big' });
      expect((refused as Error).message).toContain('dataTotalBytesMax');
      await client.setData('/small', 'shrunk');
      await client.create('/big', 'x'.repeat(1000));
    } finally {
      await client.close();
    }
  });

  test('setquota, listquota and delquota have --help with an example', async () => {
    for (const command of ['setquota', 'listquota', 'delquota']) {
      const help = await samsa([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--server');
      expect(help.stdout).toContain('Examples:');
    }
  });
});
