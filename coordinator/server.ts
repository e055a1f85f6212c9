/**
 * The coordinator's WebSocket shell around the pure core.
 *
 * Pipeline (see the comment at the top of core-api.ts): each frame is parsed, validated and
 * executed synchronously in arrival order. A write's transaction goes into the pending batch;
 * all transactions of one event-loop tick are appended to the store together (one write, one
 * fsync: group commit), and while an append is in flight the next batch gathers.
 *
 * Every reply and watch event joins one FIFO tagged with the zxid it was served at, and leaves
 * it only once the store has made that zxid durable. Reads served while writes are pending
 * therefore wait behind them: no client sees a write before it is durable. Because the FIFO is
 * global and zxids in it never decrease, each connection gets its frames in the order they were
 * produced, so a watch event always precedes the response to any later request that observes
 * the change.
 */
import { randomBytes } from 'crypto';
import type { AddressInfo } from 'net';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, RawData } from 'ws';
import {
  CoordinatorError,
  ConnectFrame,
  ConnectedFrame,
  ErrorCode,
  ErrorFrame,
  Operation,
  PERMS,
  PROTOCOL_VERSIONS_SUPPORTED,
  RequestFrame,
  ResponseFrameError,
  Stat,
  StatsResult,
} from '../shared/coordinator/protocol';
import { BASE64_DATA_SINCE_PROTOCOL, wireData } from '../shared/coordinator/data';
import { parseClientFrame } from '../shared/coordinator/validate';
import { AuthContext, connectionAuth, grants, NO_AUTH, withCredentials } from './acl-check';
import type { CoordinatorConfig } from './config';
import type { CoordinatorCoreApi, CoreOperation, ExecuteOutcome, Txn } from './core-api';
import { LatencyRecorder } from './store/store';
import type { CoordinatorStore } from './store/store';

type ConnectionState = 'handshake' | 'open' | 'closed';

class Connection {
  state: ConnectionState = 'handshake';
  sessionId: string | null = null;
  /** Responses produced for this connection and not yet sent. */
  outstanding = 0;
  handshakeTimer: NodeJS.Timeout | null = null;
  /** The TCP socket is corked until the end of the current tick (see send()). */
  corked = false;
  /** From the connect frame: how this client carries znode data (base64 from 2, text in 1). */
  protocolVersion = 0;
  /** Its identities for ACL checks: its address, plus the credentials it presented (connect frame, addAuth). */
  auth: AuthContext;
  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    remoteAddress: string | undefined,
  ) {
    this.auth = connectionAuth(remoteAddress);
  }
}

interface SessionState {
  connection: Connection | null;
  /** Its (last) connection's identities: what recursive-watch events are checked against (WatchDelivery.acl). */
  auth: AuthContext;
  /** Serialized watch events kept while the connection is down (bounded). */
  pendingEvents: string[];
  droppedEvents: number;
}

/** One frame waiting until its zxid is durable. */
interface Output {
  zxid: number;
  /** For responses and connection frames: the connection they belong to. */
  connection: Connection | null;
  /** For watch events: the session they are for (whatever its connection is by then). */
  sessionId: string | null;
  text: string;
  /** performance.now() at arrival, for request latency; -1 when not a response. */
  startedAt: number;
  closeAfter: boolean;
}

export interface CoordinatorServerOptions {
  config: Readonly<CoordinatorConfig>;
  core: CoordinatorCoreApi;
  store: CoordinatorStore;
  logger: Logger;
  version: string;
  /** The store failed: nothing more can be acknowledged; the process must stop. */
  onFatal: (error: Error) => void;
  /** Wall clock for the core (ms since the epoch). Default Date.now. */
  clock?: () => number;
  /** Figures the stats answer adds (the HA coordinator's role and lease). */
  statsExtra?: () => Partial<StatsResult>;
}

const QUEUE_COMPACT_AT = 4096;
/**
 * Requests handled in one event-loop turn; the rest of what arrived wait in the inbox for the next
 * turns. A client that sends 128 requests at once would otherwise get all 128 answers at once,
 * after all 128 were handled and logged: server and client taking turns with one wave of
 * requests, each idle while the other works. Cut into waves of this size, the first wave's append
 * is on the disk while the next is handled, and its answers leave (and the client sends more)
 * while the server handles the rest (measured: create at 128 in flight on one session, snapshots
 * off, 25,000-27,000 -> 42,000-45,000 ops/s, the coordinator at 75% -> 105% of a core; 16 and 64
 * per turn did no better).
 */
