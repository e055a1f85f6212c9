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
    const timer = setTimeout(run, delayMs);
    return () => clearTimeout(timer);
  },
};

interface Entry<Event> {
  operation: DelayedOperation<Event>;
  cancelTimer: () => void;
  done: boolean;
}

/** Empty watcher sets kept for reuse (see Purgatory.spareSets). */
const SPARE_SETS_MAX = 64;

export class Purgatory<Event> {
  private readonly watchers = new Map<string, Set<Entry<Event>>>();
  /**
   * A key's set goes when its last waiter does (nothing stays behind), but a long poll parks
   * and completes on the same few keys over and over: their emptied sets are reused rather
   * than a new one made per park (garbage on every fetch round trip).
   */
  private readonly spareSets: Array<Set<Entry<Event>>> = [];
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
      let set = this.watchers.get(key);
      if (set === undefined) this.watchers.set(key, (set = this.spareSets.pop() ?? new Set()));
      set.add(entry);
    }
    this.waitingCount++;
    entry.cancelTimer = this.scheduler.schedule(Math.max(0, timeoutMs), () => this.finish(entry, 'expired'));
  }

  /** Tells the operations watching `key` about `event`; completes those it satisfies. */
  notify(key: string, event: Event): void {
    const set = this.watchers.get(key);
    if (set === undefined) return;
    // Copy: completing removes entries from the set being walked.
    for (const entry of [...set]) {
      if (!entry.done && entry.operation.onEvent(key, event)) this.finish(entry, 'satisfied');
    }
  }

  /** Completes every waiting operation (server closing). Later waits complete at once. */
  shutdown(): void {
    this.closed = true;
    const all = new Set<Entry<Event>>();
    for (const set of this.watchers.values()) for (const entry of set) all.add(entry);
    for (const entry of all) this.finish(entry, 'shutdown');
  }

  private finish(entry: Entry<Event>, reason: CompletionReason): void {
    if (entry.done) return;
    entry.done = true;
    entry.cancelTimer();
    for (const key of entry.operation.keys) {
      const set = this.watchers.get(key);
      if (set === undefined) continue;
      set.delete(entry);
      if (set.size === 0) {
        this.watchers.delete(key);
        if (this.spareSets.length < SPARE_SETS_MAX) this.spareSets.push(set);
      }
    }
    this.waitingCount--;
    entry.operation.complete(reason);
  }

  /** Waiting operations per kind(operation), counted when asked (a metric read at scrape time, not kept up to date). */
  countBy(kind: (operation: DelayedOperation<Event>) => string): Map<string, number> {
    const seen = new Set<Entry<Event>>();
    const counts = new Map<string, number>();
    for (const set of this.watchers.values()) {
      for (const entry of set) {
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
    return this.watchers.size;
  }
}
