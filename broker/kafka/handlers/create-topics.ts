/**
 * CreateTopics: validated and written by the cluster side's AdminOperations (broker/cluster/admin.ts).
 *
 * v5+ answer, per created topic, its partition count, replication factor and effective
 * configuration (overrides as DYNAMIC_TOPIC_CONFIG, the rest DEFAULT_CONFIG, as DescribeConfigs
 * shows them); v7+ its topic id. A failed topic answers -1, -1, null configs and the zero id, as
 * Kafka does. With validateOnly the answer is what the creation would give (the zero id: none is
 * made).
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { uuidToBuffer, ZERO_UUID } from '../../../shared/kafka/uuid';
import { effectiveConfig, validateOverrides } from '../../cluster/topic-config';
import { TOPIC_CONFIG_KEYS, TopicConfig } from '../../context';
import type { Handler, ResponseBody } from './types';

type TopicResult = ResponseBody<'CreateTopics'>['topics'][number];
type ConfigEntry = NonNullable<TopicResult['configs']>[number];

const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_DEFAULT = 5;

function configEntries(config: TopicConfig, overrides: ReadonlySet<string>): ConfigEntry[] {
  return TOPIC_CONFIG_KEYS.map((key) => ({ name: key, value: String(config[key]), readOnly: false, configSource: overrides.has(key) ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT, isSensitive: false }));
}

export const createTopics: Handler<'CreateTopics'> = async ({ context, request, config }) => {
  const specs = request.topics.map((t) => ({
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments,
    configs: t.configs,
  }));
  const results = await context.admin.createTopics(specs, request.timeoutMs, request.validateOnly);
  const view = context.cluster();
  return {
    throttleTimeMs: 0,
    topics: results.map((r, i): TopicResult => {
      const failed = { name: r.name, topicId: uuidToBuffer(ZERO_UUID), errorCode: r.errorCode, errorMessage: r.errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
      if (r.errorCode !== KafkaError.NONE) return failed;
      const spec = specs[i]!;
      if (request.validateOnly) {
        const validated = validateOverrides(spec.configs);
        const overrides = 'overrides' in validated ? validated.overrides : {};
        const given = spec.assignments.length > 0;
        return {
          ...failed,
          numPartitions: given ? spec.assignments.length : spec.numPartitions === -1 ? config.numPartitions : spec.numPartitions,
          replicationFactor: given ? spec.assignments[0]!.brokerIds.length : spec.replicationFactor === -1 ? config.defaultReplicationFactor : spec.replicationFactor,
          configs: configEntries(effectiveConfig(config.topicDefaults, overrides), new Set(Object.keys(overrides))),
        };
      }
      const topic = view.topics.get(r.name);
      const described = context.admin.describeTopicConfig(r.name);
      if (topic === undefined || described === null) return failed; // deleted again meanwhile: nothing to describe
      return {
        ...failed,
        topicId: uuidToBuffer(topic.topicId),
        numPartitions: topic.partitions.length,
        replicationFactor: topic.partitions[0]?.replicas.length ?? -1,
        configs: configEntries(described.config, described.overrides),
      };
    }),
  };
};
