/** AlterConfigs: replaces a topic's overrides (AlterConfigs semantics). Broker configs are static. */
import { KafkaError } from '../../../shared/kafka/errors';
import { RESOURCE_TOPIC } from './describe-configs';
import type { Handler } from './types';

export const alterConfigs: Handler<'AlterConfigs'> = async ({ context, request }) => {
  const responses = [];
  for (const resource of request.resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (resource.resourceType !== RESOURCE_TOPIC) {
      responses.push({ ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: 'only topic configs can be altered' });
      continue;
    }
    const result = await context.admin.alterTopicConfigs(resource.resourceName, resource.configs, request.validateOnly);
    responses.push({ ...base, errorCode: result.errorCode, errorMessage: result.errorMessage });
  }
  return { throttleTimeMs: 0, responses };
};
