/**
 * Log compaction end to end with real processes: a 1-broker cluster whose cleaner runs every
 * 200 ms, topics created with `samsa topic create --config cleanup.policy=compact` and 1 KiB
 * segments, values produced with kafkajs (uncompressed and gzip) and `samsa produce
 * --compression zstd`, read back from the beginning with kcat (librdkafka). After the cleaner
 * ran (its log.compacted line), every key's latest value is there, each key appears once below
 * the cleaner's checkpoint, offsets increase with gaps; the same after a SIGKILL and restart;
 * a record without a key is refused with INVALID_RECORD.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CompressionTypes, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { startBroker, startCluster, TestCluster } from '../helpers/cluster';
import { kill, runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const KEYS = 5;
const ROUNDS = 60;
const BROKER_ARGS = ['--retention-check-interval-ms', '200'];

const samsa = (args: string[], input?: string) => runCommand(process.execPath, [SAMSA_BIN, ...args], input);

interface Row {
  offset: number;
  key: string;
  value: string;
}

let cluster: TestCluster;
let producer: Producer;

async function createCompacted(topic: string): Promise<void> {
  const created = await samsa([
    'topic', 'create', topic, '--partitions', '1', '--replication-factor', '1',
    '--config', 'cleanup.policy=compact', '--config', 'segment.bytes=1024', '--config', 'min.cleanable.dirty.ratio=0.01',
    '--bootstrap', cluster.bootstrap,
  ]);
  expect(created).toMatchObject({ code: 0 });
}

/** Every record from the beginning, with kcat (a real client: gaps in offsets are normal for it). */
async function readAll(topic: string, timeoutMs = 30_000): Promise<Row[]> {
  const result = await runCommand('kcat', ['-b', cluster.bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\t%k\t%s\n'], undefined, { timeoutMs });
  expect(result.code).toBe(0);
  return result.stdout.split('\n').filter(Boolean).map((line) => {
    const [offset, key, value] = line.split('\t');
    return { offset: Number(offset), key: key!, value: value! };
  });
}

/** The directory of the topic's partition 0 on the (only) broker. */
function partitionDir(topic: string): string {
  return path.join(cluster.brokers[0]!.dataDir, `${topic}-0`);
}

/** The broker's output lines that `keep` accepts. */
function brokerLines(keep: (line: string) => boolean): string[] {
  return cluster.brokers[0]!.process.output().split('\n').filter(keep);
}

function cleanerCheckpoint(topic: string): number {
  return Number(fs.readFileSync(path.join(partitionDir(topic), 'cleaner-offset-checkpoint'), 'utf8'));
}

/** The base offset of the partition's active segment: its last `<base>.log` file. */
function activeSegmentBase(topic: string): number {
  const names = fs.readdirSync(partitionDir(topic));
  return Math.max(...names.filter((name) => /^\d{20}\.log$/.test(name)).map((name) => Number(name.slice(0, 20))));
}

/**
 * Waits until the cleaner has nothing left to do: it compacted segments (log.compacted lines)
 * and its checkpoint is the active segment's base offset, the most a pass can clean. A pass
 * that stopped earlier is not enough: the cleaner only cleans segments already fsynced (the
 * recovery point), which follows the rolls in the background, so a later pass can still clean
 * more, and a log read before it would not be the log served after a restart. Returns that
 * checkpoint.
 */
async function waitForCompaction(topic: string): Promise<number> {
  return waitFor(`the cleaner through ${topic}`, () => {
    const lines = brokerLines((line) => line.includes(`"topic":"${topic}"`));
    if (!lines.some((line) => line.includes('"msg":"log.compacted"'))) return null;
    const checkpoint = cleanerCheckpoint(topic);
    return checkpoint === activeSegmentBase(topic) ? checkpoint : null;
  }, 30_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${brokerLines((line) => line.includes(topic) && /log\.(clean|compact|rolled)/.test(line)).slice(-8).join('\n')}`);
  }) as Promise<number>;
}

function expectCompacted(rows: Row[], checkpoint: number, lastValues: Map<string, string>): void {
  expect(checkpoint).toBeGreaterThan(0);
  const cleaned = rows.filter((row) => row.offset < checkpoint).map((row) => row.key);
  expect(new Set(cleaned).size).toBe(cleaned.length); // one record per key below the checkpoint
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.offset).toBeGreaterThan(rows[i - 1]!.offset);
  expect(rows.length).toBeLessThan(KEYS * ROUNDS);
  // Gaps: the superseded offsets are gone (before the first row, or between rows).
  expect(rows[0]!.offset > 0 || rows.some((row, i) => i > 0 && row.offset > rows[i - 1]!.offset + 1)).toBe(true);
  const latest = new Map(rows.map((row) => [row.key, row.value]));
  expect(latest).toEqual(lastValues);
}

function expected(prefix: string): Map<string, string> {
  return new Map(Array.from({ length: KEYS }, (_, k) => [`user-${k}`, `${prefix}-${ROUNDS - 1}-${k}`]));
}

async function produceWithKafkajs(topic: string, prefix: string, compression: CompressionTypes): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    await producer.send({ topic, acks: -1, compression, messages: Array.from({ length: KEYS }, (_, k) => ({ key: `user-${k}`, value: `${prefix}-${round}-${k}` })) });
  }
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 1, brokerArgs: BROKER_ARGS });
  const kafka = new Kafka({ clientId: 'compaction-test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await stopAll();
});

describe('compacted topics', () => {
  test('the cleaner keeps the latest value per key; the same after a SIGKILL and restart; keyless records are refused', async () => {
    await createCompacted('users');
    await produceWithKafkajs('users', 'plain', CompressionTypes.None);
    const checkpoint = await waitForCompaction('users');
    const rows = await readAll('users');
    expectCompacted(rows, checkpoint, expected('plain'));

    const keyless = await producer.send({ topic: 'users', acks: -1, messages: [{ key: 'user-0', value: 'fine' }, { value: 'no key' }] }).then(
      () => null,
      (error: unknown) => error as { type?: string; originalError?: { type?: string }; message: string },
    );
    expect(keyless).not.toBeNull();
    expect(`${keyless!.type ?? ''} ${keyless!.originalError?.type ?? ''} ${keyless!.message}`).toMatch(/INVALID_RECORD/);
    // The whole batch was refused: the keyed record in it is not there either.
    expect((await readAll('users')).some((row) => row.value === 'fine')).toBe(false);

    const broker = cluster.brokers[0]!;
    await kill(broker.process, 'SIGKILL');
    cluster.brokers[0] = await startBroker(cluster.coordinatorUrl, broker.id, { port: broker.port, dataDir: broker.dataDir, extraArgs: BROKER_ARGS });
    let after: Row[] = [];
    // Each attempt is short: a kcat started before the restarted broker leads again can wait out its
    // whole timeout, which must not use up the wait (it did once, on a loaded machine).
    await waitFor('the log served again after the restart', async () => {
      after = await readAll('users', 8000).catch(() => []);
      if (after.length !== rows.length) throw new Error(`read ${after.length} records, ${rows.length} before the restart; offsets ${JSON.stringify(after.map((row) => row.offset))} vs ${JSON.stringify(rows.map((row) => row.offset))}; broker: ${brokerLines((line) => /log\.(clean|compact|recover|open)|"level":[45]/.test(line)).slice(-10).join('\n')}`);
      return true;
    }, 60_000);
    expect(after).toEqual(rows);
  });

  test('gzip batches from kafkajs are compacted', async () => {
    await createCompacted('users-gzip');
    await produceWithKafkajs('users-gzip', 'gz', CompressionTypes.GZIP);
    const checkpoint = await waitForCompaction('users-gzip');
    expectCompacted(await readAll('users-gzip'), checkpoint, expected('gz'));
  });

  test('zstd batches from samsa produce are compacted', async () => {
    await createCompacted('users-zstd');
    // Several produce runs: each sends its lines in batches; values that do not compress away
    // (random hex) make the 1 KiB segments roll between batches.
    const want = new Map<string, string>();
    for (let part = 0; part < 4; part++) {
      const lines: string[] = [];
      for (let round = (part * ROUNDS) / 4; round < ((part + 1) * ROUNDS) / 4; round++) {
        for (let k = 0; k < KEYS; k++) {
          const value = `zs-${round}-${k}-${randomBytes(12).toString('hex')}`;
          want.set(`user-${k}`, value);
          lines.push(`user-${k}:${value}`);
        }
      }
      const produced = await samsa(['produce', 'users-zstd', '--key-separator', ':', '--compression', 'zstd', '--partition', '0', '--bootstrap', cluster.bootstrap], `${lines.join('\n')}\n`);
      expect(produced).toMatchObject({ code: 0 });
    }
    // One more batch, so the last one above is in a closed segment.
    const filler = `zs-filler-${randomBytes(600).toString('hex')}`;
    const tail = await samsa(['produce', 'users-zstd', '--key-separator', ':', '--compression', 'zstd', '--partition', '0', '--bootstrap', cluster.bootstrap], `user-0:${filler}\n`);
    expect(tail).toMatchObject({ code: 0 });
    want.set('user-0', filler);
    const checkpoint = await waitForCompaction('users-zstd');
    expectCompacted(await readAll('users-zstd'), checkpoint, want);
  });
});
