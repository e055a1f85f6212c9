/**
 * Snapshots written and read a piece at a time (issue 10), by the file and the Redis store alike.
 *
 * A snapshot used to be one JSON text of the whole tree: with a few hundred MiB of znode data,
 * building it held the event loop for seconds (3 s sessions expired), and above about 512 MiB
 * it could not be built at all (V8's longest string). Now it is a sequence of values, each of
 * about CHUNK_BYTES_MAX at most:
 *
 *   header   JSON {"snapshot": 4, "lastZxid": z, "sessions": [...]}
 *   chunk    binary: the znodes of chunk 0, 1, ... (encodeChunk below: no JSON, no base64)
 *   trailer  JSON {"lastZxid": z, "end": true, "chunks": <count>, "nodes": <count>}
 *
 * The writer takes the nodes from a SnapshotSource a chunk at a time and gives the event loop a
 * turn between chunks, so requests and pings are served while a snapshot is written; the tree
 * keeps changing meanwhile and the source still gives the tree as it was at `lastZxid`
 * (tree.ts, TreeSnapshot). A node may come twice (the later one wins, as DataTree.fromRecords
 * does). The trailer tells a complete snapshot from a cut one, and every value names its
 * snapshot's zxid, so values of two snapshots are never mixed (a Redis standby may read while the
 * active coordinator writes a newer snapshot over the one it reads).
 *
 * Snapshots written before are still read: format 3 (chunks as JSON, each znode an array:
 * records.ts nodeToTuple), format 2 (each znode an object: records.ts nodeToJson) and format 1
 * (one value {lastZxid, nodes, sessions}).
 */
import type { CoreSnapshot, SessionRecord, SnapshotSource, ZnodeRecord } from '../core-api';
import { EMPTY_DATA } from '../../shared/coordinator/data';
import { nodeFromJson, nodeFromTuple, snapshotFromJson } from './records';

export const SNAPSHOT_FORMAT = 4;
/** Format 3: chunks as JSON, znodes as arrays (nodeToTuple), as written before format 4. */
const SNAPSHOT_FORMAT_TUPLES = 3;
/** Format 2: chunks as JSON, znodes as objects (nodeToJson), as written before format 3. */
const SNAPSHOT_FORMAT_OBJECTS = 2;
/** A value is a chunk of format 4 when it begins with this byte; every JSON value begins with '{'. */
export const BINARY_CHUNK_MARK = 0x01;

/** What a snapshot is written as: JSON values (header, trailer) and binary chunks. */
export type SnapshotValue = Record<string, unknown> | Buffer;
/**
 * A chunk ends once its znodes' data and paths reach this, or at one znode when a single one is
 * bigger: what one value costs in memory while written or read, and what the event loop spends
 * on one chunk without a turn (a copy and a CRC of 256 KiB: about 0.1 ms).
 */
export const CHUNK_BYTES_MAX = 256 * 1024;
/**
 * ... or at this many znodes, for trees of small nodes: about 0.3 ms of encoding (0.3 µs a znode).
 * A request that arrives while a snapshot is written waits for at most one chunk, so this bounds
 * what a snapshot adds to a request's latency: a watch (set -> event) during a snapshot of
 * 200,000 znodes had a p99 of 2.3-2.7 ms with 4,000 znodes a chunk, 2.0-2.3 with 1,000 (1.4-2.5
 * without a snapshot on the same busy machine; 3 interleaved runs each).
 */
export const CHUNK_NODES_MAX = 1_000;

/** A value of a snapshot that is not what it should be: the snapshot is unusable (torn, corrupt, or another's). */
export class SnapshotProblem extends Error {
  override readonly name = 'SnapshotProblem';
}

