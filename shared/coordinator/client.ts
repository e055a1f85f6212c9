/**
 * The coordinator client library (contract and usage in client-api.ts).
 *
 * One WebSocket at a time. Requests get an xid and a promise; responses come back in order.
 * While disconnected, new requests queue for up to `requestTimeoutMs`; requests that were in
 * flight when a connection dropped fail with ConnectionLoss (they may or may not have been
 * applied, as in ZooKeeper). The session is resumed on reconnect; after a coordinator restart
 * (which loses watches) the client registers its watches again and fires, locally, the events
 * it missed, like ZooKeeper's SetWatches.
 */
import { EventEmitter } from 'events';
import WebSocket from 'ws';
import type { CoordinatorClientApi, CoordinatorClientOptions, ConnectionState, CreateOptions, Watcher } from './client-api';
import { digestCredentialsProblem } from './acl';
import { toClientEvent, toClientPath, toClientResult, toClientText, toServerOperation, toServerPath, parseEndpoints } from './chroot';
import { childPath, parentOf } from './paths';
import { wireData } from './data';
import { dataResult, multiReadResult, oversizedFrame, ServerLimits, serverLimits, wireOps } from './client-data';
import {
  Acl,
  AddWatchMode,
  AuthInfo,
  CoordinatorError,
  CreateOp,
  CreatePathResult,
  CreateResult,
  Data,
  ErrorCode,
  GetAclResult,
  GetChildrenOp,
  GetChildrenResult,
  GetDataResult,
  hasCode,
  isErrorCode,
  MultiReadResult,
  MultiReadSubOp,
  MultiResult,
  MultiSubOp,
  Operation,
  PROTOCOL_VERSION,
  ServerFrame,
  SetAclResult,
  SetDataResult,
  Stat,
  StatsResult,
  WatchEventFrame,
  WatcherType,
  unlessCode,
} from './protocol';
import { OneShotKind, WatchRegistry } from './watch-registry';

/**
 * Sends `text`, the TCP socket corked until the end of the tick: the requests of one tick (a
 * pipeline refilling after a batch of replies) leave in one write, not one syscall and one TCP
 * segment each, and reach the server in one read, where they share a group commit. ws has no
 * public cork; `_socket` is its net.Socket (coordinator/server.ts corks its replies the same way).
 */
function sendCorked(socket: WebSocket, text: string): void {
  const raw = (socket as unknown as { _socket?: { writableCorked: number; cork(): void; uncork(): void } })._socket;
  if (raw !== undefined && raw.writableCorked === 0) {
    raw.cork();
    process.nextTick(() => raw.uncork());
  }
  socket.send(text);
}

/**
 * The server's frame, or null when `text` is not one. Only the fields the client acts on are
 * checked: the server is ours, but a broken or foreign peer must not crash the process.
 * (shared/coordinator/validate.ts checks the other direction, client frames, for the server.)
 */
export function parseServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const frame = value as Record<string, unknown>;
  const isZxid = (field: unknown): boolean => typeof field === 'number' && Number.isSafeInteger(field) && field >= 0;
  switch (frame.type) {
    case 'connected':
      return typeof frame.sessionId === 'string' && typeof frame.password === 'string' && typeof frame.timeoutMs === 'number' && frame.timeoutMs > 0 && isZxid(frame.zxid)
        ? (frame as unknown as ServerFrame)
        : null;
    case 'response': {
      if (!isZxid(frame.xid) || !isZxid(frame.zxid) || typeof frame.ok !== 'boolean') return null;
      if (frame.ok) return 'result' in frame ? (frame as unknown as ServerFrame) : null;
      const error = frame.error as Record<string, unknown> | null | undefined;
      return typeof error === 'object' && error !== null && typeof error.code === 'string' ? (frame as unknown as ServerFrame) : null;
    }
    case 'watch':
      return typeof frame.event === 'string' && typeof frame.path === 'string' && isZxid(frame.zxid) ? (frame as unknown as ServerFrame) : null;
    case 'error':
      return typeof frame.code === 'string' ? (frame as unknown as ServerFrame) : null;
    default:
      return null;
  }
}

