/**
 * The coordinator's wire protocol: JSON text frames over one WebSocket per client.
 * docs/coordinator-protocol.md documents every message with an example.
 *
 * Znode data is bytes. In a frame it is a base64 string (protocol 2); protocol 1, still accepted
 * from older clients, carried it as UTF-8 text (shared/coordinator/data.ts). The operation types
 * below are generic in how data is held: `Operation` (data: string | Buffer) is what callers of
 * the client library pass, `Operation<Buffer>` what the server holds once a frame is validated.
 *
 * The same types are used by the server (coordinator/) and the client library
 * (shared/coordinator/client.ts). Frames are validated at the boundary by
 * shared/coordinator/validate.ts; nothing here trusts its input.
 */

/** The version this code speaks: 2 carries data as base64. */
export const PROTOCOL_VERSION = 2;
/** Versions the server accepts: 1 is the text form of older clients (docs/coordinator-protocol.md, "Data"). */
export const PROTOCOL_VERSIONS_SUPPORTED: readonly number[] = [1, 2];

// ---------------------------------------------------------------------------
// Errors: one table shared by server and client. Names are ZooKeeper's
// (KeeperException.Code); `zkCode` is ZooKeeper's number for the same error.

export const ERROR_TABLE = {
  Ok: { zkCode: 0, retriable: false },
  SystemError: { zkCode: -1, retriable: false },
  RuntimeInconsistency: { zkCode: -2, retriable: false },
  DataInconsistency: { zkCode: -3, retriable: false },
  ConnectionLoss: { zkCode: -4, retriable: true },
  MarshallingError: { zkCode: -5, retriable: false },
  Unimplemented: { zkCode: -6, retriable: false },
  OperationTimeout: { zkCode: -7, retriable: true },
  BadArguments: { zkCode: -8, retriable: false },
  NewConfigNoQuorum: { zkCode: -13, retriable: false },
  ReconfigInProgress: { zkCode: -14, retriable: true },
  UnknownSession: { zkCode: -12, retriable: false },
  APIError: { zkCode: -100, retriable: false },
  NoNode: { zkCode: -101, retriable: false },
  NoAuth: { zkCode: -102, retriable: false },
  BadVersion: { zkCode: -103, retriable: false },
  NoChildrenForEphemerals: { zkCode: -108, retriable: false },
  NodeExists: { zkCode: -110, retriable: false },
  NotEmpty: { zkCode: -111, retriable: false },
  SessionExpired: { zkCode: -112, retriable: false },
  InvalidCallback: { zkCode: -113, retriable: false },
  InvalidACL: { zkCode: -114, retriable: false },
  AuthFailed: { zkCode: -115, retriable: false },
  SessionMoved: { zkCode: -118, retriable: false },
  NotReadOnly: { zkCode: -119, retriable: false },
  EphemeralOnLocalSession: { zkCode: -120, retriable: false },
  NoWatcher: { zkCode: -121, retriable: false },
  RequestTimeout: { zkCode: -122, retriable: true },
  /** A create or setData would exceed a hard quota or a server-wide total (docs/coordinator-protocol.md, "Quotas"). */
  QuotaExceeded: { zkCode: -125, retriable: false },
  /** Samsa's own: a per-connection or server-wide limit on outstanding requests was hit. */
  Throttled: { zkCode: -127, retriable: true },
} as const;

export type ErrorCode = keyof typeof ERROR_TABLE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_TABLE, value);
}

/** An operating error (expected): a code from the table plus context. Never match on `message`. */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(path !== undefined ? `${code}: ${path}${message ? ` (${message})` : ''}` : `${code}: ${message}`);
  }
  get retriable(): boolean {
    return ERROR_TABLE[this.code].retriable;
  }
}

/** True when `error` is a CoordinatorError with one of `codes`. */
export function hasCode(error: unknown, ...codes: ErrorCode[]): error is CoordinatorError {
  return error instanceof CoordinatorError && codes.includes(error.code);
}

/**
 * The promise's value, or `fallback` when it fails with one of `codes`: for outcomes that are
 * expected, such as NodeExists on "create if missing" or NoNode on "read if present".
 */
