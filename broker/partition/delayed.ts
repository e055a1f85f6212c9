/**
 * The requests that wait in the partitions' purgatory (Kafka's DelayedFetch and DelayedProduce).
 * Each keeps only what it needs to decide from an event; neither reads a log while waiting.
 */
import { KafkaError } from '../../shared/kafka/errors';
import type { CompletionReason, DelayedOperation } from '../purgatory';
import type { Partition, PartitionEvent } from './partition';

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
}

/**
 * A long-polling fetch: completes once `bytesWanted` more bytes have become visible on its
 * partitions (counted from the high-watermark events, so a wake-up reads nothing), when one of
 * its partitions changes state, or at its deadline. The caller then reads once.
 */
export class DelayedFetch implements DelayedOperation<PartitionEvent> {
  private bytesSeen = 0;

  constructor(
    readonly keys: readonly string[],
    private readonly bytesWanted: number,
    /** 'highWatermark' for a consumer (bytes made visible), 'append' for a follower (bytes written). */
    private readonly counts: 'highWatermark' | 'append',
    private readonly done: () => void,
  ) {}

  onEvent(_key: string, event: PartitionEvent): boolean {
    if (event.kind === 'state') return true;
    if (event.kind !== this.counts) return false;
    this.bytesSeen += event.bytes;
    return this.bytesSeen >= this.bytesWanted;
  }

  complete(): void {
    this.done();
  }
}

export interface ProduceWait {
  /** Index of the entry in the request. */
  index: number;
  partition: Partition;
  /** The high watermark must reach this (last appended offset + 1). */
  requiredOffset: number;
  /** The topic's min.insync.replicas: an ISR that shrank below it answers NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
  minInsyncReplicas: number;
}

/**
 * An acks=all produce: each partition is done when its high watermark reaches the appended
 * offsets (NONE), or when this broker no longer leads it (NOT_LEADER_OR_FOLLOWER). Completes
 * when all are done; at the deadline the rest answer REQUEST_TIMED_OUT.
 */
export class DelayedProduce implements DelayedOperation<PartitionEvent> {
  readonly keys: readonly string[];
  private readonly outcome = new Map<number, number>();

  constructor(
    private readonly waits: readonly ProduceWait[],
    private readonly done: (outcome: Map<number, number>) => void,
  ) {
    // One partition (most produce requests): no set and arrays to drop duplicates.
    this.keys = waits.length === 1 ? [waits[0]!.partition.key] : [...new Set(waits.map((wait) => wait.partition.key))];
  }

  /** Checks every partition now; completes (and returns true) when nothing is left to wait for. */
  tryComplete(): boolean {
    for (const wait of this.waits) this.check(wait);
    if (this.outcome.size < this.waits.length) return false;
    this.done(this.outcome);
    return true;
  }

  onEvent(key: string): boolean {
    for (const wait of this.waits) if (wait.partition.key === key) this.check(wait);
    return this.outcome.size === this.waits.length;
  }

  complete(reason: CompletionReason): void {
    for (const wait of this.waits) {
      if (!this.outcome.has(wait.index)) this.outcome.set(wait.index, reason === 'shutdown' ? KafkaError.NOT_LEADER_OR_FOLLOWER : KafkaError.REQUEST_TIMED_OUT);
    }
    this.done(this.outcome);
  }

  private check(wait: ProduceWait): void {
    if (this.outcome.has(wait.index)) return;
    if (!wait.partition.isLeader) this.outcome.set(wait.index, KafkaError.NOT_LEADER_OR_FOLLOWER);
    else if (wait.partition.highWatermark >= wait.requiredOffset) {
      // Kafka's rule: replicated, but to fewer replicas than the topic asks for.
      this.outcome.set(wait.index, wait.partition.isr.length < wait.minInsyncReplicas ? KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND : KafkaError.NONE);
    }
  }
}
