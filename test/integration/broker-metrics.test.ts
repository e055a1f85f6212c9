/**
 * Broker /metrics with real processes (a coordinator, 3 brokers, kafkajs): the text parses
 * strictly; after a produce and a group's consume it shows the topic's messages in, Produce and
 * Fetch request counts, leader and partition counts, the group's lag once more records arrive;
 * after a follower is SIGKILLed its leader reports an under-replicated partition.
 */
import { Kafka, logLevel } from 'kafkajs';
import { BrokerHandle, startCluster, TestCluster } from '../helpers/cluster';
import { kill, stopAll, waitFor } from '../helpers/processes';
import { createTopicWith, produceWith } from '../helpers/kafkajs';
import { Exposition, parseExposition, sample, sumOf } from '../../shared/metrics/prometheus-text';

jest.setTimeout(120_000);

const TOPIC = 'metrics-orders';
const GROUP = 'metrics-group';
let cluster: TestCluster;
let kafka: Kafka;

beforeAll(async () => {
  // startBroker gives every broker --metrics-port 0 (a free port), logged in broker.ready.
  cluster = await startCluster({ brokers: 3, brokerArgs: ['--group-initial-rebalance-delay-ms', '0'] });
  kafka = new Kafka({ brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`), clientId: 'metrics-test', logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await stopAll();
});

function metricsUrl(broker: BrokerHandle): string {
  const match = /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(broker.process.output());
  if (match === null) throw new Error(`broker ${broker.id} logged no metrics url`);
  return match[1]!;
}

async function scrape(broker: BrokerHandle): Promise<Exposition> {
  const response = await fetch(metricsUrl(broker), { signal: AbortSignal.timeout(5000) });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await response.text());
}

/** A metric summed over the brokers (each counts only its own traffic), with exactly these labels. */
async function total(brokers: BrokerHandle[], name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const broker of brokers) sum += sample(await scrape(broker), name, labels) ?? 0;
  return sum;
}

/** Summed over the brokers and over every series whose labels include these (all versions of an API). */
async function totalOver(brokers: BrokerHandle[], name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const broker of brokers) sum += sumOf(await scrape(broker), name, labels);
  return sum;
}

test('produce and a group consume show up in Kafka-named metrics; a dead follower makes its partition under-replicated', async () => {
  await createTopicWith(kafka, TOPIC, 1, 3);
  await produceWith(kafka, TOPIC, Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })));
  const all = cluster.brokers;

  await waitFor('messages in for the topic', async () => (await total(all, 'kafka_server_brokertopicmetrics_messagesin_total', { topic: TOPIC })) === 10, 10_000);
  expect(await total(all, 'kafka_server_brokertopicmetrics_bytesin_total', { topic: TOPIC })).toBeGreaterThan(0);
  expect(await totalOver(all, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' })).toBeGreaterThanOrEqual(1);
  expect(await total(all, 'kafka_network_requestmetrics_totaltimems_count', { request: 'Produce' })).toBeGreaterThanOrEqual(1);
  // Followers replicate with Fetch: counted as FetchFollower on the leader.
  await waitFor('follower fetches counted', async () => (await total(all, 'kafka_network_requestmetrics_totaltimems_count', { request: 'FetchFollower' })) > 0, 10_000);
  expect(await total(all, 'kafka_server_replicamanager_partitioncount', {})).toBeGreaterThanOrEqual(3);
  expect(await total(all, 'kafka_server_replicamanager_leadercount', {})).toBeGreaterThanOrEqual(1);
  expect(await total(all, 'kafka_controller_kafkacontroller_activecontrollercount', {})).toBe(1);
  expect(await total(all, 'kafka_server_replicamanager_underreplicatedpartitions', {})).toBe(0);

  // A group reads the 10 records and commits; 5 more arrive: its lag is 5.
  const consumer = kafka.consumer({ groupId: GROUP });
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({ eachMessage: async () => void seen++ });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor('the group committed offset 10', async () => {
        const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
        return seen === 10 && committed?.partitions[0]?.offset === '10';
      }, 30_000);
    } finally {
      await admin.disconnect();
    }
  } finally {
    await consumer.disconnect();
  }
  expect(await totalOver(all, 'kafka_network_requestmetrics_requests_total', { request: 'FetchConsumer' })).toBeGreaterThanOrEqual(1);
  expect(await totalOver(all, 'kafka_network_requestmetrics_requests_total', { request: 'Fetch' })).toBeGreaterThanOrEqual(1);
  expect(await total(all, 'kafka_server_brokertopicmetrics_bytesout_total', { topic: TOPIC })).toBeGreaterThan(0);
  await produceWith(kafka, TOPIC, Array.from({ length: 5 }, (_, i) => ({ value: `w${i}`, partition: 0 })));
  const lagLabels = { consumergroup: GROUP, topic: TOPIC, partition: '0' };
  await waitFor('group lag 5 on its coordinator', async () => (await total(all, 'kafka_consumergroup_lag', lagLabels)) === 5, 15_000);
  expect(await total(all, 'kafka_consumergroup_current_offset', lagLabels)).toBe(10);

  // SIGKILL a follower: the leader's partition drops to 2 of 3 in sync.
  const admin = kafka.admin();
  await admin.connect();
  let leaderId: number;
  let followerId: number;
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    const partition = metadata.topics[0]!.partitions[0]!;
    leaderId = partition.leader;
    followerId = partition.replicas.find((id) => id !== leaderId)!;
  } finally {
    await admin.disconnect();
  }
  const leader = all.find((b) => b.id === leaderId)!;
  await kill(all.find((b) => b.id === followerId)!.process, 'SIGKILL');
  await waitFor('under-replicated on the leader', async () => (sample(await scrape(leader), 'kafka_server_replicamanager_underreplicatedpartitions', {}) ?? 0) >= 1, 30_000);
});
