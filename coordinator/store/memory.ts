/** A store that keeps nothing across restarts: every append is "durable" at once. */
import type { LatencySummary } from '../../shared/coordinator/protocol';
import type { CoreSnapshot, SnapshotSource, Txn } from '../core-api';
import type { CoordinatorStore, RecoveredState } from './store';

const RESOLVED = Promise.resolve();

export class MemoryStore implements CoordinatorStore {
  readonly kind = 'memory';
  readonly appendsInFlightMax = 1;
  private lastAppendedZxid = 0;
  private closed = false;

  async open(): Promise<RecoveredState> {
    return { snapshot: null, txns: [] };
  }

  // The same contract as the durable stores (zxids only rise; nothing after close), so a bug in
  // the server's ordering shows with every store.
  append(txns: Txn[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('memory store is closed'));
    for (const txn of txns) {
      if (!(txn.zxid > this.lastAppendedZxid)) return Promise.reject(new Error(`append out of order: zxid ${txn.zxid} after ${this.lastAppendedZxid}`));
      this.lastAppendedZxid = txn.zxid;
    }
    return RESOLVED;
  }

  snapshot(snapshot: CoreSnapshot | SnapshotSource): Promise<void> {
    if (!('nodes' in snapshot)) snapshot.close();
    return RESOLVED;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  syncLatency(): LatencySummary {
    return { min: 0, avg: 0, max: 0, count: 0 };
  }
}
