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
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { topicNameProblem } from '../../cluster/topic-config';
import type { TopicView } from '../../context';
import { OFFSETS_TOPIC } from '../../group/offsets-log';
import type { Handler, ResponseBody } from './types';

type TopicBody = ResponseBody<'Metadata'>['topics'][number];

function topicBody(topic: TopicView, reportLeaderless: boolean): TopicBody {
  return {
    errorCode: KafkaError.NONE,
    name: topic.name,
    isInternal: topic.name === OFFSETS_TOPIC,
    partitions: topic.partitions.map((p) => ({
      errorCode: p.leader < 0 && reportLeaderless ? KafkaError.LEADER_NOT_AVAILABLE : KafkaError.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
    })),
  };
}

const failed = (name: string, errorCode: number): TopicBody => ({ errorCode, name, isInternal: false, partitions: [] });

export const metadata: Handler<'Metadata'> = ({ context, request, config }) => {
  const allowAutoCreate = ('allowAutoTopicCreation' in request ? request.allowAutoTopicCreation : true) && config.autoCreateTopics;
  const view = context.cluster();
  const topics: TopicBody[] = [];
  if (request.topics === null) {
    for (const topic of view.topics.values()) if (!topic.markedForDeletion) topics.push(topicBody(topic, false));
  } else {
    const named = request.topics.map((t) => t.name);
    const alone = new Set(named).size === 1;
    let creating = 0;
    for (const name of named) {
      const topic = view.topics.get(name);
      if (topic !== undefined) {
        topics.push(topic.markedForDeletion ? failed(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION) : topicBody(topic, alone));
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
  };
};