const DEFAULTS = {
  sessionTimeoutMs: 3000,
  requestTimeoutMs: 10_000,
  reconnectBackoffMinMs: 50,
  reconnectBackoffMaxMs: 500,
  inFlightMax: 1024,
  disconnectGraceMs: 0,
} as const;

/** Quick reconnects through standbys during one outage (at the minimum backoff: about a lease's length). */
const QUICK_RETRIES_MAX = 60;

/** How long close() waits for the server to confirm the session's end. */
const CLOSE_TIMEOUT_MS = 2000;

interface PendingRequest {
  xid: number;
  operation: Operation;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  /** Runs with the response's zxid before the promise settles (watch registration). */
  onSuccess?: (result: unknown, zxid: number) => void;
  timer: NodeJS.Timeout | null;
  /** Paths already the server's: sent as they are, past the chroot (chroot.ts). */
  raw?: boolean;
}

export class CoordinatorClient extends EventEmitter implements CoordinatorClientApi {
  private readonly options: Required<Omit<CoordinatorClientOptions, 'auth' | 'defaultAcl'>>;
  /** Credentials sent with every connect frame: the `auth` option, then each addAuth the server accepted. */
  private readonly auth: AuthInfo[];
  /** The ACL of creates that name none (`defaultAcl` option); undefined: send none (open). */
  private readonly defaultAcl: Acl[] | undefined;
  /** The chroot ('/kafka') every path is under, null for none (shared/coordinator/chroot.ts). */
  readonly chroot: string | null;
  private socket: WebSocket | null = null;
  private currentState: ConnectionState = 'disconnected';
  private session: { id: string; password: string; timeoutMs: number; disconnectGraceMs: number } | null = null;
  private zxid = 0;
  private nextXid = 1;
  private serverIndex = 0;
  private attempt = 0;
  /** Reconnects made at once because a standby answered (see open()); bounded, then the usual backoff. */
  private quickRetries = 0;
  private readonly queued: PendingRequest[] = [];
  private readonly inFlight = new Map<number, PendingRequest>();
  private readonly watches = new WatchRegistry();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private lastReceivedAt = 0;
  private lastSentAt = 0;
  private connectWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private finished = false;
  /** The limits the server announced on connecting (undefined fields: not announced). */
  private serverLimits: ServerLimits = {};

