/**
 * Earliest and latest offsets of many partitions at once, for the console's topics pages:
 * two ListOffsets per leader (earliest, then latest: a request may not name a partition twice),
 * all leaders in parallel. A leader that is down or slow leaves its partitions out instead of
 * holding the page: each leader gets `timeoutMs`.
 */
import { ApiKey } from '../../shared/kafka/api-keys';
import type { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError } from '../../shared/kafka/errors';
import type { ListOffsetsRequestV2, ListOffsetsResponseV2 } from '../../shared/kafka/messages';
import { BrokerNotLiveError, KafkaSession } from '../../cli/kafka-admin';
import { partitionKey, type PartitionOffsets } from './topic-stats';

export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
/** How long a topics page waits for one leader's offsets before showing them as unknown. */
export const OFFSETS_TIMEOUT_MS = 3000;

/**
 * Broker `id`'s connection. The console's Kafka session knows brokers from its last Metadata;
 * one that registered since (the live picture names it already) needs a fresh Metadata first.
 */
export async function brokerConnection(session: KafkaSession, id: number): Promise<KafkaConnection> {
  try {
    return await session.broker(id);
  } catch (error) {
    if (!(error instanceof BrokerNotLiveError)) throw error;
    await session.metadata([]);
    return session.broker(id);
  }
}

export interface LedPartition {
  topic: string;
  partition: number;
  leader: number;
}

/** One ListOffsets to `leader` for `partitions` at `timestamp`: partition key → offset (partitions answering an error are left out). */
export async function offsetsAt(connection: KafkaConnection, partitions: LedPartition[], timestamp: bigint): Promise<Map<string, { errorCode: number; offset: number }>> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const request: ListOffsetsRequestV2 = {
    replicaId: -1,
    isolationLevel: 0,
    topics: [...byTopic].map(([name, indexes]) => ({ name, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })) })),
  };
  const response = await connection.request<ListOffsetsResponseV2>(ApiKey.ListOffsets, 2, request);
  const out = new Map<string, { errorCode: number; offset: number }>();
  for (const topic of response.topics) for (const p of topic.partitions) out.set(partitionKey(topic.name, p.partitionIndex), { errorCode: p.errorCode, offset: Number(p.offset) });
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** partition key → {earliest, latest} for every partition whose leader answered both in time without an error. */
export async function partitionOffsets(session: KafkaSession, partitions: LedPartition[], timeoutMs = OFFSETS_TIMEOUT_MS): Promise<Map<string, PartitionOffsets>> {
  const byLeader = new Map<number, LedPartition[]>();
  for (const p of partitions) if (p.leader >= 0) byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p]);
  const out = new Map<string, PartitionOffsets>();
  await Promise.all(
    [...byLeader].map(async ([leader, led]) => {
      const answer = await withTimeout(
        (async () => {
          const connection = await brokerConnection(session, leader);
          return Promise.all([offsetsAt(connection, led, EARLIEST_TIMESTAMP), offsetsAt(connection, led, LATEST_TIMESTAMP)]);
        })().catch(() => null),
        timeoutMs,
      );
      if (answer === null) return;
      const [earliest, latest] = answer;
      for (const [key, e] of earliest) {
        const l = latest.get(key);
        if (e.errorCode === KafkaError.NONE && l !== undefined && l.errorCode === KafkaError.NONE) out.set(key, { earliest: e.offset, latest: l.offset });
      }
    }),
  );
  return out;
}
