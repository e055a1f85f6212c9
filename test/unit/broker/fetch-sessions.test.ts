/**
 * Incremental fetch sessions (KIP-227): opening, continuing with only the changed partitions,
 * forgetting partitions, responses with only what changed, the errors for an unknown session
 * or a wrong epoch, eviction of the least recently used session (consumers' before followers')
 * and of idle ones; sessions keyed by topic id (Fetch v13+).
 */
import { FetchSessions, PartitionResult, SessionContext } from '../../../broker/partition/fetch-sessions';
import type { FetchEntry } from '../../../broker/partition/replica-manager';
import { KafkaError } from '../../../shared/kafka/errors';

const entry = (partition: number, fetchOffset: number, topic = 't'): FetchEntry => ({ topic, partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: 0 });
const result = (partition: number, over: Partial<PartitionResult> = {}, topic = 't'): PartitionResult => ({ topic, partition, errorCode: 0, highWatermark: 10, logStartOffset: 0, records: Buffer.alloc(0), ...over });

function ok(context: SessionContext): Extract<SessionContext, { respond: unknown }> {
  if (!('respond' in context)) throw new Error(`expected a session context, got error ${context.errorCode}`);
  return context;
}

let nextId = 100;
const sessions = (limits = { maxSessions: 3, idleMs: 1000 }) => new FetchSessions(limits, () => nextId++);

test('epoch -1: no session, the request as it is, every result', () => {
  const cache = sessions();
  const context = ok(cache.resolve({ sessionId: 0, sessionEpoch: -1, entries: [entry(0, 5)], forgotten: [] }, 0));
  expect(context.sessionId).toBe(0);
  expect(context.entries).toEqual([entry(0, 5)]);
  expect(context.respond([result(0), result(1)])).toHaveLength(2);
  expect(cache.size).toBe(0);
});

test('a session: the first response in full; then only changed partitions are named and only changed results are listed', () => {
  const cache = sessions();
  const first = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 5), entry(1, 7)], forgotten: [] }, 0));
  expect(first.sessionId).toBeGreaterThan(0);
  expect(first.respond([result(0), result(1)]).map((r) => r.partition)).toEqual([0, 1]);

  // Epoch 1 names only partition 0 (its offset moved); both are read, the session remembers partition 1's offset.
  const second = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, entries: [entry(0, 6)], forgotten: [] }, 10));
  expect(second.entries).toEqual([entry(0, 6), entry(1, 7)]);
  // Nothing changed on partition 1 (same high watermark and log start, no records): left out.
  expect(second.respond([result(0, { records: Buffer.from('x') }), result(1)]).map((r) => r.partition)).toEqual([0]);

  // A new high watermark, an error: listed.
  const third = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, entries: [], forgotten: [] }, 20));
  expect(third.respond([result(0, { highWatermark: 11 }), result(1, { errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER })]).map((r) => r.partition)).toEqual([0, 1]);
  const fourth = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 3, entries: [], forgotten: [] }, 30));
  expect(fourth.respond([result(0, { highWatermark: 11 }), result(1)]).map((r) => r.partition)).toEqual([1]); // back to no error: a change too
});

test('forgotten partitions leave the session; new ones join it', () => {
  const cache = sessions();
  const first = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 5), entry(1, 7)], forgotten: [] }, 0));
  first.respond([result(0), result(1)]);
  const next = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, entries: [entry(2, 0, 'u')], forgotten: [{ topic: 't', partitions: [0] }] }, 1));
  expect(next.entries).toEqual([entry(1, 7), entry(2, 0, 'u')]);
  // A partition the client has not heard of yet is listed even with nothing new.
  expect(next.respond([result(1), result(2, {}, 'u')]).map((r) => `${r.topic}/${r.partition}`)).toEqual(['u/2']);
});

test('an unknown session or a wrong epoch is refused with Kafka\'s errors; epoch 0 starts over', () => {
  const cache = sessions();
  expect(cache.resolve({ sessionId: 424242, sessionEpoch: 1, entries: [], forgotten: [] }, 0)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
  const first = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 5)], forgotten: [] }, 0));
  expect(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, entries: [], forgotten: [] }, 1)).toEqual({ errorCode: KafkaError.INVALID_FETCH_SESSION_EPOCH });
  // The expected epoch did not move on the refused request.
  ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, entries: [], forgotten: [] }, 2));
  const again = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 0, entries: [entry(3, 0)], forgotten: [] }, 3));
  expect(again.sessionId).not.toBe(first.sessionId);
  expect(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, entries: [], forgotten: [] }, 4)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
});

