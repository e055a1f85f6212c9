/**
 * ListGroups: the groups this broker coordinates (clients ask every broker and merge).
 * v4+ filter by state (KIP-518) and v5+ by type (KIP-848), an empty filter keeping all; both
 * compared case-insensitively, as Kafka 3.7's group coordinator does (clients send "STABLE" as
 * well as "Stable"). Every Samsa group is of type "classic".
 */
import type { Handler } from './types';

/** Kafka's GroupType for groups of the JoinGroup/SyncGroup protocol. */
const CLASSIC_GROUP_TYPE = 'classic';

function matches(filter: string[], value: string): boolean {
  return filter.length === 0 || filter.some((wanted) => wanted.toLowerCase() === value.toLowerCase());
}

export const listGroups: Handler<'ListGroups'> = ({ context, request }) => {
  const states = 'statesFilter' in request ? request.statesFilter : [];
  const types = 'typesFilter' in request ? request.typesFilter : [];
  const { errorCode, groups } = context.groups.list();
  return {
    throttleTimeMs: 0,
    errorCode,
    groups: groups
      .filter((group) => matches(states, group.state) && matches(types, CLASSIC_GROUP_TYPE))
      .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: CLASSIC_GROUP_TYPE })),
  };
};
