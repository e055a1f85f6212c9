/**
 * The records of the internal topic __consumer_offsets, byte for byte as Kafka 3.x writes them, so
 * Kafka's own tools (kafka-console-consumer with the offsets formatter, kafka-dump-log
 * --offsets-decoder) can read a Samsa log and Samsa can load a log written by Kafka.
 *
 * Framing (GroupMetadataManager.scala, MessageUtil.toVersionPrefixedBytes): key and value each start
 * with an int16 version, then the body of the schema at that version
 * (apache/kafka group-coordinator/src/main/resources/common/message/*.json):
 *
 *   key v0, v1  OffsetCommitKey     group string, topic string, partition int32   (Kafka writes v1)
 *   key v2      GroupMetadataKey    group string
 *   OffsetCommitValue   v0 offset, metadata, commitTimestamp
 *                       v1 offset, metadata, commitTimestamp, expireTimestamp
 *                       v2 as v0;  v3 adds leaderEpoch after offset;  v4 = v3 flexible
 *   GroupMetadataValue  v0 protocolType, generation, protocol?, leader?, members[memberId, clientId,
 *                          clientHost, sessionTimeout, subscription, assignment]
 *                       v1 members gain rebalanceTimeout (before sessionTimeout);  v2 adds
 *                       currentStateTimestamp before members;  v3 members gain groupInstanceId?
 *                       (after memberId);  v4 = v3 flexible
 *
 * A null value is a tombstone. The byte codec is hand-written over the shared Reader/Writer rather
 * than driven by shared/kafka/schemas: these are not API messages (no apiKey, not in the generated
 * types), the layouts are small and frozen (KIP-915 only allows tagged fields from here on), and the
 * tests pin them with byte-exact fixtures.
 */
import { Reader, Writer } from '../../shared/kafka/codec';
import type { GroupSnapshot, MemberSnapshot } from './group-machine-types';

export type { GroupSnapshot, MemberSnapshot };

export interface OffsetValue {
  offset: number;
  /** -1 = none (values before v3 carry none). */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1 = none; only v1 values carry one (OffsetCommit v1-v4 with an explicit retention time). */
  expireTimestamp: number;
}

export type OffsetsRecord =
  | { kind: 'offset'; group: string; topic: string; partition: number; value: OffsetValue | null }
  | { kind: 'group'; group: string; value: GroupSnapshot | null };

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** Kafka 3.x writes v3, the highest non-flexible version, and v1 when an expire timestamp is set. */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_VALUE_VERSION = 3;
export const OFFSET_COMMIT_VALUE_VERSION_MAX = 4;
export const GROUP_METADATA_VALUE_VERSION_MAX = 4;
const FLEXIBLE_VERSION = 4;

/** Malformed __consumer_offsets key or value (truncated, bad length, unknown value version, bad field). */
export class OffsetsRecordError extends Error {
  override readonly name = 'OffsetsRecordError';
}

const INT16_MAX = 0x7fff;

// ---------------------------------------------------------------------------
// Encoding

export function encodeOffsetsRecord(record: OffsetsRecord): { key: Buffer; value: Buffer | null } {
  switch (record.kind) {
    case 'offset': {
      const key = new Writer(64);
      key.int16(OFFSET_COMMIT_KEY_VERSION);
      writeString(key, record.group, 'OffsetCommitKey group');
      writeString(key, record.topic, 'OffsetCommitKey topic');
      writeInt32(key, record.partition, 'OffsetCommitKey partition');
      return { key: copyOut(key), value: record.value === null ? null : encodeOffsetValue(record.value) };
    }
    case 'group': {
      const key = new Writer(64);
      key.int16(GROUP_METADATA_KEY_VERSION);
      writeString(key, record.group, 'GroupMetadataKey group');
      if (record.value !== null && record.value.groupId !== record.group) {
        throw new OffsetsRecordError(`GroupMetadata record for group ${JSON.stringify(record.group)} carries a snapshot of ${JSON.stringify(record.value.groupId)}`);
      }
      return { key: copyOut(key), value: record.value === null ? null : encodeGroupValue(record.value) };
    }
    default:
      return assertNever(record);
  }
}

function encodeOffsetValue(value: OffsetValue): Buffer {
  // Kafka keeps v1 for an explicit expire timestamp (the only version that has the field); it has no leader epoch.
  const version = value.expireTimestamp === -1 ? OFFSET_COMMIT_VALUE_VERSION : 1;
  const w = new Writer(64);
  w.int16(version);
  writeInt64(w, value.offset, 'OffsetCommitValue offset');
  if (version >= 3) writeInt32(w, value.leaderEpoch, 'OffsetCommitValue leaderEpoch');
  writeString(w, value.metadata, 'OffsetCommitValue metadata');
  writeInt64(w, value.commitTimestamp, 'OffsetCommitValue commitTimestamp');
  if (version === 1) writeInt64(w, value.expireTimestamp, 'OffsetCommitValue expireTimestamp');
  return copyOut(w);
}

