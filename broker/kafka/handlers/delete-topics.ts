/** DeleteTopics: marks topics for deletion; the controller carries it out. */
import type { Handler } from './types';

export const deleteTopics: Handler<'DeleteTopics'> = async ({ context, request }) => {
  const results = await context.admin.deleteTopics(request.topicNames, request.timeoutMs);
  return { throttleTimeMs: 0, responses: results.map((r) => ({ name: r.name, errorCode: r.errorCode })) };
};
