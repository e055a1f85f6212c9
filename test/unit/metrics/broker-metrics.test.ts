/**
 * The broker's and the coordinator's Prometheus text: Kafka's names, the counters the hooks feed,
 * and gauges computed from their sources when scraped. The text is parsed line by line against
 * the exposition format (every sample belongs to a declared family).
 */
import { BrokerMetrics, LocalPartition } from '../../../broker/metrics/broker-metrics';
import { coordinatorMetrics } from '../../../coordinator/metrics';
import { ApiKey } from '../../../shared/kafka/api-keys';
import { KafkaError } from '../../../shared/kafka/errors';
import { parseExposition, sample } from '../../../shared/metrics/prometheus-text';

function partition(topic: string, index: number, leader: boolean, isr: number[], end: number): LocalPartition {
  return { topic, partition: index, isLeader: leader, replicas: [1, 2, 3], isr, highWatermark: end, log: { sizeInBytes: end * 100, logEndOffset: end, logStartOffset: 0 } };
}

describe('BrokerMetrics', () => {
  test('hooks feed per-topic and total counters; requests, latency and errors per API', async () => {
    const metrics = new BrokerMetrics();
    metrics.produced('orders', 10, 1000);
    metrics.produced('orders', 5, 500);
    metrics.produced('audit', 1, 70);
    metrics.fetched('orders', 300, false);
    metrics.fetched('orders', 900, true);
    const started = metrics.now();
    metrics.requestDone(ApiKey.Produce, 9, {}, { responses: [{ partitionResponses: [{ errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER }] }] }, started);
    metrics.requestDone(ApiKey.Fetch, 12, { replicaId: -1 }, { errorCode: 0, responses: [] }, started);
    metrics.requestDone(ApiKey.Fetch, 12, { replicaId: 2 }, { errorCode: 0, responses: [] }, started);
    const text = parseExposition(await metrics.text());
    expect(sample(text, 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'orders' })).toBe(15);
    expect(sample(text, 'kafka_server_brokertopicmetrics_messagesin_total', {})).toBe(16);
    expect(sample(text, 'kafka_server_brokertopicmetrics_bytesin_total', { topic: 'orders' })).toBe(1500);
    expect(sample(text, 'kafka_server_brokertopicmetrics_bytesout_total', {})).toBe(300);
    expect(sample(text, 'kafka_server_brokertopicmetrics_replicationbytesout_total', { topic: 'orders' })).toBe(900);
    expect(sample(text, 'kafka_network_requestmetrics_requests_total', { request: 'Produce', version: '9' })).toBe(1);
    expect(sample(text, 'kafka_network_requestmetrics_requests_total', { request: 'Fetch', version: '12' })).toBe(2);
    expect(sample(text, 'kafka_network_requestmetrics_requests_total', { request: 'FetchConsumer', version: '12' })).toBe(1);
    expect(sample(text, 'kafka_network_requestmetrics_requests_total', { request: 'FetchFollower', version: '12' })).toBe(1);
    expect(sample(text, 'kafka_network_requestmetrics_totaltimems_count', { request: 'Fetch' })).toBe(2);
    expect(sample(text, 'kafka_network_requestmetrics_totaltimems', { request: 'Produce', quantile: '0.99' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'kafka_network_requestmetrics_errors_total', { request: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER' })).toBe(1);
    expect(sample(text, 'kafka_server_replicamanager_isrshrinks_total', {})).toBe(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds', {})).toBeGreaterThanOrEqual(0);
  });

  test('gauges come from their sources at scrape time', async () => {
    const metrics = new BrokerMetrics();
    let partitions = [partition('t', 0, true, [1, 2, 3], 10), partition('t', 1, true, [1], 4), partition('t', 2, false, [2, 1], 7)];
    metrics.attach({
      brokerId: 1,
      partitions: () => partitions,
      minInsyncReplicas: () => 2,
      cluster: () => ({ controllerId: 1, brokers: [{ id: 1, host: 'h', port: 1, rack: null }], states: new Map([['t/0', { state: { leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: 1 }, version: 0 }], ['t/3', { state: { leader: 3, leaderEpoch: 0, isr: [3], controllerEpoch: 1 }, version: 0 }]]) }),
      purgatorySizes: () => new Map([['Produce', 2], ['Fetch', 5], ['Rebalance', 0]]),
      committedOffsets: () => [{ group: 'g', topic: 't', partition: 0, offset: 3 }],
      clientSoftware: () => [{ name: 'kafkajs', version: '2.2.4', open: 2, total: 3 }],
    });
    let text = parseExposition(await metrics.text());
    expect(sample(text, 'kafka_server_replicamanager_partitioncount', {})).toBe(3);
    expect(sample(text, 'kafka_server_replicamanager_leadercount', {})).toBe(2);
    expect(sample(text, 'kafka_server_replicamanager_underreplicatedpartitions', {})).toBe(1);
    expect(sample(text, 'kafka_server_replicamanager_underminisrpartitioncount', {})).toBe(1);
    expect(sample(text, 'kafka_controller_kafkacontroller_activecontrollercount', {})).toBe(1);
    expect(sample(text, 'kafka_controller_kafkacontroller_offlinepartitionscount', {})).toBe(1);
    expect(sample(text, 'kafka_log_log_size', { topic: 't', partition: '2' })).toBe(700);
    expect(sample(text, 'kafka_log_log_logendoffset', { topic: 't', partition: '0' })).toBe(10);
    expect(sample(text, 'kafka_server_delayedoperationpurgatory_purgatorysize', { delayedOperation: 'Fetch' })).toBe(5);
    expect(sample(text, 'kafka_consumergroup_lag', { consumergroup: 'g', topic: 't', partition: '0' })).toBe(7);
    expect(sample(text, 'kafka_server_socket_server_metrics_connections', { clientSoftwareName: 'kafkajs', clientSoftwareVersion: '2.2.4' })).toBe(2);
    // A partition gone from this broker is gone from the per-partition series.
    partitions = partitions.slice(0, 1);
    text = parseExposition(await metrics.text());
    expect(sample(text, 'kafka_log_log_size', { topic: 't', partition: '2' })).toBeUndefined();
    expect(sample(text, 'kafka_server_replicamanager_underreplicatedpartitions', {})).toBe(0);
  });
});

test('coordinator metrics keep their names and read one stats snapshot per scrape', async () => {
  let calls = 0;
  const latency = { min: 1, avg: 2, max: 3, count: 4 };
  const { scrape } = coordinatorMetrics(() => {
    calls++;
    return { version: 'x', serverState: 'standalone', znodeCount: 7, ephemeralsCount: 1, watchCount: 2, sessions: 3, connections: 3, outstandingRequests: 0, lastZxid: 99, approximateDataSize: 10, requestLatencyMs: latency, fsyncLatencyMs: latency, store: 'memory', uptimeMs: 5 } as never;
  });
  const before = calls;
  const text = parseExposition(await scrape());
  expect(calls - before).toBe(1);
  expect(sample(text, 'samsa_coordinator_znodes', {})).toBe(7);
  expect(sample(text, 'samsa_coordinator_last_zxid', {})).toBe(99);
  expect(sample(text, 'samsa_coordinator_fsync_latency_ms_max', {})).toBe(3);
  expect(sample(text, 'samsa_coordinator_request_latency_ms_count', {})).toBe(4);
  expect(text.types.get('samsa_coordinator_request_latency_ms_count')).toBe('counter');
  expect(text.types.get('samsa_coordinator_znodes')).toBe('gauge');
});
