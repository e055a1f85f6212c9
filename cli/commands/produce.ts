/**
 * `samsa produce <topic>`: one record per stdin line (or per line of --file), keyed with --key
 * or --key-separator, partitioned like Kafka's default partitioner (murmur2 of the key; round robin without one),
 * sent in batches to each partition's leader with Produce v7; a batch whose leader died or moved
 * is sent again to the new leader (bounded by DELIVERY_TIMEOUT_MS), as Kafka's producer retries.
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { setTimeout as sleep } from 'timers/promises';
import type { Argv, CommandModule } from 'yargs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaError } from '../../shared/kafka/errors';
import { buildRecordBatchAsync, Compression, NewRecord } from '../../shared/kafka/record-batch';
import { BootstrapArgs, bootstrapOptions, CliError, kafkaFailure, KafkaSession, leaderGone, partitionForKey, withSession } from '../kafka-admin';
import { ProgressLine } from '../produce-progress';

/** Records per Produce request per partition. */
const BATCH_RECORDS = 500;
/** How long one batch may keep being retried while its leader moves (Kafka's producer: delivery.timeout.ms, 120 s). */
const DELIVERY_TIMEOUT_MS = 30_000;
const RETRY_BACKOFF_MS = 250;
/**
 * Answers after which the batch is sent again to the leader Metadata names then: Kafka's
 * retriable errors for a moving leader. Not NOT_ENOUGH_REPLICAS (Kafka retries it): a CLI user
 * with --acks all learns at once that the ISR is below min.insync.replicas.
 */
const RETRIABLE: ReadonlySet<number> = new Set([KafkaError.NOT_LEADER_OR_FOLLOWER, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PARTITION]);

/** Kafka's spellings of acks: all (= -1), -1, 1, 0. */
export function parseAcks(value: unknown): number {
  const text = String(value).trim().toLowerCase();
  if (text === 'all' || text === '-1') return -1;
  if (text === '1') return 1;
  if (text === '0') return 0;
  throw new CliError(`INVALID_REQUIRED_ACKS: --acks ${String(value)} (use all, -1, 1 or 0)`);
}

interface ProduceArgs extends BootstrapArgs {
  topic: string;
  key?: string;
  'key-separator'?: string;
  header: string[];
  acks: number;
  partition?: number;
  compression: Compression;
  file?: string;
}

/** Sends one batch to `leader`: the partition's error code (NONE for acks 0, which has no answer). */
async function send(session: KafkaSession, topic: string, partition: number, leader: number, batch: Buffer, args: ProduceArgs): Promise<number> {
  const connection = await session.broker(leader);
  const body = { transactionalId: null, acks: args.acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] };
  if (args.acks === 0) {
    connection.send(ApiKey.Produce, 7, body);
    return KafkaError.NONE;
  }
  const response = await connection.request(ApiKey.Produce, 7, body);
  return response.responses[0].partitionResponses[0].errorCode;
}

export const produceCommand: CommandModule<unknown, ProduceArgs> = {
  command: 'produce <topic>',
  describe: 'send stdin lines (or --file lines) as records',
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('topic', { type: 'string', demandOption: true })
      .option('key', { type: 'string', describe: 'the key of every record' })
      .option('key-separator', { type: 'string', describe: 'split each line at the first separator into key and value' })
      .option('header', { type: 'string', array: true, default: [], describe: 'k=v record header, repeatable' })
      .option('acks', { type: 'string', default: '1', coerce: parseAcks, describe: 'all (or -1): every in-sync replica; 1: the leader; 0: no answer' })
      .option('partition', { type: 'number', describe: 'send every record to this partition' })
      .option('compression', { type: 'string', default: 'none', choices: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] })
      .option('file', { type: 'string', alias: 'f', describe: 'read the records from this file, one per line, instead of stdin' })
      .example("printf 'k1:hello\\nk2:world\\n' | $0 produce orders --key-separator :", '')
      .example('$0 produce orders --file orders.txt --acks all', 'a progress bar on a terminal; a summary line at the end') as unknown as Argv<ProduceArgs>,
  handler: async (args) => {
    const headers = args.header.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new CliError(`INVALID_RECORD: header '${pair}' is not k=v`);
      return { key: pair.slice(0, eq), value: Buffer.from(pair.slice(eq + 1)) };
    });
    let input: NodeJS.ReadableStream = process.stdin;
    let totalBytes: number | null = null;
    if (args.file !== undefined) {
      const stat = await fs.promises.stat(args.file).catch((error: Error) => {
        throw new CliError(`INVALID_REQUEST: --file ${args.file}: ${error.message}`);
      });
      if (!stat.isFile()) throw new CliError(`INVALID_REQUEST: --file ${args.file} is not a file`);
      totalBytes = stat.size;
      input = fs.createReadStream(args.file);
    }
    await withSession(args, async (session) => {
      const metadata = await session.metadata([args.topic], true);
      const topic = metadata.topics[0];
      if (topic === undefined || (topic.errorCode !== KafkaError.NONE && topic.partitions.length === 0)) throw kafkaFailure(topic?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.topic);
      const partitions = topic.partitions.length;
      if (args.partition !== undefined && (args.partition < 0 || args.partition >= partitions)) throw kafkaFailure(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `${args.topic}-${args.partition}`);
      let leaders = new Map(topic.partitions.map((p) => [p.partitionIndex, p.leaderId]));
      const refreshLeaders = async (): Promise<void> => {
        const fresh = (await session.metadata([args.topic])).topics[0];
        if (fresh !== undefined) leaders = new Map(fresh.partitions.map((p) => [p.partitionIndex, p.leaderId]));
      };
      const pending = new Map<number, NewRecord[]>();
      let roundRobin = 0;
      let sent = 0;
      const flush = async (partition: number): Promise<void> => {
        const records = pending.get(partition);
        if (records === undefined || records.length === 0) return;
        pending.set(partition, []);
        const batch = await buildRecordBatchAsync(records, { compression: args.compression });
        const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
        for (;;) {
          const leader = leaders.get(partition) ?? -1;
          let errorCode: number = KafkaError.LEADER_NOT_AVAILABLE;
          let detail = '';
          if (leader >= 0) {
            try {
              errorCode = await send(session, args.topic, partition, leader, batch, args);
            } catch (error) {
              // The leader died under us: Metadata names the next one once the controller moved it.
              if (!leaderGone(error)) throw error;
              errorCode = KafkaError.NOT_LEADER_OR_FOLLOWER;
              detail = (error as Error).message;
            }
          }
          if (errorCode === KafkaError.NONE) break;
          if (!RETRIABLE.has(errorCode) || Date.now() + RETRY_BACKOFF_MS > deadline) throw kafkaFailure(errorCode, `${args.topic}-${partition}${leader >= 0 ? ` (leader ${leader})` : ''}`, detail || null);
          await sleep(RETRY_BACKOFF_MS);
          await refreshLeaders();
        }
        sent += records.length;
      };
      const progress = process.stderr.isTTY ? new ProgressLine(process.stderr, Date.now(), totalBytes) : null;
      let bytesRead = 0;
      const lines = readline.createInterface({ input, crlfDelay: Infinity });
      for await (const line of lines) {
        bytesRead += Buffer.byteLength(line) + 1;
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
        if (records.length >= BATCH_RECORDS) {
          await flush(partition);
          progress?.update(Date.now(), sent, bytesRead);
        }
      }
      for (const partition of pending.keys()) await flush(partition);
      progress?.finish();
      process.stderr.write(`produced ${sent} records to ${args.topic}\n`);
    });
  },
};
