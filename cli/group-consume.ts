/**
 * The loop of `samsa consume <topic> --group <id>`: join, start each assigned partition at the
 * group's committed offset (none: earliest with --from-beginning, else latest, like the plain
 * consume), fetch from the partitions' leaders, print, commit after each printed batch, rejoin
 * when the group rebalances (committing first, as kafkajs does), and on exit commit and leave.
 *
 * Only printed records are committed: a member stopped by --max leaves the rest to the next
 * owner of the partition (at-least-once, like any Kafka consumer committing after processing).
 */
import { setTimeout as sleep } from 'timers/promises';
import { ApiKey } from '../shared/kafka/api-keys';
import type { TopicPartitions } from '../shared/kafka/consumer-protocol';
import { KafkaError } from '../shared/kafka/errors';
import type { FetchResponseV11, ListOffsetsResponseV2 } from '../shared/kafka/messages';
import { createLogger, loggingOptionsFromEnv } from '../shared/logging';
import { DecodedRecord, decodeRecords, iterateBatches } from '../shared/kafka/record-batch';
import { CommitOffsets, GroupAbortedError, GroupMember, REBALANCE_TIMEOUT_MS_DEFAULT } from './group-member';
import { kafkaFailure, KafkaSession, leaderGone } from './kafka-admin';

const FETCH_MAX_WAIT_MS = 500;
const FETCH_MAX_BYTES = 16 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
/** A member the group gave no partition checks this often whether to stop or rejoin. */
const IDLE_POLL_MS = 200;
/** Fetch errors after which the leaders are looked up again (a leader moved or is being elected). */
export const REFRESH_ERRORS: ReadonlySet<number> = new Set([KafkaError.NOT_LEADER_OR_FOLLOWER, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.REPLICA_NOT_AVAILABLE, KafkaError.NOT_ENOUGH_REPLICAS]);
export const REFRESH_BACKOFF_MS = 200;
/** How long the partitions may stay without a reachable leader (a dead leader is replaced within the brokers' session timeout, 3 s by default) before the command gives up. */
export const LEADER_WAIT_MS = 30_000;

export interface GroupConsumeOptions {
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  max?: number;
  timeoutMs?: number;
  /** Stop once every assigned partition is read up to its high watermark (kcat -e). */
  exitAtEnd?: boolean;
  sessionTimeoutMs: number;
  print: (partition: number, record: DecodedRecord) => void;
  stopped: () => boolean;
  /** Registers a callback for Ctrl-C / SIGTERM (ends a join the coordinator is holding). */
  onStop: (listener: () => void) => void;
}

export async function consumeInGroup(session: KafkaSession, options: GroupConsumeOptions): Promise<void> {
  const log = createLogger(loggingOptionsFromEnv(process.env)).child({ component: 'group-member' });
  const { topic } = options;
  const member = new GroupMember(session, { groupId: options.groupId, topics: [topic], clientId: 'samsa-cli', sessionTimeoutMs: options.sessionTimeoutMs, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS_DEFAULT }, log);
  let joining = false;
  options.onStop(() => {
    if (joining) member.abort();
  });
  // topic partition → next offset to read; `uncommitted` holds those printed but not yet committed.
  let positions = new Map<number, number>();
  let uncommitted = new Map<number, number>();
  let leaders = new Map<number, number[]>();
  const commit = async (): Promise<void> => {
    if (uncommitted.size === 0) return;
    const offsets: CommitOffsets = new Map([[topic, uncommitted]]);
    uncommitted = new Map();
    await member.commit(offsets);
  };
  const join = async (): Promise<boolean> => {
    joining = true;
    try {
      const assignment = await member.join();
      positions = await startPositions(session, member, topic, assignment, options.fromBeginning);
      highWatermarks = new Map();
      leaders = await leadersOf(session, topic, [...positions.keys()]);
      return true;
    } catch (error) {
      if (error instanceof GroupAbortedError) return false;
      throw error;
    } finally {
      joining = false;
    }
  };

  let printed = 0;
  const limitReached = (): boolean => options.max !== undefined && printed >= options.max;
  // partition → its high watermark in the latest fetch, for --exit-at-end.
  let highWatermarks = new Map<number, number>();
  const atEnd = (): boolean => options.exitAtEnd === true && [...positions].every(([partition, position]) => position >= (highWatermarks.get(partition) ?? Infinity));
  try {
    if (!(await join())) return;
    let lastRecordAt = Date.now();
    let lastLedAt = Date.now();
    while (!options.stopped() && !limitReached() && !atEnd()) {
      if (options.timeoutMs !== undefined && Date.now() - lastRecordAt > options.timeoutMs) break;
      if (member.needsRejoin) {
        await commit();
        if (!(await join())) return;
        continue;
      }
      if (leaders.size === 0) {
        await sleep(IDLE_POLL_MS);
        if (positions.size > 0) leaders = await leadersOf(session, topic, [...positions.keys()], true);
        continue;
      }
      let refresh = false;
      const responses = await Promise.all(
        [...leaders].map(async ([leaderId, partitions]) => {
          const leader = await session.broker(leaderId).catch((error: unknown) => {
            if (!leaderGone(error)) throw error;
            return null;
          });
          if (leader === null) {
            refresh = true;
            return null;
          }
          return leader.request<FetchResponseV11>(ApiKey.Fetch, 11, {
            replicaId: -1,
            maxWaitMs: FETCH_MAX_WAIT_MS,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [{ topic, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(positions.get(partition)!), logStartOffset: -1n, partitionMaxBytes: PARTITION_MAX_BYTES })) }],
            forgottenTopicsData: [],
            rackId: '',
          }).catch((error: unknown) => {
            // The leader died mid-command: look the leaders up again below.
            if (!leaderGone(error)) throw error;
            refresh = true;
            return null;
          });
        }),
      );
      // The group may have moved on during the fetch: print nothing another member now owns.
      if (member.needsRejoin) continue;
      for (const response of responses) {
        if (response === null) continue;
        for (const part of response.responses[0]!.partitions) {
          const partition = part.partitionIndex;
          if (REFRESH_ERRORS.has(part.errorCode)) {
            refresh = true;
            continue;
          }
          if (part.errorCode === KafkaError.OFFSET_OUT_OF_RANGE) {
            positions.set(partition, await resetOffset(session, topic, partition, options.fromBeginning));
            continue;
          }
          if (part.errorCode !== KafkaError.NONE) throw kafkaFailure(part.errorCode, `${topic}-${partition}`);
          highWatermarks.set(partition, Number(part.highWatermark));
          const records = part.records ?? Buffer.alloc(0);
          for (const batch of iterateBatches(records)) {
            for (const record of decodeRecords(records.subarray(batch.position, batch.position + batch.size))) {
              if (record.offset < positions.get(partition)! || limitReached()) continue;
              options.print(partition, record);
              printed++;
              lastRecordAt = Date.now();
              positions.set(partition, record.offset + 1);
              uncommitted.set(partition, record.offset + 1);
            }
          }
        }
      }
      await commit();
      if ([...leaders.values()].reduce((sum, led) => sum + led.length, 0) < positions.size) refresh = true;
      if (!refresh) lastLedAt = Date.now();
      else {
        if (Date.now() - lastLedAt > LEADER_WAIT_MS) throw kafkaFailure(KafkaError.LEADER_NOT_AVAILABLE, `${topic}: no reachable leader for ${LEADER_WAIT_MS} ms`);
        await sleep(REFRESH_BACKOFF_MS);
        leaders = await leadersOf(session, topic, [...positions.keys()], true);
      }
    }
    await commit();
  } finally {
    await member.leave();
    member.close();
  }
}

