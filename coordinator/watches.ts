/**
 * The watch manager (ZooKeeper's WatchManager + persistent watches of 3.6+). Pure: it maps
 * (kind, path) to the sessions watching and turns a change into per-session events.
 *
 * Which watches a change fires (as ZooKeeper):
 *   NodeCreated, NodeDataChanged on P  → one-shot data/exists watches on P, persistent on P,
 *                                        persistent-recursive on P and its ancestors
 *   NodeDeleted on P                   → one-shot data/exists and child watches on P, persistent on P,
 *                                        persistent-recursive on P and its ancestors
 *   NodeChildrenChanged on P           → one-shot child watches on P, persistent on P (never recursive ones)
 * One-shot watches are removed as they fire; a session gets at most one event per change.
 */
import type { Acl, WatchEventType, WatcherType } from '../shared/coordinator/protocol';
import { parentOf } from '../shared/coordinator/paths';
import type { WatchDelivery } from './core-api';

export type WatchKind = 'data' | 'child' | 'persistent' | 'recursive';

const KINDS: readonly WatchKind[] = ['data', 'child', 'persistent', 'recursive'];

const KINDS_BY_TYPE: Record<WatcherType, readonly WatchKind[]> = {
  data: ['data'],
  children: ['child'],
  persistent: ['persistent', 'recursive'],
  any: KINDS,
};

export class WatchManager {
  private readonly byKind: Record<WatchKind, Map<string, Set<string>>> = {
    data: new Map(),
    child: new Map(),
    persistent: new Map(),
    recursive: new Map(),
  };
  /** Per session: the (kind, path) pairs it watches, for counting and session cleanup. */
  private readonly bySession = new Map<string, Map<WatchKind, Set<string>>>();
  private total = 0;

  get count(): number {
    return this.total;
  }

  countFor(sessionId: string): number {
    let count = 0;
    for (const paths of this.bySession.get(sessionId)?.values() ?? []) count += paths.size;
    return count;
  }

  has(kind: WatchKind, path: string, sessionId: string): boolean {
    return this.byKind[kind].get(path)?.has(sessionId) ?? false;
  }

  add(kind: WatchKind, path: string, sessionId: string): void {
    const map = this.byKind[kind];
    let sessions = map.get(path);
    if (sessions === undefined) map.set(path, (sessions = new Set()));
    if (sessions.has(sessionId)) return;
    sessions.add(sessionId);
    let kinds = this.bySession.get(sessionId);
    if (kinds === undefined) this.bySession.set(sessionId, (kinds = new Map()));
    let paths = kinds.get(kind);
    if (paths === undefined) kinds.set(kind, (paths = new Set()));
    paths.add(path);
    this.total++;
  }

  /** Removes a session's watches of the given type on `path`; returns how many went. */
  remove(sessionId: string, path: string, watcherType: WatcherType): number {
    let removed = 0;
    for (const kind of KINDS_BY_TYPE[watcherType]) {
      if (this.delete(kind, path, sessionId)) removed++;
    }
    return removed;
  }

  removeSession(sessionId: string): void {
    const kinds = this.bySession.get(sessionId);
    if (kinds === undefined) return;
    for (const [kind, paths] of [...kinds]) {
      for (const path of [...paths]) this.delete(kind, path, sessionId);
    }
    this.bySession.delete(sessionId);
  }

  /**
   * Appends the deliveries `event` on `path` causes to `out`, removing the one-shot watches it
   * fires. `acl` is the changed node's: deliveries by recursive watches on an ancestor carry it
   * (WatchDelivery.acl) for the server's READ check.
   */
  trigger(path: string, event: WatchEventType, zxid: number, out: WatchDelivery[], acl?: readonly Acl[]): void {
    const notified = new Set<string>();
    const notify = (sessionId: string, aclToCheck?: readonly Acl[]): void => {
      if (notified.has(sessionId)) return;
      notified.add(sessionId);
      out.push(aclToCheck === undefined ? { sessionId, frame: { type: 'watch', event, path, zxid } } : { sessionId, frame: { type: 'watch', event, path, zxid }, acl: aclToCheck });
    };
    const oneShot: WatchKind[] = event === 'NodeChildrenChanged' ? ['child'] : event === 'NodeDeleted' ? ['data', 'child'] : ['data'];
    for (const kind of oneShot) {
      const sessions = this.byKind[kind].get(path);
      if (sessions === undefined) continue;
      for (const sessionId of [...sessions]) {
        notify(sessionId);
        this.delete(kind, path, sessionId);
      }
    }
    for (const sessionId of this.byKind.persistent.get(path) ?? []) notify(sessionId);
    if (event !== 'NodeChildrenChanged' && this.byKind.recursive.size > 0) {
      for (let at = path; ; at = parentOf(at)) {
        for (const sessionId of this.byKind.recursive.get(at) ?? []) notify(sessionId, at === path ? undefined : acl);
        if (at === '/') break;
      }
    }
  }

  private delete(kind: WatchKind, path: string, sessionId: string): boolean {
    const map = this.byKind[kind];
    const sessions = map.get(path);
    if (sessions === undefined || !sessions.delete(sessionId)) return false;
    if (sessions.size === 0) map.delete(path);
    const kinds = this.bySession.get(sessionId);
    const paths = kinds?.get(kind);
    paths?.delete(path);
    if (paths !== undefined && paths.size === 0) kinds!.delete(kind);
    if (kinds !== undefined && kinds.size === 0) this.bySession.delete(sessionId);
    this.total--;
    return true;
  }
}