/** A whole snapshot (tests, the legacy callers) as a source, so that every store takes one kind of input. */
export function sourceOf(snapshot: CoreSnapshot | SnapshotSource): SnapshotSource {
  if (!('nodes' in snapshot)) return snapshot;
  let next = 0;
  return {
    lastZxid: snapshot.lastZxid,
    sessions: snapshot.sessions,
    nextNodes: (nodesMax, bytesMax) => {
      const start = next;
      let bytes = 0;
      while (next < snapshot.nodes.length && next - start < nodesMax && bytes < bytesMax) {
        const node = snapshot.nodes[next++]!;
        bytes += node.data.length + node.path.length;
      }
      return snapshot.nodes.slice(start, next);
    },
    close: () => undefined,
  };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Writes `source` as its values, in order, through `write` (which encodes and stores one value
 * and resolves when it may take the next); closes the source, written or not.
 */
export async function writeSnapshotValues(source: SnapshotSource, write: (value: SnapshotValue) => Promise<void>): Promise<{ chunks: number; nodes: number }> {
  try {
    const { lastZxid } = source;
    await write({ snapshot: SNAPSHOT_FORMAT, lastZxid, sessions: source.sessions });
    let chunks = 0;
    let nodes = 0;
    for (;;) {
      // Between chunks the server serves what arrived meanwhile (also when `write` did no I/O).
      await yieldToEventLoop();
      const records = source.nextNodes(CHUNK_NODES_MAX, CHUNK_BYTES_MAX);
      if (records.length === 0) break;
      await write(encodeChunk(lastZxid, chunks, records));
      chunks++;
      nodes += records.length;
    }
    await write({ lastZxid, end: true, chunks, nodes });
    return { chunks, nodes };
  } finally {
    source.close();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Takes a snapshot's parsed values in order and gives the snapshot once the last has come. */
export class SnapshotAssembler {
  private header: { lastZxid: number; sessions: SessionRecord[]; format: number } | null = null;
  private readonly nodes: ZnodeRecord[] = [];
  private chunks = 0;
  private result: CoreSnapshot | null = null;

  /** Adds the next value (reusing and changing it); true once the snapshot is complete. Throws SnapshotProblem. */
  add(value: unknown): boolean {
    if (this.result !== null) throw new SnapshotProblem('a value after the end of the snapshot');
    const header = this.header;
    if (Buffer.isBuffer(value)) {
      if (header === null || header.format !== SNAPSHOT_FORMAT) throw new SnapshotProblem('a binary chunk outside a snapshot of format 4');
      decodeChunk(value, header.lastZxid, this.chunks, this.nodes);
      this.chunks++;
      return false;
    }
    if (!isObject(value)) throw new SnapshotProblem('a snapshot value is not an object');
    if (header === null) return this.addFirst(value);
    if (value.lastZxid !== header.lastZxid) throw new SnapshotProblem(`a value of the snapshot at zxid ${String(value.lastZxid)} in the one at ${header.lastZxid}`);
    if (value.end === true) {
      if (value.chunks !== this.chunks || value.nodes !== this.nodes.length) {
        throw new SnapshotProblem(`the trailer counts ${String(value.chunks)} chunks and ${String(value.nodes)} nodes, not ${this.chunks} and ${this.nodes.length}`);
      }
      this.result = { lastZxid: header.lastZxid, nodes: this.nodes, sessions: header.sessions };
      return true;
    }
    if (header.format === SNAPSHOT_FORMAT) throw new SnapshotProblem(`a JSON value where binary chunk ${this.chunks} belongs`);
    if (value.chunk !== this.chunks || !Array.isArray(value.nodes)) throw new SnapshotProblem(`chunk ${String(value.chunk)} where chunk ${this.chunks} belongs`);
    const fromValue = header.format === SNAPSHOT_FORMAT_OBJECTS ? nodeFromJson : nodeFromTuple;
    for (const node of value.nodes as unknown[]) {
      const record = fromValue(node);
      if (record === null) throw new SnapshotProblem(`chunk ${this.chunks} holds a value that is not a znode`);
      this.nodes.push(record);
    }
    this.chunks++;
    return false;
  }

  private addFirst(value: Record<string, unknown>): boolean {
    if (Array.isArray(value.nodes)) {
      this.result = snapshotFromJson(value);
      if (this.result === null) throw new SnapshotProblem('not a snapshot (single-value form)');
      return true;
    }
    const format = value.snapshot;
    if ((format !== SNAPSHOT_FORMAT && format !== SNAPSHOT_FORMAT_TUPLES && format !== SNAPSHOT_FORMAT_OBJECTS) || typeof value.lastZxid !== 'number' || !Array.isArray(value.sessions)) {
      throw new SnapshotProblem(`not a snapshot header (format ${String(format)}; this version reads 1 to ${SNAPSHOT_FORMAT})`);
    }
    this.header = { lastZxid: value.lastZxid, sessions: value.sessions as SessionRecord[], format };
    return false;
  }

  /** The snapshot, once `add` returned true. */
  get snapshot(): CoreSnapshot {
    if (this.result === null) throw new SnapshotProblem('the snapshot ends before its trailer');
    return this.result;
  }
}

/**
 * A value as a store read it back (the bytes of one record or list element): a binary chunk as
 * it is, anything else parsed as JSON. `bytes` becomes the value's: the caller keeps no other use.
 */
export function parseSnapshotValue(bytes: Buffer): unknown {
  if (bytes.length > 0 && bytes[0] === BINARY_CHUNK_MARK) return bytes;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SnapshotProblem('bad json');
  }
}

// ---------------------------------------------------------------------------------------------
// Binary chunks (format 4). Written by hand rather than with a serialization library: the layout
// is a dozen fixed fields, and what mattered was the cost per znode on the event loop (measured
// on 300,000 znodes of 100 bytes: JSON arrays with base64 data 1.25 µs a znode, this 0.3).
//
//   chunk  u8 BINARY_CHUNK_MARK, f64 lastZxid, u32 chunk number, u32 znode count, znodes
//   znode  u32 path bytes, path (UTF-8), u32 data bytes, data,
//          f64 czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion,
//          u16 ephemeralOwner bytes, ephemeralOwner (UTF-8),
//          u8 flags (1: container, 2: an ACL follows), [u32 ACL bytes, the ACL as JSON]
//
// Little-endian throughout. Numbers are doubles, as they are in the tree (a zxid, a time or a
// version is an integer below 2^53): nothing to range-check or overflow.

const CHUNK_HEAD_BYTES = 1 + 8 + 4 + 4;
const NODE_FIXED_BYTES = 4 + 4 + 8 * 8 + 2 + 1;
const FLAG_CONTAINER = 1;
const FLAG_ACL = 2;
const OWNER_BYTES_MAX = 0xffff;

/** `records` as chunk number `chunk` of the snapshot at `lastZxid`. Data held as legacy text is written as its UTF-8 bytes. */
export function encodeChunk(lastZxid: number, chunk: number, records: readonly ZnodeRecord[]): Buffer {
  // An upper bound first (a UTF-16 unit is at most 3 UTF-8 bytes), then the bytes written are kept.
  let bound = CHUNK_HEAD_BYTES;
  const acls: Array<string | undefined> = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const data = record.data;
    bound += NODE_FIXED_BYTES + record.path.length * 3 + record.ephemeralOwner.length * 3 + (typeof data === 'string' ? data.length * 3 : data.length);
    if (record.acl !== undefined) {
      const acl = JSON.stringify(record.acl);
      acls[i] = acl;
      bound += 4 + acl.length * 3;
    }
  }
  const out = Buffer.allocUnsafe(bound);
  // Numbers through a DataView: its accessors are compiled inline, Buffer's writeDoubleLE is not.
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  out[0] = BINARY_CHUNK_MARK;
  view.setFloat64(1, lastZxid, true);
  view.setUint32(9, chunk, true);
  view.setUint32(13, records.length, true);
  let at = CHUNK_HEAD_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const pathBytes = writeText(out, record.path, at + 4);
    view.setUint32(at, pathBytes, true);
    at += 4 + pathBytes;
    const data = record.data;
    let dataBytes: number;
    if (typeof data === 'string') dataBytes = out.write(data, at + 4, 'utf8');
    else {
      out.set(data, at + 4);
      dataBytes = data.length;
    }
    view.setUint32(at, dataBytes, true);
    at += 4 + dataBytes;
    view.setFloat64(at, record.czxid, true);
    view.setFloat64(at + 8, record.mzxid, true);
    view.setFloat64(at + 16, record.pzxid, true);
    view.setFloat64(at + 24, record.ctime, true);
    view.setFloat64(at + 32, record.mtime, true);
    view.setFloat64(at + 40, record.version, true);
    view.setFloat64(at + 48, record.cversion, true);
    view.setFloat64(at + 56, record.aversion ?? 0, true);
    at += 64;
    const ownerBytes = writeText(out, record.ephemeralOwner, at + 2);
    if (ownerBytes > OWNER_BYTES_MAX) throw new Error(`ephemeralOwner of ${record.path} is ${ownerBytes} bytes long`);
    view.setUint16(at, ownerBytes, true);
    at += 2 + ownerBytes;
    const acl = acls[i];
    out[at++] = (record.container ? FLAG_CONTAINER : 0) | (acl !== undefined ? FLAG_ACL : 0);
    if (acl !== undefined) {
      const aclBytes = out.write(acl, at + 4, 'utf8');
      view.setUint32(at, aclBytes, true);
      at += 4 + aclBytes;
    }
  }
  return out.subarray(0, at);
}

