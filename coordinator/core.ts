/**
 * The coordinator's pure core: tree + sessions + watches behind CoordinatorCoreApi
 * (contract and write path explained in core-api.ts). No I/O, no clock, no randomness.
 *
 * A write is checked first, then applied; the changes it makes are collected as triggers and
 * turned into watch events only once the whole write has succeeded, so a failed multi fires
 * nothing and consumes no one-shot watch.
 */
import { assert, assertNever } from '../shared/assert';
import { OPEN_ACL } from '../shared/coordinator/acl';
import { PERMS } from '../shared/coordinator/protocol';
import type {
  Acl,
  CheckOp,
  CreateOp,
  DeleteOp,
  ErrorCode,
  MultiReadSubOp,
  MultiReadSubResult,
  MultiSubOp,
  MultiSubResult,
  SetAclOp,
  SetDataOp,
  Stat,
  StatsResult,
  WatchEventType,
} from '../shared/coordinator/protocol';
import { toBytes } from '../shared/coordinator/data';
import { parentOf, pathProblem, sequenceSuffix } from '../shared/coordinator/paths';
import type {
  CoordinatorCoreApi,
  CoordinatorLimits,
  CoreOperation,
  CoreSnapshot,
  ExecuteOutcome,
  SessionRecord,
  SnapshotSource,
  SubTxn,
  Txn,
  WatchDelivery,
} from './core-api';
import { AuthContext, grants, NO_AUTH, redacted, storedAcl } from './acl-check';
import { SessionTable } from './sessions';
import { DataTree, RESERVED_PATHS, Znode } from './tree';
import { WatchKind, WatchManager } from './watches';

/** A change to fire watches for; `acl` is the changed node's (for recursive watches on its ancestors). */
type Trigger = [path: string, event: WatchEventType, acl?: readonly Acl[]];

/** A checked-and-applied sub-operation, or why it could not be. */
type Step<R = MultiSubResult> =
  | { ok: true; sub: SubTxn; result: R }
  | { ok: false; code: ErrorCode; message: string; path: string };

class OpFailure {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly path?: string,
  ) {}
}

export class CoordinatorCore implements CoordinatorCoreApi {
  private tree = new DataTree();
  private readonly sessions = new SessionTable();
  private readonly watches = new WatchManager();
  private zxid = 0;
  /** Soft quota limits the write being executed went over (quota.ts); handed out with its outcome. */
  private quotaWarnings: string[] | null = null;

  constructor(private readonly limits: CoordinatorLimits) {}

  static fromSnapshot(snapshot: CoreSnapshot, limits: CoordinatorLimits, now: number): CoordinatorCore {
    const core = new CoordinatorCore(limits);
    core.tree = DataTree.fromRecords(snapshot.nodes);
    for (const session of snapshot.sessions) core.sessions.add(session, now);
    core.zxid = snapshot.lastZxid;
    return core;
  }

  get lastZxid(): number {
    return this.zxid;
  }

  // -------------------------------------------------------------------------
  // Sessions

  createSession(requestedTimeoutMs: number, now: number, sessionId: string, password: string): { txn: Txn; timeoutMs: number } {
    assert(!this.sessions.has(sessionId), `session id ${sessionId} reused`);
    const timeoutMs = Math.min(this.limits.sessionTimeoutMaxMs, Math.max(this.limits.sessionTimeoutMinMs, Math.round(requestedTimeoutMs)));
    const txn: Txn = { type: 'createSession', zxid: ++this.zxid, time: now, sessionId, password, timeoutMs };
    this.sessions.add({ sessionId, password, timeoutMs }, now);
    return { txn, timeoutMs };
  }

  sessionFor(sessionId: string): SessionRecord | null {
    return this.sessions.get(sessionId);
  }

  touchSession(sessionId: string, now: number): void {
    this.sessions.touch(sessionId, now);
  }

  touchAllSessions(now: number): void {
    for (const session of this.sessions.records()) this.sessions.touch(session.sessionId, now);
  }

