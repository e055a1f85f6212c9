/**
 * Where the coordinator's transactions live. The server appends every transaction and
 * releases replies only once `append` has resolved (the write is durable). Kept small
 * and async so a Redis store can implement it too.
 */
import type { LatencySummary } from '../../shared/coordinator/protocol';
import type { CoreSnapshot, SnapshotSource, Txn } from '../core-api';

export interface RecoveredState {
  /** The newest valid snapshot, or null when there is none. */
  snapshot: CoreSnapshot | null;
  /** Transactions after the snapshot (zxid > snapshot.lastZxid), in zxid order. */
  txns: Txn[];
}

export interface CoordinatorStore {
  /** 'file', 'memory', ... (reported in stats). */
  readonly kind: string;
  /**
   * Appends the server may have on their way at once (group commits overlapping on the disk).
   * More than 1 only for a store whose appends gain from it; they still resolve in call order.
   */
  readonly appendsInFlightMax: number;
  /** Recovers the state; called once, before anything else. */
  open(): Promise<RecoveredState>;
  /**
   * Appends transactions (strictly increasing zxids, after every earlier append); resolves once
   * they are durable. Calls may overlap; they are made durable in call order.
   */
  append(txns: Txn[]): Promise<void>;
  /**
   * Persists a snapshot; lets the store drop what the snapshot makes redundant. A source (the
   * core's beginSnapshot) is written a chunk at a time while the server goes on
   * (snapshot-stream.ts) and is closed by the store, written or not.
   */
  snapshot(snapshot: CoreSnapshot | SnapshotSource): Promise<void>;
  /** Finishes pending work and releases files. */
  close(): Promise<void>;
  /** fsync (or equivalent) latency in ms since open; zeros when there is none. */
  syncLatency(): LatencySummary;
}

/** min/avg/max/count over a stream of samples (ZooKeeper's mntr summaries). */
export class LatencyRecorder {
  private min = Infinity;
  private max = 0;
  private total = 0;
  private count = 0;

  record(valueMs: number): void {
    if (valueMs < this.min) this.min = valueMs;
    if (valueMs > this.max) this.max = valueMs;
    this.total += valueMs;
    this.count += 1;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { min: 0, avg: 0, max: 0, count: 0 };
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return { min: round(this.min), avg: round(this.total / this.count), max: round(this.max), count: this.count };
  }
}