/**
 * Writes `text` as UTF-8 at `at`; returns its bytes. Paths and session ids are short and nearly
 * always ASCII: a loop over them costs less than Buffer.write's call into C++ (half the encoding
 * time of a chunk went there, measured); anything else goes through Buffer.write.
 */
function writeText(out: Buffer, text: string, at: number): number {
  const length = text.length;
  if (length > 64) return out.write(text, at, 'utf8');
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return out.write(text, at, 'utf8');
    out[at + i] = code;
  }
  return length;
}

/** Reads a chunk's fields in order; every length is checked against what is left, so a bad chunk is a SnapshotProblem, never a read past its end. */
class ChunkReader {
  at = CHUNK_HEAD_BYTES;
  constructor(private readonly bytes: Buffer, private readonly chunk: number) {}

  private take(length: number): number {
    const start = this.at;
    if (length > this.bytes.length - start) throw new SnapshotProblem(`chunk ${this.chunk} ends inside a znode`);
    this.at = start + length;
    return start;
  }

  number(): number {
    const value = this.bytes.readDoubleLE(this.take(8));
    if (!Number.isFinite(value)) throw new SnapshotProblem(`chunk ${this.chunk} holds a number that is not finite`);
    return value;
  }

  text(lengthBytes: 2 | 4): string {
    const length = lengthBytes === 2 ? this.bytes.readUInt16LE(this.take(2)) : this.bytes.readUInt32LE(this.take(4));
    const start = this.take(length);
    return this.bytes.toString('utf8', start, start + length);
  }

