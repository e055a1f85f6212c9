/**
 * `samsa produce <topic>`: one record per stdin line, keyed with --key or --key-separator,
 * partitioned like Kafka's default partitioner (murmur2 of the key; round robin without one),
 * sent in batches to each partition's leader with Produce v7.
 */
import * as readline from 'readline';
import type { Argv, CommandModule } from 'yargs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatchAsync, Compression, NewRecord } from '../../shared/kafka/record-batch';
import { BootstrapArgs, bootstrapOptions, CliError, kafkaFailure, KafkaSession, partitionForKey, withSession } from '../kafka-admin';

/** Records per Produce request per partition. */
const BATCH_RECORDS = 500;

interface ProduceArgs extends BootstrapArgs {
  topic: string;
  key?: string;
  'key-separator'?: string;
  header: string[];
  acks: number;
  partition?: number;
  compression: Compression;
}

async function send(session: KafkaSession, topic: string, partition: number, leader: number, records: NewRecord[], args: ProduceArgs): Promise<void> {
  const connection = await session.broker(leader);
  const batch = await buildRecordBatchAsync(records, { compression: args.compression });
  const body = { transactionalId: null, acks: args.acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] };
  if (args.acks === 0) {
    connection.send(ApiKey.Produce, 7, body);
    return;
  }
  const response = await connection.request(ApiKey.Produce, 7, body);
  const result = response.responses[0].partitionResponses[0];
  if (result.errorCode !== KafkaError.NONE) throw kafkaFailure(result.errorCode, `${topic}-${partition}`);
}

export const produceCommand: CommandModule<unknown, ProduceArgs> = {
  command: 'produce <topic>',
  describe: 'send stdin lines as records',
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('topic', { type: 'string', demandOption: true })
      .option('key', { type: 'string', describe: 'the key of every record' })
      .option('key-separator', { type: 'string', describe: 'split each line at the first separator into key and value' })
      .option('header', { type: 'string', array: true, default: [], describe: 'k=v record header, repeatable' })
      .option('acks', { type: 'number', default: 1, choices: [-1, 0, 1], describe: '0 none, 1 leader, -1 all (like 1 until replication)' })
      .option('partition', { type: 'number', describe: 'send every record to this partition' })
      .option('compression', { type: 'string', default: 'none', choices: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] })
      .example("printf 'k1:hello\\nk2:world\\n' | $0 produce orders --key-separator :", '') as Argv<ProduceArgs>,
  handler: async (args) => {
    const headers = args.header.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new CliError(`INVALID_RECORD: header '${pair}' is not k=v`);
      return { key: pair.slice(0, eq), value: Buffer.from(pair.slice(eq + 1)) };
    });
    await withSession(args, async (session) => {
      const metadata = await session.metadata([args.topic], true);
      const topic = metadata.topics[0];
      if (topic === undefined || (topic.errorCode !== KafkaError.NONE && topic.partitions.length === 0)) throw kafkaFailure(topic?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.topic);
      const partitions = topic.partitions.length;
      if (args.partition !== undefined && (args.partition < 0 || args.partition >= partitions)) throw kafkaFailure(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `${args.topic}-${args.partition}`);
      const leaders = new Map(topic.partitions.map((p) => [p.partitionIndex, p.leaderId]));
      const pending = new Map<number, NewRecord[]>();
      let roundRobin = 0;
      let sent = 0;
      const flush = async (partition: number): Promise<void> => {
        const records = pending.get(partition);
        if (records === undefined || records.length === 0) return;
        pending.set(partition, []);
        const leader = leaders.get(partition) ?? -1;
        if (leader < 0) throw kafkaFailure(KafkaError.LEADER_NOT_AVAILABLE, `${args.topic}-${partition}`);
        await send(session, args.topic, partition, leader, records, args);
        sent += records.length;
      };
      const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        if (line.length === 0) continue;
        let key: Buffer | null = args.key === undefined ? null : Buffer.from(args.key);
        let value = line;
        if (args['key-separator'] !== undefined) {
          const at = line.indexOf(args['key-separator']);
          if (at >= 0) {
            key = Buffer.from(line.slice(0, at));
            value = line.slice(at + args['key-separator'].length);
          }
        }
        const partition = args.partition ?? (key !== null ? partitionForKey(key, partitions) : roundRobin++ % partitions);
        const records = pending.get(partition) ?? [];
        records.push({ key, value: Buffer.from(value), headers });
        pending.set(partition, records);
        if (records.length >= BATCH_RECORDS) await flush(partition);
      }
      for (const partition of pending.keys()) await flush(partition);
      process.stderr.write(`produced ${sent} records to ${args.topic}\n`);
    });
  },
};
