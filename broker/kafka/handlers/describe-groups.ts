/** DescribeGroups: state, protocol and members of groups this broker coordinates (others: NOT_COORDINATOR). */
import type { Handler } from './types';

export const describeGroups: Handler<'DescribeGroups'> = ({ context, request }) => ({
  throttleTimeMs: 0,
  groups: request.groups.map((groupId) => {
    const group = context.groups.describe(groupId);
    return {
      errorCode: group.errorCode,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType,
      protocolData: group.protocolName,
      members: group.members.map((member) => ({ memberId: member.memberId, clientId: member.clientId, clientHost: member.clientHost, memberMetadata: member.metadata, memberAssignment: member.assignment })),
    };
  }),
});
