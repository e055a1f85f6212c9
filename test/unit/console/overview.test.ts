import type { BrokerEndpoint, TopicView } from '../../../broker/context';
import type { ClusterSnapshot } from '../../../broker/cluster/metadata-cache';
import { buildOverview } from '../../../console/server/overview';
import { matchPattern } from '../../../console/server/router';
import { CLIENT_SOFTWARE_METRIC, clientSoftware } from '../../../console/server/clients';
import { parseExposition } from '../../../shared/metrics/prometheus-text';

const endpoint = (id: number, metricsUrl?: string): BrokerEndpoint => ({ id, host: '127.0.0.1', port: 9090 + id, rack: null, ...(metricsUrl === undefined ? {} : { metricsUrl }) });

function snapshot(brokers: BrokerEndpoint[], topics: Record<string, Array<{ leader: number; replicas: number[]; isr: number[] }>>, controllerId = 1): ClusterSnapshot {
  const views = new Map<string, TopicView>(
    Object.entries(topics).map(([name, partitions]) => [name, { name, partitions: partitions.map((p, partition) => ({ partition, leaderEpoch: 3, ...p })) } as unknown as TopicView]),
  );
  return {
    clusterId: 'c1',
    controllerId,
    brokers,
    topics: views,
    topicsById: new Map(),
    assignments: new Map(Object.keys(topics).map((name) => [name, { partitions: [], version: 0, topicId: `id-${name}` }])),
    states: new Map(),
    overrides: new Map(),
    pendingDeletions: new Set(['doomed']),
    deletionAcks: new Map(),
    shuttingDown: new Set(),
    preferredElection: null,
    controllerEpoch: 1,
    loaded: true,
  };
}

describe('buildOverview', () => {
  test('live brokers with their leader and replica counts, the controller, partition states', () => {
    const overview = buildOverview(
      snapshot([endpoint(1, 'http://127.0.0.1:7192/metrics'), endpoint(2)], {
        orders: [
          { leader: 1, replicas: [1, 2], isr: [1, 2] },
          { leader: 2, replicas: [2, 1], isr: [2] },
        ],
      }),
      new Map(),
    );
    expect(overview.brokers).toEqual([
      { id: 1, live: true, host: '127.0.0.1', port: 9091, metricsUrl: 'http://127.0.0.1:7192/metrics', controller: true, leaderCount: 1, replicaCount: 2 },
      { id: 2, live: true, host: '127.0.0.1', port: 9092, metricsUrl: null, controller: false, leaderCount: 1, replicaCount: 2 },
    ]);
    expect(overview.topics[0]).toMatchObject({ name: 'orders', topicId: 'id-orders', internal: false, markedForDeletion: false });
    expect(overview.topics[0]!.partitions.map((p) => [p.offline, p.underReplicated])).toEqual([[false, false], [false, true]]);
    expect(overview.counts).toEqual({ brokersLive: 2, brokersDead: 0, partitions: 2, offline: 0, underReplicated: 1 });
  });

  test('a broker seen earlier or named by an assignment but not registered is dead; a partition it still leads is offline', () => {
    const seen = new Map([[3, endpoint(3)]]);
    const overview = buildOverview(
      snapshot([endpoint(1)], {
        __consumer_offsets: [{ leader: 1, replicas: [1], isr: [1] }],
        doomed: [{ leader: 4, replicas: [4, 1], isr: [4, 1] }, { leader: -1, replicas: [3], isr: [] }],
      }, -1),
      seen,
    );
    expect(overview.brokers.map((b) => [b.id, b.live, b.host])).toEqual([[1, true, '127.0.0.1'], [3, false, '127.0.0.1'], [4, false, null]]);
    expect(overview.brokers.every((b) => !b.controller)).toBe(true);
    const doomed = overview.topics.find((t) => t.name === 'doomed')!;
    expect(doomed.markedForDeletion).toBe(true);
    // Led by dead broker 4: offline, not merely under-replicated; and no leader count for it.
    expect(doomed.partitions.map((p) => [p.offline, p.underReplicated])).toEqual([[true, false], [true, false]]);
    expect(overview.brokers.find((b) => b.id === 4)!.leaderCount).toBe(0);
    expect(overview.topics.find((t) => t.name === '__consumer_offsets')!.internal).toBe(true);
    expect(overview.counts).toEqual({ brokersLive: 1, brokersDead: 2, partitions: 3, offline: 2, underReplicated: 0 });
  });
});

describe('matchPattern', () => {
  test('literal parts, :params (percent-decoded) and a trailing *rest', () => {
    expect(matchPattern('/api/topics', '/api/topics')).toEqual({});
    expect(matchPattern('/api/topics/:name', '/api/topics/a%2Fb')).toEqual({ name: 'a/b' });
    expect(matchPattern('/api/topics/:name', '/api/topics')).toBeNull();
    expect(matchPattern('/api/topics/:name', '/api/topics/x/configs')).toBeNull();
    expect(matchPattern('/api/topics/:name/configs', '/api/topics/x/configs')).toEqual({ name: 'x' });
    expect(matchPattern('/api/tree/*path', '/api/tree/brokers/ids')).toEqual({ path: 'brokers/ids' });
    expect(matchPattern('/api/overview', '/api/other')).toBeNull();
  });
});

describe('clientSoftware', () => {
  test('per broker, the software with open connections, sorted; closed ones (0) left out', () => {
    const exposition = (lines: string) => parseExposition(`# HELP ${CLIENT_SOFTWARE_METRIC} x\n# TYPE ${CLIENT_SOFTWARE_METRIC} gauge\n${lines}`);
    const rows = clientSoftware(
      new Map([
        [2, exposition(`${CLIENT_SOFTWARE_METRIC}{clientSoftwareName="librdkafka",clientSoftwareVersion="2.0.2"} 2\n${CLIENT_SOFTWARE_METRIC}{clientSoftwareName="gone",clientSoftwareVersion="1"} 0\n`)],
        [1, exposition(`${CLIENT_SOFTWARE_METRIC}{clientSoftwareName="platformatic-kafka",clientSoftwareVersion="1.35.0"} 1\n`)],
      ]),
    );
    expect(rows).toEqual([
      { broker: 1, name: 'platformatic-kafka', version: '1.35.0', connections: 1 },
      { broker: 2, name: 'librdkafka', version: '2.0.2', connections: 2 },
    ]);
  });
});
