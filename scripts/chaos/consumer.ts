/**
 * A chaos consumer on the repo's codec client: Metadata, then a long-polling Fetch to each
 * partition's leader (one in flight per leader, so a paused broker holds up only its own
 * partitions), from offset 0 onwards, recording every (partition, offset, value) it reads.
 * Leader changes are followed: an error or a failed connection marks the metadata stale and
 * the partitions go to whoever leads them next. A partition is in at most one fetch at a time,
 * so its position only moves forward.
 *
 * OFFSET_OUT_OF_RANGE at a position the consumer reached means the leader's log ends below
 * records the consumer already saw (below the high watermark when read): counted and logged;
 * the verifier then finds whether those records are gone from the final log.
 */
import type { Logger } from '../../shared/logging';
import { KafkaError, kafkaErrorName } from '../../shared/kafka/errors';
import { brokerAddress, ChaosClient, fetchFrom, Metadata, partitionsOf } from './kafka';
import type { Stopper } from './producer';
import type { PartitionReads } from './verify';

/** Metadata is refreshed at least this often even without errors (leaders move back, too). */
const METADATA_REFRESH_MS = 2000;
/** Pause after a failed round before trying again. */
const ERROR_BACKOFF_MS = 100;
const IDLE_POLL_MS = 50;

interface Position {
  reads: PartitionReads;
  nextOffset: number;
  busy: boolean;
  /** The position last answered OFFSET_OUT_OF_RANGE (counted once per position, -1: none). */
  outOfRangeAt: number;
}

export class ChaosConsumer {
  readonly positions = new Map<string, Position>();
  outOfRange = 0;
  private metadata: Metadata | null = null;
  private metadataAt = 0;
  private stale = true;

  constructor(
    readonly name: string,
    private readonly client: ChaosClient,
    private readonly topics: string[],
    private readonly logger: Logger,
  ) {}

  reads(): PartitionReads[] {
    return [...this.positions.values()].map((p) => p.reads);
  }

  async run(stop: Stopper): Promise<void> {
    const inFlight = new Map<number, Promise<void>>();
    while (!stop.stopped) {
      if (this.stale || Date.now() - this.metadataAt > METADATA_REFRESH_MS) await this.refresh();
      const metadata = this.metadata;
      if (metadata !== null) {
        for (const [leader, wanted] of this.groupByLeader(metadata)) {
          if (inFlight.has(leader)) continue;
          const address = brokerAddress(metadata, leader);
          if (address === null) continue;
          for (const position of wanted) position.busy = true;
          const fetch = this.fetch(address, wanted).finally(() => {
            for (const position of wanted) position.busy = false;
            inFlight.delete(leader);
          });
          inFlight.set(leader, fetch);
        }
      }
      await Promise.race([...inFlight.values(), new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS))]);
    }
    await Promise.allSettled([...inFlight.values()]);
    this.client.close();
  }

  private async refresh(): Promise<void> {
    try {
      this.metadata = await this.client.metadata(this.topics);
      this.metadataAt = Date.now();
      this.stale = false;
      for (const { topic, partition } of partitionsOf(this.metadata)) {
        const key = `${topic}-${partition.partitionIndex}`;
        if (!this.positions.has(key)) this.positions.set(key, { reads: { consumer: this.name, topic, partition: partition.partitionIndex, offsets: [], values: [] }, nextOffset: 0, busy: false, outOfRangeAt: -1 });
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, ERROR_BACKOFF_MS));
    }
  }

  private groupByLeader(metadata: Metadata): Map<number, Position[]> {
    const groups = new Map<number, Position[]>();
    for (const { topic, partition } of partitionsOf(metadata)) {
      if (partition.leaderId < 0) continue;
      const position = this.positions.get(`${topic}-${partition.partitionIndex}`);
      if (position === undefined || position.busy) continue;
      let group = groups.get(partition.leaderId);
      if (group === undefined) groups.set(partition.leaderId, (group = []));
      group.push(position);
    }
    return groups;
  }

  private async fetch(address: string, wanted: Position[]): Promise<void> {
    let failed = false;
    try {
      const answers = await fetchFrom(this.client, address, wanted.map((p) => ({ topic: p.reads.topic, partition: p.reads.partition, offset: p.nextOffset })));
      for (const answer of answers) {
        const position = this.positions.get(`${answer.topic}-${answer.partition}`)!;
        if (answer.errorCode !== KafkaError.NONE) {
          this.stale = true;
          failed = true;
          if (answer.errorCode === KafkaError.OFFSET_OUT_OF_RANGE && position.outOfRangeAt !== position.nextOffset) {
            position.outOfRangeAt = position.nextOffset;
            this.outOfRange++;
            this.logger.warn({ consumer: this.name, topic: answer.topic, partition: answer.partition, offset: position.nextOffset, leader: address }, 'chaos.consumer_offset_out_of_range');
          } else {
            this.logger.debug({ consumer: this.name, topic: answer.topic, partition: answer.partition, error: kafkaErrorName(answer.errorCode), leader: address }, 'chaos.consumer_fetch_error');
          }
          continue;
        }
        for (const record of answer.records) {
          if (record.offset < position.nextOffset) continue;
          position.reads.offsets.push(record.offset);
          position.reads.values.push(record.value);
          position.nextOffset = record.offset + 1;
        }
      }
    } catch (error) {
      this.stale = true;
      failed = true;
      this.logger.debug({ consumer: this.name, leader: address, err: error instanceof Error ? error.message : String(error) }, 'chaos.consumer_fetch_failed');
    }
    // Errors usually last a while (a leader moving, a broker down): do not spin on them.
    if (failed) await new Promise((resolve) => setTimeout(resolve, ERROR_BACKOFF_MS));
  }
}
