/**
 * The coordinator client's public surface (implemented in shared/coordinator/client.ts as
 * `class CoordinatorClient`), used by the brokers, the CLI and the benchmarks.
 *
 *   const client = new CoordinatorClient({ servers: ['ws://127.0.0.1:2181'], sessionTimeoutMs: 3000 });
 *   client.on('state', (state) => ...);          // 'connected' | 'disconnected' | 'expired' | 'closed'
 *   await client.connect();                      // resolves once the session is established
 *   await client.create('/a', '{}', { mode: 'ephemeral' });
 *   const { data, stat } = await client.getData('/a', (event) => ...);   // one-shot watch
 *
 * Znode data is bytes: writes take a Buffer or a string (written as its UTF-8 bytes); getData
 * (and multiRead) answer `bytes`, exact, and `data`, their UTF-8 decoding. That decoding is lossy
 * when the bytes are not UTF-8, so code that writes back what it read must write `bytes`.
 * A request over the server's frame limit (data far above the 1 MiB data limit) fails with
 * BadArguments without being sent; data just over the data limit gets BadArguments from the server.
 *   await client.close();                        // ends the session; ephemerals go at once
 *
 * Every operation returns a promise that rejects with a CoordinatorError (code from the shared
 * table). A request made while disconnected waits up to `requestTimeoutMs`, then fails with
 * ConnectionLoss. After 'expired' the client is finished: make a new one.
 *
 * Access control (ZooKeeper's ACLs; shared/coordinator/acl.ts has the helpers):
 *   const client = new CoordinatorClient({ servers, auth: [{ scheme: 'digest', auth: 'app:secret' }],
 *     defaultAcl: [{ scheme: 'digest', id: digestId('app:secret'), perms: PERMS_ALL }, ...READ_ACL] });
 *   await client.addAuth('digest', 'ops:pw');     // this connection and every reconnect
 *   const { acl, stat } = await client.getACL('/a');
 *   await client.setACL('/a', parseAcl('world:anyone:r'), stat.aversion);
 * Credentials are per connection on the server, so the client presents them again on every
 * reconnect (in the connect frame, before any queued request goes out), as ZooKeeper's does.
 * Credentials the server refuses (AuthFailed) end the client: connect() and every pending
 * request reject with AuthFailed and the state becomes 'closed' (ZooKeeper's AUTH_FAILED).
 */
import type {
  Acl,
  AddWatchMode,
  AuthInfo,
  CreateMode,
  CreatePathResult,
  CreateResult,
  Data,
  ExistsResult,
  GetAclResult,
  GetChildrenResult,
  GetDataResult,
  MultiReadResult,
  MultiReadSubOp,
  MultiResult,
  MultiSubOp,
  SetAclResult,
  SetDataResult,
  Stat,
  StatsResult,
  WatchEventFrame,
  WatcherType,
} from './protocol';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

export interface CoordinatorClientOptions {
  /**
   * ws:// URLs; tried in order with backoff on reconnect. A path names a chroot, as ZooKeeper's
   * `host:2181/kafka`: `ws://h1:2181/kafka` sees /kafka as its root. Every URL must carry the same
   * path (shared/coordinator/chroot.ts); the client connects to each without it.
   */
  servers: string[];
  /** The chroot, for URLs without a path ('/kafka'); must agree with the URLs' path when both are given. */
  chroot?: string;
  /** Requested session timeout; the server negotiates it. Default 3000 ms. */
  sessionTimeoutMs?: number;
  /** How long a request waits for a connection before failing with ConnectionLoss. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Reconnect backoff bounds. Defaults 50 and 1000 ms. */
  reconnectBackoffMinMs?: number;
  reconnectBackoffMaxMs?: number;
  /** Most requests in flight before new ones queue locally. Default 1024. */
  inFlightMax?: number;
  /**
   * Samsa's extension over ZooKeeper (docs/coordinator-protocol.md, "Disconnect grace"): once
   * this client's connection is gone (process killed, socket closed) the coordinator expires the
   * session after this many ms unless the client reconnects, instead of after the full session
   * timeout. Sent with every connect and resume frame; the server clamps it to the negotiated
   * timeout. Keep it above the first reconnect delay (`reconnectBackoffMinMs`), or any blip
   * ends the session. Default 0: no grace.
   */
  disconnectGraceMs?: number;
  /**
   * Credentials presented on every connection, before any request (as addAuth would, but in
   * place from the first request on): e.g. `[{ scheme: 'digest', auth: 'user:password' }]`.
   * Digest credentials without a ':' are refused by the constructor.
   */
  auth?: AuthInfo[];
  /**
   * The ACL of every node this client creates without naming one: create (and the ancestors
   * `createParents` makes), ensurePath, and the creates of a multi. Curator's ACLProvider,
   * Kafka's `zookeeper.set.acl`. Absent: no ACL is sent and the node is open to everyone
   * (world:anyone:cdrwa), as before ACLs.
   */
  defaultAcl?: Acl[];
}

