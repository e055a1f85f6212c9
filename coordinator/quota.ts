/**
 * Quotas, ZooKeeper 3.7's model (Quotas, StatsTrack, DataTree.updateQuotaStat,
 * ZooKeeperServer.checkQuota), plus Samsa's server-wide totals.
 *
 * A quota on path P is the node /zookeeper/quota<P>/zookeeper_limits, its data in StatsTrack's
 * text form: "count=10,bytes=-1" (soft limits, -1 = none) and, from 3.7, hard limits after a
 * "=;" ("count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=20"). /zookeeper/quota<P>/zookeeper_stats
 * shows the usage "count=N,bytes=M": nodes in P's subtree counting P itself, and their data bytes.
 * A soft limit exceeded is only a warning; a hard one refuses the create or setData that would
 * exceed it with QuotaExceeded (ZooKeeper does so only with zookeeper.enforceQuota=true; Samsa
 * enforces by default, `enforceQuota` turns it off). A write that does not grow the usage
 * (delete, setData to fewer bytes) always succeeds.
 *
 * Usage is not stored by transactions. ZooKeeper rewrites the zookeeper_stats node in memory,
 * outside its log, and its fuzzy snapshots catch whatever value it had. Here the counters live
 * in this table and are derived from the tree alone: DataTree reports every node it inserts,
 * removes or resizes (create, delete, setData, multi rollback, replay all go through those), a
 * quota's usage is counted from its subtree when its limits node appears, and a restore from a
 * snapshot counts every quota afresh. A read of a zookeeper_stats node is answered from the
 * counters; the stored data (what setquota wrote, "count=0,bytes=0") is never consulted. So
 * the counters cannot drift from the tree, whatever order a log or snapshot holds things in.
 *
 * Quotas do not nest (ZooKeeper's setquota refuses one above or below another): creating a
 * limits node inside or around another quota's subtree is BadArguments. Quotas on / and on
 * /zookeeper... are not tracked (ZooKeeper's setquota refuses /zookeeper/quota; the server-wide
 * totals cover /).
 */
import { assert } from '../shared/assert';
import { isWithin, parentOf } from '../shared/coordinator/paths';
import type { ErrorCode } from '../shared/coordinator/protocol';

export const QUOTA_PATH = '/zookeeper/quota';
export const LIMITS_NODE = 'zookeeper_limits';
export const STATS_NODE = 'zookeeper_stats';
const QUOTA_PREFIX = `${QUOTA_PATH}/`;

/** Soft (count, bytes) and hard limits of one quota; -1 = none. */
export interface QuotaLimits {
  count: number;
  bytes: number;
  countHardLimit: number;
  byteHardLimit: number;
}

export const NO_QUOTA_LIMITS: Readonly<QuotaLimits> = Object.freeze({ count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1 });

export interface QuotaUsage {
  count: number;
  bytes: number;
}

/** What the server-wide totals and the enforcement switch are (CoordinatorLimits carries them). */
export interface TotalLimits {
  /** Data bytes plus path characters of every znode (as approximateDataSize). */
  dataTotalBytesMax: number;
  /** Znodes in the tree, the reserved ones included; -1 = no limit. */
  znodeCountMax: number;
  /** Hard quota limits refuse writes (true) or only warn (false, ZooKeeper's default). */
  enforceQuota: boolean;
}

/** The tree as the table sees it (DataTree). */
export interface QuotaTreeView {
  get(path: string): { readonly data: Buffer; readonly children: ReadonlySet<string> } | undefined;
  readonly size: number;
  readonly approximateDataSize: number;
}

/** Why a write may not go ahead, and what it should warn about when it does. */
export interface QuotaVerdict {
  refused: { code: ErrorCode; message: string } | null;
  warnings: string[];
}

const LIMIT_KEYS = ['count', 'bytes', 'countHardLimit', 'byteHardLimit'] as const;

/**
 * StatsTrack's parser: pairs separated by ',' or ';', "key=value", an empty value is -1, unknown
 * keys are ignored. Null when a value is not an integer ≥ -1 (then the quota has no limits,
 * where ZooKeeper would fail on it).
 */
export function parseQuotaLimits(text: string): QuotaLimits | null {
  const limits: QuotaLimits = { ...NO_QUOTA_LIMITS };
  if (text === '') return limits;
  for (const pair of text.split(/[,;]+/)) {
    if (pair === '') continue;
    // "bytes=5=" is 3.7's trick for older parsers: the trailing '=' is not part of the value.
    const [key = '', raw = ''] = pair.split('=');
    const value = raw === '' ? -1 : Number(raw);
    if (!Number.isSafeInteger(value) || value < -1) return null;
    if ((LIMIT_KEYS as readonly string[]).includes(key)) limits[key as (typeof LIMIT_KEYS)[number]] = value;
  }
  return limits;
}

