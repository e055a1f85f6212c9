/**
 * The Kafka-facing CLI (topic, produce, consume, cluster) against a real coordinator and two
 * brokers: the options the end-to-end test does not exercise (--key, --header, --partition,
 * --acks, gzip, --offset, --timeout-ms, following until SIGINT, SAMSA_BOOTSTRAP), key
 * placement identical to kafkajs's default (Java-compatible murmur2) partitioner, the offline
 * count in `samsa cluster`, and one-line `<KAFKA_ERROR_NAME>: <detail>` errors with exit 1.
 */
import { execFile } from 'child_process';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startCluster, TestCluster } from '../helpers/cluster';
import { freePort, kill, SAMSA_BIN, spawnSamsa, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function samsa(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SAMSA_BIN, ...args], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, SAMSA_LOG_PRETTY: 'false', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

interface Consumed {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

const parseJsonLines = (text: string): Consumed[] => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Consumed);

let cluster: TestCluster;
let bootstrap: string[];

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2 });
  bootstrap = ['--bootstrap', cluster.bootstrap];
});
afterAll(async () => {
  await stopAll();
});

describe('samsa produce and consume', () => {
  beforeAll(async () => {
    expect(await samsa(['topic', 'create', 'opts', '--partitions', '4', '--replication-factor', '1', ...bootstrap])).toMatchObject({ code: 0 });
  });

  test('--key, repeatable --header and --partition; consume --partition --offset shows them', async () => {
    const produced = await samsa(['produce', 'opts', '--partition', '2', '--key', 'fixed', '--header', 'trace=abc', '--header', 'empty=', ...bootstrap], 'one\ntwo\nthree\n');
    expect(produced).toMatchObject({ code: 0, stderr: expect.stringContaining('produced 3 records to opts') });
    const consumed = await samsa(['consume', 'opts', '--partition', '2', '--offset', '1', '--max', '2', '--json', ...bootstrap]);
    expect(consumed.code).toBe(0);
    const records = parseJsonLines(consumed.stdout);
    expect(records.map((r) => [r.partition, r.offset, r.key, r.value])).toEqual([
      [2, 1, 'fixed', 'two'],
      [2, 2, 'fixed', 'three'],
    ]);
    expect(records[0]!.headers).toEqual({ trace: 'abc', empty: '' });
    expect(Math.abs(records[0]!.timestamp - Date.now())).toBeLessThan(60_000);
  });

  test('the plain output has partition, offset, ISO timestamp, key and value; --timeout-ms exits when idle', async () => {
    const started = Date.now();
    const consumed = await samsa(['consume', 'opts', '--partition', '2', '--offset', '0', '--timeout-ms', '1000', ...bootstrap]);
    expect(consumed.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const lines = consumed.stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(lines.map(([p, o, , k, v]) => [p, o, k, v])).toEqual([
      ['2', '0', 'fixed', 'one'],
      ['2', '1', 'fixed', 'two'],
      ['2', '2', 'fixed', 'three'],
    ]);
    expect(Number.isNaN(Date.parse(lines[0]![2]!))).toBe(false);
  });

  test('records without a key go round robin over the partitions; gzip and acks -1 and 0 work', async () => {
    expect(await samsa(['topic', 'create', 'rr', '--partitions', '4', '--replication-factor', '1', ...bootstrap])).toMatchObject({ code: 0 });
    expect((await samsa(['produce', 'rr', '--compression', 'gzip', '--acks', '-1', ...bootstrap], 'a\nb\nc\nd\ne\nf\ng\nh\n')).code).toBe(0);
    expect((await samsa(['produce', 'rr', '--acks', '0', '--partition', '0', ...bootstrap], 'fire-and-forget\n')).code).toBe(0);
    let records: Consumed[] = [];
    // acks=0 gets no answer: poll until the broker has appended it.
    await waitFor('all 9 records readable', async () => {
      records = parseJsonLines((await samsa(['consume', 'rr', '--from-beginning', '--max', '9', '--timeout-ms', '2000', '--json', ...bootstrap])).stdout);
      return records.length === 9;
    }, 15_000);
    const perPartition = new Map<number, number>();
    for (const r of records) if (r.value !== 'fire-and-forget') perPartition.set(r.partition, (perPartition.get(r.partition) ?? 0) + 1);
    expect([...perPartition.entries()].sort()).toEqual([[0, 2], [1, 2], [2, 2], [3, 2]]);
    expect(records.filter((r) => r.key === null)).toHaveLength(9);
    expect(records.find((r) => r.value === 'fire-and-forget')?.partition).toBe(0);
  });

  test('keyed records land on the same partitions as with kafkajs default (murmur2) partitioner', async () => {
    expect(await samsa(['topic', 'create', 'keys', '--partitions', '6', '--replication-factor', '1', ...bootstrap])).toMatchObject({ code: 0 });
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}-${'x'.repeat(i % 5)}`);
    expect((await samsa(['produce', 'keys', '--key-separator', ':', ...bootstrap], keys.map((k) => `${k}:samsa`).join('\n'))).code).toBe(0);
    const kafka = new Kafka({ clientId: 'cli-kafka-test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic: 'keys', acks: 1, messages: keys.map((key) => ({ key, value: 'kafkajs' })) });
    } finally {
      await producer.disconnect();
    }
    const records = parseJsonLines((await samsa(['consume', 'keys', '--from-beginning', '--max', String(keys.length * 2), '--json', ...bootstrap])).stdout);
    expect(records).toHaveLength(keys.length * 2);
    const placement = (value: string) => new Map(records.filter((r) => r.value === value).map((r) => [r.key, r.partition]));
    expect(placement('samsa')).toEqual(placement('kafkajs'));
    expect(new Set(placement('samsa').values()).size).toBeGreaterThan(3); // the keys really spread
  });

  test('without --max, consume follows new records until SIGINT and exits 0', async () => {
    expect(await samsa(['topic', 'create', 'follow', '--partitions', '2', '--replication-factor', '1', ...bootstrap])).toMatchObject({ code: 0 });
    const follower = spawnSamsa(['consume', 'follow', '--json', ...bootstrap]);
    // The consumer starts at the end: wait until it has looked up its positions (a Fetch is in flight), then produce.
    await waitFor('the consumer is polling', async () => {
      expect((await samsa(['produce', 'follow', '--key', 'probe', ...bootstrap], 'probe\n')).code).toBe(0);
      return follower.output().includes('"value":"probe"');
    }, 15_000);
    expect((await samsa(['produce', 'follow', '--key-separator', '=', ...bootstrap], 'a=1\nb=2\n')).code).toBe(0);
    await waitFor('followed records', () => follower.output().includes('"value":"1"') && follower.output().includes('"value":"2"'), 10_000);
    follower.child.kill('SIGINT');
    expect(await follower.exited).toBe(0);
  });
});

describe('samsa cluster', () => {
  test('--json lists brokers and the controller; killing a broker makes its partitions offline', async () => {
    const before = JSON.parse((await samsa(['cluster', '--json', ...bootstrap])).stdout);
    expect(before.brokers.map((b: { id: number }) => b.id)).toEqual([1, 2]);
    expect([1, 2]).toContain(before.controller);
    expect(before.offline).toBe(0);
    expect(before.partitions.find((p: { topic: string }) => p.topic === 'opts')).toMatchObject({ replicas: [expect.any(Number)], isr: [expect.any(Number)] });

    expect(await samsa(['topic', 'create', 'spread', '--partitions', '4', '--replication-factor', '1', ...bootstrap])).toMatchObject({ code: 0 });
    const victim = cluster.brokers.find((b) => b.id !== before.controller)!;
    const survivor = cluster.brokers.find((b) => b.id === before.controller)!;
    const onVictim = JSON.parse((await samsa(['cluster', '--json', ...bootstrap])).stdout).partitions.filter((p: { leader: number }) => p.leader === victim.id).length;
    expect(onVictim).toBeGreaterThan(0);
    await kill(victim.process);
    const survivorBootstrap = ['--bootstrap', `127.0.0.1:${survivor.port}`];
    await waitFor('offline partitions reported', async () => {
      const view = JSON.parse((await samsa(['cluster', '--json', ...survivorBootstrap])).stdout);
      return view.brokers.length === 1 && view.offline === onVictim;
    }, 20_000);
    const text = await samsa(['cluster', ...survivorBootstrap]);
    expect(text.stdout).toContain(`Controller: broker ${survivor.id}`);
    expect(text.stdout).toContain(`offline: ${onVictim}`);
  });
});

describe('errors are one line <KAFKA_ERROR_NAME>: <detail> with exit 1', () => {
  let unreachable: string;
  beforeAll(async () => {
    unreachable = `127.0.0.1:${await freePort()}`;
  });

  // Uses the surviving broker 2 or 1 (whichever the previous test left): take the one still up.
  const live = (): string[] => ['--bootstrap', cluster.brokers.map((b) => `127.0.0.1:${b.port}`).join(',')];

  const cases: Array<[string, () => string[], RegExp]> = [
    ['no broker reachable', () => ['topic', 'list', '--bootstrap', unreachable], /^BROKER_NOT_AVAILABLE: could not reach 127\.0\.0\.1:\d+/],
    ['an existing topic', () => ['topic', 'create', 'opts', ...live()], /^TOPIC_ALREADY_EXISTS: opts/],
    ['zero partitions', () => ['topic', 'create', 'zero', '--partitions', '0', ...live()], /^INVALID_PARTITIONS: zero/],
    ['a config that is not name=value', () => ['topic', 'alter-config', 'opts', 'retention.ms', ...live()], /^INVALID_CONFIG: 'retention\.ms' is not name=value/],
    ['describing a missing topic', () => ['topic', 'describe', 'missing', ...live()], /^UNKNOWN_TOPIC_OR_PARTITION: missing/],
    ['deleting a missing topic', () => ['topic', 'delete', 'missing', ...live()], /^UNKNOWN_TOPIC_OR_PARTITION: missing/],
    ['a header that is not k=v', () => ['produce', 'opts', '--header', 'novalue', ...live()], /^INVALID_RECORD: header 'novalue' is not k=v/],
    ['producing to a partition out of range', () => ['produce', 'opts', '--partition', '9', ...live()], /^UNKNOWN_TOPIC_OR_PARTITION: opts-9/],
    ['--offset without --partition', () => ['consume', 'opts', '--offset', '3', ...live()], /^INVALID_REQUEST: --offset needs --partition/],
    ['consuming a partition out of range', () => ['consume', 'opts', '--partition', '7', '--max', '1', ...live()], /^UNKNOWN_TOPIC_OR_PARTITION: opts-7/],
  ];
  test.each(cases)('%s', async (_name, args, expected) => {
    const result = await samsa(args(), 'x\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('SAMSA_BOOTSTRAP is the default --bootstrap', async () => {
    const viaEnv = await samsa(['topic', 'list'], undefined, { SAMSA_BOOTSTRAP: live()[1]! });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout.split('\n')).toContain('opts');
    const bad = await samsa(['topic', 'list'], undefined, { SAMSA_BOOTSTRAP: unreachable });
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^BROKER_NOT_AVAILABLE/) });
  });
});
