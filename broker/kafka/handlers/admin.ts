/**
 * The admin APIs: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
 * DeleteRecords. They delegate to the cluster side's AdminOperations (which writes the tree).
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { RecordBatchError } from '../../../shared/kafka/record-batch';
import { TOPIC_CONFIG_KEYS } from '../../context';
import type { Handler } from './types';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_DEFAULT = 5;

export const createTopics: Handler = async ({ context, request }) => {
  const specs = (request.topics as Array<{ name: string; numPartitions: number; replicationFactor: number; assignments: Array<{ partitionIndex: number; brokerIds: number[] }>; configs: Array<{ name: string; value: string | null }> }>).map((t) => ({
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments,
    configs: t.configs,
  }));
  const results = await context.admin.createTopics(specs, request.timeoutMs, request.validateOnly === true);
  return { throttleTimeMs: 0, topics: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
};

export const deleteTopics: Handler = async ({ context, request }) => {
  const results = await context.admin.deleteTopics(request.topicNames as string[], request.timeoutMs);
  return { throttleTimeMs: 0, responses: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
};

export const createPartitions: Handler = async ({ context, request }) => {
  const specs = (request.topics as Array<{ name: string; count: number; assignments: Array<{ brokerIds: number[] }> | null }>).map((t) => ({
    name: t.name,
    count: t.count,
    assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
  }));
  const results = await context.admin.createPartitions(specs, request.timeoutMs, request.validateOnly === true);
  return { throttleTimeMs: 0, results: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
};

export const describeConfigs: Handler = ({ context, request }) => ({
  throttleTimeMs: 0,
  results: (request.resources as Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>).map((resource) => {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (resource.resourceType === RESOURCE_BROKER) return { ...base, errorCode: KafkaError.NONE, errorMessage: null, configs: [] };
    if (resource.resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported`, configs: [] };
    const described = context.admin.describeTopicConfig(resource.resourceName);
    if (described === null) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic '${resource.resourceName}' does not exist`, configs: [] };
    const keys = TOPIC_CONFIG_KEYS.filter((key) => resource.configurationKeys === null || resource.configurationKeys.includes(key));
    return {
      ...base,
      errorCode: KafkaError.NONE,
      errorMessage: null,
      configs: keys.map((key) => {
        const override = described.overrides.has(key);
        return { name: key, value: String(described.config[key]), readOnly: false, isDefault: !override, configSource: override ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT, isSensitive: false, synonyms: [] };
      }),
    };
  }),
});

export const alterConfigs: Handler = async ({ context, request }) => {
  const responses = [];
  for (const resource of request.resources as Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; value: string | null }> }>) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (resource.resourceType !== RESOURCE_TOPIC) {
      responses.push({ ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: 'only topic configs can be altered' });
      continue;
    }
    const result = await context.admin.alterTopicConfigs(resource.resourceName, resource.configs, request.validateOnly === true);
    responses.push({ ...base, errorCode: result.errorCode, errorMessage: result.errorMessage });
  }
  return { throttleTimeMs: 0, responses };
};

export const deleteRecords: Handler = ({ context, request }) => ({
  throttleTimeMs: 0,
  topics: (request.topics as Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: bigint }> }>).map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ partitionIndex, offset }) => {
      const local = context.localPartition(topic.name, partitionIndex);
      if (local === null || !local.isLeader) return { partitionIndex, lowWatermark: -1n, errorCode: local === null ? KafkaError.UNKNOWN_TOPIC_OR_PARTITION : KafkaError.NOT_LEADER_OR_FOLLOWER };
      try {
        const target = offset === -1n ? local.highWatermark : Number(offset);
        return { partitionIndex, lowWatermark: BigInt(local.log.deleteRecordsBefore(target)), errorCode: KafkaError.NONE };
      } catch (error) {
        if (error instanceof RecordBatchError) return { partitionIndex, lowWatermark: -1n, errorCode: error.kafkaErrorCode };
        throw error;
      }
    }),
  })),
});