export async function unlessCode<T, F>(promise: Promise<T>, codes: ErrorCode[], fallback: F): Promise<T | F> {
  try {
    return await promise;
  } catch (error) {
    if (hasCode(error, ...codes)) return fallback;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Data model

/** ZooKeeper's Stat. Times are ms since the epoch; zxids are plain numbers (< 2^53). */
export interface Stat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /**
   * Changes to the children, as ZooKeeper reports it: 2 x child creations - numChildren, i.e.
   * creations plus deletions (negative for the reserved / and /zookeeper, as in ZooKeeper).
   */
  cversion: number;
  /** Owning session id for an ephemeral node, '0' otherwise (as ZooKeeper's 0). */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  /** Changes to the node's ACL (setACL), as ZooKeeper's aversion; setACL's version is checked against it. */
  aversion: number;
}

// ---------------------------------------------------------------------------
// Access control, ZooKeeper's model (shared/coordinator/acl.ts has the helpers, docs/coordinator-protocol.md
// "ACLs" the rules). An ACL entry grants `perms` (a bit set of PERMS) to an identity: `scheme` is
// world (id 'anyone'), digest (id 'user:base64(sha1(user:password))', as ZooKeeper computes it),
// ip (an address or CIDR block) or auth (in a create/setACL only: every digest identity of the
// caller's connection; it is stored expanded).

export const PERMS = { read: 1, write: 2, create: 4, delete: 8, admin: 16 } as const;
export const PERMS_ALL = 31;

export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

/** Credentials a connection presents (ZooKeeper's addAuth): scheme 'digest', auth 'user:password'. */
export interface AuthInfo {
  scheme: string;
  auth: string;
}

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container';

export const CREATE_MODES: readonly CreateMode[] = [
  'persistent',
  'ephemeral',
  'persistent_sequential',
  'ephemeral_sequential',
  'container',
];

export type WatchEventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';

export type AddWatchMode = 'persistent' | 'persistentRecursive';

/** Which watches removeWatches removes (ZooKeeper's WatcherType). */
export type WatcherType = 'children' | 'data' | 'persistent' | 'any';

// ---------------------------------------------------------------------------
// Operations. Znode data is bytes (the data limit counts bytes); `D` is how it is held: bytes or
// text (its UTF-8 bytes) from callers, bytes after validation.
// `version: -1` means "any version" for delete / setData / check; any other value must equal the
// node's version (so -2 and below are BadVersion, as ZooKeeper answers).

/** Data as callers give it: bytes, or text written as its UTF-8 bytes. */
export type Data = string | Buffer;

/** `acl` absent = open to everyone (world:anyone with every permission, ZooKeeper's OPEN_ACL_UNSAFE). */
export interface CreateOp<D extends Data = Data> {
  op: 'create';
  path: string;
  data: D;
  mode: CreateMode;
  acl?: Acl[];
  /**
   * A create on its own (not in a multi): `false` answers `{path}` only, as ZooKeeper's `create`
   * (its `create2` adds the Stat); absent or `true`, `{path, stat}`.
   */
  withStat?: boolean;
}
export interface DeleteOp { op: 'delete'; path: string; version: number }
export interface SetDataOp<D extends Data = Data> { op: 'setData'; path: string; data: D; version: number }
export interface CheckOp { op: 'check'; path: string; version: number }
export interface ExistsOp { op: 'exists'; path: string; watch?: boolean }
export interface GetDataOp { op: 'getData'; path: string; watch?: boolean }
export interface GetChildrenOp { op: 'getChildren'; path: string; watch?: boolean; withStat?: boolean }
export interface MultiOp<D extends Data = Data> { op: 'multi'; ops: MultiSubOp<D>[] }
export interface SyncOp { op: 'sync'; path: string }
export interface GetEphemeralsOp { op: 'getEphemerals'; prefix?: string }
export interface AddWatchOp { op: 'addWatch'; path: string; mode: AddWatchMode }
export interface RemoveWatchesOp { op: 'removeWatches'; path: string; watcherType: WatcherType }
/** ZooKeeper 3.6+'s multiRead: reads of many paths in one request, each answered on its own. */
export interface MultiReadOp { op: 'multiRead'; ops: MultiReadSubOp[] }
/** The number of nodes below `path` (all depths, not counting the node itself). */
export interface GetAllChildrenNumberOp { op: 'getAllChildrenNumber'; path: string }
/** The node's ACL and Stat. Needs READ or ADMIN; without ADMIN, digest ids are shown as 'user:x'. */
export interface GetAclOp { op: 'getACL'; path: string }
/** Replaces the node's ACL; needs ADMIN. `version` is checked against the Stat's aversion (-1: any). */
export interface SetAclOp { op: 'setACL'; path: string; acl: Acl[]; version: number }
/** Adds credentials to this connection (and to every later reconnect of the client library). */
export interface AddAuthOp { op: 'addAuth'; scheme: string; auth: string }
export interface PingOp { op: 'ping' }
/** Ends the session at once: its ephemerals are deleted in one transaction. */
export interface CloseOp { op: 'close' }
/** The monitoring view (ZooKeeper's `mntr`). */
export interface StatsOp { op: 'stats' }

export type MultiSubOp<D extends Data = Data> = CreateOp<D> | DeleteOp | SetDataOp<D> | CheckOp;
/** The reads a multiRead may hold (ZooKeeper's Op.getData / Op.getChildren; no watches). */
export type MultiReadSubOp = { op: 'getData'; path: string } | { op: 'getChildren'; path: string };

export type Operation<D extends Data = Data> =
  | CreateOp<D>
  | DeleteOp
  | SetDataOp<D>
  | ExistsOp
  | GetDataOp
  | GetChildrenOp
  | MultiOp<D>
  | SyncOp
  | GetEphemeralsOp
  | AddWatchOp
  | RemoveWatchesOp
  | MultiReadOp
  | GetAllChildrenNumberOp
  | GetAclOp
  | SetAclOp
  | AddAuthOp
  | PingOp
  | CloseOp
  | StatsOp;

export type OperationName = Operation['op'];

// ---------------------------------------------------------------------------
// Results, one per operation

export interface CreateResult { path: string; stat: Stat }
/** A create's result with `withStat: false`. */
export interface CreatePathResult { path: string }
export type DeleteResult = Record<string, never>;
export interface SetDataResult { stat: Stat }
export interface ExistsResult { stat: Stat | null }
/**
 * What the client library answers: `bytes` exactly, and `data` their UTF-8 decoding for the many
 * callers that store text (lossy when the bytes are not UTF-8: write back `bytes`, never `data`).
 * On the wire it is `{data, stat}`, data in its wire form (base64 in protocol 2); the core answers
 * `{data: Buffer, stat}` and the server encodes it for each connection's protocol version.
 */
export interface GetDataResult { data: string; bytes: Buffer; stat: Stat }
export interface GetChildrenResult { children: string[]; stat?: Stat }
/**
 * Per sub-operation. When a multi fails, nothing is applied and every entry is an
 * error: sub-operations before the failing one report 'Ok', the failing one its code,
 * later ones 'RuntimeInconsistency' (as ZooKeeper does).
 */
export type MultiSubResult =
  | { type: 'create'; path: string; stat: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'error'; code: ErrorCode };
export interface MultiResult { results: MultiSubResult[] }
/**
 * Per read of a multiRead, in order. Unlike multi, each read stands alone: a missing path is an
 * `error` entry (e.g. NoNode) and the others still answer.
 */
export type MultiReadSubResult =
  | { type: 'getData'; data: string; bytes: Buffer; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; code: ErrorCode };
export interface MultiReadResult { results: MultiReadSubResult[] }
export interface GetAllChildrenNumberResult { totalNumber: number }
export interface GetAclResult { acl: Acl[]; stat: Stat }
export interface SetAclResult { stat: Stat }
export interface SyncResult { path: string }
export interface GetEphemeralsResult { paths: string[] }
export type EmptyResult = Record<string, never>;

export interface LatencySummary { min: number; avg: number; max: number; count: number }

export interface StatsResult {
  version: string;
  serverState: 'standalone';
  znodeCount: number;
  ephemeralsCount: number;
  watchCount: number;
  sessions: number;
  connections: number;
  outstandingRequests: number;
  lastZxid: number;
  approximateDataSize: number;
  /** Request latency in ms, from arrival to response sent. */
  requestLatencyMs: LatencySummary;
  /** fsync latency in ms (file store; zeros for the memory store). */
  fsyncLatencyMs: LatencySummary;
  store: string;
  uptimeMs: number;
  /**
   * Coordinators on a Redis store (issue 9): 'active' (holds the lease and serves) or 'standby'
   * (follows the log, redirects clients); absent for a lone coordinator on the file or memory store.
   */
  role?: 'active' | 'standby';
  /** The lease's fencing epoch (the active's; for a standby, the one it saw), null when nobody holds it. */
  leaseEpoch?: number | null;
  /** The active coordinator's URL, null when nobody holds the lease. */
  activeUrl?: string | null;
  /** How many logged transactions this coordinator has not applied yet (0 for the active). */
  lag?: number;
}

export interface ResultByOp {
  create: CreateResult;
  delete: DeleteResult;
  setData: SetDataResult;
  exists: ExistsResult;
  getData: GetDataResult;
  getChildren: GetChildrenResult;
  multi: MultiResult;
  sync: SyncResult;
  getEphemerals: GetEphemeralsResult;
  addWatch: EmptyResult;
  removeWatches: EmptyResult;
  multiRead: MultiReadResult;
  getAllChildrenNumber: GetAllChildrenNumberResult;
  getACL: GetAclResult;
  setACL: SetAclResult;
  addAuth: EmptyResult;
  ping: EmptyResult;
  close: EmptyResult;
  stats: StatsResult;
}

// ---------------------------------------------------------------------------
// Frames. Client → server: ConnectFrame first, then RequestFrames.
// Server → client: ConnectedFrame (or an ErrorFrame and a close), then ResponseFrames
// and WatchEventFrames interleaved in the order the server produced them.

export interface ConnectFrame {
  type: 'connect';
  protocolVersion: number;
  /** Requested session timeout; the server negotiates it into [min, max]. */
  timeoutMs: number;
  /** Present to resume a session after a reconnect. */
  sessionId?: string;
  password?: string;
  /** The highest zxid this client has seen; a server behind it refuses the connection. */
  lastZxid: number;
  /**
   * Samsa's extension over ZooKeeper: once this connection is gone without a `close` (socket
   * closed or broken), the session expires after this many ms unless a connection takes it
   * up again, instead of after its full timeout. An integer >= 1; the server clamps it to the
   * negotiated timeout. It holds for this connection only and is not stored: a client sends it
   * on every connect frame, new session or resume (absent = no grace, the full timeout).
   */
  disconnectGraceMs?: number;
  /**
   * Credentials for this connection, as if sent with addAuth right after connecting (the client
   * library sends every addAuth it made again on each reconnect, as ZooKeeper's client does).
   * Bad credentials: an ErrorFrame AuthFailed and the connection is closed.
   */
  auth?: AuthInfo[];
}

export interface ConnectedFrame {
  type: 'connected';
  protocolVersion: number;
  sessionId: string;
  password: string;
  timeoutMs: number;
  zxid: number;
  /** True when an existing session was resumed. */
  resumed: boolean;
  /** The disconnect grace in effect for this connection (clamped); absent when none was asked for. */
  disconnectGraceMs?: number;
  /**
   * Protocol 2: the server's limits, so a client refuses locally (BadArguments) a request the
   * server would have to drop the connection for (a frame over `frameBytesMax`).
   */
  dataBytesMax?: number;
  frameBytesMax?: number;
}

export interface RequestFrame<O extends Operation<Data> = Operation> {
  type: 'request';
  /** Client-chosen request id, echoed in the response (a non-negative integer). */
  xid: number;
  request: O;
}

export interface ResponseFrameOk<R = unknown> {
  type: 'response';
  xid: number;
  /** The zxid the request was served at. */
  zxid: number;
  ok: true;
  result: R;
}

export interface ResponseFrameError {
  type: 'response';
  xid: number;
  zxid: number;
  ok: false;
  error: { code: ErrorCode; message: string; path?: string; results?: MultiSubResult[] };
}

export type ResponseFrame<R = unknown> = ResponseFrameOk<R> | ResponseFrameError;

export interface WatchEventFrame {
  type: 'watch';
  event: WatchEventType;
  path: string;
  zxid: number;
}

/** A connection-level error (bad handshake, malformed frame without an xid, expired session). */
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** Echoed when the malformed frame carried a readable xid. */
  xid?: number;
}

export type ClientFrame = ConnectFrame | RequestFrame;
export type ServerFrame = ConnectedFrame | ResponseFrame | WatchEventFrame | ErrorFrame;
