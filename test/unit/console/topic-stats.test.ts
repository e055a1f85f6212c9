/**
 * The topics pages' server-side figures: partition health against the live brokers, sizes from
 * the leaders' scrapes, totals that are null rather than partial, and the request bodies.
 */
import type { PartitionView, TopicView } from '../../../broker/context';
import { CliError } from '../../../cli/kafka-admin';
import { TopicAdminError } from '../../../cli/topic-admin';
import { parseConfigMap, parseNewTopic, toApiError } from '../../../console/server/routes/topics';
import { partitionHealth, partitionSize, summarizeTopic } from '../../../console/server/topic-stats';
import { ApiError } from '../../../console/server/types';
import { parseExposition } from '../../../shared/metrics/prometheus-text';

const p = (partition: number, leader: number, replicas: number[], isr: number[]): PartitionView => ({ partition, leader, leaderEpoch: 3, replicas, isr });

const scrape = (lines: string[]) => parseExposition(['# TYPE kafka_log_log_size gauge', ...lines, ''].join('\n'));

const latest = new Map([
  [1, scrape(['kafka_log_log_size{topic="orders",partition="0"} 1000', 'kafka_log_log_size{topic="orders",partition="1"} 7'])],
  [2, scrape(['kafka_log_log_size{topic="orders",partition="1"} 500', 'kafka_log_log_size{topic="orders",partition="2"} 30'])],
]);

test('partitionHealth: offline without a leader or with a dead one; under-replicated with a short ISR', () => {
  const live = new Set([1, 2]);
  expect(partitionHealth(p(0, 1, [1, 2, 3], [1, 2, 3]), live)).toEqual({ offline: false, underReplicated: false });
  expect(partitionHealth(p(0, 1, [1, 2, 3], [1, 2]), live)).toEqual({ offline: false, underReplicated: true });
  expect(partitionHealth(p(0, -1, [3], [3]), live)).toEqual({ offline: true, underReplicated: false });
  expect(partitionHealth(p(0, 3, [3], [3]), live)).toEqual({ offline: true, underReplicated: false });
});

test('partitionSize reads the leader\'s own sample, not a follower\'s', () => {
  expect(partitionSize(latest, 'orders', p(0, 1, [1, 2], [1, 2]))).toBe(1000);
  expect(partitionSize(latest, 'orders', p(1, 2, [1, 2], [1, 2]))).toBe(500);
  expect(partitionSize(latest, 'orders', p(2, 1, [1, 2], [1, 2]))).toBeNull(); // leader 1 has no sample for it
  expect(partitionSize(latest, 'orders', p(0, 3, [3], [3]))).toBeNull(); // no scrape of broker 3
  expect(partitionSize(latest, 'orders', p(0, -1, [1], [1]))).toBeNull();
});

test('summarizeTopic adds up sizes and records, null when any partition is unknown', () => {
  const topic: TopicView = { name: 'orders', topicId: 'x', markedForDeletion: false, partitions: [p(0, 1, [1, 2], [1, 2]), p(1, 2, [2, 1], [2])] };
  const offsets = new Map([
    ['orders/0', { earliest: 5, latest: 15 }],
    ['orders/1', { earliest: 0, latest: 3 }],
  ]);
  expect(summarizeTopic(topic, new Set([1, 2]), latest, offsets)).toEqual({
    name: 'orders',
    internal: false,
    markedForDeletion: false,
    partitions: 2,
    replicationFactor: 2,
    underReplicatedPartitions: 1,
    offlinePartitions: 0,
    sizeBytes: 1500,
    records: 13,
  });
  const partial = summarizeTopic(topic, new Set([1]), new Map([[1, latest.get(1)!]]), new Map([['orders/0', { earliest: 0, latest: 1 }]]));
  expect(partial).toMatchObject({ sizeBytes: null, records: null, offlinePartitions: 1 });
  expect(summarizeTopic({ ...topic, name: '__consumer_offsets' }, new Set([1, 2]), latest, offsets).internal).toBe(true);
});

function status(action: () => unknown): number {
  try {
    action();
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
  return 200;
}

test('parseNewTopic: defaults (-1) for left-out counts; 400 for bad ones', () => {
  expect(parseNewTopic({ name: ' orders ', partitions: 3, replicationFactor: '2', configs: { 'retention.ms': 60000 } })).toEqual({
    name: 'orders',
    partitions: 3,
    replicationFactor: 2,
    configs: [{ name: 'retention.ms', value: '60000' }],
  });
  expect(parseNewTopic({ name: 'x' })).toEqual({ name: 'x', partitions: -1, replicationFactor: -1, configs: [] });
  expect(status(() => parseNewTopic({ name: '' }))).toBe(400);
  expect(status(() => parseNewTopic({ name: 'x', partitions: 0 }))).toBe(400);
  expect(status(() => parseNewTopic({ name: 'x', partitions: 1.5 }))).toBe(400);
  expect(status(() => parseNewTopic({ name: 'x', replicationFactor: 'three' }))).toBe(400);
  expect(status(() => parseNewTopic({ name: 'x', configs: { a: null } }))).toBe(400);
  expect(status(() => parseNewTopic([]))).toBe(400);
});

test('parseConfigMap: null removes an override only where allowed', () => {
  expect([...parseConfigMap({ 'retention.ms': '100', 'cleanup.policy': null }, true)]).toEqual([
    ['retention.ms', '100'],
    ['cleanup.policy', null],
  ]);
  expect(status(() => parseConfigMap({ a: {} }, true))).toBe(400);
  expect(status(() => parseConfigMap('a=b', true))).toBe(400);
  expect(status(() => parseConfigMap({ ' ': 'x' }, true))).toBe(400);
});

test('toApiError: an unknown topic is 404, other Kafka refusals 400, an unreachable cluster 503', () => {
  const asApi = (error: unknown) => {
    const mapped = toApiError(error);
    return mapped instanceof ApiError ? { status: mapped.status, message: mapped.message } : mapped;
  };
  expect(asApi(new TopicAdminError(3, 'gone'))).toEqual({ status: 404, message: 'UNKNOWN_TOPIC_OR_PARTITION: gone' });
  expect(asApi(new TopicAdminError(36, 'orders', 'Topic already exists'))).toEqual({ status: 400, message: 'TOPIC_ALREADY_EXISTS: orders (Topic already exists)' });
  expect(asApi(new CliError('NOT_CONTROLLER: the cluster has no controller right now'))).toEqual({ status: 503, message: 'NOT_CONTROLLER: the cluster has no controller right now' });
  const bug = new TypeError('x');
  expect(toApiError(bug)).toBe(bug);
});
