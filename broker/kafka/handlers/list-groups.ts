/** ListGroups: the groups this broker coordinates (clients ask every broker and merge). */
import type { Handler } from './types';

export const listGroups: Handler<'ListGroups'> = ({ context }) => {
  const { errorCode, groups } = context.groups.list();
  return { throttleTimeMs: 0, errorCode, groups: groups.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType })) };
};