/** StatsTrack.toString: count and bytes first, then the hard limits (when set) after "=;", sorted by key. */
export function formatQuotaLimits(limits: QuotaLimits): string {
  const base = `count=${limits.count},bytes=${limits.bytes}`;
  const hard: string[] = [];
  if (limits.byteHardLimit !== -1) hard.push(`byteHardLimit=${limits.byteHardLimit}`);
  if (limits.countHardLimit !== -1) hard.push(`countHardLimit=${limits.countHardLimit}`);
  return hard.length === 0 ? base : `${base}=;${hard.join(';')}`;
}

export function formatQuotaUsage(usage: QuotaUsage): string {
  return `count=${usage.count},bytes=${usage.bytes}`;
}

export function quotaLimitsPath(path: string): string {
  return `${QUOTA_PATH}${path}/${LIMITS_NODE}`;
}

export function quotaStatsPath(path: string): string {
  return `${QUOTA_PATH}${path}/${STATS_NODE}`;
}

/** Whether a quota may be set on `path` at all: not on /, not in /zookeeper. */
export function quotaTargetProblem(path: string): string | null {
  if (path === '/') return 'a quota on / is not tracked: the server-wide totals cover it';
  if (isWithin(path, '/zookeeper')) return `cannot set a quota under /zookeeper`;
  return null;
}

/** P for /zookeeper/quota<P>/<leaf>, or null when `nodePath` is not such a node of a quota Samsa tracks. */
export function quotaTargetOf(nodePath: string, leaf: string): string | null {
  // Asked of every node the tree gains or loses: the constant prefix test rejects nearly all at once.
  if (!nodePath.startsWith(QUOTA_PREFIX) || !nodePath.endsWith(leaf) || nodePath.charCodeAt(nodePath.length - leaf.length - 1) !== 47 /* '/' */) return null;
  const target = nodePath.slice(QUOTA_PATH.length, nodePath.length - leaf.length - 1);
  if (target === '' || quotaTargetProblem(target) !== null) return null;
  return target;
}

interface QuotaEntry {
  limits: QuotaLimits;
  usage: QuotaUsage;
}

/**
 * The quotas in force and their usage. Fed by DataTree (added/removed/resized), asked by the
 * core before a write (check) and for a zookeeper_stats read (statsData).
 */
export class QuotaTable {
  /** Quota root path -> limits and usage. Looked up for each ancestor of a written path. */
  private readonly entries = new Map<string, QuotaEntry>();
  private paused = false;

  constructor(private readonly tree: QuotaTreeView) {}

  get size(): number {
    return this.entries.size;
  }

  limitsOf(path: string): QuotaLimits | null {
    return this.entries.get(path)?.limits ?? null;
  }

  usageOf(path: string): QuotaUsage | null {
    const entry = this.entries.get(path);
    return entry === undefined ? null : { ...entry.usage };
  }

  /** A node entered the tree (create, rollback, replay). */
  added(path: string, data: Buffer): void {
    if (this.paused) return;
    const target = quotaTargetOf(path, LIMITS_NODE);
    if (target !== null) this.entries.set(target, { limits: parseQuotaLimits(data.toString('utf8')) ?? { ...NO_QUOTA_LIMITS }, usage: this.count(target) });
    this.adjust(path, 1, data.length);
  }

  /** A node left the tree (delete, session close, container removal, rollback). */
  removed(path: string, data: Buffer): void {
    if (this.paused) return;
    const target = quotaTargetOf(path, LIMITS_NODE);
    if (target !== null) this.entries.delete(target);
    this.adjust(path, -1, -data.length);
  }

  /** A node's data was replaced (setData); called before the node holds `data`. */
  resized(path: string, previous: Buffer, data: Buffer): void {
    if (this.paused) return;
    const target = quotaTargetOf(path, LIMITS_NODE);
    if (target !== null) this.entries.get(target)!.limits = parseQuotaLimits(data.toString('utf8')) ?? { ...NO_QUOTA_LIMITS };
    this.adjust(path, 0, data.length - previous.length);
  }

  isLimitsNode(path: string): boolean {
    return quotaTargetOf(path, LIMITS_NODE) !== null;
  }

  /** Stop following changes until rebuild() (a snapshot restore, a rollback that touched a limits node). */
  pause(): void {
    this.paused = true;
  }

  /** Finds every limits node and counts each quota's subtree afresh. */
  rebuild(): void {
    this.paused = false;
    this.entries.clear();
    const stack = [QUOTA_PATH];
    while (stack.length > 0) {
      const at = stack.pop()!;
      const node = this.tree.get(at);
      if (node === undefined) continue;
      if (this.isLimitsNode(at)) this.added(at, node.data);
      for (const child of node.children) stack.push(`${at}/${child}`);
    }
  }

