/**
 * Runs an async task one at a time, coalescing: a request while it runs asks for exactly one
 * more run after it, however many requests came meanwhile. The metadata cache's re-reads, the
 * controller's reconciliation, the replica manager's sync and the election recipe's checks all
 * need this ("run once more if asked meanwhile"); it lives here once.
 */
export class SerialTask {
  private running: Promise<void> | null = null;
  private again = false;

  /**
   * `task` returns false to stop the loop even if asked again (e.g. it was stopped). An error
   * from `task` goes to `onError`, and the loop runs again only if asked meanwhile; without
   * `onError` it ends the loop and the promise every caller holds rejects with it.
   */
  constructor(
    private readonly task: () => Promise<boolean | void>,
    private readonly onError?: (error: unknown) => void,
  ) {}

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Resolves when no run is in progress (at once when idle); never starts one. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Resolves when a run that started after this call has finished. */
  request(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          if ((await this.task()) === false) return;
        } catch (error) {
          if (this.onError === undefined) throw error;
          this.onError(error);
          // A request that came during the failed round still gets its run.
        }
      } while (this.again);
    })().finally(() => {
      this.running = null;
      this.again = false;
    });
    return this.running;
  }
}
