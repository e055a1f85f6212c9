/**
 * Metadata: brokers, cluster id, controller id, and per partition leader, replicas and ISR,
 * all from the broker's cached picture of the tree.
 *
 * Leaderless partitions (every replica's broker down): leader -1, and the error code
 * LEADER_NOT_AVAILABLE only when the request names that one topic alone. kafkajs fails a whole
 * Metadata response on any topic or partition error, so an error on an offline topic would
 * break every admin call and every producer that lists it beside healthy topics (listTopics
 * asks for all topics; a producer asks for every topic it ever wrote to). A client that asks
 * about the offline topic alone gets the retriable error Kafka gives; everyone else sees
 * leader -1, which kafkajs and librdkafka both treat as "no leader yet" (README, Brokers).
 *
 * Unknown topics are auto-created when the client allows it and the broker is configured to
 * (Kafka's auto.create.topics.enable), without waiting: the answer is LEADER_NOT_AVAILABLE at
 * once (retriable: the client asks again) while the creation proceeds in one batch. At most
 * autoCreateTopicsPerRequestMax are started per request; the rest also answer
 * LEADER_NOT_AVAILABLE and are created when asked again.
 *
 * Versions: v7+ leader epochs, v5+ offline replicas (replicas on brokers not registered now),
 * v8+ authorized operations (no authorizer: everything, when asked), v10+ topic ids, v12 topics
 * asked for by id (an unknown id, or the id of a topic being deleted, answers UNKNOWN_TOPIC_ID
 * with a null name; topics asked for by id are never auto-created). As Kafka, v10/v11 requests
 * naming a topic by id, or with a null name, are invalid: every topic asked for answers
 * INVALID_REQUEST.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../../shared/kafka/uuid';
import { topicNameProblem } from '../../cluster/topic-config';
import type { TopicView } from '../../context';
import { OFFSETS_TOPIC } from '../../group/offsets-log';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, TOPIC_OPERATIONS } from './authorized-operations';
import type { Handler, ResponseBody } from './types';

type TopicBody = ResponseBody<'Metadata'>['topics'][number];

const ZERO_ID = uuidToBuffer(ZERO_UUID);

function topicBody(topic: TopicView, reportLeaderless: boolean, live: ReadonlySet<number>, authorizedOperations: number): TopicBody {
  return {
    errorCode: KafkaError.NONE,
    name: topic.name,
    topicId: uuidToBuffer(topic.topicId),
    isInternal: topic.name === OFFSETS_TOPIC,
    partitions: topic.partitions.map((p) => ({
      errorCode: p.leader < 0 && reportLeaderless ? KafkaError.LEADER_NOT_AVAILABLE : KafkaError.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: p.replicas.filter((id) => !live.has(id)),
    })),
    topicAuthorizedOperations: authorizedOperations,
  };
}

/**
 * A topic that cannot be described. The name is null only for a v12 topic asked for by an
 * unknown id (the schema makes it nullable from v12, and that is the only path that gives null),
 * hence the cast: the body type is the one every version accepts.
 */
const failed = (name: string | null, errorCode: number, topicId: Buffer = ZERO_ID): TopicBody => ({
  errorCode,
  name: name as string,
  topicId,
  isInternal: false,
  partitions: [],
  topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
});

export const metadata: Handler<'Metadata'> = ({ context, request, config, version }) => {
  const allowAutoCreate = ('allowAutoTopicCreation' in request ? request.allowAutoTopicCreation : true) && config.autoCreateTopics;
  const topicOperations = 'includeTopicAuthorizedOperations' in request && request.includeTopicAuthorizedOperations ? TOPIC_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
  const clusterOperations = 'includeClusterAuthorizedOperations' in request && request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
  const view = context.cluster();
  const live = new Set(view.brokers.map((b) => b.id));
  const topics: TopicBody[] = [];
  if (request.topics === null) {
    for (const topic of view.topics.values()) if (!topic.markedForDeletion) topics.push(topicBody(topic, false, live, topicOperations));
  } else {
    const asked = request.topics.map((t) => ({ name: t.name, topicId: 'topicId' in t ? uuidFromBuffer(t.topicId) : ZERO_UUID }));
    const invalid = version < 12 && asked.some((t) => t.name === null || t.topicId !== ZERO_UUID);
    const alone = asked.length === 1 || new Set(asked.map((t) => t.name ?? t.topicId)).size === 1;
    let creating = 0;
    for (const { name, topicId } of asked) {
      if (invalid) {
        topics.push(failed(name ?? '', KafkaError.INVALID_REQUEST, uuidToBuffer(topicId)));
        continue;
      }
      if (topicId !== ZERO_UUID) {
        const topic = view.topicsById.get(topicId);
        topics.push(topic === undefined || topic.markedForDeletion ? failed(null, KafkaError.UNKNOWN_TOPIC_ID, uuidToBuffer(topicId)) : topicBody(topic, alone, live, topicOperations));
        continue;
      }
      if (name === null) {
        topics.push(failed(null, KafkaError.INVALID_REQUEST));
        continue;
      }
      const topic = view.topics.get(name);
      if (topic !== undefined) {
        topics.push(topic.markedForDeletion ? failed(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION) : topicBody(topic, alone, live, topicOperations));
      } else if (topicNameProblem(name) !== null) {
        topics.push(failed(name, KafkaError.INVALID_TOPIC_EXCEPTION));
      } else if (!allowAutoCreate || name === OFFSETS_TOPIC) {
        // __consumer_offsets is made by the group coordinator, with its own settings, on first use.
        topics.push(failed(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION));
      } else {
        // Retriable either way: started now, or (past the per-request bound) on a later request.
        if (creating++ < config.autoCreateTopicsPerRequestMax) void context.admin.autoCreateTopic(name);
        topics.push(failed(name, KafkaError.LEADER_NOT_AVAILABLE));
      }
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: view.brokers.map((b) => ({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack })),
    clusterId: view.clusterId,
    controllerId: view.controllerId,
    topics,
    clusterAuthorizedOperations: clusterOperations,
  };
};
