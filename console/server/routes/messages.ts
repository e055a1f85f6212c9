/**
 * The message browser's API: up to `limit` records of one partition from an offset, a time
 * (ListOffsets by timestamp), the earliest offset, or the last `limit` before the end
 * (from=latest), read from the partition's leader with Fetch v11: v10+ is what may carry zstd
 * batches (older versions get UNSUPPORTED_COMPRESSION_TYPE), and record-batch.ts decodes every
 * codec. Browsing never long-polls (maxWaitMs 0) and reads a bounded number of fetches and bytes.
 */
import { ApiKey } from '../../../shared/kafka/api-keys';
import type { KafkaConnection } from '../../../shared/kafka/client';
import { KafkaError, kafkaErrorName } from '../../../shared/kafka/errors';
import type { FetchRequestV11, FetchResponseV11 } from '../../../shared/kafka/messages';
import { decodeRecords, iterateBatches, RecordBatchError } from '../../../shared/kafka/record-batch';
import { CliError } from '../../../cli/kafka-admin';
import { KafkaConnectionError } from '../../../shared/kafka/client';
import { brokerConnection, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, offsetsAt } from '../partition-offsets';
import { parseMessageQuery, recordBytes, recordView, RecordView, type MessageQuery } from '../record-view';
import { ApiError, ConsoleContext, Route } from '../types';
import type { MessagePage } from '../../web/src/api-types';
export type { MessagePage } from '../../web/src/api-types';

/** Fetches one page may take (a page of small records needs one; compacted or control-heavy logs a few more). */
export const MAX_FETCHES_PER_PAGE = 10;
/** Record bytes (keys, values, headers) one page may carry; the page ends early past it and `nextOffset` continues. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
const FETCH_MAX_BYTES = 4 * 1024 * 1024;

/** Errors meaning the leader moved or is being elected: worth a retry in a moment, not a fault of the request. */
const LEADER_ERRORS = new Set<number>([KafkaError.NOT_LEADER_OR_FOLLOWER, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH]);

function kafkaProblem(errorCode: number, what: string): ApiError {
  if (LEADER_ERRORS.has(errorCode)) return new ApiError(503, `${kafkaErrorName(errorCode)}: the leader of ${what} is changing; try again in a moment`);
  if (errorCode === KafkaError.UNKNOWN_TOPIC_OR_PARTITION) return new ApiError(404, `${kafkaErrorName(errorCode)}: ${what}`);
  return new ApiError(502, `${kafkaErrorName(errorCode)}: ${what}`);
}

async function offsetOf(leader: KafkaConnection, topic: string, partition: number, timestamp: bigint): Promise<number> {
  const answer = (await offsetsAt(leader, [{ topic, partition, leader: -1 }], timestamp)).get(`${topic}/${partition}`);
  if (answer === undefined) throw new ApiError(502, `the leader did not answer offsets for ${topic}-${partition}`);
  if (answer.errorCode !== KafkaError.NONE) throw kafkaProblem(answer.errorCode, `${topic}-${partition}`);
  return answer.offset;
}

function rangeText(earliest: number, latest: number): string {
  return latest > earliest ? `offsets ${earliest} to ${latest - 1} (the next record gets ${latest})` : `no records (the next record gets offset ${latest})`;
}

/** A batch the leader stored but that does not decode here (damaged, or inflating past the limit): a clear 502 naming it. */
function decodeBatch(batch: Buffer, what: string, baseOffset: number): ReturnType<typeof decodeRecords> {
  try {
    return decodeRecords(batch);
  } catch (error) {
    if (error instanceof RecordBatchError) throw new ApiError(502, `${kafkaErrorName(error.kafkaErrorCode)}: the batch at offset ${baseOffset} of ${what} does not decode: ${error.message}`);
    throw error;
  }
}