const REQUESTS_PER_TURN = 32;
/** Messages waiting in the inbox beyond which connections stop being read until it drains. */
const INBOX_PAUSE_AT = 4096;
/**
 * Most containers one check removes (ZooKeeper's znode.container.maxPerMinute is 10000, paced
 * over the minute); the rest wait for the next check, so a huge backlog never stalls the loop.
 */
const CONTAINER_DELETES_PER_CHECK_MAX = 10_000;

export class CoordinatorServer {
  private readonly config: Readonly<CoordinatorConfig>;
  private readonly core: CoordinatorCoreApi;
  private readonly store: CoordinatorStore;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly requestLatency = new LatencyRecorder();
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, SessionState>();
  private wss: WebSocketServer | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private containerTimer: NodeJS.Timeout | null = null;
  private nextConnectionId = 1;
  private readonly startedAt: number;

  private durableZxid: number;
  private pendingTxns: Txn[] = [];
  private flushScheduled = false;
  /** The latest append not yet durable (every earlier one resolves before it), for close(). */
  private appendInFlight: Promise<void> | null = null;
  /** Group commits on their way to the store, at most store.appendsInFlightMax. */
  private appendsInFlight = 0;
  private outputs: (Output | undefined)[] = [];
  private outputsHead = 0;
  private outstandingTotal = 0;
  private txnsSinceSnapshot = 0;
  /** The znodes of this server's last snapshot; before its first, of the tree it started with. */
  private znodesAtLastSnapshot: number;
  private snapshotInFlight: Promise<void> | null = null;
  private failed = false;
  private closing = false;
  /** Messages that arrived after this turn's REQUESTS_PER_TURN, in arrival order. */
  private inbox: Array<{ connection: Connection; data: RawData; arrivedAt: number } | undefined> = [];
  private inboxHead = 0;
  private handledThisTurn = 0;
  private turnScheduled = false;
  /** Connections paused because the inbox reached INBOX_PAUSE_AT. */
  private readonly paused = new Set<Connection>();

  constructor(private readonly options: CoordinatorServerOptions) {
    this.config = options.config;
    this.core = options.core;
    this.store = options.store;
    this.znodesAtLastSnapshot = this.core.counts().znodeCount;
    this.logger = options.logger.child({ component: 'server' });
    this.clock = options.clock ?? Date.now;
    this.durableZxid = this.core.lastZxid;
    this.startedAt = this.clock();
  }

  /** Listens; resolves with the bound port. */
  async listen(): Promise<number> {
    const wss = new WebSocketServer({
      host: this.config.host,
      port: this.config.port,
      maxPayload: this.config.frameBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('error', (error) => this.logger.error({ err: error }, 'server.error'));
    wss.on('connection', (socket, request) => this.onConnection(socket, request.socket.remoteAddress));
    this.tickTimer = setInterval(() => this.tick(), this.config.tickMs);
    this.containerTimer = setInterval(() => this.checkContainers(), this.config.containerCheckIntervalMs);
    return (wss.address() as AddressInfo).port;
  }

  // -------------------------------------------------------------------------
  // Connections

  private onConnection(socket: WebSocket, remoteAddress: string | undefined): void {
    if (this.closing || this.failed || this.connections.size >= this.config.connectionsMax) {
      socket.close(1013, 'too many connections');
      return;
    }
    const connection = new Connection(this.nextConnectionId++, socket, remoteAddress);
    this.connections.add(connection);
    connection.handshakeTimer = setTimeout(() => {
      this.sendAndClose(connection, { type: 'error', code: 'OperationTimeout', message: 'no connect frame in time' });
    }, this.config.handshakeTimeoutMs);
    socket.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
    socket.on('error', (error) => this.logger.debug({ connection: connection.id, err: error.message }, 'connection.error'));
    socket.on('close', (code) => this.onClose(connection, code));
  }

  private onClose(connection: Connection, code: number): void {
    connection.state = 'closed';
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    this.connections.delete(connection);
    // A session's connection is cleared (sessionId = null) when the session ends by `close`,
    // expiry or a move to another connection; so here the session lives on, without a connection.
    const sessionId = connection.sessionId;
    if (sessionId !== null) {
      const session = this.sessions.get(sessionId);
      if (session !== undefined && session.connection === connection) {
        session.connection = null;
        const graceMs = this.core.detachSession(sessionId, this.clock());
        if (graceMs > 0) this.logger.info({ sessionId, connection: connection.id, code, graceMs }, 'session.disconnect_grace');
      }
    }
    this.logger.debug({ connection: connection.id, sessionId, code }, 'connection.closed');
  }

  private onMessage(connection: Connection, data: RawData, _isBinary: boolean): void {
    if (connection.state === 'closed' || this.failed) return;
    const arrivedAt = performance.now();
    if (this.handledThisTurn >= REQUESTS_PER_TURN || this.inboxHead < this.inbox.length) {
      this.inbox.push({ connection, data, arrivedAt });
      if (this.inbox.length - this.inboxHead >= INBOX_PAUSE_AT && !this.paused.has(connection)) {
        this.paused.add(connection);
        connection.socket.pause();
      }
    } else {
      this.handledThisTurn++;
      this.handleMessage(connection, data, arrivedAt);
    }
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.nextTurn);
    }
  }

