/**
 * Metadata: brokers, cluster id, controller id, and per partition leader, replicas and ISR,
 * all from the broker's cached picture of the tree. Unknown topics are auto-created when the
 * client allows it and the broker is configured to (Kafka's auto.create.topics.enable).
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { topicNameProblem } from '../../cluster/topic-config';
import type { TopicView } from '../../context';
import type { Handler } from './types';

function topicBody(topic: TopicView): object {
  return {
    errorCode: topic.partitions.length === 0 || topic.partitions.every((p) => p.leader < 0) ? KafkaError.LEADER_NOT_AVAILABLE : KafkaError.NONE,
    name: topic.name,
    isInternal: false,
    partitions: topic.partitions.map((p) => ({
      errorCode: p.leader < 0 ? KafkaError.LEADER_NOT_AVAILABLE : KafkaError.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: [],
    })),
  };
}

export const metadata: Handler = async ({ context, request }) => {
  const wanted: Array<{ name: string | null }> | null = request.topics;
  const allowAutoCreate = request.allowAutoTopicCreation !== false && context.settings.autoCreateTopicsEnable;
  let view = context.cluster();
  const topics: object[] = [];
  if (wanted === null) {
    for (const topic of view.topics.values()) if (!topic.markedForDeletion) topics.push(topicBody(topic));
  } else {
    for (const { name } of wanted) {
      if (name === null) continue;
      let topic = view.topics.get(name);
      if (topic === undefined && topicNameProblem(name) !== null) {
        topics.push({ errorCode: KafkaError.INVALID_TOPIC_EXCEPTION, name, isInternal: false, partitions: [] });
        continue;
      }
      if (topic === undefined && allowAutoCreate) {
        await context.admin.autoCreateTopic(name);
        view = context.cluster();
        topic = view.topics.get(name);
        if (topic === undefined) {
          topics.push({ errorCode: KafkaError.LEADER_NOT_AVAILABLE, name, isInternal: false, partitions: [] });
          continue;
        }
      }
      topics.push(topic === undefined || topic.markedForDeletion ? { errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, name, isInternal: false, partitions: [] } : topicBody(topic));
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