export interface CreateOptions {
  mode?: CreateMode;
  /** The node's ACL; default the client's `defaultAcl`, else open (world:anyone:cdrwa). */
  acl?: Acl[];
  /**
   * Create missing ancestors first (empty, persistent). They get the client's `defaultAcl` (else
   * open), not `acl`: as Curator's creatingParentsIfNeeded and Kafka's createRecursive do, so a
   * restrictive ACL on a leaf does not hide or lock its parents from everyone else.
   */
  createParents?: boolean;
  /**
   * `false`: the server answers the created path only, as ZooKeeper's `create` (its `create2`
   * adds the Stat), which saves encoding and parsing the Stat on every create. Default true.
   */
  withStat?: boolean;
}

export type Watcher = (event: WatchEventFrame) => void;

export interface CoordinatorClientApi {
  readonly state: ConnectionState;
  readonly sessionId: string | null;
  /** The highest zxid this client has seen (it never goes back, across reconnects too). */
  readonly lastZxid: number;

  connect(): Promise<void>;
  close(): Promise<void>;

  create(path: string, data: Data, options: CreateOptions & { withStat: false }): Promise<CreatePathResult>;
  create(path: string, data?: Data, options?: CreateOptions): Promise<CreateResult>;
  delete(path: string, version?: number): Promise<void>;
  exists(path: string, watcher?: Watcher): Promise<Stat | null>;
  getData(path: string, watcher?: Watcher): Promise<GetDataResult>;
  setData(path: string, data: Data, version?: number): Promise<SetDataResult>;
  getChildren(path: string, watcher?: Watcher, withStat?: boolean): Promise<GetChildrenResult>;
  /** All or nothing; as many operations as fit in one request frame. */
  multi(ops: MultiSubOp[]): Promise<MultiResult>;
  /**
   * ZooKeeper's multiRead: getData / getChildren of many paths in one request. Not atomic and
   * never rejected for one path: each entry is its result or `{type: 'error', code}`. No watches.
   */
  multiRead(ops: MultiReadSubOp[]): Promise<MultiReadResult>;
  /** How many nodes are below `path`, at every depth (ZooKeeper's getAllChildrenNumber). */
  getAllChildrenNumber(path: string): Promise<number>;
  sync(path: string): Promise<void>;
  getEphemerals(prefix?: string): Promise<string[]>;
  /** Persistent / persistent-recursive watch; every matching event calls `watcher` until removed. */
  addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void>;
  removeWatches(path: string, watcherType: WatcherType): Promise<void>;
  stats(): Promise<StatsResult>;
  /**
   * Adds credentials to the session's connection (ZooKeeper's addAuth). Once the server accepts
   * them the client remembers them and presents them on every reconnect. Bad ones: AuthFailed.
   */
  addAuth(scheme: string, auth: string): Promise<void>;
  /** The node's ACL and Stat; needs READ or ADMIN (without ADMIN, digest ids read 'user:x'). */
  getACL(path: string): Promise<GetAclResult>;
  /** Replaces the node's ACL; needs ADMIN. `version`: the expected Stat.aversion (-1: any), else BadVersion. */
  setACL(path: string, acl: Acl[], version?: number): Promise<SetAclResult>;
  /**
   * Creates a path and its missing parents (empty, persistent, `defaultAcl`); an existing path is
   * fine, also below a parent whose ACL does not let this session create (NoAuth only when missing).
   */
  ensurePath(path: string): Promise<void>;
  /** Deletes a subtree, children first. */
  deleteRecursive(path: string): Promise<void>;

  on(event: 'state', listener: (state: ConnectionState) => void): this;
}

export type { ExistsResult };