/** Committed offsets of the assigned partitions; the reset offset where there is none. */
async function startPositions(session: KafkaSession, member: GroupMember, topic: string, assignment: TopicPartitions[], fromBeginning: boolean): Promise<Map<number, number>> {
  const partitions = assignment.filter((entry) => entry.topic === topic).flatMap((entry) => entry.partitions);
  const positions = new Map<number, number>();
  if (partitions.length === 0) return positions;
  const committed = (await member.committedOffsets([{ topic, partitions }])).get(topic) ?? new Map<number, number>();
  for (const partition of partitions) {
    const offset = committed.get(partition) ?? -1;
    positions.set(partition, offset >= 0 ? offset : await resetOffset(session, topic, partition, fromBeginning));
  }
  return positions;
}

/**
 * The earliest or latest offset of a partition, from its leader; retried (bounded by
 * LEADER_WAIT_MS) while the leader is dead, moving or being elected.
 */
export async function resetOffset(session: KafkaSession, topic: string, partition: number, fromBeginning: boolean): Promise<number> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    const metadata = await session.metadata([topic]);
    const leaderId = metadata.topics[0]?.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    let errorCode: number = KafkaError.LEADER_NOT_AVAILABLE;
    if (leaderId >= 0) {
      try {
        const leader = await session.broker(leaderId);
        const listed = await leader.request<ListOffsetsResponseV2>(ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: fromBeginning ? -2n : -1n }] }] });
        const answer = listed.topics[0]!.partitions[0]!;
        if (answer.errorCode === KafkaError.NONE) return Number(answer.offset);
        errorCode = answer.errorCode;
      } catch (error) {
        if (!leaderGone(error)) throw error;
        errorCode = KafkaError.NOT_LEADER_OR_FOLLOWER;
      }
    }
    if (!REFRESH_ERRORS.has(errorCode) || Date.now() + REFRESH_BACKOFF_MS > deadline) throw kafkaFailure(errorCode, `${topic}-${partition}`);
    await sleep(REFRESH_BACKOFF_MS);
  }
}

/**
 * leader broker id → the given partitions it leads (from the session's latest Metadata); a
 * partition without a leader (an election under way) is left out until the next refresh.
 */
async function leadersOf(session: KafkaSession, topic: string, partitions: number[], fresh = false): Promise<Map<number, number[]>> {
  const cached = session.metadataCache;
  const metadata = !fresh && cached?.topics.some((t) => t.name === topic) ? cached : await session.metadata([topic]);
  const described = metadata.topics.find((t) => t.name === topic);
  if (described === undefined || described.errorCode !== KafkaError.NONE) throw kafkaFailure(described?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION, topic);
  const byLeader = new Map<number, number[]>();
  for (const partition of partitions) {
    const leaderId = described.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    if (leaderId < 0) continue;
    byLeader.set(leaderId, [...(byLeader.get(leaderId) ?? []), partition]);
  }
  return byLeader;
}
