/**
 * What the Kafka-facing CLI commands read or write in the coordinator's tree directly, as
 * Kafka's ZooKeeper-mode tools do: partition state znodes (the leader epoch, which Metadata v4
 * does not carry) and the preferred-leader-election request znode.
 */
import type { Argv } from 'yargs';
import { PATHS, statePath } from '../broker/cluster/metadata-cache';
import { CoordinatorClient } from '../shared/coordinator/client';
import { hasCode } from '../shared/coordinator/protocol';
import { authFromArgs } from './tree-client';

/** Kafka's znode asking the controller for a preferred leader election; the controller deletes it when done. */
export const PREFERRED_ELECTION_PATH = PATHS.preferredElection;
/** A command against a dead coordinator gives up within this (connect and each request). */
export const COORDINATOR_TIMEOUT_MS = 3000;

export interface CoordinatorArgs {
  coordinator: string;
}

export function coordinatorOption<T>(yargs: Argv<T>): Argv<T & CoordinatorArgs> {
  return yargs.option('coordinator', {
    type: 'string',
    default: process.env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181',
    describe: 'coordinator URL(s), comma-separated (env SAMSA_COORDINATOR)',
  }) as Argv<T & CoordinatorArgs>;
}

/**
 * Connects (within COORDINATOR_TIMEOUT_MS), runs `action`, closes the session. `auth`: digest
 * credentials user:password (--coordinator-auth), for writes to a tree the brokers locked.
 */
export async function withCoordinator<R>(servers: string, action: (client: CoordinatorClient) => Promise<R>, auth?: string): Promise<R> {
  const client = new CoordinatorClient({
    servers: servers.split(',').map((url) => url.trim()).filter(Boolean),
    requestTimeoutMs: COORDINATOR_TIMEOUT_MS,
    sessionTimeoutMs: 10_000,
    ...authFromArgs(auth, '--coordinator-auth'),
  });
  try {
    await client.connect();
    return await action(client);
  } finally {
    await client.close();
  }
}

export interface PartitionRef {
  topic: string;
  partition: number;
}

/**
 * Each partition's leader epoch from its state znode (missing or unreadable: absent from the
 * map). Refuses a coordinator of another cluster (its /cluster/id differs from the brokers'):
 * its epochs would be someone else's.
 */
export async function readLeaderEpochs(client: CoordinatorClient, clusterId: string | null, partitions: PartitionRef[]): Promise<Map<string, number>> {
  if (clusterId !== null) {
    const theirs = await client.getData(PATHS.clusterId).then((node) => node.data.trim(), () => null);
    if (theirs !== clusterId) throw new Error(`this coordinator serves another cluster (its /cluster/id is ${theirs ?? 'missing'}, the brokers' is ${clusterId})`);
  }
  const epochs = new Map<string, number>();
  await Promise.all(
    partitions.map(async ({ topic, partition }) => {
      try {
        const state = JSON.parse((await client.getData(statePath(topic, partition))).data) as { leaderEpoch?: unknown };
        if (typeof state.leaderEpoch === 'number' && Number.isInteger(state.leaderEpoch)) epochs.set(`${topic}/${partition}`, state.leaderEpoch);
      } catch (error) {
        // A partition being created or deleted has no state yet: its epoch is unknown, not an error.
        if (!hasCode(error, 'NoNode') && !(error instanceof SyntaxError)) throw error;
      }
    }),
  );
  return epochs;
}

/** Kafka's PreferredReplicaElectionZNode payload. */
export function preferredElectionPayload(partitions: PartitionRef[]): string {
  return JSON.stringify({ version: 1, partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) });
}

/** Each partition's leader as the state znodes say (the controller's latest word); -1 when unknown. */
export async function readStateLeaders(client: CoordinatorClient, partitions: PartitionRef[]): Promise<Map<number, number>> {
  const leaders = new Map<number, number>();
  await Promise.all(
    partitions.map(async ({ topic, partition }) => {
      const data = await client.getData(statePath(topic, partition)).then((node) => node.data, () => null);
      let leader = -1;
      try {
        const parsed = data === null ? null : (JSON.parse(data) as { leader?: unknown });
        if (parsed !== null && typeof parsed.leader === 'number') leader = parsed.leader;
      } catch {
        // unreadable: unknown
      }
      leaders.set(partition, leader);
    }),
  );
  return leaders;
}
