/**
 * Consumer groups, as `samsa group list` / `group describe` see them (cli/commands/group.ts):
 *   GET /api/groups      every group (ListGroups on every live broker: each lists the groups it
 *                        coordinates), with state, protocol type, member count and total lag
 *   GET /api/groups/:id  members (decoded assignments), committed offsets, end offsets, lag
 * DescribeGroups is asked at v4 (the CLI's describeGroup asks v2) for the members' group
 * instance ids (static membership); committed and end offsets come from cli/group-offsets.ts.
 */
import { ApiKey } from '../../../shared/kafka/api-keys';
import { KafkaConnectionError, type KafkaConnection } from '../../../shared/kafka/client';
import { KafkaError, kafkaErrorName } from '../../../shared/kafka/errors';
import type { DescribeGroupsResponseV4, ListGroupsResponseV4 } from '../../../shared/kafka/messages';
import { askCoordinator, backoffMs } from '../../../cli/group-coordinator';
import { committedOffsets, GROUP_STATE_DEAD, LATEST_TIMESTAMP, listOffsets } from '../../../cli/group-offsets';
import { CliError, type KafkaSession } from '../../../cli/kafka-admin';
import { ApiError, type ConsoleContext, type Route } from '../types';
import { groupDetail, groupSummary, partitionsOf, memberView, type DescribedGroupState, type GroupSummary, type OffsetTable } from '../group-view';

/** A broker still loading its offsets partitions answers ListGroups with LOAD_IN_PROGRESS: asked again this often (as the CLI). */
const LIST_ATTEMPTS_MAX = 10;
/** Groups whose offsets are fetched at once for the list's lag column (each costs a FindCoordinator and an OffsetFetch). */
const GROUP_OFFSETS_CONCURRENCY = 8;
/** More groups than this: the list still names them all, but their lag is left unknown (a refresh every few seconds must stay cheap). */
export const GROUPS_WITH_LAG_MAX = 200;

type DescribedV4 = DescribeGroupsResponseV4['groups'][number];

interface Listed {
  groupId: string;
  protocolType: string;
  state: string;
  coordinator: number;
}

/** The groups broker `nodeId` coordinates; null when it cannot be reached (it is reported, the others still listed). */
async function listAt(session: KafkaSession, broker: { nodeId: number; host: string; port: number }): Promise<Listed[] | null> {
  for (let attempt = 0; ; attempt++) {
    let answer: ListGroupsResponseV4;
    try {
      answer = await (await session.connect(`${broker.host}:${broker.port}`)).request<ListGroupsResponseV4>(ApiKey.ListGroups, 4, { statesFilter: [] });
    } catch (error) {
      if (error instanceof KafkaConnectionError) return null;
      throw error;
    }
    if (answer.errorCode === KafkaError.COORDINATOR_LOAD_IN_PROGRESS && attempt + 1 < LIST_ATTEMPTS_MAX) {
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
      continue;
    }
    if (answer.errorCode !== KafkaError.NONE) return null;
    return answer.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, coordinator: broker.nodeId }));
  }
}

/** DescribeGroups v4 at a connection that coordinates `groupIds` (the broker that listed them). */
async function describeAt(connection: KafkaConnection, groupIds: string[]): Promise<DescribedV4[]> {
  const answer = await connection.request<DescribeGroupsResponseV4>(ApiKey.DescribeGroups, 4, { groups: groupIds, includeAuthorizedOperations: false });
  return answer.groups;
}

/** Latest offsets of every partition named in `wanted` (topic → partitions), one ListOffsets per leader and topic. */
async function endOffsets(session: KafkaSession, wanted: Map<string, number[]>): Promise<OffsetTable> {
  const out: OffsetTable = new Map();
  await Promise.all(
    [...wanted].map(async ([topic, partitions]) => {
      try {
        out.set(topic, await listOffsets(session, topic, partitions, LATEST_TIMESTAMP));
      } catch (error) {
        // A leader that just died: its partitions' end (and lag) show as unknown until the next refresh.
        if (!(error instanceof KafkaConnectionError) && !(error instanceof CliError)) throw error;
      }
    }),
  );
  return out;
}

