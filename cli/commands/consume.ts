/**
 * `samsa consume <topic>`: reads records from partition leaders with Fetch v11 (long polling)
 * and prints partition, offset, timestamp, key and value, one per line (or JSON), from batches
 * in any codec (gzip, snappy, lz4, zstd: shared/kafka/compression.ts). Starts at
 * the end unless --from-beginning or --offset; stops after --max records, after --timeout-ms
 * without new records, or on Ctrl-C. With --group it is a consumer group member instead
 * (cli/group-consume.ts): it reads the partitions the group assigns it, from the committed
 * offsets, and commits as it goes.
 */
import type { Argv, CommandModule } from 'yargs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaError } from '../../shared/kafka/errors';
import { DecodedRecord, decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';
import { consumeInGroup } from '../group-consume';
import { SESSION_TIMEOUT_MS_DEFAULT } from '../group-member';
import { BootstrapArgs, bootstrapOptions, kafkaFailure, withSession } from '../kafka-admin';

const FETCH_MAX_WAIT_MS = 500;
const PARTITION_MAX_BYTES = 1024 * 1024;

/**
 * ISO time of a record timestamp; -1 (none) and values no Date can hold (written before the
 * broker refused them) are printed as numbers instead of stopping the command.
 */
function formatTimestamp(timestamp: number): string {
  const date = new Date(timestamp);
  return timestamp >= 0 && !Number.isNaN(date.getTime()) ? date.toISOString() : String(timestamp);
}

/** One output line: tab-separated partition, offset, timestamp, key, value; or JSON with the headers. */
export function formatRecord(json: boolean, partition: number, record: DecodedRecord): string {
  const key = record.key?.toString('utf8') ?? null;
  const value = record.value?.toString('utf8') ?? null;
  return json
    ? JSON.stringify({ partition, offset: record.offset, timestamp: record.timestamp, key, value, headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value?.toString('utf8') ?? null])) })
    : `${partition}\t${record.offset}\t${formatTimestamp(record.timestamp)}\t${key ?? ''}\t${value ?? ''}`;
}

interface ConsumeArgs extends BootstrapArgs {
  topic: string;
  'from-beginning': boolean;
  partition?: number;
  offset?: number;
  max?: number;
  'timeout-ms'?: number;
  group?: string;
  'session-timeout-ms': number;
}

