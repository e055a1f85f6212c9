/**
 * Kafka's ConsumerProtocol bytes (shared/kafka/consumer-protocol.ts) against kafkajs's own
 * encoder/decoder and hand-written Java-layout fixtures (v1 and v3 subscriptions), the range
 * assignor against the cases of Kafka's RangeAssignorTest, and the heartbeat interval.
 */
import { AssignerProtocol } from 'kafkajs';
import { heartbeatIntervalMs } from '../../../cli/group-member';
import { rangeAssign } from '../../../cli/range-assignor';
import { KafkaCodecError } from '../../../shared/kafka/codec';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../../shared/kafka/consumer-protocol';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('Subscription', () => {
  test('version 0 is byte for byte what kafkajs writes, and kafkajs reads ours', () => {
    const ours = encodeSubscription({ topics: ['orders', 'audit'], userData: Buffer.alloc(0) });
    const theirs = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['orders', 'audit'], userData: Buffer.alloc(0) });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    expect(AssignerProtocol.MemberMetadata.decode(ours)).toEqual({ version: 0, topics: ['orders', 'audit'], userData: Buffer.alloc(0) });
  });

  test('the exact v0 layout: int16 version, [string], bytes (null user data is length -1)', () => {
    expect(encodeSubscription({ topics: ['ab'] }).toString('hex')).toBe('0000' + '00000001' + '0002' + '6162' + 'ffffffff');
    expect(decodeSubscription(hex('0000 00000001 0002 6162 ffffffff'))).toEqual({ version: 0, topics: ['ab'], userData: null, ownedPartitions: [] });
  });

  test('reads kafkajs subscriptions with user data', () => {
    const bytes = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: Buffer.from('hi') });
    expect(decodeSubscription(bytes)).toEqual({ version: 0, topics: ['t'], userData: Buffer.from('hi'), ownedPartitions: [] });
  });

  test('reads a Java/librdkafka v1 subscription with owned partitions, and writes one', () => {
    // v1: version 1, topics ["t"], user data null, owned [("t", [0, 2])]
    const v1 = hex('0001 00000001 0001 74 ffffffff 00000001 0001 74 00000002 00000000 00000002');
    expect(decodeSubscription(v1)).toEqual({ version: 1, topics: ['t'], userData: null, ownedPartitions: [{ topic: 't', partitions: [0, 2] }] });
    expect(encodeSubscription({ topics: ['t'], ownedPartitions: [{ topic: 't', partitions: [0, 2] }] }).equals(v1)).toBe(true);
  });

  test('a later version is read up to the fields it knows (v3: generation id and rack id follow)', () => {
    const v3 = hex('0003 00000001 0001 74 00000000 00000000' + '00000007' + '0004 72616b31');
    expect(decodeSubscription(v3)).toEqual({ version: 3, topics: ['t'], userData: Buffer.alloc(0), ownedPartitions: [] });
  });

  test('truncated or corrupt bytes are a codec error, never a long loop', () => {
    expect(() => decodeSubscription(hex('0000 00000001 0005 6162'))).toThrow(KafkaCodecError);
    expect(() => decodeSubscription(hex('0000 7fffffff'))).toThrow(KafkaCodecError);
    expect(() => decodeSubscription(hex('ffff 00000000 ffffffff'))).toThrow(KafkaCodecError);
    expect(() => decodeSubscription(Buffer.alloc(1))).toThrow(KafkaCodecError);
  });
});

describe('Assignment', () => {
  test('round trip, and kafkajs reads ours', () => {
    const partitions = [{ topic: 'orders', partitions: [0, 1, 2] }, { topic: 'audit', partitions: [4] }];
    const bytes = encodeAssignment({ partitions });
    expect(decodeAssignment(bytes)).toEqual({ version: 0, partitions, userData: null });
    expect(AssignerProtocol.MemberAssignment.decode(bytes)).toEqual({ version: 0, assignment: { orders: [0, 1, 2], audit: [4] }, userData: null });
  });

  test('byte for byte what kafkajs writes (empty user data), and reads kafkajs assignments', () => {
    const theirs = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { orders: [3, 5] }, userData: Buffer.alloc(0) });
    expect(encodeAssignment({ partitions: [{ topic: 'orders', partitions: [3, 5] }], userData: Buffer.alloc(0) }).equals(theirs)).toBe(true);
    expect(decodeAssignment(theirs)).toEqual({ version: 0, partitions: [{ topic: 'orders', partitions: [3, 5] }], userData: Buffer.alloc(0) });
  });

  test('the exact layout: int16 version, [string topic, [int32]], bytes', () => {
    expect(encodeAssignment({ partitions: [{ topic: 't', partitions: [7] }] }).toString('hex')).toBe('0000' + '00000001' + '0001' + '74' + '00000001' + '00000007' + 'ffffffff');
  });

  test('an empty buffer is an empty assignment; one cut off before user data is read as Kafka reads it', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ version: 0, partitions: [], userData: null });
    expect(decodeAssignment(hex('0001 00000001 0001 74 00000001 00000002'))).toEqual({ version: 1, partitions: [{ topic: 't', partitions: [2] }], userData: null });
  });

  test('corrupt bytes are a codec error', () => {
    expect(() => decodeAssignment(hex('0000 00000001 0001 74 00000003 00000001'))).toThrow(KafkaCodecError);
    expect(() => decodeAssignment(hex('0000 00000002 0001 74 00000000'))).toThrow(KafkaCodecError);
  });
});