  /**
   * May a write that adds `countDelta` nodes and `bytesDelta` data bytes at `path` (and grows the
   * tree's approximate size by `sizeDelta`) go ahead? Null when there is nothing to say, which is
   * the common case: no quota, totals far off.
   */
  check(path: string, countDelta: number, bytesDelta: number, sizeDelta: number, totals: TotalLimits): QuotaVerdict | null {
    assert(countDelta >= 0, 'quota check of a shrinking write');
    if (countDelta > 0 && totals.znodeCountMax >= 0 && this.tree.size + countDelta > totals.znodeCountMax) {
      return refuse('QuotaExceeded', `the tree holds ${this.tree.size} znodes, the limit (znodeCountMax) is ${totals.znodeCountMax}`);
    }
    if (sizeDelta > 0 && this.tree.approximateDataSize + sizeDelta > totals.dataTotalBytesMax) {
      return refuse('QuotaExceeded', `the tree would hold ${this.tree.approximateDataSize + sizeDelta} bytes (data + path characters), the limit (dataTotalBytesMax) is ${totals.dataTotalBytesMax}`);
    }
    if (countDelta > 0) {
      const nesting = this.nestingProblem(path);
      if (nesting !== null) return refuse('BadArguments', nesting);
    }
    if (this.entries.size === 0) return null;
    let verdict: QuotaVerdict | null = null;
    for (let at = path; ; at = parentOf(at)) {
      const entry = this.entries.get(at);
      if (entry !== undefined) {
        verdict = judge(at, entry, countDelta, bytesDelta, totals.enforceQuota, verdict);
        if (verdict?.refused != null) return verdict;
      }
      if (at === '/') break;
    }
    return verdict;
  }

  /** The live usage a read of /zookeeper/quota<P>/zookeeper_stats answers with; null for any other node. */
  statsData(path: string): Buffer | null {
    if (this.entries.size === 0 || !path.endsWith(STATS_NODE)) return null;
    const target = quotaTargetOf(path, STATS_NODE);
    const entry = target === null ? undefined : this.entries.get(target);
    return entry === undefined ? null : Buffer.from(formatQuotaUsage(entry.usage), 'utf8');
  }

  /** A new limits node above or below a quota already in force would nest quotas. */
  private nestingProblem(path: string): string | null {
    const target = quotaTargetOf(path, LIMITS_NODE);
    if (target === null) return null;
    for (const other of this.entries.keys()) {
      if (other === target) continue;
      if (isWithin(target, other)) return `${target} has a parent ${other} which has a quota`;
      if (isWithin(other, target)) return `${target} has a child ${other} which has a quota`;
    }
    return null;
  }

  private adjust(path: string, countDelta: number, bytesDelta: number): void {
    if (this.entries.size === 0) return;
    for (let at = path; ; at = parentOf(at)) {
      const entry = this.entries.get(at);
      if (entry !== undefined) {
        entry.usage.count += countDelta;
        entry.usage.bytes += bytesDelta;
        assert(entry.usage.count >= 0 && entry.usage.bytes >= 0, `quota usage of ${at} below zero`);
      }
      if (at === '/') break;
    }
  }

  /** Nodes and data bytes of `root`'s subtree, `root` included (ZooKeeper's DataTree.getCounts). */
  private count(root: string): QuotaUsage {
    const usage: QuotaUsage = { count: 0, bytes: 0 };
    const stack = [root];
    while (stack.length > 0) {
      const at = stack.pop()!;
      const node = this.tree.get(at);
      if (node === undefined) continue;
      usage.count++;
      usage.bytes += node.data.length;
      for (const child of node.children) stack.push(`${at}/${child}`);
    }
    return usage;
  }
}

function refuse(code: ErrorCode, message: string): QuotaVerdict {
  return { refused: { code, message }, warnings: [] };
}

/**
 * One quota against a growing write, as ZooKeeper's checkQuota: where a hard limit is set it is
 * the one that counts (refuses, or warns when not enforced); otherwise an exceeded soft limit warns.
 */
function judge(root: string, entry: QuotaEntry, countDelta: number, bytesDelta: number, enforce: boolean, verdict: QuotaVerdict | null): QuotaVerdict | null {
  const { limits, usage } = entry;
  const checks: Array<[grows: boolean, next: number, hard: number, soft: number, what: string]> = [
    [countDelta > 0, usage.count + countDelta, limits.countHardLimit, limits.count, 'count'],
    [bytesDelta > 0, usage.bytes + bytesDelta, limits.byteHardLimit, limits.bytes, 'bytes'],
  ];
  for (const [grows, next, hard, soft, what] of checks) {
    if (!grows) continue;
    const isHard = hard > -1;
    const limit = isHard ? hard : soft;
    if (limit < 0 || next <= limit) continue;
    const message = `quota of ${root} exceeded: ${what} would be ${next}, ${isHard ? 'hard' : 'soft'} limit ${limit}`;
    verdict ??= { refused: null, warnings: [] };
    if (isHard && enforce) {
      verdict.refused = { code: 'QuotaExceeded', message };
      return verdict;
    }
    verdict.warnings.push(message);
  }
  return verdict;
}