test('bounded: the least recently used session goes first; idle sessions expire', () => {
  const cache = sessions({ maxSessions: 2, idleMs: 1000 });
  const a = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 0)], forgotten: [] }, 0)).sessionId;
  const b = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 0)], forgotten: [] }, 1)).sessionId;
  ok(cache.resolve({ sessionId: a, sessionEpoch: 1, entries: [], forgotten: [] }, 2)); // a used again: b is now the oldest
  ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 0)], forgotten: [] }, 3));
  expect(cache.size).toBe(2);
  expect(cache.resolve({ sessionId: b, sessionEpoch: 1, entries: [], forgotten: [] }, 4)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
  ok(cache.resolve({ sessionId: a, sessionEpoch: 2, entries: [], forgotten: [] }, 5));
  expect(cache.resolve({ sessionId: a, sessionEpoch: 3, entries: [], forgotten: [] }, 2000)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
  expect(cache.size).toBe(0);
});

test('a session idle for idleMs is gone when asked for, even between the scans for idle sessions', () => {
  const cache = sessions({ maxSessions: 3, idleMs: 1000 });
  const a = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 0)], forgotten: [] }, 0)).sessionId;
  ok(cache.resolve({ sessionId: a, sessionEpoch: 1, entries: [], forgotten: [] }, 500));
  ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [entry(0, 0)], forgotten: [] }, 1000)); // a scan: a is 500 ms idle, kept
  expect(cache.size).toBe(2);
  expect(cache.resolve({ sessionId: a, sessionEpoch: 2, entries: [], forgotten: [] }, 1600)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
  expect(cache.size).toBe(1);
});

test('followers\' sessions are privileged: a consumer opening a session per fetch (platformatic) pushes out only consumer sessions', () => {
  const cache = sessions({ maxSessions: 3, idleMs: 60_000 });
  const open = (privileged: boolean, now: number) => ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, privileged, entries: [entry(0, 0)], forgotten: [] }, now)).sessionId;
  const follower1 = open(true, 0);
  const follower2 = open(true, 1);
  for (let now = 2; now < 50; now++) expect(open(false, now)).toBeGreaterThan(0); // each takes the previous consumer session's place
  expect(cache.size).toBe(3);
  ok(cache.resolve({ sessionId: follower1, sessionEpoch: 1, entries: [], forgotten: [] }, 50));
  ok(cache.resolve({ sessionId: follower2, sessionEpoch: 1, entries: [], forgotten: [] }, 51));
  // A third follower takes the last consumer session's place. Full of followers: a consumer gets
  // no session (id 0, answered in full); a follower takes the least recently used follower's place.
  open(true, 52);
  expect(open(false, 53)).toBe(0);
  open(true, 54);
  expect(cache.resolve({ sessionId: follower1, sessionEpoch: 2, entries: [], forgotten: [] }, 55)).toEqual({ errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND });
  ok(cache.resolve({ sessionId: follower2, sessionEpoch: 2, entries: [], forgotten: [] }, 56));
});

describe('Fetch v13+: partitions named by topic id', () => {
  const OLD_ID = 'AAAAAAAAAAAAAAAAAAAAAg';
  const NEW_ID = 'AAAAAAAAAAAAAAAAAAAAAw';
  const byId = (partition: number, fetchOffset: number, topicId: string, topic = 't'): FetchEntry => ({ ...entry(partition, fetchOffset, topic), topicId });
  const resultById = (partition: number, topicId: string, over: Partial<PartitionResult> = {}): PartitionResult => ({ ...result(partition, over), topicId });

  test('a topic recreated under the same name is another partition of the session; forgetting by id drops only the old one', () => {
    const cache = sessions();
    const first = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [byId(0, 5, OLD_ID)], forgotten: [] }, 0));
    first.respond([resultById(0, OLD_ID)]);
    // The client learns the new id (the old one now answers UNKNOWN_TOPIC_ID) and adds it.
    const second = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, entries: [byId(0, 0, NEW_ID)], forgotten: [] }, 1));
    expect(second.entries).toEqual([byId(0, 5, OLD_ID), byId(0, 0, NEW_ID)]);
    // Both listed: the old one with its error (an error is always news), the new one never told yet.
    expect(second.respond([resultById(0, OLD_ID, { errorCode: KafkaError.UNKNOWN_TOPIC_ID }), resultById(0, NEW_ID)]).map((r) => r.topicId)).toEqual([OLD_ID, NEW_ID]);
    const third = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, entries: [], forgotten: [{ topic: '', topicId: OLD_ID, partitions: [0] }] }, 2));
    expect(third.entries).toEqual([byId(0, 0, NEW_ID)]);
    // Nothing new on the new topic's partition: an incremental response leaves it out.
    expect(third.respond([resultById(0, NEW_ID)])).toEqual([]);
  });

  test('forgetting by name does not drop a partition the session holds by id', () => {
    const cache = sessions();
    const first = ok(cache.resolve({ sessionId: 0, sessionEpoch: 0, entries: [byId(0, 5, OLD_ID)], forgotten: [] }, 0));
    first.respond([resultById(0, OLD_ID)]);
    const next = ok(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, entries: [], forgotten: [{ topic: 't', partitions: [0] }] }, 1));
    expect(next.entries).toEqual([byId(0, 5, OLD_ID)]);
  });
});
