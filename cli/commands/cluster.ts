/**
 * `samsa cluster`: live brokers, the controller, and every partition's leader, replicas and ISR,
 * with the counts of under-replicated and offline partitions (from Metadata).
 */
import type { CommandModule } from 'yargs';
import { BootstrapArgs, bootstrapOptions, withSession } from '../kafka-admin';

export const clusterCommand: CommandModule<unknown, BootstrapArgs> = {
  command: 'cluster',
  describe: 'brokers, controller, partitions with leader/replicas/ISR, under-replicated and offline counts',
  builder: (yargs) => bootstrapOptions(yargs).example('$0 cluster --bootstrap 127.0.0.1:9092', ''),
  handler: async (args) => {
    await withSession(args, async (session) => {
      const metadata = await session.metadata(null);
      const partitions = metadata.topics
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((t) => t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => ({ topic: t.name, partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes })));
      const underReplicated = partitions.filter((p) => p.isr.length < p.replicas.length).length;
      const offline = partitions.filter((p) => p.leader < 0).length;
      const brokers = metadata.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.id - b.id);
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ clusterId: metadata.clusterId, controller: metadata.controllerId, brokers, partitions, underReplicated, offline })}\n`);
        return;
      }
      const lines = [
        `Cluster ${metadata.clusterId ?? '?'}`,
        `Controller: broker ${metadata.controllerId}`,
        `Brokers (${brokers.length}): ${brokers.map((b) => `${b.id}@${b.host}:${b.port}`).join('  ')}`,
        `Partitions: ${partitions.length}  under-replicated: ${underReplicated}  offline: ${offline}`,
        ...partitions.map((p) => `  ${p.topic}-${p.partition}\tleader ${p.leader}\treplicas ${p.replicas.join(',')}\tisr ${p.isr.join(',')}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  },
};