  attachSession(sessionId: string, requestedGraceMs: number | undefined, now: number): number {
    const session = this.sessions.get(sessionId);
    if (session === null) return 0;
    const graceMs = requestedGraceMs === undefined ? 0 : Math.min(session.timeoutMs, Math.max(1, Math.round(requestedGraceMs)));
    this.sessions.attach(sessionId, graceMs, now);
    return graceMs;
  }

  detachSession(sessionId: string, now: number): number {
    return this.sessions.detach(sessionId, now);
  }

  /** When the session will expire if nothing touches it; null for an unknown session. */
  sessionDeadline(sessionId: string): number | null {
    return this.sessions.deadlineOf(sessionId);
  }

  expiredSessions(now: number): string[] {
    return this.sessions.expired(now);
  }

  closeSession(sessionId: string, now: number): ExecuteOutcome {
    if (!this.sessions.has(sessionId)) return { txn: null, zxid: this.zxid, reply: { ok: true, result: {} }, events: [] };
    const zxid = this.zxid + 1;
    const triggers: Trigger[] = [];
    const ephemerals = [...this.tree.ephemeralsOf(sessionId)].sort();
    for (const path of ephemerals) this.deleteNode(path, zxid, triggers);
    // The session's own watches fire too (ZooKeeper tells a closing client its ephemerals went);
    // only then are they dropped.
    const events = this.fire(triggers, zxid);
    this.watches.removeSession(sessionId);
    this.sessions.remove(sessionId);
    this.zxid = zxid;
    return { txn: { type: 'closeSession', zxid, time: now, sessionId, ephemerals }, zxid, reply: { ok: true, result: {} }, events };
  }

  // -------------------------------------------------------------------------
  // Containers (ZooKeeper's ContainerManager; the server runs the check on a timer)

  containerCandidates(): string[] {
    const candidates: string[] = [];
    for (const path of this.tree.containers) {
      const node = this.tree.get(path)!;
      if (node.children.size === 0 && node.cversion > 0) candidates.push(path);
    }
    return candidates.sort();
  }

  deleteContainer(path: string, now: number): ExecuteOutcome {
    const node = this.tree.get(path);
    if (node === undefined || !node.container || node.children.size > 0) return this.read({});
    const zxid = ++this.zxid;
    const triggers: Trigger[] = [];
    this.deleteNode(path, zxid, triggers);
    return { txn: { type: 'delete', zxid, time: now, path }, zxid, reply: { ok: true, result: {} }, events: this.fire(triggers, zxid) };
  }

  // -------------------------------------------------------------------------
  // Operations