  /** A copy: a znode's data must not hold the whole chunk in memory. */
  data(): Buffer {
    const length = this.bytes.readUInt32LE(this.take(4));
    const start = this.take(length);
    if (length === 0) return EMPTY_DATA;
    const data = Buffer.allocUnsafe(length); // small ones come from Node's shared pool
    this.bytes.copy(data, 0, start, start + length);
    return data;
  }

  byte(): number {
    return this.bytes[this.take(1)]!;
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

/** Adds the znodes of binary chunk number `chunk` of the snapshot at `lastZxid` to `into`; throws SnapshotProblem when it is not that chunk or not whole. */
export function decodeChunk(bytes: Buffer, lastZxid: number, chunk: number, into: ZnodeRecord[]): void {
  if (bytes.length < CHUNK_HEAD_BYTES || bytes[0] !== BINARY_CHUNK_MARK) throw new SnapshotProblem(`chunk ${chunk} is too short for a binary chunk`);
  const zxid = bytes.readDoubleLE(1);
  if (zxid !== lastZxid) throw new SnapshotProblem(`a value of the snapshot at zxid ${zxid} in the one at ${lastZxid}`);
  const number = bytes.readUInt32LE(9);
  if (number !== chunk) throw new SnapshotProblem(`chunk ${number} where chunk ${chunk} belongs`);
  const count = bytes.readUInt32LE(13);
  const reader = new ChunkReader(bytes, chunk);
  for (let i = 0; i < count; i++) {
    const path = reader.text(4);
    const data = reader.data();
    const czxid = reader.number();
    const mzxid = reader.number();
    const pzxid = reader.number();
    const ctime = reader.number();
    const mtime = reader.number();
    const version = reader.number();
    const cversion = reader.number();
    const aversion = reader.number();
    const ephemeralOwner = reader.text(2);
    const flags = reader.byte();
    if ((flags & ~(FLAG_CONTAINER | FLAG_ACL)) !== 0) throw new SnapshotProblem(`chunk ${chunk} holds unknown znode flags ${flags}`);
    let acl: ZnodeRecord['acl'];
    if ((flags & FLAG_ACL) !== 0) {
      const parsed: unknown = parseJson(reader.text(4), chunk);
      if (!Array.isArray(parsed)) throw new SnapshotProblem(`chunk ${chunk} holds an ACL that is not a list`);
      acl = parsed as ZnodeRecord['acl'];
    }
    into.push({ path, data, czxid, mzxid, pzxid, ctime, mtime, version, cversion, ephemeralOwner, container: (flags & FLAG_CONTAINER) !== 0, acl, aversion: aversion === 0 ? undefined : aversion });
  }
  if (!reader.done) throw new SnapshotProblem(`chunk ${chunk} has ${bytes.length - reader.at} bytes after its ${count} znodes`);
}

function parseJson(text: string, chunk: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SnapshotProblem(`chunk ${chunk} holds an ACL that is not JSON`);
  }
}