export const consumeCommand: CommandModule<unknown, ConsumeArgs> = {
  command: 'consume <topic>',
  describe: 'print records as they arrive',
  builder: (yargs) =>
    bootstrapOptions(yargs)
      .positional('topic', { type: 'string', demandOption: true })
      .option('from-beginning', { type: 'boolean', default: false, describe: 'start at the earliest offset (default: the end); with --group: where partitions without a committed offset start' })
      .option('partition', { type: 'number', describe: 'only this partition' })
      .option('offset', { type: 'number', describe: 'start here (needs --partition)' })
      .option('max', { type: 'number', alias: 'max-messages', describe: 'exit after this many records' })
      .option('timeout-ms', { type: 'number', describe: 'exit after this long without a new record' })
      .option('group', { type: 'string', describe: 'join this consumer group: read the partitions it assigns (range assignor), from its committed offsets, committing after each printed batch; leave it on exit' })
      .option('session-timeout-ms', { type: 'number', default: SESSION_TIMEOUT_MS_DEFAULT, describe: 'with --group: the coordinator drops this member after this long without a heartbeat' })
      .conflicts('group', ['partition', 'offset'])
      .example('$0 consume orders --from-beginning --max 10', '')
      .example('$0 consume orders --group billing', 'run it twice: the two members split the partitions')
      .example('$0 consume orders --group billing --from-beginning --max 100', 'a new group starts at the earliest offsets; later runs resume where it left off') as Argv<ConsumeArgs>,
  handler: async (args) => {
    if (args.offset !== undefined && args.partition === undefined) throw kafkaFailure(KafkaError.INVALID_REQUEST, '--offset needs --partition');
    if (args.group !== undefined && args.group === '') throw kafkaFailure(KafkaError.INVALID_GROUP_ID, '--group needs a non-empty group id');
    let stopped = false;
    const stopListeners: Array<() => void> = [];
    const stop = (): void => {
      stopped = true;
      for (const listener of stopListeners) listener();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await withSession(args, async (session) => {
      if (args.group !== undefined) {
        return consumeInGroup(session, {
          topic: args.topic,
          groupId: args.group,
          fromBeginning: args['from-beginning'],
          max: args.max,
          timeoutMs: args['timeout-ms'],
          sessionTimeoutMs: args['session-timeout-ms'],
          print: (partition, record) => process.stdout.write(`${formatRecord(args.json, partition, record)}\n`),
          stopped: () => stopped,
          onStop: (listener) => stopListeners.push(listener),
        });
      }
      const metadata = await session.metadata([args.topic]);
      const topic = metadata.topics[0];
      if (topic === undefined || topic.partitions.length === 0) throw kafkaFailure(topic?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION, args.topic);
      const chosen = topic.partitions.filter((p) => args.partition === undefined || p.partitionIndex === args.partition);
      if (chosen.length === 0) throw kafkaFailure(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `${args.topic}-${args.partition}`);
      const positions = new Map<number, number>();
      for (const p of chosen) {
        if (p.leaderId < 0) throw kafkaFailure(KafkaError.LEADER_NOT_AVAILABLE, `${args.topic}-${p.partitionIndex}`);
        if (args.offset !== undefined) {
          positions.set(p.partitionIndex, args.offset);
          continue;
        }
        const leader = await session.broker(p.leaderId);
        const listed = await leader.request(ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: args.topic, partitions: [{ partitionIndex: p.partitionIndex, timestamp: args['from-beginning'] ? -2n : -1n }] }] });
        const answer = listed.topics[0].partitions[0];
        if (answer.errorCode !== KafkaError.NONE) throw kafkaFailure(answer.errorCode, `${args.topic}-${p.partitionIndex}`);
        positions.set(p.partitionIndex, Number(answer.offset));
      }
      let printed = 0;
      let lastRecordAt = Date.now();
      const byLeader = new Map<number, number[]>();
      for (const p of chosen) byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), p.partitionIndex]);
      while (!stopped && (args.max === undefined || printed < args.max)) {
        if (args['timeout-ms'] !== undefined && Date.now() - lastRecordAt > args['timeout-ms']) break;
        const fetches = [...byLeader].map(async ([leaderId, partitions]) => {
          const leader = await session.broker(leaderId);
          return leader.request(ApiKey.Fetch, 11, {
            replicaId: -1,
            maxWaitMs: FETCH_MAX_WAIT_MS,
            minBytes: 1,
            maxBytes: 16 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [{ topic: args.topic, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(positions.get(partition)!), logStartOffset: -1n, partitionMaxBytes: PARTITION_MAX_BYTES })) }],
            forgottenTopicsData: [],
            rackId: '',
          });
        });
        for (const response of await Promise.all(fetches)) {
          for (const part of response.responses[0].partitions) {
            if (part.errorCode !== KafkaError.NONE) throw kafkaFailure(part.errorCode, `${args.topic}-${part.partitionIndex}`);
            for (const batch of iterateBatches(part.records)) {
              for (const record of decodeRecords(part.records.subarray(batch.position, batch.position + batch.size))) {
                if (record.offset < positions.get(part.partitionIndex)!) continue;
                positions.set(part.partitionIndex, record.offset + 1);
                if (args.max !== undefined && printed >= args.max) continue;
                printed++;
                lastRecordAt = Date.now();
                process.stdout.write(`${formatRecord(args.json, part.partitionIndex, record)}\n`);
              }
            }
          }
        }
      }
    });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  },
};
