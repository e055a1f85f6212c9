/**
 * Kafka's ConsumerProtocol: the bytes inside JoinGroup's protocol metadata (a member's
 * Subscription) and SyncGroup's / DescribeGroups' member assignment (an Assignment) when the
 * protocol type is "consumer". The broker treats them as opaque; the CLI's group member writes
 * them and `samsa group describe` reads them.
 *
 * Subscription v0: int16 version, [string topic], nullable bytes userData;
 *   v1 adds [topic, [int32 partition]] ownedPartitions, v2 int32 generationId, v3 string rackId.
 * Assignment v0/v1: int16 version, [topic, [int32 partition]], nullable bytes userData.
 * Later versions only append fields, so a decoder reads the fields it knows and ignores the
 * rest (as Kafka's own does); kafkajs writes version 0 and librdkafka version 1 or later.
 */
import { KafkaCodecError, Reader, Writer } from './codec';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface Subscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1 and later; empty for v0. */
  ownedPartitions: TopicPartitions[];
}

export interface Assignment {
  version: number;
  partitions: TopicPartitions[];
  userData: Buffer | null;
}

function writeString(w: Writer, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  w.int16(bytes.length);
  w.raw(bytes);
}

function readString(r: Reader): string {
  const length = r.int16();
  if (length < 0) throw new KafkaCodecError('null string in consumer protocol bytes');
  return r.slice(length).toString('utf8');
}

function writeBytes(w: Writer, value: Buffer | null): void {
  if (value === null) return w.int32(-1);
  w.int32(value.length);
  w.raw(value);
}

function readBytes(r: Reader): Buffer | null {
  const length = r.int32();
  return length < 0 ? null : Buffer.from(r.slice(length));
}

function readArrayLength(r: Reader): number {
  const length = r.int32();
  // Each element takes at least 2 bytes: a count past what is left is corrupt, not a reason to loop.
  if (length > r.remaining) throw new KafkaCodecError(`array of ${length} elements in ${r.remaining} bytes`);
  return Math.max(length, 0);
}

function writeTopicPartitions(w: Writer, list: TopicPartitions[]): void {
  w.int32(list.length);
  for (const entry of list) {
    writeString(w, entry.topic);
    w.int32(entry.partitions.length);
    for (const partition of entry.partitions) w.int32(partition);
  }
}

function readTopicPartitions(r: Reader): TopicPartitions[] {
  const out: TopicPartitions[] = [];
  for (let i = readArrayLength(r); i > 0; i--) {
    const topic = readString(r);
    const partitions: number[] = [];
    for (let j = readArrayLength(r); j > 0; j--) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}

/** Version 0 unless owned partitions are given (then version 1). */
export function encodeSubscription(subscription: { topics: string[]; userData?: Buffer | null; ownedPartitions?: TopicPartitions[] }): Buffer {
  const owned = subscription.ownedPartitions ?? [];
  const w = new Writer(64);
  w.int16(owned.length > 0 ? 1 : 0);
  w.int32(subscription.topics.length);
  for (const topic of subscription.topics) writeString(w, topic);
  writeBytes(w, subscription.userData ?? null);
  if (owned.length > 0) writeTopicPartitions(w, owned);
  return Buffer.from(w.result());
}

export function decodeSubscription(bytes: Buffer): Subscription {
  const r = new Reader(bytes, 0);
  const version = r.int16();
  if (version < 0) throw new KafkaCodecError(`subscription version ${version}`);
  const topics: string[] = [];
  for (let i = readArrayLength(r); i > 0; i--) topics.push(readString(r));
  const userData = readBytes(r);
  const ownedPartitions = version >= 1 && r.remaining > 0 ? readTopicPartitions(r) : [];
  return { version, topics, userData, ownedPartitions };
}

export function encodeAssignment(assignment: { partitions: TopicPartitions[]; userData?: Buffer | null }): Buffer {
  const w = new Writer(64);
  w.int16(0);
  writeTopicPartitions(w, assignment.partitions);
  writeBytes(w, assignment.userData ?? null);
  return Buffer.from(w.result());
}

/**
 * An empty buffer is an empty assignment: the coordinator hands one to a member the leader
 * left out, and DescribeGroups shows one for members of a group still rebalancing.
 */
export function decodeAssignment(bytes: Buffer): Assignment {
  if (bytes.length === 0) return { version: 0, partitions: [], userData: null };
  const r = new Reader(bytes, 0);
  const version = r.int16();
  if (version < 0) throw new KafkaCodecError(`assignment version ${version}`);
  const partitions = readTopicPartitions(r);
  // Kafka's own decoder tolerates an assignment cut off before userData (old clients).
  const userData = r.remaining >= 4 ? readBytes(r) : null;
  return { version, partitions, userData };
}
