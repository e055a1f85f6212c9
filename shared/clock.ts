/**
 * Time, passed in rather than read: the broker's cores (partition state, purgatory deadlines)
 * take a Clock so tests and a simulator can drive them, as the coordinator core takes `now`.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (record timestamps, retention). */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
