/**
 * SyncGroup: the leader hands in the assignment; every member waits for it and gets its own.
 * v5+ name the protocol type and name the member joined with: the machine answers
 * INCONSISTENT_GROUP_PROTOCOL when they differ from the group's (KIP-559), and the answer
 * carries the group's.
 */
import type { Handler } from './types';

export const syncGroup: Handler<'SyncGroup'> = async ({ context, request }) => {
  const result = await context.groups.sync(request.groupId, {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    generationId: request.generationId,
    protocolType: 'protocolType' in request ? request.protocolType : null,
    protocolName: 'protocolName' in request ? request.protocolName : null,
    assignments: request.assignments.map((entry) => ({ memberId: entry.memberId, assignment: entry.assignment })),
  });
  return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
};