  execute(sessionId: string, operation: CoreOperation, now: number, auth: AuthContext = NO_AUTH): ExecuteOutcome {
    assert(this.sessions.has(sessionId), `execute for unknown session ${sessionId}`);
    try {
      switch (operation.op) {
        case 'create':
        case 'delete':
        case 'setData':
        case 'setACL':
          return this.withQuotaWarnings(this.single(sessionId, operation, now, auth));
        case 'multi':
          return this.withQuotaWarnings(this.multi(sessionId, operation.ops, now, auth));
        case 'exists': {
          this.checkPath(operation.path);
          if (operation.watch === true) this.addWatch(sessionId, 'data', operation.path);
          const node = this.tree.get(operation.path);
          return this.read({ stat: node === undefined ? null : this.tree.stat(node) });
        }
        case 'getData': {
          const node = this.readable(operation.path, auth);
          if (operation.watch === true) this.addWatch(sessionId, 'data', operation.path);
          return this.read(this.tree.readData(node));
        }
        case 'getChildren': {
          const node = this.readable(operation.path, auth);
          if (operation.watch === true) this.addWatch(sessionId, 'child', operation.path);
          const children = this.tree.childNames(node);
          return this.read(operation.withStat === true ? { children, stat: this.tree.stat(node) } : { children });
        }
        case 'sync':
          this.checkPath(operation.path);
          return this.read({ path: operation.path });
        case 'getEphemerals': {
          const prefix = operation.prefix ?? '/';
          const paths = [...this.tree.ephemeralsOf(sessionId)].filter((path) => path.startsWith(prefix)).sort();
          return this.read({ paths });
        }
        case 'addWatch':
          this.checkPath(operation.path);
          // A watch on an existing node needs READ on it (one on a missing path needs nothing, as exists).
          if (this.tree.get(operation.path) !== undefined) this.readable(operation.path, auth);
          this.addWatch(sessionId, operation.mode === 'persistent' ? 'persistent' : 'recursive', operation.path);
          return this.read({});
        case 'multiRead':
          return this.read({ results: operation.ops.map((op) => this.readOne(op, auth)) });
        case 'getAllChildrenNumber':
          return this.read({ totalNumber: this.tree.descendantCount(this.readable(operation.path, auth)) });
        case 'getACL': {
          // READ or ADMIN lets a caller see the ACL; without ADMIN digest ids are redacted (ZooKeeper 3.8).
          const node = this.existing(operation.path);
          this.permit(node.acl, PERMS.read | PERMS.admin, auth, operation.path);
          const acl = grants(node.acl, PERMS.admin, auth) ? node.acl.map((entry) => ({ ...entry })) : redacted(node.acl);
          return this.read({ acl, stat: this.tree.stat(node) });
        }
        case 'removeWatches': {
          this.checkPath(operation.path);
          if (this.watches.remove(sessionId, operation.path, operation.watcherType) === 0) {
            throw new OpFailure('NoWatcher', `no ${operation.watcherType} watch`, operation.path);
          }
          return this.read({});
        }
        default:
          return assertNever(operation, 'operation');
      }
    } catch (error) {
      if (!(error instanceof OpFailure)) throw error;
      return this.failure(error.code, error.message, error.path);
    }
  }

  private single(sessionId: string, operation: CreateOp<Buffer> | DeleteOp | SetDataOp<Buffer> | SetAclOp, now: number, auth: AuthContext): ExecuteOutcome {
    const zxid = this.zxid + 1;
    const triggers: Trigger[] = [];
    const step = operation.op === 'setACL' ? this.setAcl(operation, auth) : this.step(sessionId, operation, zxid, now, triggers, auth);
    if (!step.ok) return this.failure(step.code, step.message, step.path);
    this.zxid = zxid;
    const sub = step.sub;
    let txn: Txn;
    let result: unknown;
    switch (sub.type) {
      case 'create':
        txn = { type: 'create', zxid, time: now, path: sub.path, data: sub.data, ephemeralOwner: sub.ephemeralOwner, container: sub.container };
        if (sub.acl !== undefined) txn.acl = sub.acl;
        result = operation.op === 'create' && operation.withStat === false ? { path: sub.path } : { path: sub.path, stat: (step.result as { stat: unknown }).stat };
        break;
      case 'delete':
        txn = { type: 'delete', zxid, time: now, path: sub.path };
        result = {};
        break;
      case 'setData':
        txn = { type: 'setData', zxid, time: now, path: sub.path, data: sub.data };
        result = { stat: (step.result as { stat: unknown }).stat };
        break;
      case 'setACL':
        txn = { type: 'setACL', zxid, time: now, path: sub.path, acl: sub.acl };
        result = { stat: (step.result as { stat: unknown }).stat };
        break;
      case 'check':
        throw new Error('unreachable: check is multi-only');
    }
    return { txn, zxid, reply: { ok: true, result }, events: this.fire(triggers, zxid) };
  }

  /**
   * One read of a multiRead: its result, or its own error (the others are unaffected). Data is
   * bytes here; the server puts it in each connection's wire form.
   */
  private readOne(op: MultiReadSubOp, auth: AuthContext): Exclude<MultiReadSubResult, { type: 'getData' }> | { type: 'getData'; data: Buffer; stat: Stat } {
    try {
      const node = this.readable(op.path, auth);
      return op.op === 'getData' ? { type: 'getData', ...this.tree.readData(node) } : { type: 'getChildren', children: this.tree.childNames(node) };
    } catch (error) {
      if (!(error instanceof OpFailure)) throw error;
      return { type: 'error', code: error.code };
    }
  }

