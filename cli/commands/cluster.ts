/**
 * `samsa cluster`: live brokers, the controller, and per partition its leader, leader epoch,
 * replicas, ISR, high watermark, every replica's own log end and each follower's lag; with the
 * counts of under-replicated, under-min-ISR and offline partitions.
 *
 * Where each figure comes from: Metadata (leader, replicas, ISR); the partition state znodes
 * (the leader epoch, which Metadata v4 lacks); ListOffsets latest as a consumer from the leader
 * (the high watermark); ListOffsets with Kafka's debugging replica id (-2) to every replica
 * broker (its own log end); DescribeConfigs (min.insync.replicas). Every probe runs at once and
 * is bounded by --timeout-ms; a broker that is down or does not answer shows as unreachable,
 * the coordinator not answering shows '?' epochs: neither fails the command.
 */
import type { Argv, CommandModule } from 'yargs';
import { DEBUGGING_REPLICA_ID } from '../../broker/kafka/handlers/list-offsets';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaError, kafkaErrorName } from '../../shared/kafka/errors';
import { buildReport, formatReport, partitionKey, Probe } from '../cluster-report';
import { CoordinatorArgs, PartitionRef, readLeaderEpochs, withCoordinator } from '../cluster-tree';
import { BootstrapArgs, bootstrapOptions, KafkaSession, Metadata, withSession } from '../kafka-admin';

const CONSUMER_REPLICA_ID = -1;
const LATEST = -1n;
const RESOURCE_TOPIC = 2;
/** How long each broker may take to answer; a paused broker accepts connections and never answers. */
const PROBE_TIMEOUT_MS = 5000;

interface ClusterArgs extends BootstrapArgs, CoordinatorArgs {
  'timeout-ms': number;
}

interface ListOffsetsResponse {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number; offset: bigint }> }>;
}

/** One ListOffsets (latest) to one broker for all `refs`; the whole request failing marks each unreachable. */
async function latestOffsets(session: KafkaSession, broker: number, replicaId: number, refs: PartitionRef[]): Promise<Map<string, Probe>> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of refs) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  const answers = new Map<string, Probe>();
  try {
    const connection = await session.broker(broker);
    const response = await connection.request<ListOffsetsResponse>(ApiKey.ListOffsets, 1, {
      replicaId,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: LATEST })) })),
    });
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        answers.set(partitionKey(topic.name, p.partitionIndex), p.errorCode === KafkaError.NONE ? { offset: Number(p.offset) } : { error: kafkaErrorName(p.errorCode) });
      }
    }
  } catch {
    // Down, not registered, or not answering in time: its entries stay absent (unreachable).
  }
  return answers;
}

async function minInsyncReplicas(session: KafkaSession, topics: string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (topics.length === 0) return found;
  try {
    const connection = await session.any();
    const response = await connection.request<{ results: Array<{ errorCode: number; resourceName: string; configs: Array<{ name: string; value: string | null }> }> }>(ApiKey.DescribeConfigs, 1, {
      resources: topics.map((name) => ({ resourceType: RESOURCE_TOPIC, resourceName: name, configurationKeys: ['min.insync.replicas'] })),
      includeSynonyms: false,
    });
    for (const result of response.results) {
      const value = Number(result.configs.find((c) => c.name === 'min.insync.replicas')?.value);
      if (result.errorCode === KafkaError.NONE && Number.isInteger(value)) found.set(result.resourceName, value);
    }
  } catch {
    // Unknown: shown as '?' and not counted.
  }
  return found;
}

async function leaderEpochs(args: ClusterArgs, metadata: Metadata, refs: PartitionRef[]): Promise<Map<string, number> | { error: string }> {
  try {
    return await withCoordinator(args.coordinator, (client) => readLeaderEpochs(client, metadata.clusterId, refs));
  } catch (error) {
    return { error: `coordinator ${args.coordinator}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function refsWhere(metadata: Metadata, keep: (p: Metadata['topics'][number]['partitions'][number]) => boolean): PartitionRef[] {
  return metadata.topics.flatMap((t) => t.partitions.filter(keep).map((p) => ({ topic: t.name, partition: p.partitionIndex })));
}

export const clusterCommand: CommandModule<unknown, ClusterArgs> = {
  command: 'cluster',
  describe: 'brokers, controller, per partition leader/epoch/replicas/ISR/high watermark/log ends/lag; under-replicated, under-min-ISR, offline counts',
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .option('timeout-ms', { type: 'number', default: PROBE_TIMEOUT_MS, describe: 'how long each broker may take to answer before it counts as unreachable' })
      .example('$0 cluster --bootstrap 127.0.0.1:9092', '')
      .example('$0 cluster --json | jq .underMinIsr', '') as Argv<ClusterArgs>,
  handler: async (args) => {
    await withSession(
      args,
      async (session) => {
        const metadata = await session.metadata(null);
        const live = new Set(metadata.brokers.map((b) => b.nodeId));
        const replicaBrokers = new Set(metadata.topics.flatMap((t) => t.partitions.flatMap((p) => p.replicaNodes)));
        const leaders = new Set(metadata.topics.flatMap((t) => t.partitions.map((p) => p.leaderId)).filter((id) => live.has(id)));
        const [epochs, highWatermarkParts, logEndParts, minIsr] = await Promise.all([
          leaderEpochs(args, metadata, refsWhere(metadata, () => true)),
          Promise.all([...leaders].map((id) => latestOffsets(session, id, CONSUMER_REPLICA_ID, refsWhere(metadata, (p) => p.leaderId === id)))),
          Promise.all([...replicaBrokers].filter((id) => live.has(id)).map(async (id) => [id, await latestOffsets(session, id, DEBUGGING_REPLICA_ID, refsWhere(metadata, (p) => p.replicaNodes.includes(id)))] as const)),
          minInsyncReplicas(session, metadata.topics.map((t) => t.name)),
        ]);
        const report = buildReport({
          metadata,
          leaderEpochs: epochs,
          highWatermarks: new Map(highWatermarkParts.flatMap((answers) => [...answers])),
          // A broker whose request failed as a whole gave no answers: absent, so unreachable.
          logEnds: new Map(logEndParts.filter(([, answers]) => answers.size > 0)),
          minInsyncReplicas: minIsr,
        });
        process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      },
      { requestTimeoutMs: args['timeout-ms'] },
    );
  },
};
