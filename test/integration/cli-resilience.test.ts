/**
 * The Kafka-facing CLI when brokers are down, and the options Kafka users type, with real
 * processes (a coordinator and 3 brokers): `--acks all|-1|1|0`, `produce --file` with
 * thousands of lines, `consume --exit-at-end`; a CLI whose --bootstrap names a dead broker (or
 * nothing at all) finding the live brokers through the coordinator's registrations; a consumer
 * that follows a leader which dies mid-command carrying on; and one clear line, at once, when
 * neither a broker nor the coordinator listens.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startCluster, TestCluster } from '../helpers/cluster';
import { CommandResult, freePort, kill, runCommand, SAMSA_BIN, spawnSamsa, startCoordinator, stopAll, tempDir, waitFor } from '../helpers/processes';

jest.setTimeout(180_000);

const TOPIC = 'resilient';
const BROKER_ARGS = ['--group-initial-rebalance-delay-ms', '500'];

let cluster: TestCluster;
/** Only broker 1, the one the test kills: every command after the kill has to look further. */
let viaBroker1: string[];

function samsa(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return runCommand(process.execPath, [SAMSA_BIN, ...args], input ?? '', { timeoutMs: 60_000, env: { SAMSA_LOG_PRETTY: 'false', SAMSA_COORDINATOR: '', SAMSA_BOOTSTRAP: '', ...env } });
}

const values = (stdout: string): string[] => stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { value: string }).value);

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3, brokerArgs: BROKER_ARGS });
  viaBroker1 = ['--bootstrap', `127.0.0.1:${cluster.brokers[0]!.port}`, '--coordinator', cluster.coordinatorUrl];
  expect(await samsa(['topic', 'create', TOPIC, '--partitions', '3', '--replication-factor', '3', ...viaBroker1])).toMatchObject({ code: 0 });
});
afterAll(async () => {
  await stopAll();
});

