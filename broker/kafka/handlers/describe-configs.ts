/**
 * DescribeConfigs: a topic's effective configuration (overrides and broker defaults), or this
 * broker's own configuration (static: read-only). Other brokers' ids answer INVALID_REQUEST, as
 * Kafka does when a broker resource is sent to another broker.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { describeBrokerConfig } from '../../config-describe';
import { TOPIC_CONFIG_KEYS } from '../../context';
import type { Handler, ResponseBody } from './types';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

type Result = ResponseBody<'DescribeConfigs'>['results'][number];

export const describeConfigs: Handler<'DescribeConfigs'> = ({ context, request, config }) => ({
  throttleTimeMs: 0,
  results: request.resources.map((resource): Result => {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    const wanted = (name: string): boolean => resource.configurationKeys === null || resource.configurationKeys.includes(name);
    if (resource.resourceType === RESOURCE_BROKER) {
      // '' is the cluster-wide default resource; Samsa has no dynamic defaults, so it is empty.
      if (resource.resourceName === '') return { ...base, errorCode: KafkaError.NONE, errorMessage: null, configs: [] };
      if (resource.resourceName !== String(config.id)) {
        return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `this is broker ${config.id}; ask broker ${resource.resourceName} for its configuration`, configs: [] };
      }
      return {
        ...base,
        errorCode: KafkaError.NONE,
        errorMessage: null,
        configs: describeBrokerConfig(config)
          .filter((entry) => wanted(entry.name))
          .map((entry) => ({ name: entry.name, value: entry.value, readOnly: true, configSource: entry.isDefault ? SOURCE_DEFAULT : SOURCE_STATIC_BROKER, isSensitive: false, synonyms: [] })),
      };
    }
    if (resource.resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported`, configs: [] };
    const described = context.admin.describeTopicConfig(resource.resourceName);
    if (described === null) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic '${resource.resourceName}' does not exist`, configs: [] };
    return {
      ...base,
      errorCode: KafkaError.NONE,
      errorMessage: null,
      configs: TOPIC_CONFIG_KEYS.filter(wanted).map((key) => {
        const override = described.overrides.has(key);
        return { name: key, value: String(described.config[key]), readOnly: false, configSource: override ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT, isSensitive: false, synonyms: [] };
      }),
    };
  }),
});
