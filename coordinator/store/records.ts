/**
 * How transactions and snapshots are written as JSON by the stores (file and Redis): as they are,
 * except that znode data, bytes, goes as base64 in a `data64` field. Records written before data
 * became bytes hold `data` as UTF-8 text instead; they are read back as such (a string, the legacy
 * form of RecordData) and the core turns them into their bytes, so existing data directories and
 * Redis logs recover.
 *
 * The stores give back exactly what they were given: bytes as bytes, text as text.
 */
import { EMPTY_DATA, fromBase64, takeBase64 } from '../../shared/coordinator/data';
import type { CoreSnapshot, RecordData, SubTxn, Txn, ZnodeRecord } from '../core-api';

function data64(data: Buffer): string {
  return data.length === 0 ? '' : data.toString('base64');
}

/**
 * The JSON-ready form of a transaction. Each form is spelled out (not `{...txn, data64}`): this
 * runs for every write, and a literal of a fixed shape costs half as much to build and stringify.
 */
export function txnToJson(txn: Txn): unknown {
  switch (txn.type) {
    case 'create':
      if (typeof txn.data === 'string') return txn;
      // `acl` undefined (open) is left out by JSON.stringify.
      return { type: 'create', zxid: txn.zxid, time: txn.time, path: txn.path, data64: takeBase64(txn.data), ephemeralOwner: txn.ephemeralOwner, container: txn.container, acl: txn.acl };
    case 'setData':
      if (typeof txn.data === 'string') return txn;
      return { type: 'setData', zxid: txn.zxid, time: txn.time, path: txn.path, data64: takeBase64(txn.data) };
    case 'multi':
      return { type: 'multi', zxid: txn.zxid, time: txn.time, txns: txn.txns.map(subTxnToJson) };
    default:
      return txn;
  }
}

function subTxnToJson(sub: SubTxn): unknown {
  if (sub.type === 'create' && typeof sub.data !== 'string') return { type: 'create', path: sub.path, data64: takeBase64(sub.data), ephemeralOwner: sub.ephemeralOwner, container: sub.container, acl: sub.acl };
  if (sub.type === 'setData' && typeof sub.data !== 'string') return { type: 'setData', path: sub.path, data64: takeBase64(sub.data) };
  return sub;
}

/**
 * A znode record as written: every field of ZnodeRecord but `data` named, each present (an
 * optional one may be undefined, which JSON.stringify leaves out), so a field added to ZnodeRecord
 * fails to compile here until it is written too.
 */
type NodeJson = { [K in Exclude<keyof ZnodeRecord, 'data'>]-?: ZnodeRecord[K] | undefined } & { data64: string };

/**
 * A znode record as written: `data64` for bytes (a legacy text `data` stays as it is), every other
 * field as it is. Spelled out rather than `{...rest, data64}`: a snapshot writes every node, and
 * the literal costs a fortieth of the rest-and-spread (0.1 µs a node against 3 µs, measured).
 */
export function nodeToJson(node: ZnodeRecord): unknown {
  if (typeof node.data === 'string') return node;
  const json: NodeJson = {
    path: node.path,
    data64: data64(node.data),
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.cversion,
    ephemeralOwner: node.ephemeralOwner,
    container: node.container,
    acl: node.acl,
    aversion: node.aversion,
  };
  return json;
}

/**
 * A znode as an element of a snapshot chunk (format 3, snapshot-stream.ts): a JSON array rather
 * than an object, its fields in this order:
 *
 *   [path, data64, czxid, mzxid, pzxid, ctime, mtime, version, cversion, ephemeralOwner,
 *    container (0|1), acl?, aversion?]
 *
 * acl and aversion only when the node has them (acl null when only aversion is set). Written for
 * every znode of every snapshot: without the field names the JSON is a third shorter and
 * stringified in about half the time (measured: 0.8 against 1.4 µs a node, 100-byte values).
 * Data held as legacy text is written as the base64 of its UTF-8 bytes (what the core makes of it).
 */