  /** A new turn: handles up to REQUESTS_PER_TURN messages from the inbox. */
  private readonly nextTurn = (): void => {
    this.turnScheduled = false;
    this.handledThisTurn = 0;
    while (this.inboxHead < this.inbox.length && this.handledThisTurn < REQUESTS_PER_TURN) {
      const message = this.inbox[this.inboxHead]!;
      this.inbox[this.inboxHead++] = undefined;
      this.handledThisTurn++;
      if (message.connection.state !== 'closed' && !this.failed) this.handleMessage(message.connection, message.data, message.arrivedAt);
    }
    if (this.inboxHead === this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
      for (const connection of this.paused) if (connection.state !== 'closed') connection.socket.resume();
      this.paused.clear();
    } else if (this.inboxHead >= QUEUE_COMPACT_AT) {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
    }
    if (this.inboxHead < this.inbox.length) {
      // Another turn for the messages still waiting (a message that arrives sets one up itself).
      this.turnScheduled = true;
      setImmediate(this.nextTurn);
    }
  };

  private handleMessage(connection: Connection, data: RawData, startedAt: number): void {
    // Once closing, requests (arrived or waiting in the inbox) go unanswered: the connection closes
    // with 1001 and the client treats them as a connection loss, as with a crash.
    if (connection.state === 'closed' || this.failed || this.closing) return;
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    const parsed = parseClientFrame(text, connection.protocolVersion);
    if (connection.state === 'handshake') {
      if (!parsed.ok) {
        this.sendAndClose(connection, { type: 'error', code: parsed.code, message: parsed.message });
      } else if (parsed.frame.type !== 'connect') {
        this.sendAndClose(connection, { type: 'error', code: 'BadArguments', message: 'the first frame must be connect' });
      } else {
        this.onConnect(connection, parsed.frame);
      }
      return;
    }
    const sessionId = connection.sessionId!;
    this.core.touchSession(sessionId, this.clock());
    if (!parsed.ok) {
      if (parsed.fatal) {
        this.sendAndClose(connection, { type: 'error', code: parsed.code, message: parsed.message });
      } else if (parsed.xid !== undefined) {
        this.respondError(connection, parsed.xid, this.core.lastZxid, parsed.code, parsed.message, startedAt);
      } else {
        this.emit(connection, null, this.core.lastZxid, JSON.stringify({ type: 'error', code: parsed.code, message: parsed.message } satisfies ErrorFrame), -1, false);
      }
      return;
    }
    if (parsed.frame.type === 'connect') {
      this.sendAndClose(connection, { type: 'error', code: 'BadArguments', message: 'connect frame on an established connection' });
      return;
    }
    this.onRequest(connection, sessionId, parsed.frame, startedAt);
  }

