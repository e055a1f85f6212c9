/**
 * The contract between the coordinator's pure core (tree, sessions, watches, transactions)
 * and its I/O shell (server, stores). The core has no sockets, files, timers, Date.now()
 * or Math.random(): time and randomness come in as arguments.
 *
 * Write path (ZooKeeper's prepare/sync/final, collapsed): `execute` decides every choice
 * of a write (zxid, time, sequential suffix, ephemeral owner), applies it to the in-memory
 * tree at once and returns the transaction. The server appends the transaction to the
 * store and releases replies and watch events only once the store has made every zxid up
 * to the one they were served at durable (group commit). Replaying the same transactions
 * through `replay` rebuilds the same tree.
 */
import type {
  Acl,
  ErrorCode,
  MultiSubResult,
  Operation,
  StatsResult,
  WatchEventFrame,
} from '../shared/coordinator/protocol';
import type { AuthContext } from './acl-check';

/** Named limits with documented defaults (DESIGN "Limits everywhere"). */
export interface CoordinatorLimits {
  /** Longest path in UTF-8 bytes. Default 4096. */
  pathBytesMax: number;
  /** Largest znode data in bytes. Default 1 MiB (ZooKeeper's jute.maxbuffer). */
  dataBytesMax: number;
  /** Most watches (one-shot + persistent) one session may hold. Default 100000. */
  watchesPerSessionMax: number;
  /** Session timeout bounds; ZooKeeper's are 2 and 20 ticks. Defaults 1000 and 60000 ms. */
  sessionTimeoutMinMs: number;
  sessionTimeoutMaxMs: number;
  /**
   * Server-wide total of data bytes plus path characters (as approximateDataSize): a create or a
   * growing setData beyond it is QuotaExceeded. Default 1 GiB.
   */
  dataTotalBytesMax: number;
  /** Znodes in the tree (reserved ones included) at most; -1 = no limit (default). */
  znodeCountMax: number;
  /** Hard quota limits refuse writes (default); false: they only warn, as ZooKeeper without zookeeper.enforceQuota. */
  enforceQuota: boolean;
}

export const DEFAULT_LIMITS: CoordinatorLimits = Object.freeze({
  pathBytesMax: 4096,
  dataBytesMax: 1024 * 1024,
  watchesPerSessionMax: 100_000,
  sessionTimeoutMinMs: 1000,
  sessionTimeoutMaxMs: 60_000,
  dataTotalBytesMax: 1024 * 1024 * 1024,
  znodeCountMax: -1,
  enforceQuota: true,
});

/**
 * Znode data in a transaction or snapshot: bytes. A string is the legacy form (UTF-8 text, what
 * logs and snapshots held before data became bytes): the stores give back what they were given,
 * and the core turns a string into its UTF-8 bytes when it replays or restores it.
 */
export type RecordData = Buffer | string;

/** A znode as stored in a transaction or snapshot. */
export interface ZnodeRecord {
  path: string;
  data: RecordData;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /** Child creations (ZooKeeper's stored cversion; tree.ts explains the Stat's reported value). */
  cversion: number;
  /** Session id, or '0'. */
  ephemeralOwner: string;
  container: boolean;
  /** Absent: open to everyone (OPEN_ACL), as every node written before ACLs. */
  acl?: readonly Acl[];
  /** Absent: 0. */
  aversion?: number;
}

/**
 * A transaction: a write with every choice already made. The stores log it as JSON with its
 * data as base64 (coordinator/store/records.ts). `zxid` is assigned by the core, one per
 * transaction, strictly increasing.
 *
 * Legacy forms, still replayed from logs written before the ZooKeeper 3.8 alignment: a delete
 * carrying `alsoDeleted` (the containers that then went in the same transaction) and a
 * closeSession carrying `deleted` (ephemerals and containers). Back then a child deletion also
 * advanced the parent's cversion, so replaying them does the same: sequential suffixes handed out
 * since then stay unique.
 */
export type Txn =
  | { type: 'createSession'; zxid: number; time: number; sessionId: string; password: string; timeoutMs: number }
  /** Ends a session (explicit close or expiry): deletes its ephemerals, in this one transaction. */
  | { type: 'closeSession'; zxid: number; time: number; sessionId: string; ephemerals: string[]; deleted?: never }
  | { type: 'closeSession'; zxid: number; time: number; sessionId: string; deleted: string[]; ephemerals?: never }
  /** `acl` absent: open to everyone (the stored ACL, with `auth` entries already expanded). */
  | { type: 'create'; zxid: number; time: number; path: string; data: RecordData; ephemeralOwner: string; container: boolean; acl?: readonly Acl[] }
  /** Also what the periodic container check logs when it removes an empty container. */
  | { type: 'delete'; zxid: number; time: number; path: string; alsoDeleted?: string[] }
  | { type: 'setData'; zxid: number; time: number; path: string; data: RecordData }
  | { type: 'setACL'; zxid: number; time: number; path: string; acl: readonly Acl[] }
  | { type: 'multi'; zxid: number; time: number; txns: SubTxn[] };

export type SubTxn =
  | { type: 'create'; path: string; data: RecordData; ephemeralOwner: string; container: boolean; acl?: readonly Acl[] }
  | { type: 'delete'; path: string; alsoDeleted?: string[] }
  | { type: 'setData'; path: string; data: RecordData }
  /** Only as a transaction of its own (Txn), never inside a multi; listed here so the core handles both alike. */
  | { type: 'setACL'; path: string; acl: readonly Acl[] }
  | { type: 'check'; path: string };

