/**
 * The purgatory: operations complete exactly once (by event, deadline or shutdown) and leave
 * nothing behind in the key table — the property whose absence leaked memory per long poll.
 */
import { CompletionReason, DelayedOperation, Purgatory, Scheduler } from '../../../broker/purgatory';

/** Deadlines run by hand. */
class ManualScheduler implements Scheduler {
  private next = 0;
  readonly pending = new Map<number, { at: number; run: () => void }>();
  now = 0;

  schedule(delayMs: number, run: () => void): () => void {
    const id = this.next++;
    this.pending.set(id, { at: this.now + delayMs, run });
    return () => this.pending.delete(id);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [id, entry] of [...this.pending]) {
      if (entry.at <= this.now) {
        this.pending.delete(id);
        entry.run();
      }
    }
  }
}

class Counter implements DelayedOperation<number> {
  seen = 0;
  completions: CompletionReason[] = [];
  constructor(
    readonly keys: string[],
    private readonly wanted: number,
  ) {}
  onEvent(_key: string, event: number): boolean {
    this.seen += event;
    return this.seen >= this.wanted;
  }
  complete(reason: CompletionReason): void {
    this.completions.push(reason);
  }
}

describe('Purgatory', () => {
  test('an event on a watched key completes the operation once, and only that key is asked', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler);
    const a = new Counter(['p/0', 'p/1'], 10);
    const b = new Counter(['p/2'], 1);
    purgatory.wait(a, 1000);
    purgatory.wait(b, 1000);
    purgatory.notify('p/0', 4);
    expect(a.completions).toEqual([]);
    purgatory.notify('p/1', 6);
    expect(a.completions).toEqual(['satisfied']);
    expect(b.seen).toBe(0);
    purgatory.notify('p/0', 100);
    expect(a.completions).toEqual(['satisfied']);
    expect(purgatory.size).toBe(1);
    expect(scheduler.pending.size).toBe(1); // a's deadline was cancelled
  });

  test('the deadline expires an operation and removes it from every key', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler);
    const a = new Counter(['x', 'y'], 10);
    purgatory.wait(a, 500);
    scheduler.advance(499);
    expect(a.completions).toEqual([]);
    scheduler.advance(1);
    expect(a.completions).toEqual(['expired']);
    expect(purgatory.size).toBe(0);
    expect(purgatory.watchedKeyCount).toBe(0);
    purgatory.notify('x', 100);
    expect(a.completions).toEqual(['expired']);
  });

  test('100,000 long polls that end leave nothing behind', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler, 1_000_000);
    for (let i = 0; i < 100_000; i++) {
      const op = new Counter([`t/${i % 50}`], 1);
      purgatory.wait(op, 5000);
      if (i % 2 === 0) purgatory.notify(`t/${i % 50}`, 1);
    }
    scheduler.advance(5000);
    expect(purgatory.size).toBe(0);
    expect(purgatory.watchedKeyCount).toBe(0);
    expect(scheduler.pending.size).toBe(0);
  });

  test('waiters on a key are asked in the order they parked, also after one in the middle completed', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler);
    const asked: string[] = [];
    const op = (name: string, keys: string[]): DelayedOperation<number> => ({ keys, onEvent: (key) => (asked.push(name), key === 'other'), complete: () => undefined });
    for (const [name, keys] of [['a', ['k']], ['b', ['k', 'other']], ['c', ['k']], ['d', ['k']]] as const) purgatory.wait(op(name, [...keys]), 1000);
    purgatory.notify('other', 1); // b completes: it leaves the middle of k's waiters
    expect(purgatory.size).toBe(3);
    asked.length = 0;
    purgatory.notify('k', 1);
    expect(asked).toEqual(['a', 'c', 'd']);
    purgatory.wait(op('e', ['k']), 1000);
    asked.length = 0;
    purgatory.notify('k', 1);
    expect(asked).toEqual(['a', 'c', 'd', 'e']);
  });

  test('emptied keys stay for the next park, but the key table stays bounded', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler, 1_000_000);
    for (let i = 0; i < 10_000; i++) {
      purgatory.wait(new Counter([`topic-${i}/0`, 'shared'], 1), 5000);
      purgatory.notify(`topic-${i}/0`, 1);
    }
    expect(purgatory.size).toBe(0);
    expect(purgatory.watchedKeyCount).toBe(0);
    expect(purgatory.keyTableSize).toBeGreaterThan(0);
    expect(purgatory.keyTableSize).toBeLessThanOrEqual(1025);
    expect(scheduler.pending.size).toBe(0);
  });

  test('shutdown completes everything waiting, and later waits at once', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler);
    const ops = [new Counter(['a'], 1), new Counter(['a', 'b'], 1), new Counter(['c'], 1)];
    for (const op of ops) purgatory.wait(op, 1000);
    purgatory.shutdown();
    expect(ops.map((op) => op.completions)).toEqual([['shutdown'], ['shutdown'], ['shutdown']]);
    expect(scheduler.pending.size).toBe(0);
    const late = new Counter(['a'], 1);
    purgatory.wait(late, 1000);
    expect(late.completions).toEqual(['shutdown']);
    expect(purgatory.size).toBe(0);
  });

  test('past waitingMax an operation completes at once instead of queueing without bound', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler, 2);
    const ops = [new Counter(['a'], 1), new Counter(['a'], 1), new Counter(['a'], 1)];
    for (const op of ops) purgatory.wait(op, 1000);
    expect(ops.map((op) => op.completions)).toEqual([[], [], ['expired']]);
    expect(purgatory.size).toBe(2);
  });

  test('an operation completed while another is being notified on the same key is not asked again', () => {
    const scheduler = new ManualScheduler();
    const purgatory = new Purgatory<number>('t', scheduler);
    const order: string[] = [];
    const first: DelayedOperation<number> = {
      keys: ['k'],
      onEvent: () => {
        order.push('first');
        purgatory.shutdown();
        return false;
      },
      complete: (reason) => order.push(`first:${reason}`),
    };
    const second: DelayedOperation<number> = { keys: ['k'], onEvent: () => (order.push('second'), true), complete: (reason) => order.push(`second:${reason}`) };
    purgatory.wait(first, 1000);
    purgatory.wait(second, 1000);
    purgatory.notify('k', 1);
    expect(order).toEqual(['first', 'first:shutdown', 'second:shutdown']);
  });
});