  private onRequest(connection: Connection, sessionId: string, frame: RequestFrame<Operation<Buffer>>, startedAt: number): void {
    const { xid, request } = frame;
    const outstandingMax = this.config.outstandingRequestsPerConnectionMax;
    if (connection.outstanding >= outstandingMax) {
      if (connection.outstanding >= 2 * outstandingMax) {
        // The client ignores Throttled answers too: stop reading from it.
        this.logger.warn({ connection: connection.id, sessionId, outstanding: connection.outstanding }, 'connection.throttled_closed');
        this.sendAndClose(connection, { type: 'error', code: 'Throttled', message: 'too many outstanding requests' });
        return;
      }
      this.respondError(connection, xid, this.core.lastZxid, 'Throttled', `more than ${outstandingMax} outstanding requests`, startedAt);
      return;
    }
    switch (request.op) {
      case 'ping':
        this.respondOk(connection, xid, this.core.lastZxid, {}, startedAt);
        return;
      case 'stats':
        this.respondOk(connection, xid, this.core.lastZxid, this.stats(), startedAt);
        return;
      case 'addAuth': {
        // Per connection, as ZooKeeper's authInfo: the client library presents it again on reconnect.
        const auth = withCredentials(connection.auth, request, this.config.superDigest);
        if (typeof auth === 'string') {
          this.respondError(connection, xid, this.core.lastZxid, 'AuthFailed', auth, startedAt);
          return;
        }
        connection.auth = auth;
        const session = this.sessions.get(sessionId);
        if (session !== undefined && session.connection === connection) session.auth = auth;
        this.respondOk(connection, xid, this.core.lastZxid, {}, startedAt);
        return;
      }
      case 'close': {
        const outcome = this.core.closeSession(sessionId, this.clock());
        this.sessions.delete(sessionId);
        connection.sessionId = null;
        // The session's own events (NodeDeleted for its watched ephemerals) go out before the reply.
        this.applyOutcome(outcome, sessionId, connection);
        this.emit(connection, null, outcome.zxid, responseText(xid, outcome.zxid, true, {}), startedAt, true);
        connection.state = 'closed'; // nothing more is read; the socket closes once the reply is out
        this.logger.info({ sessionId, zxid: outcome.zxid, deleted: deletedCount(outcome) }, 'session.closed');
        return;
      }
      default:
        this.execute(connection, sessionId, xid, request, startedAt);
    }
  }

  private execute(connection: Connection, sessionId: string, xid: number, request: CoreOperation, startedAt: number): void {
    let outcome: ExecuteOutcome;
    try {
      outcome = this.core.execute(sessionId, request, this.clock(), connection.auth);
    } catch (error) {
      if (error instanceof CoordinatorError) {
        // An operating error the core chose to throw rather than return: answered like any other.
        this.respondError(connection, xid, this.core.lastZxid, error.code, error.message, startedAt);
        return;
      }
      // A bug (an AssertionError or anything else): the in-memory tree may have changed without a
      // logged transaction, so memory and the store may now disagree. Serving on would hand out
      // state that a restart would not reproduce; stop instead (the store recovers what was logged).
      this.failBug(error, sessionId, request.op);
      return;
    }
    this.applyOutcome(outcome);
    // Soft quota limits only warn, as ZooKeeper's (docs/coordinator-protocol.md, "Quotas").
    for (const warning of outcome.quotaWarnings ?? []) this.logger.warn({ sessionId, zxid: outcome.zxid, warning }, 'quota.exceeded');
    const reply = outcome.reply;
    if (reply.ok) {
      const result = request.op === 'getData' || request.op === 'multiRead' ? wireResult(reply.result, connection.protocolVersion) : reply.result;
      this.emit(connection, null, outcome.zxid, responseText(xid, outcome.zxid, true, result), startedAt, false);
    } else {
      const error: ResponseFrameError['error'] = { code: reply.code, message: reply.message };
      if (reply.path !== undefined) error.path = reply.path;
      if (reply.results !== undefined) error.results = reply.results;
      this.emit(connection, null, outcome.zxid, responseText(xid, outcome.zxid, false, error), startedAt, false);
    }
  }

  /**
   * Appends the outcome's txn and queues its watch events (before the response, as ZooKeeper does).
   * Events for `endingSession` (whose session entry is already gone) go straight to its connection.
   */
  private applyOutcome(outcome: ExecuteOutcome, endingSession?: string, endingConnection?: Connection | null): void {
    if (outcome.txn !== null) this.appendTxn(outcome.txn);
    for (const event of outcome.events) {
      if (event.sessionId === endingSession) {
        if (endingConnection != null) this.emit(endingConnection, null, outcome.zxid, JSON.stringify(event.frame), -1, false);
      } else if (event.acl !== undefined && !grants(event.acl, PERMS.read, this.sessions.get(event.sessionId)?.auth ?? NO_AUTH)) {
        continue; // a recursive watch's event about a node this session may not read (CVE-2024-23944)
      } else {
        this.emit(null, event.sessionId, outcome.zxid, JSON.stringify(event.frame), -1, false);
      }
    }
  }

