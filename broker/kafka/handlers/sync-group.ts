/** SyncGroup: the leader hands in the assignment; every member waits for it and gets its own. */
import type { Handler } from './types';

export const syncGroup: Handler<'SyncGroup'> = async ({ context, request }) => {
  const result = await context.groups.sync(request.groupId, {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    generationId: request.generationId,
    protocolType: null,
    protocolName: null,
    assignments: request.assignments.map((entry) => ({ memberId: entry.memberId, assignment: entry.assignment })),
  });
  return { throttleTimeMs: 0, errorCode: result.errorCode, assignment: result.assignment };
};
