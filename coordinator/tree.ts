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
import { OPEN_ACL, READ_ACL } from '../shared/coordinator/acl';
import type { Acl, Stat } from '../shared/coordinator/protocol';
import { AclCache } from './acl-check';
import { EMPTY_DATA, toBytes } from '../shared/coordinator/data';
import { baseName, parentOf } from '../shared/coordinator/paths';
import type { ZnodeRecord } from './core-api';
import { QuotaTable } from './quota';

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
  /**
   * Child names (not paths). A node without children shares NO_CHILDREN, never added to: add a
   * child with addChild.
   */
  children: ReadonlySet<string>;
  /** Interned (AclCache): equal lists are one frozen array. */
  acl: readonly Acl[];
  /** setACL count (Stat.aversion). */
  aversion: number;
  /** The TreeSnapshot (its number) that saved this node's record before a change; 0: none. */
  savedIn: number;
}

const NO_OWNER = '0';

/**
 * The children of every node that has none. An empty Set costs about 160 bytes, a fifth of a
 * small znode's memory (measured: 776 bytes a znode of 100 bytes of data), and most znodes are
 * leaves: a node gets a Set of its own with its first child.
 */
const NO_CHILDREN: ReadonlySet<string> = new Set<string>();

/** Adds `name` to `node`'s children. */
function addChild(node: Znode, name: string): void {
  if (node.children === NO_CHILDREN) node.children = new Set([name]);
  else (node.children as Set<string>).add(name);
}

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
  private snapshotInProgress: TreeSnapshot | null = null;
  /** Snapshots begun: each has its number (Znode.savedIn). */
  private snapshotsBegun = 0;
  private dataSize = 0;
  private ephemeralCount = 0;
  readonly acls = new AclCache();
  /** Quota usage, fed by insert/remove/setData below (quota.ts). */
  readonly quotas = new QuotaTable(this);

  constructor() {
    this.insert(makeNode('/', EMPTY_DATA, 0, 0, NO_OWNER, false, OPEN_ACL));
    for (const path of RESERVED_PATHS) {
      // ZooKeeper's /zookeeper/config is readable by all and writable by the superuser only.
      this.insert(makeNode(path, EMPTY_DATA, 0, 0, NO_OWNER, false, path === CONFIG_PATH ? this.acls.intern(READ_ACL) : OPEN_ACL));
      addChild(this.nodes.get(parentOf(path))!, baseName(path));
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
      aversion: node.aversion,
    };
  }

  /** What a getData answers: a quota's zookeeper_stats node gives its live usage (quota.ts). */
  readData(node: Znode): { data: Buffer; stat: Stat } {
    const stat = this.stat(node);
    const live = this.quotas.statsData(node.path);
    return live === null ? { data: node.data, stat } : { data: live, stat: { ...stat, dataLength: live.length } };
  }

  /** Sorted child names. */
  childNames(node: Znode): string[] {
    return [...node.children].sort();
  }

  ephemeralsOf(sessionId: string): ReadonlySet<string> {
    return this.ephemeralsBySession.get(sessionId) ?? EMPTY;
  }

  /** `acl` must come from this tree's `acls` cache (or be OPEN_ACL). */
  create(path: string, data: Buffer, ephemeralOwner: string, container: boolean, zxid: number, time: number, acl: readonly Acl[] = OPEN_ACL): Znode {
    assert(!this.nodes.has(path), `create over an existing node ${path}`);
    const parent = this.nodes.get(parentOf(path));
    assert(parent !== undefined, `create without a parent ${path}`);
    assert(parent.ephemeralOwner === NO_OWNER, `create below an ephemeral ${path}`);
    this.remember(parent.path);
    this.remember(path);
    addChild(parent, baseName(path));
    parent.cversion++;
    parent.pzxid = zxid;
    const node = makeNode(path, data, zxid, time, ephemeralOwner, container, acl);
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
    (parent.children as Set<string>).delete(baseName(path)); // it has a child: its own Set
    if (legacyCversion) parent.cversion++;
    parent.pzxid = zxid;
    this.remove(node);
  }

  setData(path: string, data: Buffer, zxid: number, time: number): Znode {
    const node = this.nodes.get(path);
    assert(node !== undefined, `setData of a missing node ${path}`);
    this.remember(path);
    this.quotas.resized(path, node.data, data);
    this.dataSize += data.length - node.dataBytes;
    node.data = data;
    node.dataBytes = data.length;
    node.version++;
    node.mzxid = zxid;
    node.mtime = time;
    return node;
  }

  /** Replaces a node's ACL (interned by the caller) and counts the change in its aversion. */
  setAcl(path: string, acl: readonly Acl[]): Znode {
    const node = this.nodes.get(path);
    assert(node !== undefined, `setACL of a missing node ${path}`);
    this.remember(path);
    node.acl = acl;
    node.aversion++;
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
    // Restoring a quota's limits node would count its subtree half rolled back: count it after.
    const quotaNodes = journal.some(({ path }) => this.quotas.isLimitsNode(path));
    if (quotaNodes) this.quotas.pause();
    for (let i = journal.length - 1; i >= 0; i--) {
      const { path, previous } = journal[i]!;
      const current = this.nodes.get(path);
      if (current !== undefined) this.remove(current);
      if (previous !== null) this.insert(previous);
    }
    if (quotaNodes) this.quotas.rebuild();
  }

  records(): ZnodeRecord[] {
    return Array.from(this.nodes.values(), toRecord);
  }

  /**
   * The tree as it is now, read piece by piece while it keeps changing (TreeSnapshot), so that a
   * big tree is snapshotted without stopping the server. One at a time.
   */
  beginSnapshot(lastZxid: number): TreeSnapshot {
    assert(this.snapshotInProgress === null, 'a tree snapshot is already being taken');
    const snapshot = new TreeSnapshot(this.nodes, lastZxid, ++this.snapshotsBegun, (done) => {
      if (this.snapshotInProgress === done) this.snapshotInProgress = null;
    });
    this.snapshotInProgress = snapshot;
    return snapshot;
  }

  /**
   * Rebuilds a tree from snapshot records (parents are linked whatever the record order). Data in
   * the legacy text form (a string) becomes its UTF-8 bytes.
   */
  static fromRecords(records: readonly ZnodeRecord[]): DataTree {
    const tree = new DataTree();
    // Records come in any order (parents after children): quotas are counted once all are linked.
    tree.quotas.pause();
    for (const record of records) {
      const existing = tree.nodes.get(record.path);
      if (existing !== undefined) tree.remove(existing);
      const data = toBytes(record.data);
      const acl = record.acl === undefined ? OPEN_ACL : tree.acls.intern(record.acl);
      // Spelled out, not `{...record, ...}`: a spread costs 7 µs a node against 1.5 (a million-node
      // snapshot loaded in 8 s instead of 2), and only a Znode's own fields get in.
      tree.insert({
        path: record.path,
        data,
        dataBytes: data.length,
        czxid: record.czxid,
        mzxid: record.mzxid,
        pzxid: record.pzxid,
        ctime: record.ctime,
        mtime: record.mtime,
        version: record.version,
        cversion: record.cversion,
        ephemeralOwner: record.ephemeralOwner,
        container: record.container,
        children: NO_CHILDREN,
        acl,
        aversion: record.aversion ?? 0,
        savedIn: 0,
      });
    }
    for (const node of tree.nodes.values()) {
      if (node.path === '/') continue;
      const parent = tree.nodes.get(parentOf(node.path));
      assert(parent !== undefined, `snapshot node without a parent: ${node.path}`);
      addChild(parent, baseName(node.path));
    }
    tree.quotas.rebuild();
    return tree;
  }

  /** Saves a node's state before its first change inside a transaction. */
  private remember(path: string): void {
    this.snapshotInProgress?.preserve(this.nodes.get(path));
    if (this.journal === null || this.journaled!.has(path)) return;
    this.journaled!.add(path);
    const node = this.nodes.get(path);
    this.journal.push({ path, previous: node === undefined ? null : { ...node, children: node.children === NO_CHILDREN ? NO_CHILDREN : new Set(node.children) } });
  }

  private insert(node: Znode): void {
    this.nodes.set(node.path, node);
    this.dataSize += node.dataBytes + node.path.length;
    this.quotas.added(node.path, node.data);
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
    this.quotas.removed(node.path, node.data);
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

/** A node as snapshots and records() give it: its fields but the derived ones (children, dataBytes). */
function toRecord(node: Znode): ZnodeRecord {
  return {
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
    // Undefined (left out when written) for the common open ACL and an unchanged one. Not spread
    // in conditionally: this runs for every znode of every snapshot, and a spread costs more than
    // the rest of the copy.
    acl: node.acl === OPEN_ACL ? undefined : node.acl,
    aversion: node.aversion === 0 ? undefined : node.aversion,
  };
}

/**
 * A snapshot of the tree at the moment it was begun, read piece by piece while the tree keeps
 * changing (issue 10: copying every node at once, records(), holds the event loop for about
 * 160 ms at a million small znodes, measured; beginning a TreeSnapshot takes microseconds).
 *
 * Copy-on-write, not ZooKeeper's fuzzy snapshot. ZooKeeper's transactions are idempotent on
 * replay, so it walks a changing tree and replays the log from where the walk began; ours are
 * not (a create over an existing node trips the tree's assertions, a parent's cversion would
 * count twice). Instead, before a node's first change since the snapshot began, its record as it
 * was is saved (the tree calls `remember` before every change, for multi rollback; that is the
 * hook) and the node is marked with the snapshot's number: the walk over the live nodes skips
 * marked nodes and nodes created since (czxid above the snapshot's zxid), and after the walk the
 * saved records follow, in place of the nodes it skipped or never reached (deleted meanwhile). A
 * node changed after the walk gave it is given twice, both times as it was at the start; loading
 * keeps the later (fromRecords), so the result is exactly the tree at the start, at the price of
 * those duplicates (no more than the nodes changed while the snapshot was read). Data Buffers
 * are never written into, so a record shares them.
 *
 * The mark and the zxid, not a lookup of each walked node's path among the saved ones: while
 * creates arrive, that lookup was 0.24 of the walk's 0.28 µs a node (measured, 400,000 znodes,
 * 100,000 created meanwhile).
 *
 * JavaScript's Map iterator is defined under changes: deleted entries not yet reached are
 * skipped, entries added are visited (here: skipped as created since). A node a multi changed
 * and rolled back is its journal's copy, made after it was marked: still marked.
 */
export class TreeSnapshot {
  /** Records as they were at the start, saved before a node's first change. */
  private readonly saved: ZnodeRecord[] = [];
  private readonly walk: Iterator<Znode>;
  /** Where the sweep over `saved` is, once the walk is over (-1 before). */
  private sweep = -1;
  private open = true;

  constructor(
    nodes: ReadonlyMap<string, Znode>,
    private readonly lastZxid: number,
    private readonly id: number,
    private readonly release: (snapshot: TreeSnapshot) => void,
  ) {
    this.walk = nodes.values();
  }

  /** Before `node` changes (undefined: a node about to be created). Once the walk is over every node was given or saved: nothing to keep. */
  preserve(node: Znode | undefined): void {
    if (this.sweep >= 0 || node === undefined || node.savedIn === this.id || node.czxid > this.lastZxid) return;
    node.savedIn = this.id;
    this.saved.push(toRecord(node));
  }

  /**
   * The next records: at most `nodesMax`, stopping once their data and paths reach `bytesMax`
   * (at least one record while any is left); [] once all were given.
   */
  next(nodesMax: number, bytesMax: number): ZnodeRecord[] {
    assert(this.open, 'read of a closed tree snapshot');
    const out: ZnodeRecord[] = [];
    let bytes = 0;
    while (out.length < nodesMax && bytes < bytesMax) {
      let record: ZnodeRecord;
      if (this.sweep < 0) {
        const step = this.walk.next();
        if (step.done === true) {
          this.sweep = 0;
          continue;
        }
        const node = step.value;
        if (node.savedIn === this.id || node.czxid > this.lastZxid) continue;
        record = toRecord(node);
      } else {
        if (this.sweep >= this.saved.length) break;
        record = this.saved[this.sweep++]!;
      }
      out.push(record);
      bytes += record.data.length + record.path.length;
    }
    return out;
  }

  /** Drops the saved records; the tree can begin another snapshot. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.saved.length = 0;
    this.release(this);
  }
}

function makeNode(path: string, data: Buffer, zxid: number, time: number, ephemeralOwner: string, container: boolean, acl: readonly Acl[]): Znode {
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
    children: NO_CHILDREN,
    acl,
    aversion: 0,
    savedIn: 0,
  };
}