function encodeGroupValue(group: GroupSnapshot): Buffer {
  const w = new Writer(256);
  w.int16(GROUP_METADATA_VALUE_VERSION);
  // Kafka writes protocolType.getOrElse("") and reads "" back as no protocol type.
  writeString(w, group.protocolType ?? '', 'GroupMetadataValue protocolType');
  writeInt32(w, group.generationId, 'GroupMetadataValue generation');
  writeNullableString(w, group.protocolName, 'GroupMetadataValue protocol');
  writeNullableString(w, group.leaderId, 'GroupMetadataValue leader');
  writeInt64(w, group.currentStateTimestamp, 'GroupMetadataValue currentStateTimestamp');
  writeInt32(w, group.members.length, 'GroupMetadataValue members count');
  for (const member of group.members) {
    const where = `GroupMetadataValue member ${JSON.stringify(member.memberId)}`;
    writeString(w, member.memberId, `${where} memberId`);
    writeNullableString(w, member.groupInstanceId, `${where} groupInstanceId`);
    writeString(w, member.clientId, `${where} clientId`);
    writeString(w, member.clientHost, `${where} clientHost`);
    writeInt32(w, member.rebalanceTimeoutMs, `${where} rebalanceTimeout`);
    writeInt32(w, member.sessionTimeoutMs, `${where} sessionTimeout`);
    writeBytes(w, member.subscription);
    writeBytes(w, member.assignment);
  }
  return copyOut(w);
}

/** A buffer of its own (the Writer's may be larger than its content). */
function copyOut(w: Writer): Buffer {
  return Buffer.from(w.result());
}

function writeString(w: Writer, s: string, where: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > INT16_MAX) throw new OffsetsRecordError(`${where}: ${bytes.length} bytes, more than a string can hold (${INT16_MAX})`);
  w.int16(bytes.length);
  w.raw(bytes);
}

function writeNullableString(w: Writer, s: string | null, where: string): void {
  if (s === null) w.int16(-1);
  else writeString(w, s, where);
}

function writeBytes(w: Writer, bytes: Buffer): void {
  w.int32(bytes.length);
  w.raw(bytes);
}

function writeInt32(w: Writer, n: number, where: string): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new OffsetsRecordError(`${where}: ${n} is not an int32`);
  w.int32(n);
}

function writeInt64(w: Writer, n: number, where: string): void {
  if (!Number.isSafeInteger(n)) throw new OffsetsRecordError(`${where}: ${n} is not a safe integer`);
  w.int64(BigInt(n));
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Decodes one record of the topic. Unknown key versions give null: Kafka's loader logs and skips them
 * ("a left over from an aborted upgrade"). Anything else that does not parse throws an
 * OffsetsRecordError naming the part that is wrong. Bytes after the last field are ignored, as
 * Kafka's generated readers ignore them.
 */
export function decodeOffsetsRecord(key: Buffer, value: Buffer | null): OffsetsRecord | null {
  if (key.length < 2) throw new OffsetsRecordError(`__consumer_offsets key: ${key.length} bytes, too short for a version`);
  const keyVersion = key.readInt16BE(0);
  if (keyVersion === 0 || keyVersion === 1) {
    const { group, topic, partition } = parse(`OffsetCommitKey v${keyVersion}`, key, (r) => ({
      group: readString(r, 'group'),
      topic: readString(r, 'topic'),
      partition: r.int32(),
    }));
    return { kind: 'offset', group, topic, partition, value: value === null ? null : decodeOffsetValue(value) };
  }
  if (keyVersion === GROUP_METADATA_KEY_VERSION) {
    const group = parse(`GroupMetadataKey v${keyVersion}`, key, (r) => readString(r, 'group'));
    return { kind: 'group', group, value: value === null ? null : decodeGroupValue(group, value) };
  }
  return null;
}

function valueVersion(what: string, value: Buffer, max: number): number {
  if (value.length < 2) throw new OffsetsRecordError(`${what}: ${value.length} bytes, too short for a version`);
  const version = value.readInt16BE(0);
  if (version < 0 || version > max) throw new OffsetsRecordError(`${what}: unknown version ${version} (this reader knows 0-${max})`);
  return version;
}

function decodeOffsetValue(value: Buffer): OffsetValue {
  const version = valueVersion('OffsetCommitValue', value, OFFSET_COMMIT_VALUE_VERSION_MAX);
  const flexible = version >= FLEXIBLE_VERSION;
  return parse(`OffsetCommitValue v${version}`, value, (r) => {
    const offset = readInt64(r, 'offset');
    const leaderEpoch = version >= 3 ? r.int32() : -1;
    const metadata = flexible ? readCompactString(r, 'metadata') : readString(r, 'metadata');
    const commitTimestamp = readInt64(r, 'commitTimestamp');
    const expireTimestamp = version === 1 ? readInt64(r, 'expireTimestamp') : -1;
    if (flexible) skipTaggedFields(r);
    return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
  });
}

function decodeGroupValue(groupId: string, value: Buffer): GroupSnapshot {
  const version = valueVersion('GroupMetadataValue', value, GROUP_METADATA_VALUE_VERSION_MAX);
  const flexible = version >= FLEXIBLE_VERSION;
  const str = flexible ? readCompactString : readString;
  const nullableStr = flexible ? readCompactNullableString : readNullableString;
  const bytes = flexible ? readCompactBytes : readBytes;
  return parse(`GroupMetadataValue v${version}`, value, (r) => {
    const protocolType = str(r, 'protocolType');
    const generationId = r.int32();
    const protocolName = nullableStr(r, 'protocol');
    const leaderId = nullableStr(r, 'leader');
    const currentStateTimestamp = version >= 2 ? readInt64(r, 'currentStateTimestamp') : -1;
    const count = flexible ? r.uvarint() - 1 : r.int32();
    if (count < 0) throw new OffsetsRecordError('members: null or negative count');
    // A member takes at least MEMBER_BYTES_MIN bytes: a larger count is a lie, refuse before looping.
    if (count * MEMBER_BYTES_MIN > r.remaining) throw new OffsetsRecordError(`members: ${count} claimed, ${r.remaining} bytes left`);
    const members: MemberSnapshot[] = [];
    for (let i = 0; i < count; i++) {
      const memberId = str(r, `members[${i}].memberId`);
      const groupInstanceId = version >= 3 ? nullableStr(r, `members[${i}].groupInstanceId`) : null;
      const clientId = str(r, `members[${i}].clientId`);
      const clientHost = str(r, `members[${i}].clientHost`);
      const rebalanceTimeout = version >= 1 ? r.int32() : null;
      const sessionTimeoutMs = r.int32();
      const subscription = bytes(r, `members[${i}].subscription`);
      const assignment = bytes(r, `members[${i}].assignment`);
      if (flexible) skipTaggedFields(r);
      // v0 has no rebalance timeout: Kafka uses the session timeout in its place.
      members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs: rebalanceTimeout ?? sessionTimeoutMs, sessionTimeoutMs, subscription, assignment });
    }
    if (flexible) skipTaggedFields(r);
    return { groupId, protocolType: protocolType === '' ? null : protocolType, generationId, protocolName, leaderId, currentStateTimestamp, members };
  });
}

