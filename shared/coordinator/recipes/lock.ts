/**
 * A distributed lock (the ZooKeeper recipe): ephemeral-sequential nodes under `path`, the lowest
 * holds the lock, each waiter watches only its predecessor (no herd effect). A holder that
 * dies loses the lock when its session expires.
 */
import type { CoordinatorClient } from '../client';
import { childPath } from '../paths';
import { CoordinatorError } from '../protocol';
import { sortBySequence } from './sequence';

const LOCK_PREFIX = 'lock-';

export class DistributedLock {
  private node: string | null = null;

  constructor(
    private readonly client: CoordinatorClient,
    private readonly path: string,
  ) {}

  get held(): boolean {
    return this.node !== null;
  }

  /** Waits until the lock is ours; after `timeoutMs` gives up with OperationTimeout (and leaves the line). */
  async acquire(timeoutMs = 30_000): Promise<void> {
    if (this.node !== null) throw new CoordinatorError('BadArguments', 'lock already held by this object', this.path);
    await this.client.ensurePath(this.path);
    const created = await this.client.create(childPath(this.path, LOCK_PREFIX), '', { mode: 'ephemeral_sequential' });
    try {
      await this.waitForTurn(created.path, timeoutMs);
      this.node = created.path;
    } catch (error) {
      // Timed out or failed: leave the line, so the waiter behind us is not blocked by a ghost.
      await this.client.delete(created.path).catch(() => undefined);
      throw error;
    }
  }

  private async waitForTurn(ourPath: string, timeoutMs: number): Promise<void> {
    const ours = ourPath.slice(ourPath.lastIndexOf('/') + 1);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = sortBySequence((await this.client.getChildren(this.path)).children, LOCK_PREFIX);
      const index = line.indexOf(ours);
      if (index < 0) throw new CoordinatorError('SessionExpired', 'our lock node is gone', ourPath);
      if (index === 0) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      let wake: () => void = () => undefined;
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const stat = await this.client.exists(childPath(this.path, line[index - 1]!), () => wake());
      if (stat === null) continue;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
    }
    throw new CoordinatorError('OperationTimeout', `lock not acquired within ${timeoutMs} ms`, this.path);
  }

  async release(): Promise<void> {
    if (this.node === null) return;
    const node = this.node;
    this.node = null;
    await this.client.delete(node);
  }
}
