/** DeleteGroups: an empty group's offsets and metadata are removed (tombstones in __consumer_offsets). */
import type { Handler } from './types';

export const deleteGroups: Handler<'DeleteGroups'> = async ({ context, request }) => {
  const codes = await context.groups.deleteGroups(request.groupsNames);
  return { throttleTimeMs: 0, results: request.groupsNames.map((groupId, index) => ({ groupId, errorCode: codes[index]! })) };
};
