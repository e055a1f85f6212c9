/**
 * IncrementalAlterConfigs (v0-v1, KIP-339): SET, DELETE, APPEND and SUBTRACT on a topic's
 * overrides (incremental-config.ts), written with AlterConfigs semantics (the whole new override
 * set, validated). Broker configs are static: answered as AlterConfigs answers them.
 *
 * The read-modify-write is not atomic against another alter of the same topic at the same
 * moment (the last write wins, as with two AlterConfigs); Kafka serializes them in its controller.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { RESOURCE_TOPIC } from './describe-configs';
import { applyIncrementalOps } from './incremental-config';
import type { Handler, ResponseBody } from './types';

type Response = ResponseBody<'IncrementalAlterConfigs'>['responses'][number];

export const incrementalAlterConfigs: Handler<'IncrementalAlterConfigs'> = async ({ context, request }) => {
  const responses: Response[] = [];
  for (const resource of request.resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (resource.resourceType !== RESOURCE_TOPIC) {
      responses.push({ ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: 'only topic configs can be altered' });
      continue;
    }
    const described = context.admin.describeTopicConfig(resource.resourceName);
    if (described === null) {
      responses.push({ ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic '${resource.resourceName}' does not exist` });
      continue;
    }
    const outcome = applyIncrementalOps(described.config, described.overrides, resource.configs);
    if ('errorCode' in outcome) {
      responses.push({ ...base, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage });
      continue;
    }
    const result = await context.admin.alterTopicConfigs(resource.resourceName, outcome.configs, request.validateOnly);
    responses.push({ ...base, errorCode: result.errorCode, errorMessage: result.errorMessage });
  }
  return { throttleTimeMs: 0, responses };
};
