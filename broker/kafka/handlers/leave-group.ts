/** LeaveGroup v0-1: one member leaves; the group rebalances without it. */
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler } from './types';

export const leaveGroup: Handler<'LeaveGroup'> = ({ context, request }) => {
  const { errorCode, results } = context.groups.leave(request.groupId, [{ memberId: request.memberId, groupInstanceId: null }]);
  return { throttleTimeMs: 0, errorCode: errorCode !== KafkaError.NONE ? errorCode : (results[0]?.errorCode ?? KafkaError.NONE) };
};