  /** No count limit: a multi holds as many operations as fit in one frame (the request size limit). */
  private multi(sessionId: string, ops: MultiSubOp<Buffer>[], now: number, auth: AuthContext): ExecuteOutcome {
    if (ops.length === 0) return this.read({ results: [] });
    const zxid = this.zxid + 1;
    const triggers: Trigger[] = [];
    const subs: SubTxn[] = [];
    const results: MultiSubResult[] = [];
    this.tree.begin();
    for (let i = 0; i < ops.length; i++) {
      const step = this.step(sessionId, ops[i]!, zxid, now, triggers, auth);
      if (!step.ok) {
        this.tree.rollback();
        const errors: MultiSubResult[] = ops.map((_, j) => ({ type: 'error', code: j < i ? 'Ok' : j === i ? step.code : 'RuntimeInconsistency' }));
        return { txn: null, zxid: this.zxid, reply: { ok: false, code: step.code, message: step.message, path: step.path, results: errors }, events: [] };
      }
      subs.push(step.sub);
      results.push(step.result);
    }
    this.tree.commit();
    this.zxid = zxid;
    return { txn: { type: 'multi', zxid, time: now, txns: subs }, zxid, reply: { ok: true, result: { results } }, events: this.fire(triggers, zxid) };
  }

  /** Checks one write and, when it may go ahead, applies it to the tree. */
  private step(sessionId: string, op: MultiSubOp<Buffer>, zxid: number, now: number, triggers: Trigger[], auth: AuthContext): Step {
    try {
      switch (op.op) {
        case 'create':
          return this.create(sessionId, op, zxid, now, triggers, auth);
        case 'delete': {
          const node = this.writable(op, auth);
          if (node.children.size > 0) throw new OpFailure('NotEmpty', `${node.children.size} children`, op.path);
          this.deleteNode(op.path, zxid, triggers);
          return { ok: true, sub: { type: 'delete', path: op.path }, result: { type: 'delete' } };
        }
        case 'setData': {
          this.checkData(op.data, op.path);
          const growth = op.data.length - this.writable(op, auth).dataBytes;
          this.checkQuota(op.path, 0, growth, growth);
          const node = this.tree.setData(op.path, op.data, zxid, now);
          triggers.push([op.path, 'NodeDataChanged', node.acl]);
          return { ok: true, sub: { type: 'setData', path: op.path, data: op.data }, result: { type: 'setData', stat: this.tree.stat(node) } };
        }
        case 'check':
          this.writable(op, auth);
          return { ok: true, sub: { type: 'check', path: op.path }, result: { type: 'check' } };
        default:
          return assertNever(op, 'multi operation');
      }
    } catch (error) {
      if (!(error instanceof OpFailure)) throw error;
      return { ok: false, code: error.code, message: error.message, path: error.path ?? (op as { path: string }).path };
    }
  }

  /** setACL: ADMIN on the node, a valid ACL, the expected aversion (ZooKeeper's order: ACL validity first). */
  private setAcl(op: SetAclOp, auth: AuthContext): Step<{ type: 'setACL'; stat: Stat }> {
    try {
      this.checkPath(op.path);
      const acl = this.aclToStore(op.acl, auth, op.path);
      const node = this.tree.get(op.path);
      if (node === undefined) throw new OpFailure('NoNode', '', op.path);
      this.permit(node.acl, PERMS.admin, auth, op.path);
      if (op.version !== -1 && op.version !== node.aversion) {
        throw new OpFailure('BadVersion', `expected aversion ${op.version}, node is at ${node.aversion}`, op.path);
      }
      this.tree.setAcl(op.path, acl);
      return { ok: true, sub: { type: 'setACL', path: op.path, acl }, result: { type: 'setACL', stat: this.tree.stat(node) } };
    } catch (error) {
      if (!(error instanceof OpFailure)) throw error;
      return { ok: false, code: error.code, message: error.message, path: error.path ?? op.path };
    }
  }

