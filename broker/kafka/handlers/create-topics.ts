/** CreateTopics: validated and written by the cluster side's AdminOperations (broker/cluster/admin.ts). */
import type { Handler } from './types';

export const createTopics: Handler<'CreateTopics'> = async ({ context, request }) => {
  const specs = request.topics.map((t) => ({
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments,
    configs: t.configs,
  }));
  const results = await context.admin.createTopics(specs, request.timeoutMs, request.validateOnly);
  return { throttleTimeMs: 0, topics: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
};
