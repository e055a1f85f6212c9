/**
 * `samsa group list|describe|reset-offsets|delete`: consumer group administration over the
 * Kafka protocol, as kafka-consumer-groups.sh does it: ListGroups on every live broker (each
 * lists the groups it coordinates), DescribeGroups / OffsetFetch / OffsetCommit / DeleteGroups
 * at the group's coordinator, ListOffsets at the partitions' leaders.
 */
import type { Argv, CommandModule } from 'yargs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnectionError } from '../../shared/kafka/client';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, TopicPartitions } from '../../shared/kafka/consumer-protocol';
import { KafkaError } from '../../shared/kafka/errors';
import type { DeleteGroupsResponseV1, ListGroupsResponseV2, OffsetCommitResponseV5 } from '../../shared/kafka/messages';
import { alignColumns } from '../cluster-report';
import { askCoordinator, backoffMs } from '../group-coordinator';
import { committedOffsets, describeGroup, EARLIEST_TIMESTAMP, GROUP_STATE_DEAD, GROUP_STATE_EMPTY, groupNotFound, LATEST_TIMESTAMP, listOffsets } from '../group-offsets';
import { BootstrapArgs, bootstrapOptions, CliError, kafkaFailure, withSession } from '../kafka-admin';

/** A broker still loading its offsets partitions answers ListGroups with LOAD_IN_PROGRESS; asked again this often. */
const LIST_ATTEMPTS_MAX = 10;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface GroupArgs extends BootstrapArgs {
  group: string;
}