  private create(sessionId: string, op: CreateOp<Buffer>, zxid: number, now: number, triggers: Trigger[], auth: AuthContext): Step {
    const sequential = op.mode === 'persistent_sequential' || op.mode === 'ephemeral_sequential';
    const problem = pathProblem(op.path, this.limits.pathBytesMax, sequential);
    if (problem !== null) throw new OpFailure('BadArguments', problem, op.path);
    if (op.path === '/') throw new OpFailure('NodeExists', 'the root always exists', op.path);
    this.checkData(op.data, op.path);
    const parentPath = parentOf(op.path);
    const parent = this.tree.get(parentPath);
    if (parent === undefined) throw new OpFailure('NoNode', `parent ${parentPath} does not exist`, op.path);
    this.permit(parent.acl, PERMS.create, auth, op.path);
    const acl = this.aclToStore(op.acl, auth, op.path);
    if (parent.ephemeralOwner !== '0') throw new OpFailure('NoChildrenForEphemerals', `parent ${parentPath} is ephemeral`, op.path);
    // The suffix is the parent's cversion before this create, as in ZooKeeper.
    const path = sequential ? op.path + sequenceSuffix(parent.cversion) : op.path;
    if (Buffer.byteLength(path, 'utf8') > this.limits.pathBytesMax) throw new OpFailure('BadArguments', `path longer than ${this.limits.pathBytesMax} bytes`, path);
    if (this.tree.get(path) !== undefined) throw new OpFailure('NodeExists', '', path);
    const ephemeralOwner = op.mode === 'ephemeral' || op.mode === 'ephemeral_sequential' ? sessionId : '0';
    const container = op.mode === 'container';
    this.checkQuota(path, 1, op.data.length, op.data.length + path.length);
    const node = this.tree.create(path, op.data, ephemeralOwner, container, zxid, now, acl);
    triggers.push([path, 'NodeCreated', acl], [parentPath, 'NodeChildrenChanged']);
    const sub: SubTxn = acl === OPEN_ACL ? { type: 'create', path, data: op.data, ephemeralOwner, container } : { type: 'create', path, data: op.data, ephemeralOwner, container, acl };
    return { ok: true, sub, result: { type: 'create', path, stat: this.tree.stat(node) } };
  }

  /**
   * Deletes `path` alone. An emptied container parent stays until the periodic container check
   * (containerCandidates), as in ZooKeeper: "delete the last child, then create another" works.
   */
  private deleteNode(path: string, zxid: number, triggers: Trigger[]): void {
    const acl = this.tree.get(path)?.acl;
    this.tree.delete(path, zxid);
    triggers.push([path, 'NodeDeleted', acl], [parentOf(path), 'NodeChildrenChanged']);
  }

  // -------------------------------------------------------------------------
  // Start-up and monitoring

  replay(txn: Txn): void {
    if (txn.zxid <= this.zxid) return; // already in the snapshot
    switch (txn.type) {
      case 'createSession':
        this.sessions.add({ sessionId: txn.sessionId, password: txn.password, timeoutMs: txn.timeoutMs }, txn.time);
        break;
      case 'closeSession':
        if (txn.deleted !== undefined) {
          for (const path of txn.deleted) this.replayDelete(path, txn.zxid, true); // legacy form (Txn)
        } else {
          for (const path of txn.ephemerals) this.replayDelete(path, txn.zxid, false);
        }
        this.sessions.remove(txn.sessionId);
        break;
      case 'create':
      case 'delete':
      case 'setData':
      case 'setACL':
        this.replaySub(txn, txn.zxid, txn.time);
        break;
      case 'multi':
        for (const sub of txn.txns) this.replaySub(sub, txn.zxid, txn.time);
        break;
      default:
        assertNever(txn, 'transaction');
    }
    this.zxid = txn.zxid;
  }

