/**
 * JoinGroup: waits (in the group coordinator's purgatory) until the group's join barrier
 * completes, then answers with the generation; the leader also gets every member's
 * subscription. v4+ new members first get MEMBER_ID_REQUIRED with their id (KIP-394).
 * v7+ answer the protocol type; v8+ carry the client's reason (logged). v9's skipAssignment
 * (KIP-814) is always false: a static leader rejoining a stable group is answered as Kafka
 * answers the versions before 9 (the previous leader id and no members, group-machine.ts), so
 * it does not assign again and needs no flag.
 */
import type { Handler } from './types';

export const joinGroup: Handler<'JoinGroup'> = async ({ context, version, request, client }) => {
  const reason = 'reason' in request ? request.reason : null;
  if (reason !== null && reason !== '') context.logger.info({ groupId: request.groupId, memberId: request.memberId, clientId: client.id, reason }, 'group.join_reason');
  const result = await context.groups.join(request.groupId, {
    memberId: request.memberId,
    groupInstanceId: 'groupInstanceId' in request ? request.groupInstanceId : null,
    clientId: client.id ?? '',
    // Kafka shows the peer as InetAddress.toString() does: "/127.0.0.1".
    clientHost: `/${client.host}`,
    sessionTimeoutMs: request.sessionTimeoutMs,
    // v0 has no rebalance timeout (the codec fills in the schema default, -1): Kafka uses the session timeout.
    rebalanceTimeoutMs: version >= 1 && 'rebalanceTimeoutMs' in request ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })),
    requireKnownMemberId: version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    // v7+ may say null (Kafka does on errors); older versions need a string, and '' reads the same to every client.
    protocolType: result.protocolType,
    protocolName: result.protocolName ?? '',
    leader: result.leader,
    skipAssignment: false,
    memberId: result.memberId,
    members: result.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, metadata: member.metadata })),
  };
};
