/**
 * The pure computations behind the broker's gauges: replica counts, offline partitions, lag,
 * and a response's error codes.
 */
import { consumerLag, errorCounts, offlinePartitions, replicaCounts } from '../../../broker/metrics/gauges';

describe('replicaCounts', () => {
  test('counts leaders, under-replicated, under and at min ISR only for partitions led here', () => {
    const counts = replicaCounts([
      { isLeader: true, replicas: [1, 2, 3], isr: [1, 2, 3], minInsyncReplicas: 2 },
      { isLeader: true, replicas: [1, 2, 3], isr: [1, 2], minInsyncReplicas: 2 },
      { isLeader: true, replicas: [1, 2, 3], isr: [1], minInsyncReplicas: 2 },
      { isLeader: false, replicas: [2, 1], isr: [2], minInsyncReplicas: 2 },
    ]);
    expect(counts).toEqual({ partitionCount: 4, leaderCount: 3, underReplicated: 2, underMinIsr: 1, atMinIsr: 1 });
  });

  test('nothing hosted: all zero', () => {
    expect(replicaCounts([])).toEqual({ partitionCount: 0, leaderCount: 0, underReplicated: 0, underMinIsr: 0, atMinIsr: 0 });
  });
});

test('offlinePartitions: no leader or a leader that is not live', () => {
  expect(offlinePartitions([{ leader: 1 }, { leader: -1 }, { leader: 3 }, { leader: 2 }], new Set([1, 2]))).toBe(2);
});

test('consumerLag: end - committed, never negative, unknown partitions and -1 commits left out', () => {
  const ends = new Map([['t/0', 10], ['t/1', 5]]);
  const lag = consumerLag(
    [
      { group: 'g', topic: 't', partition: 0, offset: 4 },
      { group: 'g', topic: 't', partition: 1, offset: 7 },
      { group: 'g', topic: 'u', partition: 0, offset: 1 },
      { group: 'h', topic: 't', partition: 0, offset: -1 },
    ],
    (topic, partition) => ends.get(`${topic}/${partition}`) ?? null,
  );
  expect(lag).toEqual([
    { group: 'g', topic: 't', partition: 0, offset: 4, lag: 6 },
    { group: 'g', topic: 't', partition: 1, offset: 7, lag: 0 },
  ]);
});

describe('errorCounts', () => {
  test('counts non-zero errorCode fields at every level, one per entry', () => {
    const body = {
      errorCode: 0,
      responses: [
        { name: 't', partitionResponses: [{ index: 0, errorCode: 6 }, { index: 1, errorCode: 0 }, { index: 2, errorCode: 6 }] },
        { name: 'u', partitionResponses: [{ index: 0, errorCode: 3 }] },
      ],
    };
    expect([...errorCounts(body)]).toEqual([[6, 2], [3, 1]]);
  });

  test('record sets are not walked and a body without errors counts nothing', () => {
    const records = Buffer.alloc(64);
    expect(errorCounts({ errorCode: 0, responses: [{ partitions: [{ errorCode: 0, records }] }] }).size).toBe(0);
    expect(errorCounts(null).size).toBe(0);
  });
});
