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
import type { Handler } from './types';

export const produce: Handler<'Produce'> = async ({ context, request }) => {
  const acks = request.acks;
  const topics = request.topicData;
  const entries = topics.flatMap((topic) => topic.partitionData.map((p) => ({ topic: topic.name, partition: p.index, records: p.records })));
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  const refused = (errorCode: number) => ({ errorCode, baseOffset: -1, logStartOffset: -1 });
  // Clients may not write to internal topics (Kafka: "Cannot append to internal topic").
  const internal = entries.some((entry) => entry.topic === OFFSETS_TOPIC);
  const results = !validAcks
    ? entries.map(() => refused(KafkaError.INVALID_REQUIRED_ACKS))
    : !internal
      ? await context.replicas.appendRecords(acks as Acks, request.timeoutMs, entries)
      : await appendSkippingInternal(context.replicas, acks as Acks, request.timeoutMs, entries);
  if (acks === 0) return null;
  let next = 0;
  return {
    throttleTimeMs: 0,
    responses: topics.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) => {
        const result = results[next++]!;
        return { index: p.index, errorCode: result.errorCode, baseOffset: BigInt(result.baseOffset), logAppendTimeMs: -1n, logStartOffset: BigInt(result.logStartOffset), recordErrors: [], errorMessage: null };
      }),
    })),
  };
};

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
