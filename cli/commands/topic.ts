/**
 * `samsa topic create|list|describe|alter-config|delete`: topic administration over the Kafka
 * protocol (CreateTopics, Metadata, DescribeConfigs, AlterConfigs, DeleteTopics), sent to the
 * controller as Kafka clients do. `samsa topic elect-leaders` goes through the coordinator, as
 * Kafka's ZooKeeper-mode tool does (see topic-elect-leaders.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { KafkaError } from '../../shared/kafka/errors';
import { BootstrapArgs, bootstrapOptions, CliError, kafkaFailure, withSession } from '../kafka-admin';
import { alterTopicConfigs, createTopic, deleteTopic, describeTopicConfigs, SOURCE_DYNAMIC_TOPIC } from '../topic-admin';
import { electLeaders } from './topic-elect-leaders';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function parseConfigs(pairs: string[]): Array<{ name: string; value: string }> {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`INVALID_CONFIG: '${pair}' is not name=value`);
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

interface CreateArgs extends BootstrapArgs {
  name: string;
  partitions: number;
  'replication-factor': number;
  config: string[];
}

const create: CommandModule<unknown, CreateArgs> = {
  command: 'create <name>',
  describe: 'create a topic',
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('name', { type: 'string', demandOption: true })
      .option('partitions', { type: 'number', default: -1, describe: 'partitions (default: the broker default)' })
      .option('replication-factor', { type: 'number', default: -1, describe: 'replicas per partition (default: the broker default)' })
      .option('config', { type: 'string', array: true, default: [], describe: 'name=value topic config, repeatable' })
      .example('$0 topic create orders --partitions 6 --replication-factor 3', '') as Argv<CreateArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      await createTopic(session, { name: args.name, partitions: args.partitions, replicationFactor: args['replication-factor'], configs: parseConfigs(args.config) });
      print(args.json ? JSON.stringify({ created: args.name }) : `Created topic ${args.name}`);
    });
  },
};

const list: CommandModule<unknown, BootstrapArgs> = {
  command: 'list',
  describe: 'list topics',
  builder: (yargs) => bootstrapOptions(yargs),
  handler: async (args) => {
    await withSession(args, async (session) => {
      const metadata = await session.metadata(null);
      const topics = metadata.topics.map((t) => ({ name: t.name, partitions: t.partitions.length })).sort((a, b) => a.name.localeCompare(b.name));
      if (args.json) print(JSON.stringify(topics));
      else for (const topic of topics) print(topic.name);
    });
  },
};

interface NameArgs extends BootstrapArgs {
  name: string;
}

const describe: CommandModule<unknown, NameArgs> = {
  command: 'describe <name>',
  describe: 'partitions (leader, replicas, ISR) and configs of a topic',
  builder: (yargs) => bootstrapOptions(yargs).positional('name', { type: 'string', demandOption: true }) as Argv<NameArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const metadata = await session.metadata([args.name]);
      const topic = metadata.topics[0];
      if (topic === undefined || topic.errorCode === KafkaError.UNKNOWN_TOPIC_OR_PARTITION) throw kafkaFailure(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.name);
      const configs = await describeTopicConfigs(session, args.name);
      const partitions = topic.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes }));
      if (args.json) {
        print(JSON.stringify({ name: args.name, partitions, configs: Object.fromEntries(configs.map((c) => [c.name, c.value])) }));
        return;
      }
      print(`Topic: ${args.name}\tPartitions: ${partitions.length}\tReplicationFactor: ${partitions[0]?.replicas.length ?? 0}`);
      print(`Configs: ${configs.map((c) => `${c.name}=${c.value}${c.configSource === SOURCE_DYNAMIC_TOPIC ? '' : ' (default)'}`).join(', ')}`);
      for (const p of partitions) print(`\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`);
    });
  },
};

interface AlterArgs extends NameArgs {
  configs: string[];
}

const alterConfig: CommandModule<unknown, AlterArgs> = {
  command: 'alter-config <name> <configs..>',
  describe: "set topic configs (name=value; an empty value removes the override); other overrides stay",
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('name', { type: 'string', demandOption: true })
      .positional('configs', { type: 'string', array: true, demandOption: true })
      .example('$0 topic alter-config orders retention.ms=60000', '') as Argv<AlterArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      const merged = await alterTopicConfigs(session, args.name, new Map(parseConfigs(args.configs).map(({ name, value }) => [name, value === '' ? null : value])));
      print(args.json ? JSON.stringify(Object.fromEntries(merged)) : `Updated ${args.name}: ${[...merged].map(([k, v]) => `${k}=${v}`).join(', ') || '(no overrides)'}`);
    });
  },
};

const remove: CommandModule<unknown, NameArgs> = {
  command: 'delete <name>',
  describe: 'delete a topic and its data on every broker',
  builder: (yargs) => bootstrapOptions(yargs).positional('name', { type: 'string', demandOption: true }) as Argv<NameArgs>,
  handler: async (args) => {
    await withSession(args, async (session) => {
      await deleteTopic(session, args.name);
      print(args.json ? JSON.stringify({ deleted: args.name }) : `Deleted topic ${args.name}`);
    });
  },
};

export const topicCommand: CommandModule = {
  command: 'topic <command>',
  describe: 'create, list, describe, alter-config, delete topics; elect-leaders',
  builder: (yargs) => yargs.command(create).command(list).command(describe).command(alterConfig).command(remove).command(electLeaders).demandCommand(1),
  handler: () => undefined,
};
