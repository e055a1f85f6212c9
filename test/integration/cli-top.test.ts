/**
 * `samsa top` against real processes (a coordinator, 3 brokers, a kafkajs producer): while
 * records flow, its frames show the topic with records/s > 0 (text, on a terminal and --json); a broker
 * SIGKILLed mid-run is shown DOWN (or GONE once its registration ends) and frames keep coming
 * until Ctrl-C, which exits 0; a coordinator where nothing listens fails at once with one line.
 */
import { Kafka, logLevel } from 'kafkajs';
import { startCluster, TestCluster } from '../helpers/cluster';
import { createTopicWith, produceContinuously } from '../helpers/kafkajs';
import { freePort, kill, runCommand, SAMSA_BIN, spawnSamsa, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const TOPIC = 'top-orders';
let cluster: TestCluster;
let kafka: Kafka;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 3 });
  kafka = new Kafka({ brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), clientId: 'top-test', logLevel: logLevel.NOTHING });
  await createTopicWith(kafka, TOPIC, 3, 2);
});
afterAll(async () => {
  await stopAll();
});


/** The frames of a text run: each starts with its header line. */
function frames(output: string): string[] {
  return output.split(/^(?=samsa top {2})/m).filter((frame) => frame.startsWith('samsa top'));
}

/** records/s in `frame`'s row for `topic` (the topic table's first number), or null. */
function topicRecordsPerSec(frame: string, topic: string): number | null {
  const match = new RegExp(`^${topic} +([\\d,.]+) `, 'm').exec(frame);
  return match === null ? null : Number(match[1]!.replace(/,/g, ''));
}

test('while records flow, every frame lists the three brokers and the topic with records/s > 0 (text, on a terminal, --json)', async () => {
  const producer = produceContinuously(kafka, TOPIC);
  try {
    await waitFor('records produced', () => producer.sent() > 0, 20_000);
    const text = await runCommand(process.execPath, [SAMSA_BIN, 'top', '--iterations', '3', '--interval', '0.5', '--coordinator', cluster.coordinatorUrl], undefined, { timeoutMs: 30_000 });
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('\x1b['); // not a terminal: plain successive frames
    const shown = frames(text.stdout);
    expect(shown).toHaveLength(3);
    for (const frame of shown) {
      expect(frame).toContain('Brokers: 3 up of 3');
      expect(frame).toMatch(/under-replicated: 0 {2}offline: 0/);
      for (const id of [1, 2, 3]) expect(frame).toMatch(new RegExp(`^ +${id} +up `, 'm'));
    }
    expect(shown.some((frame) => (topicRecordsPerSec(frame, TOPIC) ?? 0) > 0)).toBe(true);

    // On a terminal (util-linux `script` gives it one): each frame clears the screen first.
    const command = [process.execPath, SAMSA_BIN, 'top', '--iterations', '2', '--interval', '0.5', '--coordinator', cluster.coordinatorUrl].map((word) => `'${word}'`).join(' ');
    const tty = await runCommand('script', ['-qec', command, '/dev/null'], undefined, { timeoutMs: 30_000 });
    expect(tty.code).toBe(0);
    expect(tty.stdout.split('\x1b[H\x1b[2J').map((frame) => frame.replace(/\r/g, ''))).toEqual(['', expect.stringMatching(/^samsa top /), expect.stringMatching(/^samsa top /)]);

    const json = await runCommand(process.execPath, [SAMSA_BIN, 'top', '--iterations', '2', '--interval', '0.5', '--json', '--coordinator', cluster.coordinatorUrl], undefined, { timeoutMs: 30_000 });
    expect(json.code).toBe(0);
    const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    for (const frame of lines) {
      expect(frame.brokers.map((b: { id: number; status: string }) => `${b.id}:${b.status}`)).toEqual(['1:up', '2:up', '3:up']);
      expect(frame.controller).toEqual(expect.any(Number));
    }
    const topic = lines.flatMap((frame) => frame.topics).find((t: { name: string; recordsInPerSec: number }) => t.name === TOPIC && t.recordsInPerSec > 0);
    expect(topic).toMatchObject({ bytesInPerSec: expect.any(Number) });
    expect(topic.bytesInPerSec).toBeGreaterThan(0);
  } finally {
    expect(await producer.stop()).toBeGreaterThan(0);
  }
});

test('a broker killed mid-run is shown down (or gone) and frames keep coming; Ctrl-C exits 0', async () => {
  const top = spawnSamsa(['top', '--interval', '0.5', '--coordinator', cluster.coordinatorUrl]);
  await waitFor('a first frame with broker 3 up', () => frames(top.output()).some((frame) => /^ +3 +up /m.test(frame)), 20_000);
  await kill(cluster.brokers[2]!.process);
  const down = await waitFor('broker 3 shown DOWN or GONE', () => frames(top.output()).findIndex((frame) => /^ +3 +(DOWN|GONE) /m.test(frame)) + 1, 20_000);
  await waitFor('two more frames after that', () => frames(top.output()).length >= down + 2, 20_000);
  expect(top.child.exitCode).toBeNull();
  const after = frames(top.output()).slice(down - 1);
  for (const frame of after) {
    expect(frame).toMatch(/^ +3 +(DOWN|GONE) /m);
    expect(frame).toContain('Brokers: 2 up of 3');
    expect(frame).toMatch(/^ +1 +up /m);
  }
  process.kill(top.pid, 'SIGINT');
  expect(await top.exited).toBe(0);
});

test('a coordinator where nothing listens: one line naming it, exit 1, at once', async () => {
  const url = `ws://127.0.0.1:${await freePort()}`;
  const started = Date.now();
  const result = await runCommand(process.execPath, [SAMSA_BIN, 'top', '--iterations', '1', '--coordinator', url], undefined, { timeoutMs: 20_000 });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`COORDINATOR_NOT_AVAILABLE: coordinator ${url}`)]);
  expect(Date.now() - started).toBeLessThan(5000);
});
