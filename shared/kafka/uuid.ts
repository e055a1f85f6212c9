/**
 * Kafka UUIDs (topic ids): 16 bytes on the wire (the codec's `uuid` fields are 16-byte
 * Buffers), and in text the form Kafka's Uuid.toString() prints: URL-safe base64 without
 * padding, 22 characters. The text form is what Samsa keeps in the tree (`"topic_id"` in
 * /brokers/topics/<t>, as Kafka's ZooKeeper mode does) and hands around in the broker.
 */
import { randomBytes } from 'crypto';

export const UUID_BYTES = 16;
/** Kafka's Uuid.ZERO_UUID: "no id" / unknown. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** Kafka's Uuid.METADATA_TOPIC_ID (…0001), reserved: never handed out as a topic id. */
const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

const UUID_TEXT = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export function uuidToBuffer(id: string): Buffer {
  if (!isUuidString(id)) throw new Error(`not a Kafka UUID (22 characters of URL-safe base64): '${id}'`);
  return Buffer.from(id, 'base64url');
}

export function uuidFromBuffer(bytes: Buffer): string {
  if (bytes.length !== UUID_BYTES) throw new Error(`a Kafka UUID is ${UUID_BYTES} bytes, got ${bytes.length}`);
  return bytes.toString('base64url');
}

/** 22 characters of URL-safe base64 whose last character carries no bits beyond the 128 (so that the text round-trips). */
export function isUuidString(text: unknown): text is string {
  return typeof text === 'string' && UUID_TEXT.test(text);
}

/**
 * A random (version 4) UUID, avoiding what Kafka's Uuid.randomUuid() avoids: the zero and
 * metadata-topic ids, and a text form starting with '-' (it would read as an option on a
 * command line).
 */
export function randomTopicId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const bytes = Buffer.from(random(UUID_BYTES));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const text = uuidFromBuffer(bytes);
    if (text !== ZERO_UUID && text !== METADATA_TOPIC_ID && !text.startsWith('-')) return text;
  }
}