const list: CommandModule<unknown, BootstrapArgs> = {
  command: 'list',
  describe: 'list the consumer groups of the cluster, one id per line',
  builder: (yargs) => bootstrapOptions(yargs).example('$0 group list', '').example('$0 group list --json', 'with protocol type and coordinator'),
  handler: async (args) => {
    await withSession(args, async (session) => {
      const metadata = await session.metadata([]);
      const groups = new Map<string, { groupId: string; protocolType: string; coordinator: number }>();
      await Promise.all(
        metadata.brokers.map(async (broker) => {
          for (let attempt = 0; ; attempt++) {
            let answer: ListGroupsResponseV2;
            try {
              answer = await (await session.connect(`${broker.host}:${broker.port}`)).request<ListGroupsResponseV2>(ApiKey.ListGroups, 2, {});
            } catch (error) {
              if (error instanceof KafkaConnectionError) throw new CliError(`BROKER_NOT_AVAILABLE: broker ${broker.nodeId} did not list its groups (${error.message})`);
              throw error;
            }
            if (answer.errorCode === KafkaError.COORDINATOR_LOAD_IN_PROGRESS && attempt + 1 < LIST_ATTEMPTS_MAX) {
              await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
              continue;
            }
            if (answer.errorCode !== KafkaError.NONE) throw kafkaFailure(answer.errorCode, `groups of broker ${broker.nodeId}`);
            for (const group of answer.groups) groups.set(group.groupId, { groupId: group.groupId, protocolType: group.protocolType, coordinator: broker.nodeId });
            return;
          }
        }),
      );
      const sorted = [...groups.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
      if (args.json) print(JSON.stringify(sorted));
      else for (const group of sorted) print(group.groupId);
    });
  },
};

const formatAssignment = (partitions: TopicPartitions[]): string => partitions.map((p) => `${p.topic}:${[...p.partitions].sort((a, b) => a - b).join(',')}`).join(' ') || '-';

const describe: CommandModule<unknown, GroupArgs> = {
  command: 'describe <group>',
  describe: "a group's state, protocol, members (client id, host, assigned partitions) and, per partition, committed offset, end offset and lag",
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('group', { type: 'string', demandOption: true })
      .example('$0 group describe billing', '')
      .example('$0 group describe billing --json', 'the same as one JSON object') as Argv<GroupArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const { group, coordinatorId } = await describeGroup(session, args.group);
      if (group.groupState === GROUP_STATE_DEAD) throw groupNotFound(args.group);
      const members = group.members.map((m) => {
        let assignment: TopicPartitions[] | null = null;
        if (group.protocolType === CONSUMER_PROTOCOL_TYPE) {
          try {
            assignment = decodeAssignment(m.memberAssignment).partitions;
          } catch {
            // A client writing something else under "consumer": shown as undecodable, not a failure.
          }
        }
        return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment, assignmentBytes: m.memberAssignment.length };
      });
      const owner = new Map<string, { memberId: string; clientId: string }>();
      for (const m of members) for (const tp of m.assignment ?? []) for (const p of tp.partitions) owner.set(`${tp.topic}\u0000${p}`, m);
      const committed = await committedOffsets(session, args.group, null);
      const partitions = new Map<string, Set<number>>();
      for (const [topic, offsets] of committed) partitions.set(topic, new Set(offsets.keys()));
      for (const m of members) for (const tp of m.assignment ?? []) for (const p of tp.partitions) partitions.set(tp.topic, (partitions.get(tp.topic) ?? new Set()).add(p));
      const rows: Array<{ topic: string; partition: number; committed: number | null; end: number | null; lag: number | null; memberId: string | null; clientId: string | null }> = [];
      for (const topic of [...partitions.keys()].sort()) {
        const indexes = [...partitions.get(topic)!].sort((a, b) => a - b);
        const ends = await listOffsets(session, topic, indexes, LATEST_TIMESTAMP);
        for (const partition of indexes) {
          const offset = committed.get(topic)?.get(partition) ?? null;
          const end = ends.get(partition) ?? null;
          const m = owner.get(`${topic}\u0000${partition}`);
          rows.push({ topic, partition, committed: offset, end, lag: offset !== null && end !== null ? Math.max(0, end - offset) : null, memberId: m?.memberId ?? null, clientId: m?.clientId ?? null });
        }
      }
      if (args.json) {
        print(JSON.stringify({ groupId: group.groupId, state: group.groupState, protocolType: group.protocolType, protocol: group.protocolData, coordinator: coordinatorId, members: members.map(({ assignmentBytes: _, ...m }) => m), offsets: rows }));
        return;
      }
      const show = (value: number | string | null): string => (value === null ? '-' : String(value));
      print(`Group ${group.groupId}  State: ${group.groupState}  Protocol: ${group.protocolType || '-'}${group.protocolData ? `/${group.protocolData}` : ''}  Coordinator: broker ${coordinatorId}`);
      print('');
      if (members.length === 0) print('No active members.');
      else for (const line of alignColumns([['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], ...members.map((m) => [m.memberId, m.clientId, m.host, m.assignment === null ? `(${m.assignmentBytes} bytes, not a consumer assignment)` : formatAssignment(m.assignment)])])) print(line);
      print('');
      if (rows.length === 0) print('No committed offsets.');
      else for (const line of alignColumns([['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID', 'CLIENT-ID'], ...rows.map((r) => [r.topic, String(r.partition), show(r.committed), show(r.end), show(r.lag), show(r.memberId), show(r.clientId)])])) print(line);
    });
  },
};

interface ResetArgs extends GroupArgs {
  topic: string;
  'to-earliest'?: boolean;
  'to-latest'?: boolean;
  'to-offset'?: number;
  'to-datetime'?: string;
  'dry-run': boolean;
}

/** The new offset of each partition: earliest/latest/by time from the leaders; --to-offset kept inside the log, as Kafka's tool does. */
async function plannedOffsets(session: Parameters<Parameters<typeof withSession>[1]>[0], args: ResetArgs, partitions: number[]): Promise<Map<number, number>> {
  if (args['to-earliest']) return listOffsets(session, args.topic, partitions, EARLIEST_TIMESTAMP);
  const latest = await listOffsets(session, args.topic, partitions, LATEST_TIMESTAMP);
  if (args['to-latest']) return latest;
  if (args['to-offset'] !== undefined) {
    const earliest = await listOffsets(session, args.topic, partitions, EARLIEST_TIMESTAMP);
    return new Map([...latest].map(([p, end]) => [p, Math.min(end, Math.max(earliest.get(p) ?? 0, args['to-offset']!))]));
  }
  const time = Date.parse(args['to-datetime']!);
  const byTime = await listOffsets(session, args.topic, partitions, BigInt(time));
  // No record at or after that time: the end of the log (Kafka's tool does the same).
  return new Map([...latest].map(([p, end]) => [p, (byTime.get(p) ?? -1) >= 0 ? byTime.get(p)! : end]));
}

const resetOffsets: CommandModule<unknown, ResetArgs> = {
  command: 'reset-offsets <group>',
  describe: "set a group's committed offsets of a topic (the group must have no active members)",
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('group', { type: 'string', demandOption: true })
      .option('topic', { type: 'string', demandOption: true, describe: 'the topic whose offsets to reset (all its partitions)' })
      .option('to-earliest', { type: 'boolean', describe: 'the first offset still in the log' })
      .option('to-latest', { type: 'boolean', describe: 'the end of the log (skip everything written so far)' })
      .option('to-offset', { type: 'number', describe: 'this offset (kept within each partition\'s log)' })
      .option('to-datetime', { type: 'string', describe: 'the first record written at or after this ISO time, e.g. 2026-12-01T10:00:00Z' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan, commit nothing' })
      .check((a) => {
        const chosen = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime'].filter((name) => a[name] !== undefined && a[name] !== false);
        // One-line INVALID_REQUEST errors with exit 1, as consume's option checks.
        if (chosen.length !== 1) throw kafkaFailure(KafkaError.INVALID_REQUEST, 'name exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime');
        if (a['to-offset'] !== undefined && (!Number.isInteger(a['to-offset']) || (a['to-offset'] as number) < 0)) throw kafkaFailure(KafkaError.INVALID_REQUEST, '--to-offset needs an offset >= 0');
        if (a['to-datetime'] !== undefined && Number.isNaN(Date.parse(String(a['to-datetime'])))) throw kafkaFailure(KafkaError.INVALID_REQUEST, `--to-datetime: '${String(a['to-datetime'])}' is not an ISO date-time, e.g. 2026-12-01T10:00:00Z`);
        return true;
      })
      .example('$0 group reset-offsets billing --topic orders --to-earliest --dry-run', 'show what would change')
      .example('$0 group reset-offsets billing --topic orders --to-datetime 2026-12-01T10:00:00Z', 'read again from that time on')
      .example('$0 group reset-offsets billing --topic orders --to-offset 1000', '') as Argv<ResetArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const { group } = await describeGroup(session, args.group);
      if (group.groupState !== GROUP_STATE_EMPTY && group.groupState !== GROUP_STATE_DEAD) {
        throw new CliError(`NON_EMPTY_GROUP: group ${args.group} is ${group.groupState} with ${group.members.length} member(s); offsets can only be reset while it is inactive (Empty): stop its consumers first`);
      }
      const metadata = await session.metadata([args.topic]);
      const topic = metadata.topics.find((t) => t.name === args.topic);
      if (topic === undefined || topic.errorCode !== KafkaError.NONE || topic.partitions.length === 0) throw kafkaFailure(topic?.errorCode || KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.topic);
      const partitions = topic.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
      const current = (await committedOffsets(session, args.group, [{ name: args.topic, partitionIndexes: partitions }])).get(args.topic) ?? new Map<number, number>();
      const planned = await plannedOffsets(session, args, partitions);
      const missing = partitions.filter((p) => !planned.has(p));
      if (missing.length > 0) throw kafkaFailure(KafkaError.LEADER_NOT_AVAILABLE, `${args.topic} partitions ${missing.join(',')}`);
      const plan = partitions.map((partition) => ({ topic: args.topic, partition, current: current.get(partition) ?? null, next: planned.get(partition)! }));
      if (!args['dry-run']) {
        const answer = await askCoordinator(
          session,
          args.group,
          // Generation -1 and no member id: a commit from outside the group, allowed only while it has no members.
          (coordinator) => coordinator.request<OffsetCommitResponseV5>(ApiKey.OffsetCommit, 5, { groupId: args.group, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: args.topic, partitions: plan.map((p) => ({ partitionIndex: p.partition, committedOffset: BigInt(p.next), committedMetadata: null })) }] }),
          (response) => response.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== KafkaError.NONE)?.errorCode ?? KafkaError.NONE,
        );
        const failed = answer.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p }))).find((p) => p.errorCode !== KafkaError.NONE);
        if (failed !== undefined) throw kafkaFailure(failed.errorCode, `commit of ${failed.topic}-${failed.partitionIndex} in group ${args.group}`);
      }
      if (args.json) {
        print(JSON.stringify({ groupId: args.group, dryRun: args['dry-run'], offsets: plan.map((p) => ({ topic: p.topic, partition: p.partition, currentOffset: p.current, newOffset: p.next })) }));
        return;
      }
      print(args['dry-run'] ? `Plan for group ${args.group} (dry run: nothing committed)` : `Reset offsets of group ${args.group}`);
      for (const line of alignColumns([['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], ...plan.map((p) => [p.topic, String(p.partition), p.current === null ? '-' : String(p.current), String(p.next)])])) print(line);
    });
  },
};

