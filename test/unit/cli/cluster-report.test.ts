/**
 * `samsa cluster`'s pure core: per-partition lag from each replica's own log end, the three
 * counts, unknown figures as '?' / null, unreachable replicas, and the aligned text.
 */
import { alignColumns, buildReport, ClusterFacts, formatReport, Probe } from '../../../cli/cluster-report';
import type { Metadata } from '../../../cli/kafka-admin';
import { preferredElectionPayload } from '../../../cli/cluster-tree';

const partition = (partitionIndex: number, leaderId: number, replicaNodes: number[], isrNodes: number[]) => ({ errorCode: 0, partitionIndex, leaderId, replicaNodes, isrNodes });

const metadata: Metadata = {
  clusterId: 'c1',
  controllerId: 2,
  brokers: [3, 1, 2].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9091 + nodeId })),
  topics: [
    { errorCode: 0, name: 'orders', partitions: [partition(1, 2, [2, 3, 1], [2, 1]), partition(0, 1, [1, 2, 3], [1, 2, 3])] },
    { errorCode: 0, name: 'audit', partitions: [partition(0, -1, [3], [3])] },
  ],
};

function facts(overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  const ends = (entries: Array<[string, Probe]>) => new Map(entries);
  return {
    metadata,
    leaderEpochs: new Map([['orders/0', 4], ['orders/1', 7]]),
    highWatermarks: new Map<string, Probe>([['orders/0', { offset: 90 }], ['orders/1', { offset: 10 }]]),
    logEnds: new Map([
      [1, ends([['orders/0', { offset: 100 }], ['orders/1', { offset: 12 }]])],
      [2, ends([['orders/0', { offset: 95 }], ['orders/1', { offset: 15 }]])],
      // broker 3 did not answer: absent
    ]),
    minInsyncReplicas: new Map([['orders', 3], ['audit', 1]]),
    ...overrides,
  };
}

test('partitions sorted by topic and index, with epochs, high watermarks, log ends and follower lag', () => {
  const report = buildReport(facts());
  expect(report.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(['audit-0', 'orders-0', 'orders-1']);
  const [audit, orders0, orders1] = report.partitions;
  expect(orders0).toMatchObject({ leader: 1, leaderEpoch: 4, highWatermark: 90, minInsyncReplicas: 3, underReplicated: false, underMinIsr: false, offline: false });
  expect(orders0!.replicaOffsets).toEqual([
    { broker: 1, logEndOffset: 100, lag: null, status: 'ok' },
    { broker: 2, logEndOffset: 95, lag: 5, status: 'ok' },
    { broker: 3, logEndOffset: null, lag: null, status: 'unreachable' },
  ]);
  // Lag is against the LEADER's log end (broker 2 here), not the high watermark.
  expect(orders1!.replicaOffsets.find((r) => r.broker === 1)).toEqual({ broker: 1, logEndOffset: 12, lag: 3, status: 'ok' });
  expect(orders1).toMatchObject({ underReplicated: true, underMinIsr: true });
  expect(audit).toMatchObject({ offline: true, highWatermark: null, leaderEpoch: null });
  expect(report).toMatchObject({ clusterId: 'c1', controller: 2, underReplicated: 1, underMinIsr: 1, offline: 1, leaderEpochsError: null });
  expect(report.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
});

test('a Kafka error from a replica is its status; an unknown min.insync.replicas counts nothing', () => {
  const report = buildReport(facts({
    logEnds: new Map([[1, new Map<string, Probe>([['orders/0', { error: 'NOT_LEADER_OR_FOLLOWER' }]])]]),
    minInsyncReplicas: new Map(),
  }));
  const orders0 = report.partitions.find((p) => p.topic === 'orders' && p.partition === 0)!;
  expect(orders0.replicaOffsets[0]).toEqual({ broker: 1, logEndOffset: null, lag: null, status: 'NOT_LEADER_OR_FOLLOWER' });
  expect(orders0.replicaOffsets[1]).toMatchObject({ status: 'unreachable', lag: null });
  expect(report.underMinIsr).toBe(0);
  expect(orders0.minInsyncReplicas).toBeNull();
});

test('without the coordinator every epoch is ? and the text says why', () => {
  const report = buildReport(facts({ leaderEpochs: { error: 'coordinator ws://127.0.0.1:1: ConnectionLoss' } }));
  expect(report.partitions.every((p) => p.leaderEpoch === null)).toBe(true);
  const text = formatReport(report);
  expect(text).toContain('Leader epochs unknown (?): coordinator ws://127.0.0.1:1: ConnectionLoss');
});

test('the text: summary lines, a header row and aligned columns', () => {
  const lines = formatReport(buildReport(facts())).trimEnd().split('\n');
  expect(lines.slice(0, 4)).toEqual([
    'Cluster c1',
    'Controller: broker 2',
    'Brokers (3): 1@127.0.0.1:9092  2@127.0.0.1:9093  3@127.0.0.1:9094',
    'Partitions: 3  under-replicated: 1  under-min-ISR: 1  offline: 1',
  ]);
  const table = lines.slice(5);
  expect(table[0]).toMatch(/^TOPIC\s+PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+MIN-ISR\s+HW\s+STATE\s+LOG-END \(per replica\)\s+LAG \(per follower\)$/);
  expect(table[1]).toMatch(/^audit\s+0\s+none\s+\?\s+3\s+3\s+1\s+\?\s+offline\s+3:unreachable\s+3:\?$/);
  expect(table[2]).toMatch(/^orders\s+0\s+1\s+4\s+1,2,3\s+1,2,3\s+3\s+90\s+ok\s+1:100 2:95 3:unreachable\s+2:5 3:\?$/);
  expect(table[3]).toMatch(/^orders\s+1\s+2\s+7\s+2,3,1\s+2,1\s+3\s+10\s+under-min-isr\s+2:15 3:unreachable 1:12\s+3:\? 1:3$/);
  // Every column starts at the same character in every row.
  const starts = (line: string, cell: string) => line.indexOf(cell);
  expect(new Set(table.map((line) => starts(line, line.split(/\s{2,}/)[4]!))).size).toBe(1);
});

test('alignColumns pads every column but the last', () => {
  expect(alignColumns([['a', 'bbb', 'c'], ['dddd', 'e', 'ffff']])).toEqual(['a     bbb  c', 'dddd  e    ffff']);
});

test("the election request is Kafka's PreferredReplicaElectionZNode JSON", () => {
  expect(JSON.parse(preferredElectionPayload([{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 2 }]))).toEqual({
    version: 1,
    partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 2 }],
  });
});
