/**
 * Snapshots written and read a piece at a time (issue 10), by the file and the Redis store alike.
 *
 * A snapshot used to be one JSON text of the whole tree: with a few hundred MiB of znode data,
 * building it held the event loop for seconds (3 s sessions expired), and above about 512 MiB
 * it could not be built at all (V8's longest string). Now it is a sequence of JSON values, each
 * of about CHUNK_BYTES_MAX at most:
 *
 *   header   {"snapshot": 3, "lastZxid": z, "sessions": [...]}
 *   chunk    {"lastZxid": z, "chunk": 0, 1, ..., "nodes": [<znode as an array, records.ts nodeToTuple>, ...]}
 *   trailer  {"lastZxid": z, "end": true, "chunks": <count>, "nodes": <count>}
 *
 * The writer takes the nodes from a SnapshotSource a chunk at a time and gives the event loop a
 * turn between chunks, so requests and pings are served while a snapshot is written; the tree
 * keeps changing meanwhile and the source still gives the tree as it was at `lastZxid`
 * (tree.ts, TreeSnapshot). A node may come twice (the later one wins, as DataTree.fromRecords
 * does). The trailer tells a complete snapshot from a cut one, and every value names its
 * snapshot's zxid, so values of two snapshots are never mixed (a Redis standby may read while the
 * active coordinator writes a newer snapshot over the one it reads).
 *
 * Snapshots written before are still read: format 2 (the same, each znode an object: records.ts
 * nodeToJson) and format 1 (one value {lastZxid, nodes, sessions}).
 */
import type { CoreSnapshot, SessionRecord, SnapshotSource, ZnodeRecord } from '../core-api';
import { nodeFromJson, nodeFromTuple, nodeToTuple, snapshotFromJson } from './records';

export const SNAPSHOT_FORMAT = 3;
/** Format 2: chunks of znodes as objects (nodeToJson), as written before format 3. */
const SNAPSHOT_FORMAT_OBJECTS = 2;
/**
 * A chunk ends once its znodes' data and paths reach this (about 1.4 MiB of JSON, base64 being a
 * third longer), or at one znode when a single one is bigger: what the event loop spends on one
 * chunk without a turn (about 10 ms: base64, JSON.stringify, UTF-8 and CRC of 1 MiB, measured
 * 2 + 5 + 2 + 0.3 ms) and what one value costs in memory while written or read.
 */
export const CHUNK_BYTES_MAX = 1024 * 1024;
/** ... or at this many znodes, for trees of small nodes (about 3 ms of encoding: 1.5 µs a node). */
export const CHUNK_NODES_MAX = 2_000;

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
export async function writeSnapshotValues(source: SnapshotSource, write: (value: unknown) => Promise<void>): Promise<{ chunks: number; nodes: number }> {
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
      await write({ lastZxid, chunk: chunks, nodes: records.map(nodeToTuple) });
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
    if (!isObject(value)) throw new SnapshotProblem('a snapshot value is not an object');
    const header = this.header;
    if (header === null) return this.addFirst(value);
    if (value.lastZxid !== header.lastZxid) throw new SnapshotProblem(`a value of the snapshot at zxid ${String(value.lastZxid)} in the one at ${header.lastZxid}`);
    if (value.end === true) {
      if (value.chunks !== this.chunks || value.nodes !== this.nodes.length) {
        throw new SnapshotProblem(`the trailer counts ${String(value.chunks)} chunks and ${String(value.nodes)} nodes, not ${this.chunks} and ${this.nodes.length}`);
      }
      this.result = { lastZxid: header.lastZxid, nodes: this.nodes, sessions: header.sessions };
      return true;
    }
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
    if ((format !== SNAPSHOT_FORMAT && format !== SNAPSHOT_FORMAT_OBJECTS) || typeof value.lastZxid !== 'number' || !Array.isArray(value.sessions)) {
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
