/**
 * `samsa topic elect-leaders <topic> [--partition N ...]`: a preferred leader election on demand,
 * Kafka's ZooKeeper-mode mechanism: write /admin/preferred_replica_election (Kafka's JSON), wait
 * until the controller has acted on it and deleted it, then show each partition's leader before
 * and after (from Metadata). The controller moves a partition's leadership to its first replica
 * when that replica is live and in the ISR; otherwise the leader stays.
 */
import type { Argv, CommandModule } from 'yargs';
import { hasCode } from '../../shared/coordinator/protocol';
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { KafkaError } from '../../shared/kafka/errors';
import { alignColumns } from '../cluster-report';
import { CoordinatorArgs, PartitionRef, PREFERRED_ELECTION_PATH, preferredElectionPayload, readStateLeaders, withCoordinator } from '../cluster-tree';
import { BootstrapArgs, bootstrapOptions, CliError, kafkaFailure, KafkaSession, MetadataPartition, withSession } from '../kafka-admin';
import { authOption } from '../tree-client';

/** How long the controller gets to carry out the election (Kafka's tool waits without a bound; a CLI should not). */
const ELECTION_TIMEOUT_MS = 30_000;
const PROGRESS_INTERVAL_MS = 1000;
/** After the controller is done, brokers' Metadata catches up with the state znodes within a watch round trip: wait at most this. */
const METADATA_SETTLE_MS = 5000;
const METADATA_POLL_MS = 100;

interface ElectArgs extends BootstrapArgs, CoordinatorArgs {
  topic: string;
  partition: number[];
  'timeout-ms': number;
  'coordinator-auth'?: string;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The topic's partitions named by --partition (all when none), or UNKNOWN_TOPIC_OR_PARTITION. */
async function targetPartitions(session: KafkaSession, args: ElectArgs): Promise<MetadataPartition[]> {
  const metadata = await session.metadata([args.topic]);
  const topic = metadata.topics.find((t) => t.name === args.topic);
  if (topic === undefined || topic.errorCode !== KafkaError.NONE) throw kafkaFailure(topic?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.topic);
  const all = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
  if (args.partition.length === 0) return all;
  return [...new Set(args.partition)].sort((a, b) => a - b).map((n) => {
    const found = all.find((p) => p.partitionIndex === n);
    if (found === undefined) throw kafkaFailure(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `${args.topic}-${n} (the topic has ${all.length} partitions)`);
    return found;
  });
}

/** Writes the request znode; one already there means an election is still being carried out. */
async function requestElection(client: CoordinatorClient, refs: PartitionRef[]): Promise<void> {
  try {
    await client.create(PREFERRED_ELECTION_PATH, preferredElectionPayload(refs), { createParents: true });
  } catch (error) {
    if (hasCode(error, 'NodeExists')) throw new CliError(`NodeExists: a preferred leader election is already in progress (${PREFERRED_ELECTION_PATH} exists)`);
    if (hasCode(error, 'NoAuth')) throw new CliError(`NoAuth: ${PREFERRED_ELECTION_PATH} (the brokers locked the cluster's tree: pass their credentials with --coordinator-auth user:password)`);
    throw error;
  }
}

/** True once the controller deleted the request znode, false at the deadline. Watches, and re-checks (with a progress line) each interval. */
async function awaitCompletion(client: CoordinatorClient, deadlineAt: number, onProgress: () => void): Promise<boolean> {
  for (;;) {
    let changed!: () => void;
    const fired = new Promise<void>((resolve) => (changed = resolve));
    if ((await client.exists(PREFERRED_ELECTION_PATH, () => changed())) === null) return true;
    const left = deadlineAt - Date.now();
    if (left <= 0) return false;
    const woke = await Promise.race([fired.then(() => 'changed' as const), delay(Math.min(left, PROGRESS_INTERVAL_MS)).then(() => 'interval' as const)]);
    if (woke === 'interval') onProgress();
  }
}

/** Metadata once it agrees with the state znodes' leaders (or at METADATA_SETTLE_MS: what it says then). */
async function settledLeaders(session: KafkaSession, args: ElectArgs, expected: Map<number, number>): Promise<Map<number, number>> {
  const deadlineAt = Date.now() + METADATA_SETTLE_MS;
  for (;;) {
    const metadata = await session.metadata([args.topic]);
    const leaders = new Map((metadata.topics.find((t) => t.name === args.topic)?.partitions ?? []).map((p) => [p.partitionIndex, p.leaderId]));
    const agrees = [...expected].every(([partition, leader]) => leader < 0 || leaders.get(partition) === leader);
    if (agrees || Date.now() >= deadlineAt) return leaders;
    await delay(METADATA_POLL_MS);
  }
}

export const electLeaders: CommandModule<unknown, ElectArgs> = {
  command: 'elect-leaders <topic>',
  describe: "move each partition's leadership to its preferred (first) replica when that replica is live and in the ISR",
  builder: (yargs) =>
    authOption(bootstrapOptions(yargs), 'coordinator-auth')
      .alias('coordinator-auth', 'auth')
      .positional('topic', { type: 'string', demandOption: true })
      .option('partition', { type: 'number', array: true, default: [], describe: 'only this partition, repeatable (default: all)' })
      .option('timeout-ms', { type: 'number', default: ELECTION_TIMEOUT_MS, describe: 'how long to wait for the controller' })
      .example('$0 topic elect-leaders orders', 'every partition of orders')
      .example('$0 topic elect-leaders orders --partition 0 --partition 3', '') as Argv<ElectArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const partitions = await targetPartitions(session, args);
      const refs = partitions.map((p) => ({ topic: args.topic, partition: p.partitionIndex }));
      const started = Date.now();
      const after = await withCoordinator(args.coordinator, async (client) => {
        await requestElection(client, refs);
        process.stderr.write(`requested a preferred leader election for ${refs.length} partition(s) of ${args.topic}; waiting for the controller (up to ${Math.round(args['timeout-ms'] / 1000)} s)\n`);
        const done = await awaitCompletion(client, started + args['timeout-ms'], () => process.stderr.write(`  still waiting (${Math.round((Date.now() - started) / 1000)} s)\n`));
        if (!done) {
          throw new CliError(
            `REQUEST_TIMED_OUT: the controller did not carry out the election within ${args['timeout-ms']} ms; ${PREFERRED_ELECTION_PATH} stays for the controller to act on (samsa rm ${PREFERRED_ELECTION_PATH} withdraws it)`,
          );
        }
        return settledLeaders(session, args, await readStateLeaders(client, refs));
      }, args['coordinator-auth']);
      const rows = partitions.map((p) => {
        const preferred = p.replicaNodes[0] ?? -1;
        const now = after.get(p.partitionIndex) ?? -1;
        const result = p.leaderId === preferred ? 'already preferred' : now === preferred ? 'elected' : 'not elected (preferred replica not live or not in the ISR)';
        return { partition: p.partitionIndex, preferred, before: p.leaderId, after: now, result };
      });
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ topic: args.topic, elapsedMs: Date.now() - started, partitions: rows })}\n`);
        return;
      }
      const table = alignColumns([['PARTITION', 'PREFERRED', 'BEFORE', 'AFTER', 'RESULT'], ...rows.map((r) => [String(r.partition), String(r.preferred), String(r.before), String(r.after), r.result])]);
      process.stdout.write(`Preferred leader election for ${args.topic} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n${table.join('\n')}\n`);
    });
  },
};