  private respondOk(connection: Connection, xid: number, zxid: number, result: unknown, startedAt: number): void {
    this.emit(connection, null, zxid, responseText(xid, zxid, true, result), startedAt, false);
  }

  private respondError(connection: Connection, xid: number, zxid: number, code: ErrorCode, message: string, startedAt: number): void {
    this.emit(connection, null, zxid, responseText(xid, zxid, false, { code, message }), startedAt, false);
  }

  // -------------------------------------------------------------------------
  // Handshake and sessions

  private onConnect(connection: Connection, frame: ConnectFrame): void {
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = null;
    if (!PROTOCOL_VERSIONS_SUPPORTED.includes(frame.protocolVersion)) {
      this.sendAndClose(connection, { type: 'error', code: 'BadArguments', message: `protocol version ${frame.protocolVersion} is not supported (server speaks ${PROTOCOL_VERSIONS_SUPPORTED.join(', ')})` });
      return;
    }
    // The client's version is the connection's: a protocol-1 client keeps its text data.
    connection.protocolVersion = frame.protocolVersion;
    for (const info of frame.auth ?? []) {
      const auth = withCredentials(connection.auth, info, this.config.superDigest);
      if (typeof auth === 'string') {
        this.sendAndClose(connection, { type: 'error', code: 'AuthFailed', message: auth });
        return;
      }
      connection.auth = auth;
    }
    const now = this.clock();
    if (frame.sessionId !== undefined) {
      const record = this.core.sessionFor(frame.sessionId);
      if (record === null || record.password !== frame.password) {
        this.sendAndClose(connection, { type: 'error', code: 'SessionExpired', message: `session ${frame.sessionId} has expired` });
        return;
      }
    }
    if (frame.lastZxid > this.core.lastZxid) {
      // ZooKeeper refuses a client that has seen more than this server: it would see history go back.
      this.sendAndClose(connection, { type: 'error', code: 'RuntimeInconsistency', message: `client has seen zxid ${frame.lastZxid}, server is at ${this.core.lastZxid}` });
      return;
    }
    if (frame.sessionId !== undefined && frame.password !== undefined) {
      this.resume(connection, frame.sessionId, frame.password, frame.disconnectGraceMs, now);
    } else {
      this.createSession(connection, frame.timeoutMs, frame.disconnectGraceMs, now);
    }
  }

  private createSession(connection: Connection, requestedTimeoutMs: number, requestedGraceMs: number | undefined, now: number): void {
    let sessionId = randomBytes(8).toString('hex');
    while (this.core.sessionFor(sessionId) !== null) sessionId = randomBytes(8).toString('hex');
    const password = randomBytes(16).toString('hex');
    const { txn, timeoutMs } = this.core.createSession(requestedTimeoutMs, now, sessionId, password);
    const disconnectGraceMs = this.core.attachSession(sessionId, requestedGraceMs, now);
    this.appendTxn(txn);
    this.sessions.set(sessionId, { connection, auth: connection.auth, pendingEvents: [], droppedEvents: 0 });
    connection.sessionId = sessionId;
    connection.state = 'open';
    const connected: ConnectedFrame = { type: 'connected', protocolVersion: connection.protocolVersion, sessionId, password, timeoutMs, zxid: txn.zxid, resumed: false };
    if (disconnectGraceMs > 0) connected.disconnectGraceMs = disconnectGraceMs;
    this.addLimits(connection, connected);
    this.emit(connection, null, txn.zxid, JSON.stringify(connected), -1, false);
    this.logger.info({ sessionId, timeoutMs, disconnectGraceMs, connection: connection.id }, 'session.created');
  }

