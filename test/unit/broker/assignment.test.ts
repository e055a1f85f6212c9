/**
 * Replica assignment, topic name and config validation, and Kafka's default partitioner.
 */
import { assignReplicas, AssignmentError } from '../../../broker/controller/assignment';
import { effectiveConfig, topicNameProblem, validateOverrides } from '../../../broker/cluster/topic-config';
import { DEFAULT_TOPIC_CONFIG } from '../../../broker/config';
import { murmur2, partitionForKey } from '../../../cli/kafka-admin';

/* eslint-disable-next-line @typescript-eslint/no-var-requires */
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2');

describe('assignReplicas', () => {
  test.each([
    { brokers: [1, 2, 3], partitions: 6, rf: 3 },
    { brokers: [1, 2, 3], partitions: 7, rf: 2 },
    { brokers: [1, 2, 3, 4, 5], partitions: 20, rf: 3 },
    { brokers: [7], partitions: 4, rf: 1 },
    { brokers: [3, 1, 2, 9], partitions: 12, rf: 4 },
  ])('$partitions partitions x $rf on $brokers.length brokers: distinct replicas, leaders balanced', ({ brokers, partitions, rf }) => {
    for (let start = 0; start < brokers.length; start++) {
      const assignment = assignReplicas(brokers, partitions, rf, start);
      expect(assignment).toHaveLength(partitions);
      for (const replicas of assignment) {
        expect(replicas).toHaveLength(rf);
        expect(new Set(replicas).size).toBe(rf);
        for (const id of replicas) expect(brokers).toContain(id);
      }
      const leaders = new Map<number, number>();
      for (const [leader] of assignment) leaders.set(leader!, (leaders.get(leader!) ?? 0) + 1);
      const counts = brokers.map((id) => leaders.get(id) ?? 0);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  test('refuses a replication factor above the live brokers, and empty requests', () => {
    expect(() => assignReplicas([1, 2], 3, 3, 0)).toThrow(AssignmentError);
    expect(() => assignReplicas([1, 2], 0, 1, 0)).toThrow(AssignmentError);
    expect(() => assignReplicas([], 1, 1, 0)).toThrow(AssignmentError);
  });
});

describe('topic names and configs', () => {
  test.each([
    ['orders', null],
    ['a.b_c-9', null],
    ['', 'empty'],
    ['.', "cannot be '.'"],
    ['..', "cannot be '..'"],
    ['has space', 'characters'],
    ['x'.repeat(250), 'longer than 249'],
  ])('%j', (name, problem) => {
    const found = topicNameProblem(name);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  test('overrides are validated and laid over the defaults', () => {
    expect(validateOverrides([{ name: 'retention.ms', value: '60000' }])).toEqual({ overrides: { 'retention.ms': '60000' } });
    expect(validateOverrides([{ name: 'nope', value: '1' }])).toHaveProperty('problem');
    expect(validateOverrides([{ name: 'segment.bytes', value: '10' }])).toHaveProperty('problem');
    expect(validateOverrides([{ name: 'retention.bytes', value: 'abc' }])).toHaveProperty('problem');
    expect(validateOverrides([{ name: 'cleanup.policy', value: 'compact' }])).toHaveProperty('problem');
    const config = effectiveConfig(DEFAULT_TOPIC_CONFIG, { 'retention.ms': '60000' });
    expect(config['retention.ms']).toBe(60000);
    expect(config['segment.bytes']).toBe(DEFAULT_TOPIC_CONFIG['segment.bytes']);
  });
});

describe("Kafka's default partitioner", () => {
  test('murmur2 agrees with kafkajs (which follows the Java client)', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'k1', 'orders-12345', 'ünïcödé']) {
      expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
    }
    expect(partitionForKey(Buffer.from('k1'), 6)).toBe((kafkajsMurmur2(Buffer.from('k1')) & 0x7fffffff) % 6);
  });
});
