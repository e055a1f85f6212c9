/** A batch or record refused, with the Kafka error code to answer (re-exported by record-batch.ts). */
export class RecordBatchError extends Error {
  override readonly name = 'RecordBatchError';
  constructor(
    readonly kafkaErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}
