/**
 * The chaos run's own Kafka client on the repo's codec: connections by address that are
 * dropped when they fail or time out, Metadata from whichever broker answers, and the few
 * requests the run needs (CreateTopics, ListOffsets, Fetch). Consumers use it rather than
 * kafkajs because kafkajs consumers need consumer groups, which Samsa does not serve yet.
 */
import type { Metadata, MetadataPartition } from '../../cli/kafka-admin';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError, kafkaErrorName } from '../../shared/kafka/errors';
import { decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';

export type { Metadata, MetadataPartition };

/** A paused broker must not hold a consumer or the run for long. */
export const REQUEST_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 1000;
/** Fetch: long-poll wait and byte budgets. */
const FETCH_MAX_WAIT_MS = 250;
const FETCH_MAX_BYTES = 8 * 1024 * 1024;
const FETCH_PARTITION_MAX_BYTES = 1024 * 1024;

export class ChaosClient {
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  private next = 0;

  constructor(
    private readonly bootstrap: readonly string[],
    private readonly clientId: string,
  ) {}

  /** A request on the connection to `address`; a failed or timed-out connection is dropped so the next call reconnects. */
  async request<T>(address: string, apiKey: number, apiVersion: number, body: object): Promise<T> {
    const connection = await this.connect(address);
    try {
      return await connection.request<T>(apiKey, apiVersion, body);
    } catch (error) {
      this.drop(connection);
      throw error;
    }
  }

  /** Metadata v4 (leader, replicas, ISR, controller) from the first broker that answers, starting from a rotating one. */
  async metadata(topics: string[] | null): Promise<Metadata> {
    let last: unknown = null;
    for (let i = 0; i < this.bootstrap.length; i++) {
      const address = this.bootstrap[(this.next + i) % this.bootstrap.length]!;
      try {
        const metadata = await this.request<Metadata>(address, ApiKey.Metadata, 4, { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation: false });
        this.next = (this.next + i + 1) % this.bootstrap.length;
        return metadata;
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`no broker answered Metadata: ${last instanceof Error ? last.message : String(last)}`);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.then((c) => c.close(), () => undefined);
    this.connections.clear();
  }

  /** The open connection to `address`, or a new one (a closed one is replaced). */
  private async connect(address: string): Promise<KafkaConnection> {
    for (;;) {
      const existing = this.connections.get(address);
      if (existing === undefined) break;
      const connection = await existing.catch(() => null);
      if (connection !== null && !connection.isClosed) return connection;
      // Replaced by a concurrent caller while we waited: look again; otherwise it is ours to replace.
      if (this.connections.get(address) === existing) {
        this.connections.delete(address);
        break;
      }
    }
    const colon = address.lastIndexOf(':');
    const opening = KafkaConnection.connect(address.slice(0, colon), Number(address.slice(colon + 1)), { clientId: this.clientId, connectTimeoutMs: CONNECT_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    this.connections.set(address, opening);
    try {
      return await opening;
    } catch (error) {
      if (this.connections.get(address) === opening) this.connections.delete(address);
      throw error;
    }
  }

  /** Closes a connection after a failure or a timeout (a paused broker's late answers are not waited for); the next request reconnects. */
  private drop(connection: KafkaConnection): void {
    connection.close();
  }
}

export function brokerAddress(metadata: Metadata, id: number): string | null {
  const broker = metadata.brokers.find((b) => b.nodeId === id);
  return broker === undefined ? null : `${broker.host}:${broker.port}`;
}

export function partitionsOf(metadata: Metadata): Array<{ topic: string; partition: MetadataPartition }> {
  return metadata.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))).sort((a, b) => (a.topic === b.topic ? a.partition.partitionIndex - b.partition.partitionIndex : a.topic < b.topic ? -1 : 1));
}

/** CreateTopics on the controller; retried (bounded by `deadline`) while there is none or it moves. */
export async function createTopics(client: ChaosClient, names: string[], partitions: number, replicationFactor: number, configs: Record<string, string>, deadline: number): Promise<void> {
  const pending = new Set(names);
  let lastProblem = '';
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`could not create topics ${[...pending].join(', ')}: ${lastProblem}`);
    try {
      const metadata = await client.metadata([]);
      const controller = brokerAddress(metadata, metadata.controllerId);
      if (controller === null) throw new Error('no controller');
      const response = await client.request<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(controller, ApiKey.CreateTopics, 3, {
        topics: [...pending].map((name) => ({ name, numPartitions: partitions, replicationFactor, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) })),
        timeoutMs: 10_000,
        validateOnly: false,
      });
      for (const topic of response.topics) {
        if (topic.errorCode === KafkaError.NONE || topic.errorCode === KafkaError.TOPIC_ALREADY_EXISTS) pending.delete(topic.name);
        else lastProblem = `${topic.name}: ${kafkaErrorName(topic.errorCode)} ${topic.errorMessage ?? ''}`;
      }
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** ListOffsets latest (the high watermark) of one partition from its leader. */
export async function highWatermark(client: ChaosClient, leaderAddress: string, topic: string, partition: number): Promise<number> {
  const response = await client.request<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(leaderAddress, ApiKey.ListOffsets, 3, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  const answer = response.topics[0]?.partitions[0];
  if (answer === undefined || answer.errorCode !== KafkaError.NONE) throw new Error(`ListOffsets ${topic}-${partition}: ${kafkaErrorName(answer?.errorCode ?? -1)}`);
  return Number(answer.offset);
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  /** Records at or after the fetch offset, in offset order. */
  records: Array<{ offset: number; value: string }>;
}

/** One consumer Fetch (v11, replica id -1: up to the high watermark) of several partitions from one leader. */
export async function fetchFrom(client: ChaosClient, leaderAddress: string, wanted: Array<{ topic: string; partition: number; offset: number }>): Promise<FetchedPartition[]> {
  const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
  for (const w of wanted) {
    let list = byTopic.get(w.topic);
    if (list === undefined) byTopic.set(w.topic, (list = []));
    list.push({ partition: w.partition, offset: w.offset });
  }
  const response = await client.request<{ errorCode: number; responses: Array<{ topic: string; partitions: Array<{ partitionIndex: number; errorCode: number; highWatermark: bigint; records: Buffer | null }> }> }>(leaderAddress, ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: FETCH_MAX_WAIT_MS, minBytes: 1, maxBytes: FETCH_MAX_BYTES, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(p.offset), logStartOffset: -1n, partitionMaxBytes: FETCH_PARTITION_MAX_BYTES })) })),
    forgottenTopicsData: [],
    rackId: '',
  });
  const out: FetchedPartition[] = [];
  for (const topic of response.responses) {
    for (const part of topic.partitions) {
      const from = wanted.find((w) => w.topic === topic.topic && w.partition === part.partitionIndex)?.offset ?? 0;
      const records: Array<{ offset: number; value: string }> = [];
      if (part.errorCode === KafkaError.NONE && part.records !== null) {
        for (const batch of iterateBatches(part.records)) {
          for (const record of decodeRecords(part.records.subarray(batch.position, batch.position + batch.size))) {
            if (record.offset >= from) records.push({ offset: record.offset, value: record.value === null ? '' : record.value.toString('utf8') });
          }
        }
      }
      out.push({ topic: topic.topic, partition: part.partitionIndex, errorCode: part.errorCode, highWatermark: Number(part.highWatermark), records });
    }
  }
  return out;
}
