/**
 * Fetch v13+ names topics by id: which partitions the handler refuses to read under the id a
 * request (or a fetch session) named, before any log is touched.
 */
import type { ClusterView, TopicView } from '../../../broker/context';
import { topicIdRefusal } from '../../../broker/kafka/handlers/fetch';
import type { FetchEntry } from '../../../broker/partition/replica-manager';
import { KafkaError } from '../../../shared/kafka/errors';
import { ZERO_UUID } from '../../../shared/kafka/uuid';

const ID = 'AAAAAAAAAAAAAAAAAAAAAg';
const OTHER_ID = 'AAAAAAAAAAAAAAAAAAAAAw';

function view(topics: Array<{ name: string; topicId: string }>, byId = topics): ClusterView {
  const topic = (t: { name: string; topicId: string }): TopicView => ({ ...t, partitions: [], markedForDeletion: false });
  return {
    clusterId: 'c',
    controllerId: 1,
    brokers: [],
    topics: new Map(topics.map((t) => [t.name, topic(t)])),
    topicsById: new Map(byId.map((t) => [t.topicId, topic(t)])),
  };
}

const entry = (topic: string, topicId?: string): FetchEntry => ({ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1024, currentLeaderEpoch: -1, ...(topicId === undefined ? {} : { topicId }) });

test('by name (before v13): never refused here', () => {
  expect(topicIdRefusal(view([]), entry('t'))).toBe(KafkaError.NONE);
});

test('a known id whose topic has that name: read', () => {
  expect(topicIdRefusal(view([{ name: 't', topicId: ID }]), entry('t', ID))).toBe(KafkaError.NONE);
});

test('an id no topic has (deleted, or recreated under a new id), or the zero id: UNKNOWN_TOPIC_ID', () => {
  expect(topicIdRefusal(view([{ name: 't', topicId: OTHER_ID }]), entry('', ID))).toBe(KafkaError.UNKNOWN_TOPIC_ID);
  // A session entry resolved while the old topic lived keeps its name; its id is gone now.
  expect(topicIdRefusal(view([{ name: 't', topicId: OTHER_ID }]), entry('t', ID))).toBe(KafkaError.UNKNOWN_TOPIC_ID);
  expect(topicIdRefusal(view([{ name: 't', topicId: ZERO_UUID }]), entry('t', ZERO_UUID))).toBe(KafkaError.UNKNOWN_TOPIC_ID);
});

test('an id and a name that disagree (a picture between two updates): INCONSISTENT_TOPIC_ID', () => {
  // By id the topic is 't', by name 't' has another id.
  expect(topicIdRefusal(view([{ name: 't', topicId: OTHER_ID }], [{ name: 't', topicId: ID }]), entry('t', ID))).toBe(KafkaError.INCONSISTENT_TOPIC_ID);
  // The id now names another topic than the entry was resolved to.
  expect(topicIdRefusal(view([{ name: 'u', topicId: ID }]), entry('t', ID))).toBe(KafkaError.INCONSISTENT_TOPIC_ID);
});
