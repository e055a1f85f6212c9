/**
 * Produce: hands each partition's batches to the replica manager with the request's acks
 * (0 and 1 answer after the local append, all (-1) once the high watermark passes the batch,
 * within the request's timeoutMs). An acks=0 request gets no response at all, as in Kafka.
 *
 * Versions 3-11 (9+ flexible). v10 and v11 are wire-identical to v9 apart from two optional
 * tagged fields (KIP-951: CurrentLeader per partition and NodeEndpoints, which a broker may add
 * to a NOT_LEADER_OR_FOLLOWER answer; v11 only tells the broker the client takes them). Samsa
 * answers v10/v11 exactly as v9, without them: the client then refreshes its Metadata, as it
 * does for v9. (Sending them would also break @platformatic/kafka 1.35, whose reader takes a
 * tagged-field section for one length-prefixed blob.) RecordErrors (v8+) stays empty: a batch
 * is accepted or refused whole.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { OFFSETS_TOPIC } from '../../group/offsets-log';
import type { Acks, ProduceEntry, ProduceResult, ReplicaManager } from '../../partition/replica-manager';
import type { Handler, RequestOf, ResponseBody } from './types';

type ProduceRequest = RequestOf<'Produce'>;

/**
 * A small async function around plain ones: an async function keeps its locals in a heap
 * frame while it waits (an acks=all produce waits for the followers), so the work is done
 * outside it.
 */
export const produce: Handler<'Produce'> = async ({ context, request }) => {
  const results = await append(context.replicas, request, produceEntries(request));
  return request.acks === 0 ? null : produceResponse(request, results);
};

/** The request's partitions in order (plain loops: this runs for every produce request). */
function produceEntries(request: ProduceRequest): ProduceEntry[] {
  const entries: ProduceEntry[] = [];
  for (const topic of request.topicData) for (const p of topic.partitionData) entries.push({ topic: topic.name, partition: p.index, records: p.records });
  return entries;
}

function append(replicas: ReplicaManager, request: ProduceRequest, entries: ProduceEntry[]): Promise<ProduceResult[]> {
  const acks = request.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) return Promise.resolve(entries.map(() => ({ errorCode: KafkaError.INVALID_REQUIRED_ACKS, baseOffset: -1, logStartOffset: -1 })));
  // Clients may not write to internal topics (Kafka: "Cannot append to internal topic").
  for (const entry of entries) if (entry.topic === OFFSETS_TOPIC) return appendSkippingInternal(replicas, acks, request.timeoutMs, entries);
  return replicas.appendRecords(acks, request.timeoutMs, entries);
}

function produceResponse(request: ProduceRequest, results: readonly ProduceResult[]): ResponseBody<'Produce'> {
  let next = 0;
  return {
    throttleTimeMs: 0,
    responses: request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) => {
        const result = results[next++]!;
        return { index: p.index, errorCode: result.errorCode, baseOffset: BigInt(result.baseOffset), logAppendTimeMs: -1n, logStartOffset: BigInt(result.logStartOffset), recordErrors: NO_RECORD_ERRORS, errorMessage: null };
      }),
    })),
  };
}

/** Shared by every response (never modified: the encoder only reads it). */
const NO_RECORD_ERRORS: never[] = Object.freeze([]) as unknown as never[];

async function appendSkippingInternal(replicas: ReplicaManager, acks: Acks, timeoutMs: number, entries: ProduceEntry[]): Promise<ProduceResult[]> {
  const allowed = entries.filter((entry) => entry.topic !== OFFSETS_TOPIC);
  const appended = await replicas.appendRecords(acks, timeoutMs, allowed);
  let next = 0;
  return entries.map((entry) => (entry.topic === OFFSETS_TOPIC ? { errorCode: KafkaError.INVALID_TOPIC_EXCEPTION, baseOffset: -1, logStartOffset: -1 } : appended[next++]!));
}

/**
 * Produce v0-2 (message format v0/v1): listed but not served (api-versions.ts). Every partition
 * answers UNSUPPORTED_VERSION, in the layout of the version asked; acks=0 gets no answer.
 */
export function unsupportedProduceBody(request: { acks: number; topicData: Array<{ name: string; partitionData: Array<{ index: number }> }> }): object | null {
  if (request.acks === 0) return null;
  return {
    throttleTimeMs: 0,
    responses: request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) => ({ index: p.index, errorCode: KafkaError.UNSUPPORTED_VERSION, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null })),
    })),
  };
}
