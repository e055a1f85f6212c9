/**
 * The client side of watches: which callbacks wait for which events. Pure bookkeeping, no I/O.
 * Dispatch follows ZooKeeper's client (ZKWatchManager.materialize):
 *   NodeCreated, NodeDataChanged → data/exists watchers of the path
 *   NodeDeleted                  → data/exists and child watchers of the path
 *   NodeChildrenChanged          → child watchers of the path
 * plus persistent watchers of the path and persistent-recursive watchers of the path and its
 * ancestors (never for NodeChildrenChanged). One-shot watchers are dropped as they fire.
 */
import type { AddWatchMode, WatchEventFrame, WatcherType } from './protocol';
import { parentOf } from './paths';

export type Watcher = (event: WatchEventFrame) => void;

export type OneShotKind = 'data' | 'child';

export interface OneShotWatch {
  kind: OneShotKind;
  path: string;
  /** The zxid the watch was registered at: a re-registration compares against it. */
  zxid: number;
}

export class WatchRegistry {
  private readonly oneShot = { data: new Map<string, { zxid: number; watchers: Set<Watcher> }>(), child: new Map<string, { zxid: number; watchers: Set<Watcher> }>() };
  private readonly persistent = { persistent: new Map<string, Set<Watcher>>(), persistentRecursive: new Map<string, Set<Watcher>>() };

  addOneShot(kind: OneShotKind, path: string, zxid: number, watcher: Watcher): void {
    const map = this.oneShot[kind];
    const entry = map.get(path);
    if (entry === undefined) map.set(path, { zxid, watchers: new Set([watcher]) });
    else {
      entry.zxid = Math.max(entry.zxid, zxid);
      entry.watchers.add(watcher);
    }
  }

  addPersistent(mode: AddWatchMode, path: string, watcher: Watcher): void {
    const map = this.persistent[mode];
    let set = map.get(path);
    if (set === undefined) map.set(path, (set = new Set()));
    set.add(watcher);
  }

  remove(path: string, watcherType: WatcherType): void {
    if (watcherType === 'data' || watcherType === 'any') this.oneShot.data.delete(path);
    if (watcherType === 'children' || watcherType === 'any') this.oneShot.child.delete(path);
    if (watcherType === 'persistent' || watcherType === 'any') {
      this.persistent.persistent.delete(path);
      this.persistent.persistentRecursive.delete(path);
    }
  }

  /** The watchers an event reaches (one-shot ones are removed). */
  take(event: WatchEventFrame): Watcher[] {
    const out = new Set<Watcher>();
    const takeOneShot = (kind: OneShotKind): void => {
      const entry = this.oneShot[kind].get(event.path);
      if (entry === undefined) return;
      this.oneShot[kind].delete(event.path);
      for (const watcher of entry.watchers) out.add(watcher);
    };
    if (event.event !== 'NodeChildrenChanged') takeOneShot('data');
    if (event.event === 'NodeChildrenChanged' || event.event === 'NodeDeleted') takeOneShot('child');
    for (const watcher of this.persistent.persistent.get(event.path) ?? []) out.add(watcher);
    if (event.event !== 'NodeChildrenChanged' && this.persistent.persistentRecursive.size > 0) {
      for (let at = event.path; ; at = parentOf(at)) {
        for (const watcher of this.persistent.persistentRecursive.get(at) ?? []) out.add(watcher);
        if (at === '/') break;
      }
    }
    return [...out];
  }

  /** The zxid a one-shot watch of (kind, path) was registered at, if there is one. */
  oneShotZxid(kind: OneShotKind, path: string): number | undefined {
    return this.oneShot[kind].get(path)?.zxid;
  }

  /** What to register again after a reconnect. */
  oneShotWatches(): OneShotWatch[] {
    const out: OneShotWatch[] = [];
    for (const kind of ['data', 'child'] as const) {
      for (const [path, entry] of this.oneShot[kind]) out.push({ kind, path, zxid: entry.zxid });
    }
    return out;
  }

  persistentWatches(): Array<{ mode: AddWatchMode; path: string }> {
    const out: Array<{ mode: AddWatchMode; path: string }> = [];
    for (const mode of ['persistent', 'persistentRecursive'] as const) {
      for (const path of this.persistent[mode].keys()) out.push({ mode, path });
    }
    return out;
  }

  get size(): number {
    let size = 0;
    for (const map of [this.oneShot.data, this.oneShot.child]) for (const entry of map.values()) size += entry.watchers.size;
    for (const map of [this.persistent.persistent, this.persistent.persistentRecursive]) for (const set of map.values()) size += set.size;
    return size;
  }
}