/** Runs `work` on every item, at most `concurrency` at a time. */
async function eachLimited<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function listGroupSummaries(session: KafkaSession): Promise<{ groups: GroupSummary[]; unreachableBrokers: number[] }> {
  const metadata = await session.metadata([]);
  const unreachableBrokers: number[] = [];
  const listed = new Map<string, Listed>();
  const described = new Map<string, DescribedV4>();
  await Promise.all(
    metadata.brokers.map(async (broker) => {
      const groups = await listAt(session, broker);
      if (groups === null) return void unreachableBrokers.push(broker.nodeId);
      for (const g of groups) listed.set(g.groupId, g);
      if (groups.length === 0) return;
      try {
        for (const g of await describeAt(await session.connect(`${broker.host}:${broker.port}`), groups.map((x) => x.groupId))) if (g.errorCode === KafkaError.NONE) described.set(g.groupId, g);
      } catch (error) {
        if (!(error instanceof KafkaConnectionError)) throw error;
      }
    }),
  );
  const ids = [...listed.keys()].sort();
  const committed = new Map<string, OffsetTable>();
  await eachLimited(ids.slice(0, GROUPS_WITH_LAG_MAX), GROUP_OFFSETS_CONCURRENCY, async (groupId) => {
    try {
      committed.set(groupId, await committedOffsets(session, groupId, null));
    } catch (error) {
      if (!(error instanceof CliError) && !(error instanceof KafkaConnectionError)) throw error;
    }
  });
  const wanted = new Map<string, Set<number>>();
  for (const [groupId, table] of committed) {
    const members = (described.get(groupId)?.members ?? []).map((m) => memberView(m, described.get(groupId)!.protocolType));
    for (const [topic, partitions] of partitionsOf(members, table)) for (const p of partitions) wanted.set(topic, (wanted.get(topic) ?? new Set<number>()).add(p));
  }
  const ends = await endOffsets(session, new Map([...wanted].map(([topic, set]) => [topic, [...set]])));
  const groups = ids.map((groupId) => {
    const l = listed.get(groupId)!;
    const d = described.get(groupId);
    // Described by the broker that listed it; if that failed, what ListGroups said (no members known).
    const state: DescribedGroupState = d ?? { groupId, groupState: l.state, protocolType: l.protocolType, protocolData: '', members: [] };
    return groupSummary(state, l.coordinator, committed.get(groupId) ?? new Map(), ends);
  });
  return { groups, unreachableBrokers: unreachableBrokers.sort((a, b) => a - b) };
}

export async function describeGroupDetail(session: KafkaSession, groupId: string): Promise<ReturnType<typeof groupDetail>> {
  let coordinator = -1;
  const answer = await askCoordinator(
    session,
    groupId,
    (connection, address) => {
      coordinator = address.nodeId;
      return connection.request<DescribeGroupsResponseV4>(ApiKey.DescribeGroups, 4, { groups: [groupId], includeAuthorizedOperations: false });
    },
    (response) => response.groups[0]?.errorCode ?? KafkaError.NONE,
  );
  const group = answer.groups.find((g) => g.groupId === groupId);
  if (group === undefined) throw new ApiError(502, `the coordinator did not describe group ${groupId}`);
  if (group.errorCode === KafkaError.GROUP_ID_NOT_FOUND || (group.errorCode === KafkaError.NONE && group.groupState === GROUP_STATE_DEAD)) {
    throw new ApiError(404, `group ${groupId} does not exist (no members, no committed offsets)`);
  }
  if (group.errorCode !== KafkaError.NONE) throw new ApiError(503, `${kafkaErrorName(group.errorCode)}: group ${groupId}`);
  const committed = await committedOffsets(session, groupId, null);
  const members = group.members.map((m) => memberView(m, group.protocolType));
  const ends = await endOffsets(session, partitionsOf(members, committed));
  return groupDetail(group, coordinator, committed, ends);
}

/** The cluster could not answer (no coordinator, no live broker): a 503 with the CLI's one line, not a 500. */
async function clusterCall<R>(action: () => Promise<R>): Promise<R> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CliError || error instanceof KafkaConnectionError) throw new ApiError(503, error.message);
    throw error;
  }
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/groups',
    handler: async (_request, context: ConsoleContext) => ({ body: await clusterCall(() => listGroupSummaries(context.kafka)) }),
  },
  {
    method: 'GET',
    pattern: '/api/groups/:id',
    handler: async (request, context: ConsoleContext) => ({ body: await clusterCall(() => describeGroupDetail(context.kafka, request.params.id!)) }),
  },
];