  private resume(connection: Connection, sessionId: string, password: string, requestedGraceMs: number | undefined, now: number): void {
    const record = this.core.sessionFor(sessionId)!;
    // Full timeout again, and this connection's grace (a restored session had none until now).
    const disconnectGraceMs = this.core.attachSession(sessionId, requestedGraceMs, now);
    let session = this.sessions.get(sessionId);
    if (session === undefined) {
      // A session restored from the store after a restart.
      session = { connection: null, auth: connection.auth, pendingEvents: [], droppedEvents: 0 };
      this.sessions.set(sessionId, session);
    }
    const previous = session.connection;
    if (previous !== null && previous !== connection && previous.state !== 'closed') {
      // ZooKeeper's SessionMoved: the old connection must not act for the session any more.
      previous.sessionId = null;
      this.sendAndClose(previous, { type: 'error', code: 'SessionMoved', message: `session ${sessionId} moved to another connection` });
      this.logger.info({ sessionId, from: previous.id, to: connection.id }, 'session.moved');
    }
    session.connection = connection;
    session.auth = connection.auth;
    connection.sessionId = sessionId;
    connection.state = 'open';
    const zxid = this.core.lastZxid;
    const connected: ConnectedFrame = { type: 'connected', protocolVersion: connection.protocolVersion, sessionId, password, timeoutMs: record.timeoutMs, zxid, resumed: true };
    if (disconnectGraceMs > 0) connected.disconnectGraceMs = disconnectGraceMs;
    this.addLimits(connection, connected);
    this.emit(connection, null, zxid, JSON.stringify(connected), -1, false);
    if (session.droppedEvents > 0) {
      this.logger.warn({ sessionId, dropped: session.droppedEvents }, 'session.events_dropped');
      session.droppedEvents = 0;
    }
    const pending = session.pendingEvents;
    session.pendingEvents = [];
    // Already durable when they were queued; zxid 0 keeps them right behind the connected frame.
    for (const text of pending) this.emit(connection, null, 0, text, -1, false);
    this.logger.debug({ sessionId, connection: connection.id, disconnectGraceMs, pendingEvents: pending.length }, 'session.resumed');
  }

  /** Protocol 2 tells the client the limits, so it refuses an oversized request itself (never sends it). */
  private addLimits(connection: Connection, connected: ConnectedFrame): void {
    if (connection.protocolVersion < BASE64_DATA_SINCE_PROTOCOL) return;
    connected.dataBytesMax = this.config.limits.dataBytesMax;
    connected.frameBytesMax = this.config.frameBytesMax;
  }

  private tick(): void {
    if (this.failed) return;
    const now = this.clock();
    for (const sessionId of this.core.expiredSessions(now)) {
      const outcome = this.core.closeSession(sessionId, now);
      const session = this.sessions.get(sessionId);
      this.sessions.delete(sessionId);
      const connection = session?.connection;
      const open = connection != null && connection.state === 'open';
      this.applyOutcome(outcome, sessionId, open ? connection : null);
      if (open) {
        connection.sessionId = null;
        const frame: ErrorFrame = { type: 'error', code: 'SessionExpired', message: `session ${sessionId} has expired` };
        this.emit(connection, null, outcome.zxid, JSON.stringify(frame), -1, true);
        connection.state = 'closed';
      }
      this.logger.info({ sessionId, zxid: outcome.zxid, deleted: deletedCount(outcome) }, 'session.expired');
    }
  }

  /**
   * ZooKeeper's ContainerManager: removes each container that has had children and has none
   * now, each removal an ordinary delete transaction (logged, replayed, watched like any other).
   */
  private checkContainers(): void {
    if (this.failed || this.closing) return;
    const candidates = this.core.containerCandidates();
    let deleted = 0;
    for (const path of candidates.slice(0, CONTAINER_DELETES_PER_CHECK_MAX)) {
      let outcome: ExecuteOutcome;
      try {
        outcome = this.core.deleteContainer(path, this.clock());
      } catch (error) {
        this.failBug(error, '0', 'deleteContainer');
        return;
      }
      if (outcome.txn === null) continue;
      this.applyOutcome(outcome);
      deleted++;
      this.logger.debug({ path, zxid: outcome.zxid }, 'container.deleted');
    }
    if (deleted > 0) this.logger.info({ deleted, candidates: candidates.length }, 'containers.checked');
  }

  // -------------------------------------------------------------------------
  // Durability: group commit and release in zxid order

