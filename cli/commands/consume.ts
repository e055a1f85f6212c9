/**
 * `samsa consume <topic>`: reads records from partition leaders with Fetch v11 (long polling)
 * and prints partition, offset, timestamp, key and value, one per line (or JSON), from batches
 * in any codec (gzip, snappy, lz4, zstd: shared/kafka/compression.ts). Starts at
 * the end unless --from-beginning or --offset; follows until Ctrl-C, as kcat -C does, unless
 * --max records, --timeout-ms without new records or --exit-at-end (kcat -e: every partition
 * read up to its high watermark) ends it sooner. A leader that dies mid-command is looked up
 * again in Metadata (the controller elects another) rather than ending the command. With --group it is a consumer group member instead
 * (cli/group-consume.ts): it reads the partitions the group assigns it, from the committed
 * offsets, and commits as it goes.
 */
import { setTimeout as sleep } from 'timers/promises';
import type { Argv, CommandModule } from 'yargs';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaError } from '../../shared/kafka/errors';
import { DecodedRecord, decodeRecords, iterateBatches } from '../../shared/kafka/record-batch';
import type { FetchResponseV11 } from '../../shared/kafka/messages';
import { consumeInGroup, LEADER_WAIT_MS, REFRESH_BACKOFF_MS, REFRESH_ERRORS, resetOffset } from '../group-consume';
import { SESSION_TIMEOUT_MS_DEFAULT } from '../group-member';
import { BootstrapArgs, bootstrapOptions, kafkaFailure, leaderGone, MetadataPartition, withSession } from '../kafka-admin';

const FETCH_MAX_WAIT_MS = 500;
const PARTITION_MAX_BYTES = 1024 * 1024;

/** leader broker id → the partitions it leads; partitions without a leader (an election under way) wait for the next refresh. */
function groupByLeader(partitions: MetadataPartition[]): Map<number, number[]> {
  const byLeader = new Map<number, number[]>();
  for (const p of partitions) if (p.leaderId >= 0) byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), p.partitionIndex]);
  return byLeader;
}

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
  'exit-at-end': boolean;
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
      .option('exit-at-end', { type: 'boolean', alias: 'e', default: false, describe: 'exit once every partition is read up to its high watermark (kcat -e); default: follow until Ctrl-C' })
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
          exitAtEnd: args['exit-at-end'],
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
        if (args.offset !== undefined) positions.set(p.partitionIndex, args.offset);
        else positions.set(p.partitionIndex, await resetOffset(session, args.topic, p.partitionIndex, args['from-beginning']));
      }
      // partition → its high watermark in the latest fetch, for --exit-at-end.
      const highWatermarks = new Map<number, number>();
      const atEnd = (): boolean => args['exit-at-end'] && [...positions].every(([partition, position]) => position >= (highWatermarks.get(partition) ?? Infinity));
      let printed = 0;
      let lastRecordAt = Date.now();
      let lastLedAt = Date.now();
      let byLeader = groupByLeader(chosen);
      while (!stopped && (args.max === undefined || printed < args.max) && !atEnd()) {
        if (args['timeout-ms'] !== undefined && Date.now() - lastRecordAt > args['timeout-ms']) break;
        let refresh = [...byLeader.values()].reduce((sum, led) => sum + led.length, 0) < positions.size;
        const fetches = [...byLeader].map(async ([leaderId, partitions]) => {
          try {
            const leader = await session.broker(leaderId);
            return await leader.request<FetchResponseV11>(ApiKey.Fetch, 11, {
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
          } catch (error) {
            // The leader died mid-command: look the leaders up again below.
            if (!leaderGone(error)) throw error;
            refresh = true;
            return null;
          }
        });
        for (const response of await Promise.all(fetches)) {
          if (response === null) continue;
          for (const part of response.responses[0]!.partitions) {
            if (REFRESH_ERRORS.has(part.errorCode)) {
              refresh = true;
              continue;
            }
            if (part.errorCode !== KafkaError.NONE) throw kafkaFailure(part.errorCode, `${args.topic}-${part.partitionIndex}`);
            highWatermarks.set(part.partitionIndex, Number(part.highWatermark));
            const records = part.records ?? Buffer.alloc(0);
            for (const batch of iterateBatches(records)) {
              for (const record of decodeRecords(records.subarray(batch.position, batch.position + batch.size))) {
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
        if (!refresh) {
          lastLedAt = Date.now();
          continue;
        }
        if (Date.now() - lastLedAt > LEADER_WAIT_MS) throw kafkaFailure(KafkaError.LEADER_NOT_AVAILABLE, `${args.topic}: no reachable leader for ${LEADER_WAIT_MS} ms`);
        await sleep(REFRESH_BACKOFF_MS);
        const fresh = (await session.metadata([args.topic])).topics[0];
        byLeader = groupByLeader((fresh?.partitions ?? []).filter((p) => positions.has(p.partitionIndex)));
      }
    });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  },
};
