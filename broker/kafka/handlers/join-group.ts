/**
 * JoinGroup: waits (in the group coordinator's purgatory) until the group's join barrier
 * completes, then answers with the generation; the leader also gets every member's
 * subscription. v4+ new members first get MEMBER_ID_REQUIRED with their id (KIP-394).
 */
import type { Handler } from './types';

export const joinGroup: Handler<'JoinGroup'> = async ({ context, version, request, client }) => {
  const result = await context.groups.join(request.groupId, {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    clientId: client.id ?? '',
    // Kafka shows the peer as InetAddress.toString() does: "/127.0.0.1".
    clientHost: `/${client.host}`,
    sessionTimeoutMs: request.sessionTimeoutMs,
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    rebalanceTimeoutMs: 'rebalanceTimeoutMs' in request ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })),
    requireKnownMemberId: version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolName: result.protocolName ?? '',
    leader: result.leader,
    memberId: result.memberId,
    members: result.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, metadata: member.metadata })),
  };
};
