/**
 * DescribeGroups: state, protocol and members of groups this broker coordinates (others:
 * NOT_COORDINATOR). v3+ may ask for the operations the caller may perform on the group: Samsa
 * has no authorizer, so, as Kafka without one, every operation a group supports.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { AUTHORIZED_OPERATIONS_OMITTED, GROUP_OPERATIONS } from './authorized-operations';
import type { Handler } from './types';

export const describeGroups: Handler<'DescribeGroups'> = ({ context, request }) => {
  const includeOperations = 'includeAuthorizedOperations' in request && request.includeAuthorizedOperations;
  return {
    throttleTimeMs: 0,
    groups: request.groups.map((groupId) => {
      const group = context.groups.describe(groupId);
      return {
        errorCode: group.errorCode,
        groupId,
        groupState: group.state,
        protocolType: group.protocolType,
        protocolData: group.protocolName,
        members: group.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId, clientHost: member.clientHost, memberMetadata: member.metadata, memberAssignment: member.assignment })),
        authorizedOperations: includeOperations && group.errorCode === KafkaError.NONE ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
      };
    }),
  };
};
