/**
 * The overview page's picture, built from the metadata cache's snapshot (pure): every broker
 * the cluster knows of, live or dead, the controller, and every partition with its leader and
 * ISR and whether it is offline or under-replicated.
 *
 * ZooKeeper-mode Kafka keeps no record of a dead broker: /brokers/ids/<id> goes with its
 * session. A dead broker is one that replica assignments name (or the console saw live) but
 * that has no registration now.
 */
import type { BrokerEndpoint } from '../../broker/context';
import type { ClusterSnapshot } from '../../broker/cluster/metadata-cache';
import type { Overview, OverviewBroker, OverviewPartition, OverviewTopic } from '../web/src/api-types';
export type { Overview, OverviewBroker, OverviewPartition, OverviewTopic } from '../web/src/api-types';

const INTERNAL_TOPICS = new Set(['__consumer_offsets']);

export function buildOverview(snapshot: ClusterSnapshot, seen: ReadonlyMap<number, BrokerEndpoint>): Overview {
  const live = new Map(snapshot.brokers.map((b) => [b.id, b]));
  const ids = new Set<number>([...live.keys(), ...seen.keys()]);
  const leaders = new Map<number, number>();
  const replicaCounts = new Map<number, number>();
  const topics: OverviewTopic[] = [];
  let offline = 0;
  let underReplicated = 0;
  for (const [name, topic] of snapshot.topics) {
    const partitions = topic.partitions.map((p): OverviewPartition => {
      for (const replica of p.replicas) {
        ids.add(replica);
        replicaCounts.set(replica, (replicaCounts.get(replica) ?? 0) + 1);
      }
      // A leader whose registration is gone leads nothing until the controller moves the partition.
      const isOffline = p.leader < 0 || !live.has(p.leader);
      if (!isOffline) leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
      const isUnder = !isOffline && p.isr.length < p.replicas.length;
      if (isOffline) offline++;
      if (isUnder) underReplicated++;
      return { partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offline: isOffline, underReplicated: isUnder };
    });
    topics.push({ name, topicId: snapshot.assignments.get(name)?.topicId ?? null, internal: INTERNAL_TOPICS.has(name), markedForDeletion: snapshot.pendingDeletions.has(name), partitions });
  }
  const brokers = [...ids].sort((a, b) => a - b).map((id): OverviewBroker => {
    const endpoint = live.get(id) ?? seen.get(id);
    return {
      id,
      live: live.has(id),
      host: endpoint?.host ?? null,
      port: endpoint?.port ?? null,
      metricsUrl: endpoint?.metricsUrl ?? null,
      controller: snapshot.controllerId === id,
      leaderCount: leaders.get(id) ?? 0,
      replicaCount: replicaCounts.get(id) ?? 0,
    };
  });
  const partitions = topics.reduce((sum, t) => sum + t.partitions.length, 0);
  return {
    loaded: snapshot.loaded,
    clusterId: snapshot.clusterId,
    controller: snapshot.controllerId,
    brokers,
    topics,
    counts: { brokersLive: live.size, brokersDead: brokers.length - live.size, partitions, offline, underReplicated },
  };
}
