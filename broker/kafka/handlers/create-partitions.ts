/** CreatePartitions: adds partitions to a topic (AdminOperations writes the new assignment). */
import type { Handler } from './types';

export const createPartitions: Handler<'CreatePartitions'> = async ({ context, request }) => {
  const specs = request.topics.map((t) => ({
    name: t.name,
    count: t.count,
    assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
  }));
  const results = await context.admin.createPartitions(specs, request.timeoutMs, request.validateOnly);
  return { throttleTimeMs: 0, results: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
};