export function nodeToTuple(node: ZnodeRecord): unknown[] {
  const data = typeof node.data === 'string' ? Buffer.from(node.data, 'utf8') : node.data;
  const tuple: unknown[] = [node.path, data64(data), node.czxid, node.mzxid, node.pzxid, node.ctime, node.mtime, node.version, node.cversion, node.ephemeralOwner, node.container ? 1 : 0];
  const aversion = node.aversion ?? 0;
  if (node.acl !== undefined || aversion !== 0) tuple.push(node.acl ?? null);
  if (aversion !== 0) tuple.push(aversion);
  return tuple;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A chunk element (nodeToTuple) as a znode record, or null when it is not one. */
export function nodeFromTuple(value: unknown): ZnodeRecord | null {
  if (!Array.isArray(value) || value.length < 11 || value.length > 13) return null;
  const [path, encoded, czxid, mzxid, pzxid, ctime, mtime, version, cversion, ephemeralOwner, container, acl, aversion] = value as unknown[];
  if (typeof path !== 'string' || typeof encoded !== 'string' || typeof ephemeralOwner !== 'string') return null;
  if (![czxid, mzxid, pzxid, ctime, mtime, version, cversion].every(isNumber) || (container !== 0 && container !== 1)) return null;
  if (acl !== undefined && acl !== null && !Array.isArray(acl)) return null;
  if (aversion !== undefined && !isNumber(aversion)) return null;
  const data = encoded === '' ? EMPTY_DATA : fromBase64(encoded);
  if (data === null) return null;
  const record: ZnodeRecord = {
    path,
    data,
    czxid: czxid as number,
    mzxid: mzxid as number,
    pzxid: pzxid as number,
    ctime: ctime as number,
    mtime: mtime as number,
    version: version as number,
    cversion: cversion as number,
    ephemeralOwner,
    container: container === 1,
    acl: acl === undefined || acl === null ? undefined : (acl as ZnodeRecord['acl']),
    aversion: aversion as number | undefined,
  };
  return record;
}

/** The single-value JSON form of a snapshot, as written before chunks (snapshot-stream.ts); still read. */
export function snapshotToJson(snapshot: CoreSnapshot): unknown {
  return { ...snapshot, nodes: snapshot.nodes.map(nodeToJson) };
}

class RecordProblem extends Error {}

/** Puts a record's `data64` back into `data` (bytes), in place; a legacy `data` string stays as it is. */
function readData(record: Record<string, unknown>): void {
  const encoded = record.data64;
  if (encoded === undefined) {
    if (typeof record.data !== 'string') throw new RecordProblem('data is neither data64 nor text');
    return;
  }
  if (typeof encoded !== 'string') throw new RecordProblem('data64 is not a string');
  const bytes = encoded === '' ? EMPTY_DATA : fromBase64(encoded);
  if (bytes === null) throw new RecordProblem('data64 is not base64');
  delete record.data64;
  record.data = bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A parsed JSON value as a transaction, or null when it is not one. Reuses (and changes) `value`. */
export function txnFromJson(value: unknown): Txn | null {
  if (!isRecord(value) || typeof value.zxid !== 'number' || typeof value.type !== 'string') return null;
  try {
    if (value.type === 'create' || value.type === 'setData') readData(value);
    else if (value.type === 'multi') {
      if (!Array.isArray(value.txns)) return null;
      for (const sub of value.txns as unknown[]) {
        if (!isRecord(sub)) return null;
        if (sub.type === 'create' || sub.type === 'setData') readData(sub);
      }
    }
  } catch (error) {
    if (error instanceof RecordProblem) return null;
    throw error;
  }
  return value as unknown as Txn;
}

/**
 * A parsed JSON value as a znode record, or null when it is not one. A new object with every
 * field named (as nodeToJson writes them) rather than `value` changed in place: deleting
 * `data64` from a parsed object turns it into a slow dictionary-mode object, and rebuilding the
 * tree from a million of those took several times as long (measured: 10 s against 2 s).
 */
export function nodeFromJson(value: unknown): ZnodeRecord | null {
  if (!isRecord(value) || typeof value.path !== 'string') return null;
  const encoded = value.data64;
  let data: RecordData;
  if (encoded === undefined) {
    if (typeof value.data !== 'string') return null;
    data = value.data;
  } else {
    if (typeof encoded !== 'string') return null;
    const bytes = encoded === '' ? EMPTY_DATA : fromBase64(encoded);
    if (bytes === null) return null;
    data = bytes;
  }
  const record: { [K in keyof Required<ZnodeRecord>]: ZnodeRecord[K] | undefined } = {
    path: value.path,
    data,
    czxid: value.czxid as number,
    mzxid: value.mzxid as number,
    pzxid: value.pzxid as number,
    ctime: value.ctime as number,
    mtime: value.mtime as number,
    version: value.version as number,
    cversion: value.cversion as number,
    ephemeralOwner: value.ephemeralOwner as string,
    container: value.container as boolean,
    acl: value.acl as ZnodeRecord['acl'],
    aversion: value.aversion as number | undefined,
  };
  return record as ZnodeRecord;
}

/** A parsed JSON value as a snapshot (the single-value form, snapshot-stream.ts), or null when it is not one. */
export function snapshotFromJson(value: unknown): CoreSnapshot | null {
  if (!isRecord(value) || typeof value.lastZxid !== 'number' || !Array.isArray(value.nodes) || !Array.isArray(value.sessions)) return null;
  const nodes: ZnodeRecord[] = [];
  for (const node of value.nodes as unknown[]) {
    const record = nodeFromJson(node);
    if (record === null) return null;
    nodes.push(record);
  }
  return { lastZxid: value.lastZxid, nodes, sessions: value.sessions as CoreSnapshot['sessions'] };
}