/** Smallest member on the wire: four empty compact strings/bytes + two int32 + tagged-field count (v4). */
const MEMBER_BYTES_MIN = 13;

/** Runs a body parser after the int16 version, turning the Reader's bounds errors into ones that say where. */
function parse<T>(what: string, buf: Buffer, body: (r: Reader) => T): T {
  const r = new Reader(buf, 2);
  try {
    return body(r);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new OffsetsRecordError(`${what}: ${message}`);
  }
}

function readString(r: Reader, field: string): string {
  const s = readNullableString(r, field);
  if (s === null) throw new OffsetsRecordError(`${field}: null for a non-nullable string`);
  return s;
}

function readNullableString(r: Reader, field: string): string | null {
  const length = r.int16();
  if (length === -1) return null;
  if (length < 0) throw new OffsetsRecordError(`${field}: string length ${length}`);
  return sliceChecked(r, length, field).toString('utf8');
}

function readCompactString(r: Reader, field: string): string {
  const s = readCompactNullableString(r, field);
  if (s === null) throw new OffsetsRecordError(`${field}: null for a non-nullable string`);
  return s;
}

function readCompactNullableString(r: Reader, field: string): string | null {
  const length = r.uvarint() - 1;
  if (length === -1) return null;
  if (length > INT16_MAX) throw new OffsetsRecordError(`${field}: string length ${length} over ${INT16_MAX}`);
  return sliceChecked(r, length, field).toString('utf8');
}

/** Copied: a slice would keep the whole source buffer (a read of the log) alive as long as the group lives. */
function readBytes(r: Reader, field: string): Buffer {
  const length = r.int32();
  if (length < 0) throw new OffsetsRecordError(`${field}: bytes length ${length} (null or negative)`);
  return Buffer.from(sliceChecked(r, length, field));
}

function readCompactBytes(r: Reader, field: string): Buffer {
  const length = r.uvarint() - 1;
  if (length < 0) throw new OffsetsRecordError(`${field}: null bytes`);
  return Buffer.from(sliceChecked(r, length, field));
}

function sliceChecked(r: Reader, length: number, field: string): Buffer {
  if (length > r.remaining) throw new OffsetsRecordError(`${field}: length ${length} but only ${r.remaining} bytes left`);
  return r.slice(length);
}

function readInt64(r: Reader, field: string): number {
  const n = r.int64();
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new OffsetsRecordError(`${field}: ${n} is beyond 2^53`);
  return Number(n);
}

function skipTaggedFields(r: Reader): void {
  const count = r.uvarint();
  // A tagged field takes at least two bytes (tag and size).
  if (count * 2 > r.remaining) throw new OffsetsRecordError(`${count} tagged fields claimed, ${r.remaining} bytes left`);
  for (let i = 0; i < count; i++) {
    r.uvarint();
    const size = r.uvarint();
    sliceChecked(r, size, 'tagged field');
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected offsets record ${JSON.stringify(x)}`);
}