  private replaySub(sub: SubTxn, zxid: number, time: number): void {
    switch (sub.type) {
      case 'create':
        // A log from before the reserved subtree existed may hold its own create of one of them.
        if (RESERVED_PATHS.includes(sub.path) && this.tree.get(sub.path) !== undefined) break;
        this.tree.create(sub.path, toBytes(sub.data), sub.ephemeralOwner, sub.container, zxid, time, sub.acl === undefined ? OPEN_ACL : this.tree.acls.intern(sub.acl));
        break;
      case 'setACL':
        this.tree.setAcl(sub.path, this.tree.acls.intern(sub.acl));
        break;
      case 'delete':
        if (sub.alsoDeleted !== undefined) {
          // Legacy form (Txn): deletes advanced cversion then, and emptied containers went at once.
          this.replayDelete(sub.path, zxid, true);
          for (const path of sub.alsoDeleted) this.replayDelete(path, zxid, true);
        } else {
          this.replayDelete(sub.path, zxid, false);
        }
        break;
      case 'setData':
        this.tree.setData(sub.path, toBytes(sub.data), zxid, time);
        break;
      case 'check':
        break;
      default:
        assertNever(sub, 'sub-transaction');
    }
  }

  /** A log from before the reserved subtree existed may delete its own node of that name: it stays. */
  private replayDelete(path: string, zxid: number, legacyCversion: boolean): void {
    if (RESERVED_PATHS.includes(path)) return;
    this.tree.delete(path, zxid, legacyCversion);
  }

  snapshot(): CoreSnapshot {
    return { lastZxid: this.zxid, nodes: this.tree.records(), sessions: this.sessions.records() };
  }

  beginSnapshot(): SnapshotSource {
    const nodes = this.tree.beginSnapshot(this.zxid);
    return { lastZxid: this.zxid, sessions: this.sessions.records(), nextNodes: (nodesMax, bytesMax) => nodes.next(nodesMax, bytesMax), close: () => nodes.close() };
  }

  counts(): Pick<StatsResult, 'znodeCount' | 'ephemeralsCount' | 'watchCount' | 'sessions' | 'approximateDataSize' | 'lastZxid'> {
    return {
      znodeCount: this.tree.size,
      ephemeralsCount: this.tree.ephemeralsTotal,
      watchCount: this.watches.count,
      sessions: this.sessions.size,
      approximateDataSize: this.tree.approximateDataSize,
      lastZxid: this.zxid,
    };
  }

  // -------------------------------------------------------------------------
  // Helpers

  /**
   * Server-wide totals and subtree quotas against a write that grows the tree (quota.ts): an
   * exceeded hard limit or total refuses it, an exceeded soft limit only warns.
   */
  private checkQuota(path: string, countDelta: number, bytesDelta: number, sizeDelta: number): void {
    if (countDelta === 0 && bytesDelta <= 0) return; // shrinking or same-size data always goes
    const verdict = this.tree.quotas.check(path, countDelta, bytesDelta, sizeDelta, this.limits);
    if (verdict === null) return;
    if (verdict.refused !== null) throw new OpFailure(verdict.refused.code, verdict.refused.message, path);
    (this.quotaWarnings ??= []).push(...verdict.warnings);
  }

  /** A successful write carries the soft-limit warnings it caused; a failed one (a multi rolled back) none. */
  private withQuotaWarnings(outcome: ExecuteOutcome): ExecuteOutcome {
    const warnings = this.quotaWarnings;
    if (warnings === null) return outcome;
    this.quotaWarnings = null;
    return outcome.txn === null ? outcome : { ...outcome, quotaWarnings: warnings };
  }

  private read(result: unknown): ExecuteOutcome {
    return { txn: null, zxid: this.zxid, reply: { ok: true, result }, events: [] };
  }

