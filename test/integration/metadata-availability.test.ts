/**
 * Metadata that keeps clients working, against real processes (a coordinator and 2 brokers):
 * - auto-creation answers at once (LEADER_NOT_AVAILABLE) and creates in a batch, at most
 *   autoCreateTopicsPerRequestMax per request; kafkajs's producer and kcat -P still create a new
 *   topic by producing to it;
 * - one offline topic (replication factor 1, its broker SIGKILLed) does not break kafkajs for
 *   other topics (listTopics, createTopics, a producer that also wrote to the offline topic),
 *   its own producers get a retriable error, and kcat -L shows its partition leaderless.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import { startCluster, TestCluster } from '../helpers/cluster';
import { kill, runCommand, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const AUTO_CREATE_MAX = 50;

let cluster: TestCluster;
let kafka: Kafka;
const connections: KafkaConnection[] = [];

const run = runCommand;

async function connect(port: number): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect('127.0.0.1', port, { requestTimeoutMs: 10_000 });
  connections.push(connection);
  return connection;
}

beforeAll(async () => {
  cluster = await startCluster({ brokers: 2, brokerArgs: ['--auto-create-topics-per-request-max', String(AUTO_CREATE_MAX)] });
  kafka = new Kafka({ clientId: 'availability', brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
});
afterAll(async () => {
  for (const connection of connections) connection.close();
  await stopAll();
});

describe('auto-creation', () => {
  test('one request naming many new topics is answered at once; creation is batched and bounded per request', async () => {
    const connection = await connect(cluster.brokers[0]!.port);
    const names = Array.from({ length: 3 * AUTO_CREATE_MAX }, (_, i) => `auto-${i}`);
    const started = Date.now();
    const answer = await connection.request(ApiKey.Metadata, 4, { topics: names.map((name) => ({ name })), allowAutoTopicCreation: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(answer.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual(names.map(() => KafkaError.LEADER_NOT_AVAILABLE));
    const existing = async (): Promise<string[]> => {
      const all = await connection.request(ApiKey.Metadata, 4, { topics: null, allowAutoTopicCreation: false });
      return all.topics.map((t: { name: string }) => t.name).filter((name: string) => name.startsWith('auto-'));
    };
    await waitFor('the first batch created', async () => (await existing()).length === AUTO_CREATE_MAX, 20_000);
    expect(new Set(await existing())).toEqual(new Set(names.slice(0, AUTO_CREATE_MAX)));
    // One batch: one topic.auto_created line for all of them, on the broker that was asked.
    expect(cluster.brokers[0]!.process.output().match(/"msg":"topic\.auto_created"/g)).toHaveLength(1);
    // Asking again creates the next ones.
    await connection.request(ApiKey.Metadata, 4, { topics: names.map((name) => ({ name })), allowAutoTopicCreation: true });
    await waitFor('the second batch created', async () => (await existing()).length === 2 * AUTO_CREATE_MAX, 20_000);
  });

  test("kafkajs's producer creates a topic by producing to it", async () => {
    // kafkajs's default retries (the first Metadata answers LEADER_NOT_AVAILABLE while the topic is created).
    const producer = new Kafka({ clientId: 'auto', brokers: [`127.0.0.1:${cluster.brokers[0]!.port}`], logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const [result] = await producer.send({ topic: 'auto-kafkajs', messages: [{ value: 'first' }] });
      expect(result!.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });

  test('kcat -P creates a topic by producing to it', async () => {
    const bootstrap = `127.0.0.1:${cluster.brokers[0]!.port}`;
    const produced = await run('kcat', ['-b', bootstrap, '-P', '-t', 'auto-kcat'], 'one\ntwo\n');
    expect(produced.code).toBe(0);
    const consumed = await run('kcat', ['-b', bootstrap, '-C', '-t', 'auto-kcat', '-e', '-o', 'beginning', '-q']);
    expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(['one', 'two']);
  });
});

interface KafkaJsError {
  name: string;
  type?: string;
  retriable?: boolean;
  cause?: KafkaJsError;
  originalError?: KafkaJsError;
}

/** The error and every error it wraps (bounded: kafkajs nests a few levels). */
function causes(error: KafkaJsError): KafkaJsError[] {
  const chain: KafkaJsError[] = [];
  const queue = [error];
  while (queue.length > 0 && chain.length < 20) {
    const next = queue.shift()!;
    chain.push(next);
    for (const inner of [next.cause, next.originalError]) if (inner !== undefined && !chain.includes(inner)) queue.push(inner);
  }
  return chain;
}

describe('one offline topic', () => {
  test('kafkajs keeps working for other topics, its producers get a retriable error, kcat shows it leaderless', async () => {
    const [first, second] = cluster.brokers as [(typeof cluster.brokers)[0], (typeof cluster.brokers)[0]];
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'offline', replicaAssignment: [{ partition: 0, replicas: [second.id] }] },
        { topic: 'healthy', replicaAssignment: [{ partition: 0, replicas: [first.id] }] },
      ],
    });
    // A producer that writes to both: after the kill its metadata requests name both topics.
    const both = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await both.connect();
    await both.send({ topic: 'offline', messages: [{ value: 'before' }] });
    await both.send({ topic: 'healthy', messages: [{ value: 'before' }] });

    await kill(second.process);
    const probe = await connect(first.port);
    await waitFor('the offline topic leaderless', async () => {
      const all = await probe.request(ApiKey.Metadata, 4, { topics: null, allowAutoTopicCreation: false });
      return all.topics.find((t: { name: string }) => t.name === 'offline')?.partitions[0]?.leaderId === -1;
    }, 30_000);

    // Admin calls about everything or about other topics.
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['offline', 'healthy']));
    expect(await admin.createTopics({ topics: [{ topic: 'created-meanwhile', replicaAssignment: [{ partition: 0, replicas: [first.id] }] }] })).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: ['healthy', 'offline'] });
    expect(metadata.topics.find((t) => t.name === 'offline')!.partitions[0]!.leader).toBe(-1);

    // The producer that also wrote to the offline topic still produces to the healthy one.
    const [sent] = await both.send({ topic: 'healthy', messages: [{ value: 'during' }] });
    expect(sent!.errorCode).toBe(0);

    // A producer of the offline topic gets a retriable error (after its retries).
    const lonely = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 1, initialRetryTime: 100 } });
    await lonely.connect();
    const failure = await lonely.send({ topic: 'offline', messages: [{ value: 'during' }] }).then(() => null, (error: KafkaJsError) => error);
    expect(failure).not.toBeNull();
    // kafkajs wraps the last error once its retries are spent; what it retried on is the cause.
    expect(causes(failure!).find((e) => e.retriable === true && e.type === 'LEADER_NOT_AVAILABLE')).toBeDefined();
    await lonely.disconnect();
    await both.disconnect();
    await admin.disconnect();

    // librdkafka: the whole listing works and shows the partition without a leader.
    const bootstrap = `127.0.0.1:${first.port}`;
    const listing = await run('kcat', ['-b', bootstrap, '-L', '-m', '5']);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/topic "offline" with 1 partitions:\s*\n\s*partition 0, leader -1/);
    expect(listing.stdout).toMatch(/topic "healthy" with 1 partitions:\s*\n\s*partition 0, leader 1,/);
    const one = await run('kcat', ['-b', bootstrap, '-L', '-t', 'offline', '-m', '5']);
    expect(one.stdout).toMatch(/partition 0, leader -1/);
    // And kcat still produces to the healthy topic meanwhile.
    expect((await run('kcat', ['-b', bootstrap, '-P', '-t', 'healthy'], 'from-kcat\n')).code).toBe(0);
  });
});
