/**
 * The waiting area for requests that wait on a condition with a deadline: acks=all produce
 * (until the high watermark passes the appended offsets), fetch long-poll (until enough bytes
 * are visible), later JoinGroup/SyncGroup. Kafka calls it the purgatory (DelayedOperation).
 *
 * An operation watches one or more keys ("topic/partition", later "group:<id>"). Whoever changes
 * the state behind a key calls `notify(key, event)`; only the operations watching that key are
 * asked whether they can complete now. An operation completes exactly once — by its condition,
 * by its deadline, or by `shutdown` — and is then removed from every key it watched, so nothing
 * a finished request attached stays behind (the long-poll leak this replaces).
 *
 * Watchers are kept in arrays, not Sets, and a key's emptied array stays in the table for the
 * next park (swept once many are empty). The table lives as long as the broker, so V8 has
 * moved it to the old generation; an old-generation Set or Map under add/delete churn rehashes
 * every few operations into a new old-generation table, and the obsolete table, garbage that
 * only a major collection frees, still points at the entries it held. Every scavenge then keeps
 * those finished long polls (and all they reference) alive and promotes them: after a bulk
 * write had moved these tables to the old generation, a broker's scavenges kept ~550 KB alive
 * instead of ~30 KB and the end-to-end p99 tripled. An array's removed slots are cleared.
 *
 * No timers or clocks inside the bookkeeping: deadlines go through the injected Scheduler, so a
 * test or simulator can run them by hand.
 */
import { assert } from '../shared/assert';

export type CompletionReason = 'satisfied' | 'expired' | 'shutdown';

export interface DelayedOperation<Event> {
  /** Keys this operation is woken by. */
  readonly keys: readonly string[];
  /**
   * Called with each event notified on one of its keys. Returns true when the operation can
   * complete now. Must be cheap and must not throw: it runs inside the notifier's call.
   */
  onEvent(key: string, event: Event): boolean;
  /** Called exactly once, after removal from the purgatory. */
  complete(reason: CompletionReason): void;
}

export interface Scheduler {
  /** Calls `run` after `delayMs`; returns a cancel function. */
  schedule(delayMs: number, run: () => void): () => void;
}

export const timerScheduler: Scheduler = {
  schedule(delayMs, run) {
    // Unref'd: clearing the last refed timer of a duration makes Node delete that duration's
    // timer list (and a new one on the next park), churn in a long-lived table whose garbage
    // keeps young objects alive (see above); unref'd lists stay. A parked request never needs
    // to keep the process alive: its connection does.
    const timer = setTimeout(run, delayMs).unref();
    return () => clearTimeout(timer);
  },
};

interface Entry<Event> {
  operation: DelayedOperation<Event>;
  cancelTimer: () => void;
  done: boolean;
}

/** Emptied watcher arrays kept in the table before a sweep drops them (bounds the table). */
const EMPTY_WATCHERS_MAX = 1024;

export class Purgatory<Event> {
  /**
   * Each key's waiters in the order they parked. A long poll parks and completes on the same
   * few keys over and over, so an emptied array stays for the next park; past
   * EMPTY_WATCHERS_MAX empty ones, a sweep deletes them all (the table stays bounded).
   */
  private readonly watchers = new Map<string, Array<Entry<Event>>>();
  private emptyWatchers = 0;
  private waitingCount = 0;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler = timerScheduler,
    /** Most operations waiting at once; past it `tryWait` completes the operation at once. */
    private readonly waitingMax = 100_000,
  ) {}

  /** Operations waiting now (a metric; Kafka's PurgatorySize). */
  get size(): number {
    return this.waitingCount;
  }

  /**
   * Parks `operation` until an event satisfies it or `timeoutMs` passes. When the purgatory is
   * closed or full, the operation completes at once ('shutdown' / 'expired').
   */
  wait(operation: DelayedOperation<Event>, timeoutMs: number): void {
    if (this.closed) return operation.complete('shutdown');
    if (this.waitingCount >= this.waitingMax) return operation.complete('expired');
    assert(operation.keys.length > 0, 'a delayed operation watches at least one key');
    const entry: Entry<Event> = { operation, cancelTimer: () => undefined, done: false };
    for (const key of operation.keys) {
      const list = this.watchers.get(key);
      if (list === undefined) this.watchers.set(key, [entry]);
      else {
        if (list.length === 0) this.emptyWatchers--;
        list.push(entry);
      }
    }
    this.waitingCount++;
    entry.cancelTimer = this.scheduler.schedule(Math.max(0, timeoutMs), () => this.finish(entry, 'expired'));
  }

  /** Tells the operations watching `key` about `event`; completes those it satisfies. */
  notify(key: string, event: Event): void {
    const list = this.watchers.get(key);
    if (list === undefined || list.length === 0) return;
    if (list.length === 1) {
      // The common case (one long poll per key), without the copy.
      const entry = list[0]!;
      if (!entry.done && entry.operation.onEvent(key, event)) this.finish(entry, 'satisfied');
      return;
    }
    // Copy: completing removes entries from the array being walked.
    for (const entry of list.slice()) {
      if (!entry.done && entry.operation.onEvent(key, event)) this.finish(entry, 'satisfied');
    }
  }

  /** Completes every waiting operation (server closing). Later waits complete at once. */
  shutdown(): void {
    this.closed = true;
    const all = new Set<Entry<Event>>();
    for (const list of this.watchers.values()) for (const entry of list) all.add(entry);
    for (const entry of all) this.finish(entry, 'shutdown');
  }

  private finish(entry: Entry<Event>, reason: CompletionReason): void {
    if (entry.done) return;
    entry.done = true;
    entry.cancelTimer();
    for (const key of entry.operation.keys) {
      const list = this.watchers.get(key);
      const index = list === undefined ? -1 : list.indexOf(entry);
      if (index < 0) continue;
      // Order kept (notify asks waiters in the order they parked); most removals are the first or the last.
      if (index === 0) list!.shift();
      else if (index === list!.length - 1) list!.pop();
      else list!.splice(index, 1);
      if (list!.length === 0 && ++this.emptyWatchers > EMPTY_WATCHERS_MAX) this.sweep();
    }
    this.waitingCount--;
    entry.operation.complete(reason);
  }

  /** Drops every key without waiters from the table. */
  private sweep(): void {
    for (const [key, list] of this.watchers) if (list.length === 0) this.watchers.delete(key);
    this.emptyWatchers = 0;
  }

  /** Waiting operations per kind(operation), counted when asked (a metric read at scrape time, not kept up to date). */
  countBy(kind: (operation: DelayedOperation<Event>) => string): Map<string, number> {
    const seen = new Set<Entry<Event>>();
    const counts = new Map<string, number>();
    for (const list of this.watchers.values()) {
      for (const entry of list) {
        if (seen.has(entry)) continue;
        seen.add(entry);
        const name = kind(entry.operation);
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Keys with at least one waiter (for tests: proves nothing is left behind). */
  get watchedKeyCount(): number {
    let count = 0;
    for (const list of this.watchers.values()) if (list.length > 0) count++;
    return count;
  }

  /** Keys in the table, emptied ones included (for tests: proves the table stays bounded). */
  get keyTableSize(): number {
    return this.watchers.size;
  }
}
