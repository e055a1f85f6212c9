/**
 * Topic administration over the Kafka protocol, shared by `samsa topic` and the console's
 * topics API: CreateTopics, DescribeConfigs, AlterConfigs (merged, as Kafka's legacy
 * AlterConfigs replaces the whole set of overrides) and DeleteTopics, all sent to the
 * controller as Kafka clients do. A Kafka error becomes a TopicAdminError carrying its code,
 * so the CLI prints one line and the console chooses an HTTP status from it.
 */
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaError, kafkaErrorName } from '../shared/kafka/errors';
import type { AlterConfigsResponseV0, CreateTopicsResponseV2, DeleteTopicsResponseV1, DescribeConfigsResponseV1 } from '../shared/kafka/messages';
import { CliError, KafkaSession } from './kafka-admin';

export const ADMIN_TIMEOUT_MS = 30_000;
const RESOURCE_TOPIC = 2;
/** DescribeConfigs' configSource for a topic override (/config/topics/<t>); anything else is a default. */
export const SOURCE_DYNAMIC_TOPIC = 1;

/** A Kafka error answered to an admin request: `<KAFKA_ERROR_NAME>: <detail> (<broker's message>)`. */
export class TopicAdminError extends CliError {
  constructor(
    readonly errorCode: number,
    detail: string,
    readonly kafkaMessage: string | null = null,
  ) {
    super(`${kafkaErrorName(errorCode)}: ${detail}${kafkaMessage ? ` (${kafkaMessage})` : ''}`);
  }
}

export interface NewTopic {
  name: string;
  /** -1: the broker default. */
  partitions: number;
  /** -1: the broker default. */
  replicationFactor: number;
  configs: Array<{ name: string; value: string }>;
}

export interface TopicConfigEntry {
  name: string;
  value: string | null;
  configSource: number;
  readOnly: boolean;
  isSensitive: boolean;
}

export async function createTopic(session: KafkaSession, topic: NewTopic): Promise<void> {
  const controller = await session.controller();
  const response = await controller.request<CreateTopicsResponseV2>(ApiKey.CreateTopics, 2, {
    topics: [{ name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor, assignments: [], configs: topic.configs }],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = response.topics[0];
  if (result === undefined) throw new TopicAdminError(KafkaError.UNKNOWN_SERVER_ERROR, `${topic.name}: the controller answered no result`);
  if (result.errorCode !== KafkaError.NONE) throw new TopicAdminError(result.errorCode, topic.name, result.errorMessage);
}

export async function describeTopicConfigs(session: KafkaSession, name: string): Promise<TopicConfigEntry[]> {
  const controller = await session.controller();
  const response = await controller.request<DescribeConfigsResponseV1>(ApiKey.DescribeConfigs, 1, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
  });
  const result = response.results[0];
  if (result === undefined) throw new TopicAdminError(KafkaError.UNKNOWN_SERVER_ERROR, `${name}: the controller answered no result`);
  if (result.errorCode !== KafkaError.NONE) throw new TopicAdminError(result.errorCode, name, result.errorMessage);
  return result.configs.map((c) => ({ name: c.name, value: c.value, configSource: c.configSource, readOnly: c.readOnly, isSensitive: c.isSensitive }));
}

/**
 * The overrides after applying `changes` (a null value removes that override) to the current
 * ones; defaults are not overrides and are left out. Pure.
 */
export function mergeOverrides(current: TopicConfigEntry[], changes: Map<string, string | null>): Map<string, string> {
  const merged = new Map<string, string>();
  for (const c of current) if (c.configSource === SOURCE_DYNAMIC_TOPIC && c.value !== null) merged.set(c.name, c.value);
  for (const [name, value] of changes) {
    if (value === null) merged.delete(name);
    else merged.set(name, value);
  }
  return merged;
}

/** Applies `changes` on top of the topic's current overrides; returns the overrides now set. */
export async function alterTopicConfigs(session: KafkaSession, name: string, changes: Map<string, string | null>): Promise<Map<string, string>> {
  const merged = mergeOverrides(await describeTopicConfigs(session, name), changes);
  const controller = await session.controller();
  // AlterConfigs replaces the whole set of overrides: send the merged set.
  const response = await controller.request<AlterConfigsResponseV0>(ApiKey.AlterConfigs, 0, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configs: [...merged].map(([key, value]) => ({ name: key, value })) }],
    validateOnly: false,
  });
  const result = response.responses[0];
  if (result === undefined) throw new TopicAdminError(KafkaError.UNKNOWN_SERVER_ERROR, `${name}: the controller answered no result`);
  if (result.errorCode !== KafkaError.NONE) throw new TopicAdminError(result.errorCode, name, result.errorMessage);
  return merged;
}

export async function deleteTopic(session: KafkaSession, name: string): Promise<void> {
  const controller = await session.controller();
  const response = await controller.request<DeleteTopicsResponseV1>(ApiKey.DeleteTopics, 1, { topicNames: [name], timeoutMs: ADMIN_TIMEOUT_MS });
  const result = response.responses[0];
  if (result === undefined) throw new TopicAdminError(KafkaError.UNKNOWN_SERVER_ERROR, `${name}: the controller answered no result`);
  if (result.errorCode !== KafkaError.NONE) throw new TopicAdminError(result.errorCode, name);
}