describe('what Kafka users type', () => {
  test('--acks all, -1, 1 and 0 are accepted; anything else is one line', async () => {
    for (const [acks, value] of [['all', 'a-all'], ['-1', 'a-minus-one'], ['1', 'a-one'], ['0', 'a-zero']] as const) {
      const produced = await samsa(['produce', TOPIC, '--acks', acks, '--partition', '0', ...viaBroker1], `${value}\n`);
      expect(produced).toMatchObject({ code: 0, stderr: `produced 1 records to ${TOPIC}\n` });
    }
    // acks 0 has no answer: poll until the record is there.
    await waitFor('the acks 0 record', async () => values((await samsa(['consume', TOPIC, '--partition', '0', '--from-beginning', '--exit-at-end', '--json', ...viaBroker1])).stdout).includes('a-zero'), 10_000);
    const all = values((await samsa(['consume', TOPIC, '--partition', '0', '--from-beginning', '--exit-at-end', '--json', ...viaBroker1])).stdout);
    expect(all).toEqual(['a-all', 'a-minus-one', 'a-one', 'a-zero']);
    const bad = await samsa(['produce', TOPIC, '--acks', '2', ...viaBroker1], 'x\n');
    expect(bad).toMatchObject({ code: 1, stderr: 'INVALID_REQUIRED_ACKS: --acks 2 (use all, -1, 1 or 0)\n' });
  });

  test('--acks all really waits for min.insync.replicas: a single-replica topic that needs 2 refuses it, acks 1 does not', async () => {
    expect(await samsa(['topic', 'create', 'strict', '--partitions', '1', '--replication-factor', '1', '--config', 'min.insync.replicas=2', ...viaBroker1])).toMatchObject({ code: 0 });
    const all = await samsa(['produce', 'strict', '--acks', 'all', ...viaBroker1], 'x\n');
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/^NOT_ENOUGH_REPLICAS: strict-0/);
    expect(all.stderr.trim().split('\n')).toHaveLength(1);
    expect(await samsa(['produce', 'strict', '--acks', '1', ...viaBroker1], 'x\n')).toMatchObject({ code: 0 });
  });

  test('produce --file sends every line of a large file; without a terminal only the summary line is printed', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `k${i % 37}:line-${i}`);
    const file = path.join(tempDir('produce-file'), 'records.txt');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(await samsa(['topic', 'create', 'from-file', '--partitions', '4', '--replication-factor', '2', ...viaBroker1])).toMatchObject({ code: 0 });
    const produced = await samsa(['produce', 'from-file', '--file', file, '--key-separator', ':', '--acks', 'all', ...viaBroker1], 'stdin-is-ignored\n');
    expect(produced).toMatchObject({ code: 0, stderr: 'produced 5000 records to from-file\n' });
    const consumed = await samsa(['consume', 'from-file', '--from-beginning', '--exit-at-end', '--json', ...viaBroker1]);
    expect(consumed.code).toBe(0);
    const got = values(consumed.stdout);
    expect(got).toHaveLength(5000);
    expect(new Set(got)).toEqual(new Set(lines.map((line) => line.slice(line.indexOf(':') + 1))));
    const missing = await samsa(['produce', 'from-file', '--file', path.join(path.dirname(file), 'absent.txt'), ...viaBroker1]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^INVALID_REQUEST: --file .*absent\.txt: ENOENT/) });
  });

  test('on a terminal (script(1) gives it one), produce --file draws a progress bar on stderr, then the summary', async () => {
    // Enough records that sending them takes longer than the 250 ms before the first redraw, even on a fast machine.
    const file = path.join(tempDir('produce-tty'), 'many.txt');
    fs.writeFileSync(file, `${Array.from({ length: 400_000 }, (_, i) => `value-${i}`).join('\n')}\n`);
    const command = [process.execPath, SAMSA_BIN, 'produce', 'from-file', '--file', file, ...viaBroker1].map((word) => `'${word}'`).join(' ');
    const result = await runCommand('script', ['-qec', command, '/dev/null'], undefined, { timeoutMs: 60_000, env: { SAMSA_LOG_PRETTY: 'false' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\r\[#*\.*\] +\d+%  \d+ records  \d+ records\/s/);
    expect(result.stdout).toContain('produced 400000 records to from-file');
  });

  test('consume --exit-at-end on an empty topic exits at once; without it consume follows (bounded here by --timeout-ms)', async () => {
    expect(await samsa(['topic', 'create', 'empty', '--partitions', '2', '--replication-factor', '1', ...viaBroker1])).toMatchObject({ code: 0 });
    const started = Date.now();
    expect(await samsa(['consume', 'empty', '-e', ...viaBroker1])).toMatchObject({ code: 0, stdout: '' });
    const atEnd = Date.now() - started;
    const followed = Date.now();
    expect(await samsa(['consume', 'empty', '--timeout-ms', '3000', ...viaBroker1])).toMatchObject({ code: 0, stdout: '' });
    expect(Date.now() - followed).toBeGreaterThan(3000);
    expect(atEnd).toBeLessThan(3000);
  });
});

describe('finding live brokers', () => {
  test('a --bootstrap where nothing listens: the brokers registered in the coordinator answer instead (flag and SAMSA_COORDINATOR)', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const listed = await samsa(['topic', 'list', '--bootstrap', nowhere, '--coordinator', cluster.coordinatorUrl]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toContain(TOPIC);
    const viaEnv = await samsa(['topic', 'list', '--bootstrap', nowhere], undefined, { SAMSA_COORDINATOR: cluster.coordinatorUrl });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout.split('\n')).toContain(TOPIC);
    // A comma-separated --bootstrap is tried in order.
    const list = await samsa(['topic', 'list', '--bootstrap', `${nowhere},127.0.0.1:${cluster.brokers[2]!.port}`, '--coordinator', `ws://127.0.0.1:${await freePort()}`]);
    expect(list.code).toBe(0);
  });

  test('nothing listening and no coordinator: one line at once', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const noCoordinator = `ws://127.0.0.1:${await freePort()}`;
    for (const command of [['topic', 'list'], ['cluster'], ['produce', TOPIC], ['consume', TOPIC], ['group', 'list']]) {
      const started = Date.now();
      const result = await samsa([...command, '--bootstrap', nowhere, '--coordinator', noCoordinator], 'x\n');
      const elapsed = Date.now() - started;
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`BROKER_NOT_AVAILABLE: could not reach ${nowhere} (could not connect to ${nowhere}: connect ECONNREFUSED ${nowhere}); coordinator ${noCoordinator}: could not connect\n`);
      // Node's start-up is most of it; a timeout would be the 3 s discovery or the 5 s connect one.
      expect(elapsed).toBeLessThan(2500);
    }
  });

  test('a coordinator with no broker registered says so', async () => {
    const empty = await startCoordinator();
    const nowhere = `127.0.0.1:${await freePort()}`;
    const result = await samsa(['topic', 'list', '--bootstrap', nowhere, '--coordinator', empty.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^BROKER_NOT_AVAILABLE: could not reach ${nowhere} .*; the coordinator at ${empty.url} has no live broker registered\\n$`));
    await kill(empty.process);
  });
});

describe('broker 1 (the only --bootstrap) killed', () => {
  test('topic create, produce (acks all), cluster, topic list and consume still answer; a follower and a group member carry on', async () => {
    const follower = spawnSamsa(['consume', TOPIC, '--json', ...viaBroker1]);
    const groupFollower = spawnSamsa(['consume', TOPIC, '--group', 'following', '--json', ...viaBroker1]);
    await waitFor('both followers are polling', async () => {
      expect((await samsa(['produce', TOPIC, '--key', 'probe', ...viaBroker1], 'probe\n')).code).toBe(0);
      return follower.output().includes('"value":"probe"') && groupFollower.output().includes('"value":"probe"');
    }, 30_000);

    await kill(cluster.brokers[0]!.process);

    // At once: Metadata still names broker 1 as the controller until its coordinator session ends and another takes over.
    expect(await samsa(['topic', 'create', 'after-crash', '--partitions', '2', '--replication-factor', '2', ...viaBroker1])).toMatchObject({ code: 0, stdout: 'Created topic after-crash\n' });

    // At once: round robin over 3 partitions, one of them led by broker 1, so a batch meets the dead leader (or Metadata naming none yet) and is sent again once the controller moved it.
    const after = Array.from({ length: 30 }, (_, i) => `after-${i}`);
    const produced = await samsa(['produce', TOPIC, '--acks', 'all', ...viaBroker1], `${after.join('\n')}\n`);
    expect(produced).toMatchObject({ code: 0, stderr: `produced 30 records to ${TOPIC}\n` });

    const report = await samsa(['cluster', '--json', ...viaBroker1]);
    expect(report.code).toBe(0);
    const brokers = (JSON.parse(report.stdout) as { brokers: Array<{ id: number }> }).brokers.map((b) => b.id);
    expect(brokers).toEqual(expect.arrayContaining([2, 3]));

    const listed = await samsa(['topic', 'list', ...viaBroker1]);
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout.split('\n')).toContain(TOPIC);

    const consumed = await samsa(['consume', TOPIC, '--from-beginning', '--exit-at-end', '--json', ...viaBroker1]);
    expect(consumed.code).toBe(0);
    expect(values(consumed.stdout)).toEqual(expect.arrayContaining([...after, 'probe']));

    const member = await samsa(['consume', TOPIC, '--group', 'after-crash', '--from-beginning', '--exit-at-end', '--json', ...viaBroker1]);
    expect(member.code).toBe(0);
    expect(values(member.stdout)).toEqual(expect.arrayContaining(after));

    // The followers started before the kill: a partition leader (and maybe the group's coordinator) died under them; they looked the leaders up again.
    for (const [name, handle] of [['the follower', follower], ['the group member', groupFollower]] as const) {
      await waitFor(`${name} printed every record produced after the kill`, () => after.every((value) => handle.output().includes(`"value":"${value}"`)), 30_000);
      expect(handle.child.exitCode).toBeNull();
      handle.child.kill('SIGINT');
      expect(await handle.exited).toBe(0);
    }
  });
});
