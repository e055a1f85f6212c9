/**
 * The znode tree (ZooKeeper's DataTree): nodes, their Stat bookkeeping and the index of
 * ephemeral nodes per session. Pure: no I/O, no clock; zxids and times come in as arguments.
 * Mutations assume the caller (core.ts) has checked their preconditions; a violated one is a
 * bug and trips an assertion.
 *
 * A multi is all-or-nothing: `begin()` starts a journal of each node's state before its first
 * change, `rollback()` puts those states back, `commit()` drops the journal.
 *
 * Stat bookkeeping follows ZooKeeper 3.8 (DataTree.createNode / deleteNode, PrepRequestProcessor,
 * DataNode.copyStat): the stored `cversion` counts child creations only (a deletion moves only
 * pzxid) and is the next sequential suffix; the Stat a client sees reports it as creations plus
 * deletions, computed as ZooKeeper does: 2 * creations - numChildren ("for every create there is a
 * delete except for the children still present"). Like ZooKeeper's, that formula gives negative
 * values for the reserved nodes, whose children were never created (/ is -1, /zookeeper -2 on a
 * fresh tree).
 */
import { assert } from '../shared/assert';
import type { Stat } from '../shared/coordinator/protocol';
import { EMPTY_DATA, toBytes } from '../shared/coordinator/data';
import { baseName, parentOf } from '../shared/coordinator/paths';
import type { ZnodeRecord } from './core-api';

export interface Znode {
  readonly path: string;
  /** Never written into: a setData replaces it (snapshots and transactions share it). */
  data: Buffer;
  dataBytes: number;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /** Child creations so far (ZooKeeper's stored cversion); stat() reports creations + deletions. */
  cversion: number;
  ephemeralOwner: string;
  container: boolean;
  /** Child names (not paths). */
  children: Set<string>;
}

const NO_OWNER = '0';

/**
 * ZooKeeper's reserved subtree, present in every tree from the start with zeroed Stats (its
 * DataTree constructor adds them without a transaction): /zookeeper, /zookeeper/quota and
 * /zookeeper/config. None can be deleted (ZooKeeper's isSpecialPath: BadArguments).
 */
export const RESERVED_PATHS: readonly string[] = ['/zookeeper', '/zookeeper/quota', '/zookeeper/config'];
export const CONFIG_PATH = '/zookeeper/config';

export class DataTree {
  private readonly nodes = new Map<string, Znode>();
  private readonly ephemeralsBySession = new Map<string, Set<string>>();
  /** Container paths (ZooKeeper's DataTree.containers), for the periodic container check. */
  private readonly containerPaths = new Set<string>();
  private journal: Array<{ path: string; previous: Znode | null }> | null = null;
  private journaled: Set<string> | null = null;
  private dataSize = 0;
  private ephemeralCount = 0;

  constructor() {
    this.insert(makeNode('/', EMPTY_DATA, 0, 0, NO_OWNER, false));
    for (const path of RESERVED_PATHS) {
      this.insert(makeNode(path, EMPTY_DATA, 0, 0, NO_OWNER, false));
      this.nodes.get(parentOf(path))!.children.add(baseName(path));
    }
  }

  get containers(): ReadonlySet<string> {
    return this.containerPaths;
  }

  /** Nodes below `node`, at every depth (ZooKeeper's getAllChildrenNumber). */
  descendantCount(node: Znode): number {
    if (node.path === '/') return this.nodes.size - 1;
    let count = 0;
    const stack: Znode[] = [node];
    while (stack.length > 0) {
      const at = stack.pop()!;
      count += at.children.size;
      const prefix = at.path === '/' ? '/' : `${at.path}/`;
      for (const child of at.children) {
        const next = this.nodes.get(prefix + child)!;
        if (next.children.size > 0) stack.push(next);
      }
    }
    return count;
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
      cversion: node.cversion * 2 - node.children.size,
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

  create(path: string, data: Buffer, ephemeralOwner: string, container: boolean, zxid: number, time: number): Znode {
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

  /**
   * `legacyCversion`: also advance the parent's cversion, as Samsa did before it followed
   * ZooKeeper 3.8 here; only for replaying transactions logged back then (core-api.ts, Txn).
   */
  delete(path: string, zxid: number, legacyCversion = false): void {
    const node = this.nodes.get(path);
    assert(node !== undefined && path !== '/', `delete of a missing node ${path}`);
    assert(node.children.size === 0, `delete of a node with children ${path}`);
    const parent = this.nodes.get(parentOf(path))!;
    this.remember(parent.path);
    this.remember(path);
    parent.children.delete(baseName(path));
    if (legacyCversion) parent.cversion++;
    parent.pzxid = zxid;
    this.remove(node);
  }

  setData(path: string, data: Buffer, zxid: number, time: number): Znode {
    const node = this.nodes.get(path);
    assert(node !== undefined, `setData of a missing node ${path}`);
    this.remember(path);
    this.dataSize += data.length - node.dataBytes;
    node.data = data;
    node.dataBytes = data.length;
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

  /**
   * Rebuilds a tree from snapshot records (parents are linked whatever the record order). Data in
   * the legacy text form (a string) becomes its UTF-8 bytes.
   */
  static fromRecords(records: readonly ZnodeRecord[]): DataTree {
    const tree = new DataTree();
    for (const record of records) {
      const existing = tree.nodes.get(record.path);
      if (existing !== undefined) tree.remove(existing);
      const data = toBytes(record.data);
      tree.insert({ ...record, data, dataBytes: data.length, children: new Set() });
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
    if (node.container) this.containerPaths.add(node.path);
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
    if (node.container) this.containerPaths.delete(node.path);
    if (node.ephemeralOwner !== NO_OWNER) {
      const owned = this.ephemeralsBySession.get(node.ephemeralOwner);
      owned?.delete(node.path);
      if (owned !== undefined && owned.size === 0) this.ephemeralsBySession.delete(node.ephemeralOwner);
      this.ephemeralCount--;
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function makeNode(path: string, data: Buffer, zxid: number, time: number, ephemeralOwner: string, container: boolean): Znode {
  return {
    path,
    data,
    dataBytes: data.length,
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
