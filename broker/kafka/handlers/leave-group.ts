/**
 * LeaveGroup: v0-2 one member leaves; v3+ (KIP-345) a batch of members, each by member id or,
 * with member id '', by group.instance.id (static members; the admin's removeMembers), each
 * with its own error. As Kafka: v0-2's error is the group's, else the member's; v3+'s top-level
 * error is the group's only. v5+ carry a reason per member. Each departure is logged with its
 * reason and outcome, as Kafka logs an explicit LeaveGroup (a member gone by session expiry is not).
 */
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler } from './types';

/** KIP-345: members as a batch. (The codec fills a field a version lacks with its default, so the version decides, not the field's presence.) */
const BATCH_VERSION = 3;

export const leaveGroup: Handler<'LeaveGroup'> = ({ context, version, request, client }) => {
  const batch = version >= BATCH_VERSION && 'members' in request;
  const members = batch
    ? request.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, reason: 'reason' in member ? member.reason : null }))
    : [{ memberId: 'memberId' in request ? request.memberId : '', groupInstanceId: null, reason: null }];
  const { errorCode, results } = context.groups.leave(request.groupId, members.map(({ memberId, groupInstanceId }) => ({ memberId, groupInstanceId })));
  results.forEach((result, index) => {
    context.logger.info({ groupId: request.groupId, memberId: result.memberId, groupInstanceId: result.groupInstanceId, clientId: client.id, reason: members[index]?.reason ?? null, errorCode: result.errorCode }, 'group.member_leave');
  });
  if (batch) {
    return { throttleTimeMs: 0, errorCode, members: results.map((result) => ({ memberId: result.memberId, groupInstanceId: result.groupInstanceId, errorCode: result.errorCode })) };
  }
  return { throttleTimeMs: 0, errorCode: errorCode !== KafkaError.NONE ? errorCode : (results[0]?.errorCode ?? KafkaError.NONE), members: [] };
};