  private appendTxn(txn: Txn): void {
    this.pendingTxns.push(txn);
    if (!this.flushScheduled && this.appendsInFlight < this.store.appendsInFlightMax) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.appendsInFlight >= this.store.appendsInFlightMax || this.pendingTxns.length === 0 || this.failed) return;
    const batch = this.pendingTxns;
    this.pendingTxns = [];
    const lastZxid = batch[batch.length - 1].zxid;
    this.appendsInFlight++;
    // Appends resolve in call order (the store's contract), so durableZxid only grows.
    const appended: Promise<void> = this.store.append(batch).then(
      () => {
        this.appendsInFlight--;
        if (this.appendInFlight === appended) this.appendInFlight = null;
        this.durableZxid = lastZxid;
        this.txnsSinceSnapshot += batch.length;
        // Transactions that gathered during this fsync go to the disk together now, before the
        // replies and events of this batch are sent: the disk works while the loop sends.
        if (this.pendingTxns.length > 0) this.flush();
        this.release();
        this.maybeSnapshot();
      },
      (error: unknown) => this.fail(error),
    );
    this.appendInFlight = appended;
  };

  /** Stops serving at once (nothing more is read, appended or sent) and hands the error to onFatal. */
  private failBug(error: unknown, sessionId: string, op: string): void {
    if (this.failed) return;
    this.failed = true;
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.fatal({ err, sessionId, op, lastZxid: this.core.lastZxid, durableZxid: this.durableZxid }, 'request.bug');
    this.options.onFatal(err);
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.fatal({ err }, 'store.append_failed');
    this.options.onFatal(err);
  }

  private maybeSnapshot(): void {
    if (this.txnsSinceSnapshot < this.config.snapshotEveryTxns || this.snapshotInFlight !== null) return;
    // A big tree waits for more transactions (config.snapshotTreeRatio): writing its every znode
    // each 100,000 transactions cost the event loop more than the transactions themselves (a tree
    // growing to 600,000 znodes, creates over 8 sessions: 62k ops/s in the last 3 s, 82k with no
    // snapshot at all).
    if (this.txnsSinceSnapshot < this.config.snapshotTreeRatio * this.znodesAtLastSnapshot) return;
    this.txnsSinceSnapshot = 0;
    this.znodesAtLastSnapshot = this.core.counts().znodeCount;
    // Read a chunk at a time while the server goes on (store/snapshot-stream.ts).
    const snapshot = this.core.beginSnapshot();
    this.snapshotInFlight = this.store.snapshot(snapshot).then(
      () => {
        this.snapshotInFlight = null;
      },
      (error: unknown) => {
        this.snapshotInFlight = null;
        this.logger.error({ err: error, zxid: snapshot.lastZxid }, 'store.snapshot_failed');
      },
    );
  }

  /** Queues a frame behind everything produced before it; sends at once when nothing waits. */
  private emit(connection: Connection | null, sessionId: string | null, zxid: number, text: string, startedAt: number, closeAfter: boolean): void {
    const output: Output = { zxid, connection, sessionId, text, startedAt, closeAfter };
    if (connection !== null && startedAt >= 0) {
      connection.outstanding++;
      this.outstandingTotal++;
    }
    if (this.outputsHead === this.outputs.length && zxid <= this.durableZxid) {
      this.deliver(output);
      return;
    }
    this.outputs.push(output);
  }

  private release(): void {
    const outputs = this.outputs;
    while (this.outputsHead < outputs.length) {
      const output = outputs[this.outputsHead]!;
      if (output.zxid > this.durableZxid) break;
      outputs[this.outputsHead++] = undefined;
      this.deliver(output);
    }
    if (this.outputsHead === outputs.length) {
      this.outputs = [];
      this.outputsHead = 0;
    } else if (this.outputsHead >= QUEUE_COMPACT_AT) {
      this.outputs = outputs.slice(this.outputsHead);
      this.outputsHead = 0;
    }
  }

  private deliver(output: Output): void {
    const { connection } = output;
    if (connection !== null) {
      if (output.startedAt >= 0) {
        connection.outstanding--;
        this.outstandingTotal--;
        this.requestLatency.record(performance.now() - output.startedAt);
      }
      this.send(connection, output.text);
      if (output.closeAfter) this.closeSocket(connection, 1000);
      return;
    }
    const session = this.sessions.get(output.sessionId!);
    if (session === undefined) return;
    if (session.connection !== null && session.connection.state === 'open') {
      this.send(session.connection, output.text);
      return;
    }
    if (session.pendingEvents.length >= this.config.pendingEventsPerSessionMax) {
      session.pendingEvents.shift();
      if (session.droppedEvents++ === 0) {
        this.logger.warn({ sessionId: output.sessionId, limit: this.config.pendingEventsPerSessionMax }, 'session.pending_events_full');
      }
    }
    if (this.config.pendingEventsPerSessionMax > 0) session.pendingEvents.push(output.text);
  }

  private send(connection: Connection, text: string): void {
    const socket = connection.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > this.config.connectionBufferedBytesMax) {
      // A client that does not read must not make us buffer without bound.
      this.logger.warn({ connection: connection.id, sessionId: connection.sessionId, buffered: socket.bufferedAmount }, 'connection.slow_closed');
      connection.state = 'closed';
      socket.terminate();
      return;
    }
    if (!connection.corked) {
      // Frames produced in one tick (all answers to one TCP read, or one group commit's
      // release) leave in one write: cork the TCP socket now, uncork at the end of the tick.
      // ws has no public cork; `_socket` is its net.Socket (ws's sender corks it the same way).
      const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (raw !== undefined) {
        raw.cork();
        connection.corked = true;
        process.nextTick(uncork, connection, raw);
      }
    }
    socket.send(text);
  }

  /** Sends a connection-level error at once and closes the connection. */
  private sendAndClose(connection: Connection, frame: ErrorFrame): void {
    this.send(connection, JSON.stringify(frame));
    connection.state = 'closed';
    this.closeSocket(connection, 1000);
  }

  private closeSocket(connection: Connection, code: number): void {
    const socket = connection.socket;
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(code);
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => {
      if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    }, 2000).unref();
  }

  // -------------------------------------------------------------------------
  // Monitoring and shutdown

  stats(): StatsResult {
    return {
      version: this.options.version,
      serverState: 'standalone',
      ...this.core.counts(),
      connections: this.connections.size,
      outstandingRequests: this.outstandingTotal,
      requestLatencyMs: this.requestLatency.summary(),
      fsyncLatencyMs: this.store.syncLatency(),
      store: this.store.kind,
      uptimeMs: this.clock() - this.startedAt,
      ...this.options.statsExtra?.(),
    };
  }

  /** Stops accepting, makes pending transactions durable, answers them, writes a snapshot, closes. */
  async close(options: { snapshot: boolean } = { snapshot: true }): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.containerTimer !== null) clearInterval(this.containerTimer);
    const wss = this.wss;
    const closed = wss === null ? Promise.resolve() : new Promise<void>((resolve) => wss.close(() => resolve()));
    for (let round = 0; round < 1000 && !this.failed && (this.appendInFlight !== null || this.pendingTxns.length > 0); round++) {
      if (this.appendInFlight !== null) await this.appendInFlight.catch(() => undefined);
      else this.flush();
    }
    if (this.snapshotInFlight !== null) await this.snapshotInFlight;
    if (options.snapshot && !this.failed && this.txnsSinceSnapshot > 0) {
      await this.store.snapshot(this.core.beginSnapshot()).catch((error: unknown) => this.logger.error({ err: error }, 'store.snapshot_failed'));
    }
    for (const connection of this.connections) {
      connection.state = 'closed';
      connection.socket.close(1001, 'server shutting down');
    }
    const deadline = setTimeout(() => {
      for (const connection of this.connections) connection.socket.terminate();
    }, 1000);
    await closed;
    clearTimeout(deadline);
    for (const connection of this.connections) connection.socket.terminate();
  }
}

function deletedCount(outcome: ExecuteOutcome): number {
  return outcome.txn?.type === 'closeSession' ? (outcome.txn.ephemerals ?? outcome.txn.deleted ?? []).length : 0;
}

function uncork(connection: Connection, raw: { uncork(): void }): void {
  connection.corked = false;
  raw.uncork();
}

/** A getData or multiRead result with its data (a Buffer from the core) in the connection's wire form. */
function wireResult(result: unknown, protocolVersion: number): unknown {
  const read = result as { data?: Buffer; stat: Stat; results?: Array<{ type: string; data?: Buffer }> };
  if (read.data !== undefined) return { data: wireData(read.data, protocolVersion), stat: read.stat };
  if (read.results === undefined) return result;
  return { results: read.results.map((entry) => (entry.data !== undefined ? { ...entry, data: wireData(entry.data, protocolVersion) } : entry)) };
}

function responseText(xid: number, zxid: number, ok: boolean, body: unknown): string {
  return ok
    ? JSON.stringify({ type: 'response', xid, zxid, ok: true, result: body })
    : JSON.stringify({ type: 'response', xid, zxid, ok: false, error: body });
}