  private failure(code: ErrorCode, message: string, path?: string): ExecuteOutcome {
    const reply: ExecuteOutcome['reply'] = path === undefined ? { ok: false, code, message } : { ok: false, code, message, path };
    return { txn: null, zxid: this.zxid, reply, events: [] };
  }

  private fire(triggers: Trigger[], zxid: number): WatchDelivery[] {
    if (this.watches.count === 0) return [];
    const events: WatchDelivery[] = [];
    for (const [path, event, acl] of triggers) this.watches.trigger(path, event, zxid, events, acl);
    return events;
  }

  private checkPath(path: string): void {
    const problem = pathProblem(path, this.limits.pathBytesMax);
    if (problem !== null) throw new OpFailure('BadArguments', problem, path);
  }

  private checkData(data: Buffer, path: string): void {
    if (data.length > this.limits.dataBytesMax) {
      throw new OpFailure('BadArguments', `data larger than ${this.limits.dataBytesMax} bytes`, path);
    }
  }

  /** The node at `path` when the caller may read it. */
  private readable(path: string, auth: AuthContext): Znode {
    const node = this.existing(path);
    this.permit(node.acl, PERMS.read, auth, path);
    return node;
  }

  /** NoAuth unless `acl` grants one of `perm`'s bits to `auth`. */
  private permit(acl: readonly Acl[], perm: number, auth: AuthContext, path: string): void {
    if (!grants(acl, perm, auth)) throw new OpFailure('NoAuth', `not permitted (${permName(perm)})`, path);
  }

  private aclToStore(acl: Acl[] | undefined, auth: AuthContext, path: string): readonly Acl[] {
    const stored = storedAcl(acl, auth, this.tree.acls);
    if (typeof stored === 'string') throw new OpFailure('InvalidACL', stored, path);
    return stored;
  }

  private existing(path: string): Znode {
    this.checkPath(path);
    const node = this.tree.get(path);
    if (node === undefined) throw new OpFailure('NoNode', '', path);
    return node;
  }

  /**
   * The node a delete/setData/check targets, after its ACL check (DELETE on the parent, WRITE on
   * the node, READ on the node for check) and then its version check, ZooKeeper's order.
   */
  private writable(op: DeleteOp | SetDataOp<Buffer> | CheckOp, auth: AuthContext): Znode {
    this.checkPath(op.path);
    if (op.op === 'delete' && op.path === '/') throw new OpFailure('BadArguments', 'the root cannot be deleted', op.path);
    if (op.op === 'delete' && RESERVED_PATHS.includes(op.path)) throw new OpFailure('BadArguments', `${op.path} is reserved`, op.path);
    const node = this.tree.get(op.path);
    if (node === undefined) throw new OpFailure('NoNode', '', op.path);
    if (op.op === 'delete') this.permit(this.tree.get(parentOf(op.path))!.acl, PERMS.delete, auth, op.path);
    else this.permit(node.acl, op.op === 'setData' ? PERMS.write : PERMS.read, auth, op.path);
    // Any version other than -1 must match: -2 and below are BadVersion too, as in ZooKeeper.
    if (op.version !== -1 && op.version !== node.version) {
      throw new OpFailure('BadVersion', `expected version ${op.version}, node is at ${node.version}`, op.path);
    }
    return node;
  }

  private addWatch(sessionId: string, kind: WatchKind, path: string): void {
    if (!this.watches.has(kind, path, sessionId) && this.watches.countFor(sessionId) >= this.limits.watchesPerSessionMax) {
      throw new OpFailure('BadArguments', `a session may hold at most ${this.limits.watchesPerSessionMax} watches`, path);
    }
    this.watches.add(kind, path, sessionId);
  }
}

function permName(perm: number): string {
  const names = Object.entries(PERMS)
    .filter(([, bit]) => (perm & bit) !== 0)
    .map(([name]) => name.toUpperCase());
  return names.join(' or ');
}