describe('rangeAssign (Kafka RangeAssignorTest cases)', () => {
  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));
  const plain = (result: Map<string, Array<{ topic: string; partitions: number[] }>>) => Object.fromEntries(result);

  test('one member without topics, or subscribed to a topic that does not exist, gets nothing', () => {
    expect(plain(rangeAssign([{ memberId: 'c', topics: [] }], counts({})))).toEqual({ c: [] });
    expect(plain(rangeAssign([{ memberId: 'c', topics: ['missing'] }], counts({ other: 3 })))).toEqual({ c: [] });
  });

  test('one member gets every partition of its topic', () => {
    expect(plain(rangeAssign([{ memberId: 'c', topics: ['t'] }], counts({ t: 3 })))).toEqual({ c: [{ topic: 't', partitions: [0, 1, 2] }] });
  });

  test('two members, one partition: the first by member id gets it, the other an empty entry', () => {
    expect(plain(rangeAssign([{ memberId: 'c2', topics: ['t'] }, { memberId: 'c1', topics: ['t'] }], counts({ t: 1 })))).toEqual({ c1: [{ topic: 't', partitions: [0] }], c2: [] });
  });

  test('extra partitions go to the first members in id order, in consecutive ranges', () => {
    const members = ['m-c', 'm-a', 'm-b'].map((memberId) => ({ memberId, topics: ['t'] }));
    expect(plain(rangeAssign(members, counts({ t: 7 })))).toEqual({
      'm-a': [{ topic: 't', partitions: [0, 1, 2] }],
      'm-b': [{ topic: 't', partitions: [3, 4] }],
      'm-c': [{ topic: 't', partitions: [5, 6] }],
    });
  });

  test('two members, two topics of 3 partitions: each topic split on its own (the first member gets 4)', () => {
    const members = [{ memberId: 'c1', topics: ['t1', 't2'] }, { memberId: 'c2', topics: ['t1', 't2'] }];
    expect(plain(rangeAssign(members, counts({ t1: 3, t2: 3 })))).toEqual({
      c1: [{ topic: 't1', partitions: [0, 1] }, { topic: 't2', partitions: [0, 1] }],
      c2: [{ topic: 't1', partitions: [2] }, { topic: 't2', partitions: [2] }],
    });
  });

  test('mixed subscriptions: a topic is divided among its own subscribers only', () => {
    const members = [{ memberId: 'consumer1', topics: ['topic1'] }, { memberId: 'consumer2', topics: ['topic1', 'topic2'] }, { memberId: 'consumer3', topics: ['topic1'] }];
    expect(plain(rangeAssign(members, counts({ topic1: 3, topic2: 2 })))).toEqual({
      consumer1: [{ topic: 'topic1', partitions: [0] }],
      consumer2: [{ topic: 'topic1', partitions: [1] }, { topic: 'topic2', partitions: [0, 1] }],
      consumer3: [{ topic: 'topic1', partitions: [2] }],
    });
  });

  test('member ids are ordered as Java compares strings (code units, uppercase before lowercase)', () => {
    const members = [{ memberId: 'b', topics: ['t'] }, { memberId: 'B', topics: ['t'] }];
    expect(plain(rangeAssign(members, counts({ t: 2 })))).toEqual({ B: [{ topic: 't', partitions: [0] }], b: [{ topic: 't', partitions: [1] }] });
  });

  test('every partition is assigned exactly once, whatever the member count', () => {
    for (let members = 1; members <= 8; members++) {
      for (let partitions = 1; partitions <= 12; partitions++) {
        const result = rangeAssign(Array.from({ length: members }, (_, i) => ({ memberId: `m${i}`, topics: ['t'] })), counts({ t: partitions }));
        const all = [...result.values()].flatMap((list) => list.flatMap((entry) => entry.partitions)).sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: partitions }, (_, i) => i));
        const sizes = [...result.values()].map((list) => list.reduce((n, entry) => n + entry.partitions.length, 0));
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('heartbeatIntervalMs', () => {
  test('session timeout / 10, at most 3 s', () => {
    expect(heartbeatIntervalMs(30_000)).toBe(3000);
    expect(heartbeatIntervalMs(45_000)).toBe(3000);
    expect(heartbeatIntervalMs(6000)).toBe(600);
  });
});
