/** A store that keeps nothing across restarts: every append is "durable" at once. */
import type { LatencySummary } from '../../shared/coordinator/protocol';
import type { CoreSnapshot, Txn } from '../core-api';
import type { CoordinatorStore, RecoveredState } from './store';

const RESOLVED = Promise.resolve();

export class MemoryStore implements CoordinatorStore {
  readonly kind = 'memory';

  async open(): Promise<RecoveredState> {
    return { snapshot: null, txns: [] };
  }

  append(_txns: Txn[]): Promise<void> {
    return RESOLVED;
  }

  snapshot(_snapshot: CoreSnapshot): Promise<void> {
    return RESOLVED;
  }

  async close(): Promise<void> {}

  syncLatency(): LatencySummary {
    return { min: 0, avg: 0, max: 0, count: 0 };
  }
}