const deleteGroup: CommandModule<unknown, GroupArgs> = {
  command: 'delete <group>',
  describe: 'delete a group without active members, with its committed offsets',
  builder: (yargs) => bootstrapOptions(yargs).positional('group', { type: 'string', demandOption: true }).example('$0 group delete billing', '') as Argv<GroupArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const answer = await askCoordinator(
        session,
        args.group,
        (coordinator) => coordinator.request<DeleteGroupsResponseV1>(ApiKey.DeleteGroups, 1, { groupsNames: [args.group] }),
        (response) => response.results[0]?.errorCode ?? KafkaError.NONE,
      );
      const errorCode = answer.results.find((r) => r.groupId === args.group)?.errorCode ?? KafkaError.UNKNOWN_SERVER_ERROR;
      if (errorCode === KafkaError.NON_EMPTY_GROUP) throw new CliError(`NON_EMPTY_GROUP: group ${args.group} has active members; stop its consumers (or wait for their session timeout) before deleting it`);
      if (errorCode === KafkaError.GROUP_ID_NOT_FOUND) throw groupNotFound(args.group);
      if (errorCode !== KafkaError.NONE) throw kafkaFailure(errorCode, `group ${args.group}`);
      print(args.json ? JSON.stringify({ deleted: args.group }) : `Deleted group ${args.group}`);
    });
  },
};

export const groupCommand: CommandModule = {
  command: 'group <command>',
  describe: 'consumer groups: list, describe, reset-offsets, delete',
  builder: (yargs) => yargs.command(list).command(describe).command(resetOffsets).command(deleteGroup).demandCommand(1, 'Name a group command; see --help.'),
  handler: () => undefined,
};
