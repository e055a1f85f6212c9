/**
 * Poison batches against a real broker: each batch of test/helpers/poison-batches.ts (valid
 * CRC, bad inside) is sent with the repo's Kafka client and must be refused with its error
 * code, never acknowledged; the good batches sent before and after stay readable, in order
 * and at their offsets, by kcat (librdkafka) and by `samsa consume`. Before the records were
 * validated, most of these were acknowledged and then every consumer of the partition failed.
 */
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { buildRecordBatch, buildRecordBatchAsync } from '../../shared/kafka/record-batch';
import { startCluster, TestCluster } from '../helpers/cluster';
import { POISON_BATCHES } from '../helpers/poison-batches';
import { runCommand, SAMSA_BIN, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(120_000);

const TOPIC = 'poison';

const run = runCommand;

let cluster: TestCluster;
let connection: KafkaConnection;

beforeAll(async () => {
  cluster = await startCluster({ brokers: 1 });
  connection = await KafkaConnection.connect('127.0.0.1', cluster.brokers[0]!.port, { requestTimeoutMs: 10_000 });
  const created = await connection.request(ApiKey.CreateTopics, 3, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  expect(created.topics[0].errorCode).toBe(0);
});
afterAll(async () => {
  connection?.close();
  await stopAll();
});

async function produce(records: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
  const response = await connection.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
  return response.responses[0].partitionResponses[0];
}

const good = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ key: Buffer.from(`k${from + i}`), value: Buffer.from(`good-${from + i}`) }));

describe('poison batches', () => {
  test('each is refused with its code; the good records around them stay readable by kcat and samsa consume', async () => {
    // The first produce waits for the new partition's leader (NOT_LEADER_OR_FOLLOWER until then, nothing appended).
    const first = await waitFor('the partition leader takes a produce', async () => {
      const answer = await produce(buildRecordBatch(good(0, 3)));
      return answer.errorCode === 0 ? answer : null;
    });
    expect(first.baseOffset).toBe(0n);
    const answers: Array<[string, number]> = [];
    for (const poison of POISON_BATCHES) answers.push([poison.name, (await produce(Buffer.from(poison.batch))).errorCode]);
    expect(answers).toEqual(POISON_BATCHES.map((p) => [p.name, p.code]));
    expect(await produce(await buildRecordBatchAsync(good(3, 6), { compression: 'zstd' }))).toMatchObject({ errorCode: 0, baseOffset: 3n });

    const expected = Array.from({ length: 6 }, (_, i) => `${i} k${i} good-${i}`);
    const kcat = await run('kcat', ['-b', cluster.bootstrap, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k %s\\n']);
    expect({ code: kcat.code, stderr: kcat.stderr }).toEqual({ code: 0, stderr: '' });
    expect(kcat.stdout.split('\n').filter(Boolean)).toEqual(expected);

    const samsa = await run(process.execPath, [SAMSA_BIN, 'consume', TOPIC, '--from-beginning', '--timeout-ms', '1500', '--json', '--bootstrap', cluster.bootstrap]);
    expect(samsa.code).toBe(0);
    const records = samsa.stdout.trim().split('\n').map((line) => JSON.parse(line) as { offset: number; key: string; value: string });
    expect(records.map((r) => `${r.offset} ${r.key} ${r.value}`)).toEqual(expected);
  });
});