export async function readPage(context: ConsoleContext, query: MessageQuery): Promise<MessagePage> {
  const { topic: name, partition: index, limit } = query;
  const topic = context.cluster.view.topics.get(name);
  if (topic === undefined) throw new ApiError(404, `UNKNOWN_TOPIC_OR_PARTITION: no topic named '${name}'`);
  const partition = topic.partitions.find((p) => p.partition === index);
  if (partition === undefined) throw new ApiError(404, `UNKNOWN_TOPIC_OR_PARTITION: ${name} has partitions 0 to ${topic.partitions.length - 1}, not ${index}`);
  if (partition.leader < 0) throw new ApiError(503, `LEADER_NOT_AVAILABLE: ${name}-${index} has no leader right now (its replicas ${partition.replicas.join(',')} are down)`);
  const what = `${name}-${index}`;
  let leader: KafkaConnection;
  try {
    leader = await brokerConnection(context.kafka, partition.leader);
  } catch (error) {
    if (error instanceof CliError || error instanceof KafkaConnectionError) throw new ApiError(503, `${what}: its leader, broker ${partition.leader}, is not reachable: ${error.message}`);
    throw error;
  }
  const earliest = await offsetOf(leader, name, index, EARLIEST_TIMESTAMP);
  let latest = await offsetOf(leader, name, index, LATEST_TIMESTAMP);
  let start: number;
  switch (query.start.kind) {
    case 'offset':
      if (query.start.offset < earliest || query.start.offset > latest) throw new ApiError(400, `OFFSET_OUT_OF_RANGE: offset ${query.start.offset} is not in ${what}, which holds ${rangeText(earliest, latest)}`);
      start = query.start.offset;
      break;
    case 'timestamp': {
      const found = await offsetOf(leader, name, index, BigInt(query.start.timestamp));
      // -1: no record at or after that time; the page is empty and starts at the end.
      start = found < 0 ? latest : found;
      break;
    }
    case 'earliest':
      start = earliest;
      break;
    case 'latest':
      start = Math.max(earliest, latest - limit);
      break;
  }
  const records: RecordView[] = [];
  let position = start;
  let bytes = 0;
  for (let fetches = 0; fetches < MAX_FETCHES_PER_PAGE && records.length < limit && position < latest && bytes < MAX_PAGE_BYTES; fetches++) {
    const request: FetchRequestV11 = {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: name, partitions: [{ partition: index, currentLeaderEpoch: -1, fetchOffset: BigInt(position), logStartOffset: -1n, partitionMaxBytes: PARTITION_MAX_BYTES }] }],
      forgottenTopicsData: [],
      rackId: '',
    };
    const response = await leader.request<FetchResponseV11>(ApiKey.Fetch, 11, request);
    if (response.errorCode !== KafkaError.NONE) throw kafkaProblem(response.errorCode, what);
    const answer = response.responses[0]?.partitions[0];
    if (answer === undefined) throw new ApiError(502, `the leader answered no data for ${what}`);
    if (answer.errorCode === KafkaError.OFFSET_OUT_OF_RANGE) throw new ApiError(400, `OFFSET_OUT_OF_RANGE: offset ${position} is no longer in ${what} (retention removed it); it holds ${rangeText(Number(answer.logStartOffset), Number(answer.highWatermark))}`);
    if (answer.errorCode !== KafkaError.NONE) throw kafkaProblem(answer.errorCode, what);
    latest = Number(answer.highWatermark);
    const data = answer.records ?? Buffer.alloc(0);
    const before = position;
    for (const batch of iterateBatches(data)) {
      for (const record of decodeBatch(data.subarray(batch.position, batch.position + batch.size), what, batch.baseOffset)) {
        if (record.offset < position || records.length >= limit || bytes >= MAX_PAGE_BYTES) continue;
        records.push(recordView(record, batch.compression));
        bytes += recordBytes(record);
        position = record.offset + 1;
      }
      // Past a batch with nothing left to show (control markers, compacted-away records) unless the page is full mid-batch.
      if (records.length < limit && bytes < MAX_PAGE_BYTES) position = Math.max(position, batch.baseOffset + batch.lastOffsetDelta + 1);
    }
    if (position === before) break; // nothing complete came back: stop rather than ask again for the same bytes
  }
  return { topic: name, partition: index, leader: partition.leader, earliest, latest, startOffset: start, records, nextOffset: position };
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/messages',
    handler: async (request, context) => {
      const query = parseMessageQuery(request.query);
      try {
        return { body: await readPage(context, query) };
      } catch (error) {
        if (error instanceof KafkaConnectionError) throw new ApiError(503, `${query.topic}-${query.partition}: the leader stopped answering: ${error.message}`);
        throw error;
      }
    },
  },
];