/** A watch event bound for one session. */
export interface WatchDelivery {
  sessionId: string;
  frame: WatchEventFrame;
  /**
   * Set when a persistent-recursive watch on an ancestor delivers the event: the changed node's
   * ACL. The session sees the event only if its connection may READ that node (ZooKeeper 3.8.4's
   * fix of CVE-2024-23944: otherwise a watch on an open parent reveals the paths below it).
   */
  acl?: readonly Acl[];
}

export type Reply =
  | { ok: true; result: unknown }
  | { ok: false; code: ErrorCode; message: string; path?: string; results?: MultiSubResult[] };

export interface ExecuteOutcome {
  /** Non-null for a successful write: must be durable before `reply` and `events` are released. */
  txn: Txn | null;
  /** The zxid this request was served at (the new zxid for a write, the last one for a read). */
  zxid: number;
  reply: Reply;
  events: WatchDelivery[];
  /** Soft quota limits this write went over (coordinator/quota.ts): each to be logged as a warning. */
  quotaWarnings?: string[];
}

export interface SessionRecord {
  sessionId: string;
  password: string;
  timeoutMs: number;
}

/** Everything needed to rebuild the core: tree, sessions, last zxid. Stored as JSON like a Txn (records.ts). */
export interface CoreSnapshot {
  lastZxid: number;
  nodes: ZnodeRecord[];
  sessions: SessionRecord[];
}

/**
 * A snapshot read piece by piece (CoordinatorCoreApi.beginSnapshot), so that a store writes a big
 * tree a chunk at a time while the server goes on: the tree as it was at `lastZxid`, however it
 * changes meanwhile (tree.ts, TreeSnapshot). Whoever takes one must close it.
 */
export interface SnapshotSource {
  readonly lastZxid: number;
  readonly sessions: SessionRecord[];
  /** At most `nodesMax` records, stopping once data and paths reach `bytesMax` (at least one while any is left); [] at the end. */
  nextNodes(nodesMax: number, bytesMax: number): ZnodeRecord[];
  close(): void;
}

/**
 * Operations the core executes, data as bytes (validated). ping/close/stats are the server's;
 * close goes through closeSession. Results that carry data (getData, multiRead) hold it as a
 * Buffer; the server encodes it for each connection.
 */
export type CoreOperation = Exclude<Operation<Buffer>, { op: 'ping' } | { op: 'close' } | { op: 'stats' } | { op: 'addAuth' }>;

/**
 * The core's public surface (implemented by coordinator/core.ts as `class CoordinatorCore`).
 * Constructed with `new CoordinatorCore(limits)`, or `CoordinatorCore.fromSnapshot(snapshot, limits, now)`,
 * in which case every restored session gets a fresh timeout counted from `now`.
 */
export interface CoordinatorCoreApi {
  readonly lastZxid: number;

  /** Negotiates the timeout into [min, max], makes the createSession txn, applies it. */
  createSession(requestedTimeoutMs: number, now: number, sessionId: string, password: string): { txn: Txn; timeoutMs: number };
  /** Password check for a resume; null when the session is unknown (expired). */
  sessionFor(sessionId: string): SessionRecord | null;
  /** Any traffic from a session pushes its expiry back (ExpiryQueue buckets). */
  touchSession(sessionId: string, now: number): void;
  /** Every session gets a fresh timeout from `now` (after recovery or a takeover: nobody could ping meanwhile). */
  touchAllSessions(now: number): void;
  /**
   * A connection took the session up (new session or resume): touches it and records the
   * disconnect grace that connection asked for (Samsa's extension, docs/coordinator-protocol.md),
   * clamped to [1, timeoutMs]; undefined = none. Returns the grace in effect, 0 when none.
   * Not a transaction: the grace lives only as long as the connection that sent it.
   */
  attachSession(sessionId: string, requestedGraceMs: number | undefined, now: number): number;
  /**
   * The session's connection closed or broke without a `close` request: a session with a grace
   * now expires at min(its deadline, now + grace). Returns the grace applied, 0 when none.
   */
  detachSession(sessionId: string, now: number): number;
  /** Sessions whose deadline has passed at `now` (each to be ended with closeSession). */
  expiredSessions(now: number): string[];
  /**
   * Ends a session: deletes its ephemerals, fires NodeDeleted / NodeChildrenChanged (to the
   * closing session's own watches too, as ZooKeeper does: its events are in `events` like any
   * other), then drops its watches.
   */
  closeSession(sessionId: string, now: number): ExecuteOutcome;

  /**
   * Containers due for removal (ZooKeeper's ContainerManager.getCandidates): empty now, and
   * they have had a child (cversion > 0), so a container created just before a check survives it.
   */
  containerCandidates(): string[];
  /**
   * Removes one candidate container as an ordinary delete transaction (ZooKeeper's
   * deleteContainer). Nothing happens (txn null) when it is gone, has a child again, or is not a
   * container any more.
   */
  deleteContainer(path: string, now: number): ExecuteOutcome;

  /**
   * Executes one operation on behalf of a session (validating paths, versions, limits and ACLs:
   * `auth` is what the requesting connection holds; absent, only world entries grant).
   */
  execute(sessionId: string, operation: CoreOperation, now: number, auth?: AuthContext): ExecuteOutcome;

  /** Applies a logged transaction during start-up (no watches exist yet, no events). */
  replay(txn: Txn): void;
  snapshot(): CoreSnapshot;
  /** The same snapshot, to be read piece by piece while the core goes on (one at a time). */
  beginSnapshot(): SnapshotSource;

  /** Counts for the monitoring view. */
  counts(): Pick<StatsResult, 'znodeCount' | 'ephemeralsCount' | 'watchCount' | 'sessions' | 'approximateDataSize' | 'lastZxid'>;
}
