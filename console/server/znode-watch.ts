/**
 * Live znodes for the tree browser's event streams: one entry per watched path, shared by every
 * stream open on it, re-reading the znode (data, Stat, children) whenever a watch fires and
 * handing the new body to the streams.
 *
 * One-shot watches (getData / exists / getChildren with a watcher), not persistent ones: the
 * client library's removeWatches(path, type) drops every watcher of that type on the path in
 * this client, so removing a persistent watch would also remove any other console component's
 * watch on the same path. One-shot watches need no removal: when the last stream on a path
 * closes, the entry goes idle and its pending watches are ignored when they fire (they are then
 * gone, client and server side). Each entry's watcher is one stable function, so re-arming an
 * armed watch adds nothing. Idle entries are kept (bounded) so a page visited again reuses it.
 */
import type { CoordinatorClientApi, Watcher } from '../../shared/coordinator/client-api';
import { hasCode } from '../../shared/coordinator/protocol';
import type { Logger } from '../../shared/logging';
import { znodeBody, type DeletedBody, type ZnodeBody } from './znode-view';

/** Idle path entries kept for reuse; beyond this the oldest idle ones are dropped (their pending watches still fire once, ignored). */
const IDLE_ENTRIES_MAX = 1000;

export type NodeEvent = ZnodeBody | DeletedBody;
export type NodeListener = (body: NodeEvent) => void;

interface Entry {
  path: string;
  /** Each listener with what to call when the client's session ends (it hears nothing more then). */
  listeners: Map<NodeListener, () => void>;
  watcher: Watcher;
  refreshing: boolean;
  /** A watch fired (or a listener joined an idle entry) while a read was in flight: read again after it. */
  again: boolean;
  /** The last body sent, as JSON (unchanged bodies are not sent again); null before the first read of this activity. */
  last: string | null;
  /** The last read failed (coordinator unreachable): read again on reconnect. */
  failed: boolean;
}

export class ZnodeWatcher {
  private readonly entries = new Map<string, Entry>();
  /** The client's session ended (expired or closed): its watches are gone for good. */
  private ended = false;

  constructor(
    private readonly client: CoordinatorClientApi,
    private readonly logger: Logger,
  ) {
    client.on('state', (state) => {
      // The session is over: its watches will never fire. Each stream subscribes again on the console's next session.
      if (state === 'expired' || state === 'closed') {
        this.ended = true;
        for (const entry of this.entries.values()) for (const onEnd of [...entry.listeners.values()]) onEnd();
        return;
      }
      if (state !== 'connected') return;
      // A read that failed while disconnected set no watch: read those again once connected.
      for (const entry of this.entries.values()) if (entry.failed && entry.listeners.size > 0) this.refresh(entry);
    });
  }

  /**
   * `listener` hears the node's body at once and after every change; `onEnd` runs if the
   * client's session ends (subscribe again on the console's new session). Returns the unsubscribe function.
   */
  subscribe(path: string, listener: NodeListener, onEnd: () => void = () => undefined): () => void {
    if (this.ended) {
      queueMicrotask(onEnd);
      return () => undefined;
    }
    let entry = this.entries.get(path);
    if (entry === undefined) {
      const created: Entry = { path, listeners: new Map(), watcher: () => this.onWatch(created), refreshing: false, again: false, last: null, failed: false };
      entry = created;
      this.entries.set(path, entry);
    }
    const wasIdle = entry.listeners.size === 0;
    entry.listeners.set(listener, onEnd);
    if (wasIdle) {
      // Events were ignored while idle (and the watches may be spent): read afresh.
      entry.last = null;
      this.refresh(entry);
    } else if (entry.last !== null) {
      listener(JSON.parse(entry.last) as NodeEvent);
    }
    const current = entry;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0) this.trimIdle();
    };
  }

  /** Paths with at least one listener. */
  get activePaths(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.listeners.size > 0) count++;
    return count;
  }

  private onWatch(entry: Entry): void {
    if (entry.listeners.size === 0) return;
    this.refresh(entry);
  }

  private refresh(entry: Entry): void {
    if (entry.refreshing) {
      entry.again = true;
      return;
    }
    entry.refreshing = true;
    void (async () => {
      try {
        do {
          entry.again = false;
          if (entry.listeners.size === 0) break;
          let body: NodeEvent;
          try {
            body = await this.read(entry);
            entry.failed = false;
          } catch (error) {
            entry.failed = true;
            this.logger.warn({ path: entry.path, err: error }, 'tree.read_failed');
            break;
          }
          const text = JSON.stringify(body);
          if (text === entry.last) continue;
          entry.last = text;
          for (const listener of [...entry.listeners.keys()]) listener(body);
        } while (entry.again);
      } finally {
        entry.refreshing = false;
      }
    })();
  }

  /** The node's data, Stat and children, arming its data and child watches; a missing node arms an exists watch (it fires on creation). */
  private async read(entry: Entry): Promise<NodeEvent> {
    const { path, watcher } = entry;
    for (;;) {
      let data: Buffer;
      let stat;
      try {
        ({ bytes: data, stat } = await this.client.getData(path, watcher));
      } catch (error) {
        if (!hasCode(error, 'NoNode')) throw error;
        // Created between the two calls: read it.
        if ((await this.client.exists(path, watcher)) !== null) continue;
        return { path, deleted: true };
      }
      try {
        const { children } = await this.client.getChildren(path, watcher);
        return znodeBody(path, data, stat, children);
      } catch (error) {
        // Deleted between the two calls: the data watch fires NodeDeleted and the next read says so.
        if (!hasCode(error, 'NoNode')) throw error;
        return { path, deleted: true };
      }
    }
  }

  private trimIdle(): void {
    if (this.entries.size <= IDLE_ENTRIES_MAX) return;
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= IDLE_ENTRIES_MAX) return;
      if (entry.listeners.size === 0 && !entry.refreshing) this.entries.delete(path);
    }
  }
}
