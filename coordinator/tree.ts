/**
 * The znode tree (ZooKeeper's DataTree): nodes, their Stat bookkeeping and the index of
 * ephemeral nodes per session. Pure: no I/O, no clock; zxids and times come in as arguments.
 * Mutations assume the caller (core.ts) has checked their preconditions; a violated one is a
 * bug and trips an assertion.
 *
 * A multi is all-or-nothing: `begin()` starts a journal of each node's state before its first
 * change, `rollback()` puts those states back, `commit()` drops the journal.
 */
import { assert } from '../shared/assert';
import type { Stat } from '../shared/coordinator/protocol';
import { baseName, parentOf } from '../shared/coordinator/paths';
import type { ZnodeRecord } from './core-api';

export interface Znode {
  readonly path: string;
  data: string;
  dataBytes: number;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  ephemeralOwner: string;
  container: boolean;
  /** Child names (not paths). */
  children: Set<string>;
}

const NO_OWNER = '0';

export class DataTree {
  private readonly nodes = new Map<string, Znode>();
  private readonly ephemeralsBySession = new Map<string, Set<string>>();
  private journal: Array<{ path: string; previous: Znode | null }> | null = null;
  private journaled: Set<string> | null = null;
  private dataSize = 0;
  private ephemeralCount = 0;

  constructor() {
    this.insert(makeNode('/', '', 0, 0, NO_OWNER, false));
  }

  get size(): number {
    return this.nodes.size;
  }

  get ephemeralsTotal(): number {
    return this.ephemeralCount;
  }

  /** Data bytes plus path characters, as ZooKeeper's approximateDataSize. */
  get approximateDataSize(): number {
    return this.dataSize;
  }

  get(path: string): Znode | undefined {
    return this.nodes.get(path);
  }

  stat(node: Znode): Stat {
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      pzxid: node.pzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      cversion: node.cversion,
      ephemeralOwner: node.ephemeralOwner,
      dataLength: node.dataBytes,
      numChildren: node.children.size,
    };
  }

  /** Sorted child names. */
  childNames(node: Znode): string[] {
    return [...node.children].sort();
  }

  ephemeralsOf(sessionId: string): ReadonlySet<string> {
    return this.ephemeralsBySession.get(sessionId) ?? EMPTY;
  }

  create(path: string, data: string, ephemeralOwner: string, container: boolean, zxid: number, time: number): Znode {
    assert(!this.nodes.has(path), `create over an existing node ${path}`);
    const parent = this.nodes.get(parentOf(path));
    assert(parent !== undefined, `create without a parent ${path}`);
    assert(parent.ephemeralOwner === NO_OWNER, `create below an ephemeral ${path}`);
    this.remember(parent.path);
    this.remember(path);
    parent.children.add(baseName(path));
    parent.cversion++;
    parent.pzxid = zxid;
    const node = makeNode(path, data, zxid, time, ephemeralOwner, container);
    this.insert(node);
    return node;
  }

  delete(path: string, zxid: number): void {
    const node = this.nodes.get(path);
    assert(node !== undefined && path !== '/', `delete of a missing node ${path}`);
    assert(node.children.size === 0, `delete of a node with children ${path}`);
    const parent = this.nodes.get(parentOf(path))!;
    this.remember(parent.path);
    this.remember(path);
    parent.children.delete(baseName(path));
    parent.cversion++;
    parent.pzxid = zxid;
    this.remove(node);
  }

  setData(path: string, data: string, zxid: number, time: number): Znode {
    const node = this.nodes.get(path);
    assert(node !== undefined, `setData of a missing node ${path}`);
    this.remember(path);
    this.dataSize += Buffer.byteLength(data, 'utf8') - node.dataBytes;
    node.data = data;
    node.dataBytes = Buffer.byteLength(data, 'utf8');
    node.version++;
    node.mzxid = zxid;
    node.mtime = time;
    return node;
  }

  begin(): void {
    assert(this.journal === null, 'nested tree transaction');
    this.journal = [];
    this.journaled = new Set();
  }

  commit(): void {
    this.journal = null;
    this.journaled = null;
  }

  rollback(): void {
    const journal = this.journal;
    assert(journal !== null, 'rollback outside a transaction');
    this.journal = null;
    this.journaled = null;
    for (let i = journal.length - 1; i >= 0; i--) {
      const { path, previous } = journal[i]!;
      const current = this.nodes.get(path);
      if (current !== undefined) this.remove(current);
      if (previous !== null) this.insert(previous);
    }
  }

  records(): ZnodeRecord[] {
    const out: ZnodeRecord[] = [];
    for (const node of this.nodes.values()) {
      out.push({
        path: node.path,
        data: node.data,
        czxid: node.czxid,
        mzxid: node.mzxid,
        pzxid: node.pzxid,
        ctime: node.ctime,
        mtime: node.mtime,
        version: node.version,
        cversion: node.cversion,
        ephemeralOwner: node.ephemeralOwner,
        container: node.container,
      });
    }
    return out;
  }

  /** Rebuilds a tree from snapshot records (parents are linked whatever the record order). */
  static fromRecords(records: readonly ZnodeRecord[]): DataTree {
    const tree = new DataTree();
    for (const record of records) {
      const existing = tree.nodes.get(record.path);
      if (existing !== undefined) tree.remove(existing);
      tree.insert({ ...record, dataBytes: Buffer.byteLength(record.data, 'utf8'), children: new Set() });
    }
    for (const node of tree.nodes.values()) {
      if (node.path === '/') continue;
      const parent = tree.nodes.get(parentOf(node.path));
      assert(parent !== undefined, `snapshot node without a parent: ${node.path}`);
      parent.children.add(baseName(node.path));
    }
    return tree;
  }

  /** Saves a node's state before its first change inside a transaction. */
  private remember(path: string): void {
    if (this.journal === null || this.journaled!.has(path)) return;
    this.journaled!.add(path);
    const node = this.nodes.get(path);
    this.journal.push({ path, previous: node === undefined ? null : { ...node, children: new Set(node.children) } });
  }

  private insert(node: Znode): void {
    this.nodes.set(node.path, node);
    this.dataSize += node.dataBytes + node.path.length;
    if (node.ephemeralOwner !== NO_OWNER) {
      let owned = this.ephemeralsBySession.get(node.ephemeralOwner);
      if (owned === undefined) this.ephemeralsBySession.set(node.ephemeralOwner, (owned = new Set()));
      owned.add(node.path);
      this.ephemeralCount++;
    }
  }

  private remove(node: Znode): void {
    this.nodes.delete(node.path);
    this.dataSize -= node.dataBytes + node.path.length;
    if (node.ephemeralOwner !== NO_OWNER) {
      const owned = this.ephemeralsBySession.get(node.ephemeralOwner);
      owned?.delete(node.path);
      if (owned !== undefined && owned.size === 0) this.ephemeralsBySession.delete(node.ephemeralOwner);
      this.ephemeralCount--;
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function makeNode(path: string, data: string, zxid: number, time: number, ephemeralOwner: string, container: boolean): Znode {
  return {
    path,
    data,
    dataBytes: Buffer.byteLength(data, 'utf8'),
    czxid: zxid,
    mzxid: zxid,
    pzxid: zxid,
    ctime: time,
    mtime: time,
    version: 0,
    cversion: 0,
    ephemeralOwner,
    container,
    children: new Set(),
  };
}
