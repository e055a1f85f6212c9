/** Heartbeat: keeps a member's session; REBALANCE_IN_PROGRESS tells it to rejoin. */
import type { Handler } from './types';

export const heartbeat: Handler<'Heartbeat'> = ({ context, request }) => ({
  throttleTimeMs: 0,
  errorCode: context.groups.heartbeat(request.groupId, {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    generationId: request.generationId,
  }),
});
