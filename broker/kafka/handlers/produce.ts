/**
 * Produce: per partition, checks leadership and size, then appends to the local log
 * (acks 0 and 1; acks=all behaves like acks=1 until replication lands). An acks=0 request
 * gets no response at all, as Kafka does.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { RecordBatchError } from '../../../shared/kafka/record-batch';
import type { BrokerContext } from '../../context';
import type { Handler } from './types';

function appendOne(context: BrokerContext, topic: string, partition: number, records: Buffer | null): { errorCode: number; baseOffset: bigint; logStartOffset: bigint } {
  const failed = (errorCode: number): { errorCode: number; baseOffset: bigint; logStartOffset: bigint } => ({ errorCode, baseOffset: -1n, logStartOffset: -1n });
  const view = context.cluster().topics.get(topic);
  if (view === undefined || partition < 0 || partition >= view.partitions.length) return failed(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
  const local = context.localPartition(topic, partition);
  if (local === null || !local.isLeader || context.isFenced()) return failed(KafkaError.NOT_LEADER_OR_FOLLOWER);
  if (records === null || records.length === 0) return failed(KafkaError.CORRUPT_MESSAGE);
  try {
    const { baseOffset } = local.log.appendAsLeader(records, local.leaderEpoch, Date.now());
    local.emit('append');
    return { errorCode: KafkaError.NONE, baseOffset: BigInt(baseOffset), logStartOffset: BigInt(local.log.logStartOffset) };
  } catch (error) {
    if (error instanceof RecordBatchError) {
      context.logger.debug({ topic, partition, err: error.message }, 'produce.rejected');
      return failed(error.kafkaErrorCode);
    }
    context.logger.error({ topic, partition, err: error }, 'produce.failed');
    return failed(KafkaError.KAFKA_STORAGE_ERROR);
  }
}

export const produce: Handler = ({ context, request }) => {
  const acks: number = request.acks;
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  const responses = (request.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }>).map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((p) => {
      const result = validAcks ? appendOne(context, topic.name, p.index, p.records) : { errorCode: KafkaError.INVALID_REQUIRED_ACKS, baseOffset: -1n, logStartOffset: -1n };
      return { index: p.index, errorCode: result.errorCode, baseOffset: result.baseOffset, logAppendTimeMs: -1n, logStartOffset: result.logStartOffset };
    }),
  }));
  if (acks === 0) return null;
  return { responses, throttleTimeMs: 0 };
};