  constructor(options: CoordinatorClientOptions) {
    super();
    if (options.servers.length === 0) throw new Error('CoordinatorClient needs at least one server URL');
    const grace = options.disconnectGraceMs;
    if (grace !== undefined && (!Number.isSafeInteger(grace) || grace < 0)) {
      throw new Error(`CoordinatorClient disconnectGraceMs must be an integer >= 0 (0 = none), got ${String(grace)}`);
    }
    // Throws on URLs that name different chroots, or an invalid one: a clear error at start.
    const endpoints = parseEndpoints(options.servers, options.chroot);
    this.chroot = endpoints.chroot;
    this.options = { ...DEFAULTS, ...options, servers: endpoints.servers, chroot: endpoints.chroot ?? '' };
    for (const info of options.auth ?? []) {
      const problem = info.scheme === 'digest' ? digestCredentialsProblem(info.auth) : null;
      if (problem !== null) throw new Error(`CoordinatorClient auth: ${problem}`);
    }
    this.auth = (options.auth ?? []).map((info) => ({ scheme: info.scheme, auth: info.auth }));
    this.defaultAcl = options.defaultAcl === undefined ? undefined : options.defaultAcl.map((entry) => ({ ...entry }));
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  get lastZxid(): number {
    return this.zxid;
  }

  /** The negotiated session timeout (0 before the first connection). */
  get sessionTimeoutMs(): number {
    return this.session?.timeoutMs ?? 0;
  }

  /** The disconnect grace the server granted on the last connect (0: none, or not connected yet). */
  get disconnectGraceMs(): number {
    return this.session?.disconnectGraceMs ?? 0;
  }

  connect(): Promise<void> {
    if (this.finished) return Promise.reject(new CoordinatorError(this.currentState === 'expired' ? 'SessionExpired' : 'ConnectionLoss', 'client is closed'));
    if (this.currentState === 'connected') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connectWaiters = this.connectWaiters.filter((waiter) => waiter.resolve !== done);
        reject(new CoordinatorError('ConnectionLoss', `could not reach ${this.options.servers.join(', ')} within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.connectWaiters.push({ resolve: done, reject: (error) => (clearTimeout(timer), reject(error)) });
      if (this.socket === null && this.reconnectTimer === null) this.open();
    });
  }

  async close(): Promise<void> {
    if (this.finished) return;
    if (this.currentState === 'connected' && this.socket !== null) {
      const closing = this.send({ op: 'close' }).catch(() => undefined);
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    }
    this.finish('closed', new CoordinatorError('ConnectionLoss', 'client closed'));
  }

  // -------------------------------------------------------------------------
  // Operations

  create(path: string, data: Data, options: CreateOptions & { withStat: false }): Promise<CreatePathResult>;
  create(path: string, data?: Data, options?: CreateOptions): Promise<CreateResult>;
  async create(path: string, data: Data = '', options: CreateOptions = {}): Promise<CreateResult | CreatePathResult> {
    const mode = options.mode ?? 'persistent';
    data = wireData(data, PROTOCOL_VERSION); // base64, once (a retry after createParents reuses it)
    const acl = options.acl ?? this.defaultAcl;
    const operation: CreateOp = acl === undefined ? { op: 'create', path, data, mode } : { op: 'create', path, data, mode, acl };
    if (options.withStat === false) operation.withStat = false;
    try {
      return await this.request<CreateResult | CreatePathResult>(operation);
    } catch (error) {
      if (options.createParents !== true || !(error instanceof CoordinatorError) || error.code !== 'NoNode') throw error;
    }
    await this.createAncestors(path);
    return this.request<CreateResult | CreatePathResult>(operation);
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.request({ op: 'delete', path, version });
  }

  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const result = await this.request<{ stat: Stat | null }>(
      watcher === undefined ? { op: 'exists', path } : { op: 'exists', path, watch: true },
      watcher === undefined ? undefined : (_result, zxid) => this.watches.addOneShot('data', path, zxid, watcher),
    );
    return result.stat;
  }

  getData(path: string, watcher?: Watcher): Promise<GetDataResult> {
    return this.request<{ data: string; stat: Stat }>(
      watcher === undefined ? { op: 'getData', path } : { op: 'getData', path, watch: true },
      watcher === undefined ? undefined : (_result, zxid) => this.watches.addOneShot('data', path, zxid, watcher),
    ).then(dataResult);
  }

  setData(path: string, data: Data, version = -1): Promise<SetDataResult> {
    return this.request<SetDataResult>({ op: 'setData', path, data: wireData(data, PROTOCOL_VERSION), version });
  }

  getChildren(path: string, watcher?: Watcher, withStat = false): Promise<GetChildrenResult> {
    const operation: GetChildrenOp = { op: 'getChildren', path };
    if (watcher !== undefined) operation.watch = true;
    if (withStat) operation.withStat = true;
    return this.request<GetChildrenResult>(operation, watcher === undefined ? undefined : (_result, zxid) => this.watches.addOneShot('child', path, zxid, watcher));
  }

  multi(ops: MultiSubOp[]): Promise<MultiResult> {
    const acl = this.defaultAcl;
    if (acl !== undefined) ops = ops.map((op) => (op.op === 'create' && op.acl === undefined ? { ...op, acl } : op));
    return this.request<MultiResult>({ op: 'multi', ops: wireOps(ops) });
  }

  /** Reads of many paths in one request; each entry is its result or its own error code. */
  multiRead(ops: MultiReadSubOp[]): Promise<MultiReadResult> {
    return this.request<MultiReadResult>({ op: 'multiRead', ops }).then(multiReadResult);
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    const result = await this.request<{ totalNumber: number }>({ op: 'getAllChildrenNumber', path });
    return result.totalNumber;
  }

  async sync(path: string): Promise<void> {
    await this.request({ op: 'sync', path });
  }

  async getEphemerals(prefix?: string): Promise<string[]> {
    const result = await this.request<{ paths: string[] }>(prefix === undefined ? { op: 'getEphemerals' } : { op: 'getEphemerals', prefix });
    return result.paths;
  }

  async addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void> {
    await this.request({ op: 'addWatch', path, mode }, () => this.watches.addPersistent(mode, path, watcher));
  }

  async removeWatches(path: string, watcherType: WatcherType): Promise<void> {
    await this.request({ op: 'removeWatches', path, watcherType });
    this.watches.remove(path, watcherType);
  }

  stats(): Promise<StatsResult> {
    return this.request<StatsResult>({ op: 'stats' });
  }

  async addAuth(scheme: string, auth: string): Promise<void> {
    await this.request({ op: 'addAuth', scheme, auth }, () => {
      // Remembered only once accepted: a refused credential must not break every later reconnect.
      if (!this.auth.some((info) => info.scheme === scheme && info.auth === auth)) this.auth.push({ scheme, auth });
    });
  }

  getACL(path: string): Promise<GetAclResult> {
    return this.request<GetAclResult>({ op: 'getACL', path });
  }

  setACL(path: string, acl: Acl[], version = -1): Promise<SetAclResult> {
    return this.request<SetAclResult>({ op: 'setACL', path, acl, version });
  }

  async deleteRecursive(path: string): Promise<void> {
    const listed = await unlessCode(this.getChildren(path), ['NoNode'], null);
    if (listed === null) return;
    for (const child of listed.children) await this.deleteRecursive(childPath(path, child));
    await unlessCode(this.delete(path, -1), ['NoNode'], undefined);
  }

  /** Creates `path` and its missing parents as empty persistent nodes; an existing path is fine. */
  async ensurePath(path: string): Promise<void> {
    try {
      await unlessCode(this.create(path, '', { createParents: true }), ['NodeExists'], null);
    } catch (error) {
      // The server checks CREATE on the parent before it finds the node there: a session that may
      // not create below a locked parent still has what it asked for when the node exists (as
      // Curator's mkdirs, which looks before it creates).
      if (!hasCode(error, 'NoAuth') || (await this.exists(path)) === null) throw error;
    }
  }

  private async createAncestors(path: string): Promise<void> {
    const ancestors: string[] = [];
    // Under a chroot these include the chroot and its own ancestors (above the client's root), sent raw.
    for (let at = parentOf(toServerPath(this.chroot, path, true)); at !== '/'; at = parentOf(at)) ancestors.unshift(at);
    const acl = this.defaultAcl;
    for (const ancestor of ancestors) {
      const operation: Operation = acl === undefined ? { op: 'create', path: ancestor, data: '', mode: 'persistent' } : { op: 'create', path: ancestor, data: '', mode: 'persistent', acl };
      await unlessCode(this.send(operation, undefined, true), ['NodeExists'], null);
    }
  }

  // -------------------------------------------------------------------------
  // Requests

  private request<R>(operation: Operation, onSuccess?: (result: unknown, zxid: number) => void): Promise<R> {
    return this.send(operation, onSuccess) as Promise<R>;
  }

  private send(operation: Operation, onSuccess?: (result: unknown, zxid: number) => void, raw = false): Promise<unknown> {
    if (this.finished) {
      return Promise.reject(new CoordinatorError(this.currentState === 'expired' ? 'SessionExpired' : 'ConnectionLoss', 'client is closed'));
    }
    return new Promise((resolve, reject) => {
      const request: PendingRequest = { xid: this.nextXid++, operation, resolve, reject, timer: null };
      if (raw) request.raw = true;
      if (onSuccess !== undefined) request.onSuccess = onSuccess;
      if (this.currentState === 'connected' && this.inFlight.size < this.options.inFlightMax) {
        this.transmit(request);
        return;
      }
      request.timer = setTimeout(() => {
        const index = this.queued.indexOf(request);
        if (index >= 0) this.queued.splice(index, 1);
        reject(new CoordinatorError('ConnectionLoss', `no connection to the coordinator within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.queued.push(request);
      if (this.socket === null && this.reconnectTimer === null && this.currentState !== 'connected') this.open();
    });
  }

  private transmit(request: PendingRequest): void {
    if (request.timer !== null) clearTimeout(request.timer);
    request.timer = null;
    this.inFlight.set(request.xid, request);
    this.lastSentAt = Date.now();
    const operation = request.raw === true ? request.operation : toServerOperation(this.chroot, request.operation);
    const text = JSON.stringify({ type: 'request', xid: request.xid, request: operation });
    // A frame over the server's limit would make it drop the connection: refuse it here instead.
    const problem = oversizedFrame(text, this.serverLimits);
    if (problem !== null) {
      this.inFlight.delete(request.xid);
      request.reject(new CoordinatorError('BadArguments', problem));
      return;
    }
    sendCorked(this.socket!, text);
  }

  private drainQueue(): void {
    while (this.queued.length > 0 && this.currentState === 'connected' && this.inFlight.size < this.options.inFlightMax) {
      this.transmit(this.queued.shift()!);
    }
  }

  // -------------------------------------------------------------------------
  // Connection

  private open(): void {
    if (this.finished) return;
    this.setState(this.session === null ? 'connecting' : 'disconnected');
    const url = this.options.servers[this.serverIndex % this.options.servers.length]!;
    // A standby coordinator (Redis store) answers with a redirect to the active one: follow it.
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: Math.max(1000, this.options.requestTimeoutMs), followRedirects: true, maxRedirects: 3 });
    this.socket = socket;
    let handshakeDone = false;
    socket.on('open', () => {
      const frame: Record<string, unknown> = { type: 'connect', protocolVersion: PROTOCOL_VERSION, timeoutMs: this.options.sessionTimeoutMs, lastZxid: this.zxid };
      if (this.session !== null) {
        frame.sessionId = this.session.id;
        frame.password = this.session.password;
      }
      // The grace is not stored by the server (a restarted one has none): send it every time.
      if (this.options.disconnectGraceMs > 0) frame.disconnectGraceMs = this.options.disconnectGraceMs;
      // Credentials are per connection on the server: present them again before any request is replayed.
      if (this.auth.length > 0) frame.auth = this.auth;
      socket.send(JSON.stringify(frame));
    });
    socket.on('message', (data: WebSocket.RawData) => {
      if (socket !== this.socket) return;
      this.lastReceivedAt = Date.now();
      const frame = parseServerFrame(data.toString());
      if (frame === null) {
        // Not a frame we understand: this connection cannot be trusted; drop it and reconnect.
        socket.terminate();
        return;
      }
      if (!handshakeDone) {
        if (frame.type === 'connected') {
          handshakeDone = true;
          this.serverLimits = serverLimits(frame);
          this.onConnected(frame.sessionId, frame.password, frame.timeoutMs, frame.zxid, frame.resumed, typeof frame.disconnectGraceMs === 'number' ? frame.disconnectGraceMs : 0);
        } else if (frame.type === 'error' && frame.code === 'SessionExpired') {
          this.finish('expired', new CoordinatorError('SessionExpired', frame.message));
        } else if (frame.type === 'error' && frame.code === 'AuthFailed') {
          // Every server would refuse the same credentials: retrying cannot help (ZooKeeper's AUTH_FAILED).
          this.finish('closed', new CoordinatorError('AuthFailed', frame.message));
        } else {
          socket.terminate(); // e.g. RuntimeInconsistency: this server is behind; try the next one
        }
        return;
      }
      this.onFrame(frame);
    });
    // A takeover under way: a standby with no active one answers 503, or redirects to the active
    // one it last saw, which may have just died (its lease has not expired yet). Either way ask
    // again soon rather than backing off, so the client is there as soon as a coordinator serves.
    let standbyWaiting = false;
    socket.on('unexpected-response', (_request, response) => {
      standbyWaiting = response.statusCode === 503 && response.headers['x-samsa-role'] === 'standby';
      socket.terminate();
    });
    socket.on('redirect', () => {
      standbyWaiting = true;
    });
    socket.on('error', () => {
      // 'close' follows; the reconnect logic lives there.
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.onDisconnected(standbyWaiting);
    });
  }

  private onConnected(sessionId: string, password: string, timeoutMs: number, zxid: number, resumed: boolean, disconnectGraceMs: number): void {
    const previous = this.session;
    this.session = { id: sessionId, password, timeoutMs, disconnectGraceMs };
    this.zxid = Math.max(this.zxid, zxid);
    this.attempt = 0;
    this.quickRetries = 0;
    this.setState('connected');
    const pingEvery = Math.max(50, Math.floor(timeoutMs / 3));
    this.pingTimer = setInterval(() => this.keepAlive(pingEvery), pingEvery);
    this.pingTimer.unref();
    if (resumed && previous !== null) this.reregisterWatches();
    this.drainQueue();
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
  }

  private keepAlive(pingEvery: number): void {
    if (this.currentState !== 'connected' || this.socket === null) return;
    // Nothing heard for two ping periods: the connection is dead even if TCP has not noticed.
    if (Date.now() - this.lastReceivedAt > 2 * pingEvery) {
      this.socket.terminate();
      return;
    }
    // Any request keeps the session alive; ping only when we have been quiet.
    if (Date.now() - this.lastSentAt >= pingEvery - 10) this.send({ op: 'ping' }).catch(() => undefined);
  }

  private onDisconnected(standbyWaiting = false): void {
    this.socket = null;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const request of this.inFlight.values()) request.reject(new CoordinatorError('ConnectionLoss', 'connection lost before the response'));
    this.inFlight.clear();
    if (this.finished) return;
    this.setState('disconnected');
    // Queued requests now wait with a deadline (connected ones were queued only for the in-flight cap).
    for (const request of this.queued) {
      if (request.timer === null) {
        request.timer = setTimeout(() => {
          const index = this.queued.indexOf(request);
          if (index >= 0) this.queued.splice(index, 1);
          request.reject(new CoordinatorError('ConnectionLoss', `no connection to the coordinator within ${this.options.requestTimeoutMs} ms`));
        }, this.options.requestTimeoutMs);
      }
    }
    if (standbyWaiting && this.quickRetries++ < QUICK_RETRIES_MAX) {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.open();
      }, this.options.reconnectBackoffMinMs);
      if (this.connectWaiters.length === 0 && this.queued.length === 0 && this.session === null) this.reconnectTimer.unref();
      return;
    }
    this.serverIndex++;
    // The backoff grows per round of the server list, not per server: with several coordinators
    // (one active, the others redirecting) the next one is tried at once after a refusal.
    const rounds = Math.floor(this.attempt / this.options.servers.length);
    const backoff = Math.min(this.options.reconnectBackoffMaxMs, this.options.reconnectBackoffMinMs * 2 ** Math.min(rounds, 16));
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, backoff);
    if (this.connectWaiters.length === 0 && this.queued.length === 0 && this.session === null) this.reconnectTimer.unref();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'response': {
        this.zxid = Math.max(this.zxid, frame.zxid);
        const request = this.inFlight.get(frame.xid);
        if (request === undefined) return;
        this.inFlight.delete(frame.xid);
        if (frame.ok) {
          const result = request.raw === true ? frame.result : toClientResult(this.chroot, request.operation, frame.result);
          request.onSuccess?.(result, frame.zxid);
          request.resolve(result);
        } else {
          const code: ErrorCode = isErrorCode(frame.error.code) ? frame.error.code : 'SystemError';
          const errorPath = frame.error.path === undefined ? undefined : toClientPath(this.chroot, frame.error.path);
          const error = new CoordinatorError(code, toClientText(this.chroot, frame.error.message), errorPath);
          if (frame.error.results !== undefined) (error as CoordinatorError & { results?: unknown }).results = frame.error.results;
          request.reject(error);
        }
        this.drainQueue();
        return;
      }
      case 'watch':
        this.zxid = Math.max(this.zxid, frame.zxid);
        this.dispatch(toClientEvent(this.chroot, frame));
        return;
      case 'error':
        if (frame.code === 'SessionExpired') this.finish('expired', new CoordinatorError('SessionExpired', frame.message));
        else this.socket?.terminate(); // SessionMoved, Throttled: drop this connection, reconnect
        return;
      case 'connected':
        return;
    }
  }

  private dispatch(event: WatchEventFrame): void {
    for (const watcher of this.watches.take(event)) {
      try {
        watcher(event);
      } catch (error) {
        // A watcher's bug must not break the client's frame loop.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  /**
   * After a resume the server normally still holds our watches (they are idempotent to add
   * again), but a restarted coordinator does not. Register each again and fire locally what
   * changed since it was set, as ZooKeeper's SetWatches does.
   */
  private reregisterWatches(): void {
    for (const { mode, path } of this.watches.persistentWatches()) {
      this.send({ op: 'addWatch', path, mode }).catch(() => undefined);
    }
    for (const { kind, path } of this.watches.oneShotWatches()) {
      const missed = (type: WatchEventFrame['event'], atZxid: number): void => this.dispatchIfMissed(kind, path, { type: 'watch', event: type, path, zxid: atZxid });
      if (kind === 'data') {
        this.send({ op: 'exists', path, watch: true }, (result, servedAt) => {
          const stat = (result as { stat: Stat | null }).stat;
          if (stat === null) missed('NodeDeleted', servedAt);
          else if (stat.czxid > (this.watches.oneShotZxid(kind, path) ?? Number.MAX_SAFE_INTEGER)) missed('NodeCreated', stat.czxid);
          else missed('NodeDataChanged', stat.mzxid);
        }).catch(() => undefined);
      } else {
        this.send({ op: 'getChildren', path, watch: true, withStat: true }, (result) => {
          const stat = (result as GetChildrenResult).stat;
          if (stat !== undefined) missed('NodeChildrenChanged', stat.pzxid);
        }).catch((error: unknown) => {
          if (hasCode(error, 'NoNode')) this.dispatchIfMissed(kind, path, { type: 'watch', event: 'NodeDeleted', path, zxid: this.zxid });
        });
      }
    }
  }

  /**
   * Fires `event` at the one-shot watchers of (kind, path) if they were registered before the
   * change it reports. They may be gone already (the server still held the watch and its event
   * arrived first) or be new ones set since (which must not see an older change).
   */
  private dispatchIfMissed(kind: OneShotKind, path: string, event: WatchEventFrame): void {
    const registeredAt = this.watches.oneShotZxid(kind, path);
    if (registeredAt !== undefined && event.zxid > registeredAt) this.dispatch(event);
  }

  private finish(state: 'expired' | 'closed', error: CoordinatorError): void {
    if (this.finished) return;
    this.finished = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.removeAllListeners('message');
      socket.on('error', () => undefined);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
      else socket.terminate();
    }
    for (const request of [...this.inFlight.values(), ...this.queued]) {
      if (request.timer !== null) clearTimeout(request.timer);
      request.reject(error);
    }
    this.inFlight.clear();
    this.queued.length = 0;
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
    this.setState(state);
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('state', state);
  }
}

export type { Watcher };
