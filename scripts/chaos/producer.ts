/**
 * A chaos producer: kafkajs 2.2.4 with acks=all, one record per send so the acknowledged
 * offset is exactly the send's baseOffset, values `p<producer>-<seq>` unique across the run.
 * Partitions are taken in turn (each producer starting at a different one) so every leader
 * sees every producer. Every acknowledged (topic, partition, offset, value) is recorded, and
 * every send's start and acknowledgement (or failure) time, for the unavailability figures.
 * A send that fails after kafkajs's retries is not acknowledged; the next send uses a new value.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Ack, SendTimeline } from './verify';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const kafkajs = require('kafkajs') as typeof import('kafkajs');

/** The broker waits this long for the ISR before REQUEST_TIMED_OUT (the Produce request's timeoutMs). */
const ACKS_TIMEOUT_MS = 5000;
/** kafkajs's own retries of one send: ~10 s of backoff before the send fails. */
const SEND_RETRY = { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 };

export interface Stopper {
  stopped: boolean;
}

export function chaosKafka(bootstrap: string[], clientId: string): Kafka {
  return new kafkajs.Kafka({
    clientId,
    brokers: bootstrap,
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 1000,
    // A paused broker answers nothing: give up on it quickly and let kafkajs refresh metadata.
    requestTimeout: ACKS_TIMEOUT_MS + 1000,
    retry: SEND_RETRY,
  });
}

export class ChaosProducer {
  readonly timeline: SendTimeline;
  private producer: Producer | null = null;
  private sequence = 0;

  constructor(
    readonly index: number,
    private readonly kafka: Kafka,
    private readonly targets: ReadonlyArray<{ topic: string; partition: number }>,
    private readonly acks: Ack[],
    private readonly now: () => number,
  ) {
    this.timeline = { producer: index, startedAtMs: [], ackedAtMs: [] };
  }

  /** Acknowledged sends so far. */
  get acknowledged(): number {
    return this.timeline.ackedAtMs.reduce<number>((n, at) => (at === null ? n : n + 1), 0);
  }

  /** True once a send started at or after `at` was acknowledged. */
  acknowledgedSince(at: number): boolean {
    for (let i = this.timeline.startedAtMs.length - 1; i >= 0 && this.timeline.startedAtMs[i]! >= at; i--) if (this.timeline.ackedAtMs[i] !== null) return true;
    return false;
  }

  async run(stop: Stopper): Promise<void> {
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner, retry: SEND_RETRY });
    await this.producer.connect().catch(() => undefined); // a failed connect is retried by the first send
    while (!stop.stopped) await this.sendOne();
    await this.producer.disconnect().catch(() => undefined);
  }

  private async sendOne(): Promise<void> {
    const seq = this.sequence++;
    const target = this.targets[(this.index + seq) % this.targets.length]!;
    const value = `p${this.index}-${seq}`;
    const startedAt = this.now();
    this.timeline.startedAtMs.push(startedAt);
    const slot = this.timeline.ackedAtMs.push(null) - 1;
    try {
      const [result] = await this.producer!.send({ topic: target.topic, acks: -1, timeout: ACKS_TIMEOUT_MS, messages: [{ partition: target.partition, value }] });
      if (result === undefined || result.errorCode !== 0 || result.baseOffset === undefined) throw new Error(`send answered ${JSON.stringify(result)}`);
      this.timeline.ackedAtMs[slot] = this.now();
      this.acks.push({ topic: target.topic, partition: target.partition, offset: Number(result.baseOffset), value });
    } catch {
      // Not acknowledged: counted as a failed send by the verifier. Back off a little so a
      // producer facing an offline partition does not spin.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
