/**
 * Which partitions this broker copies from which leader (Kafka's ReplicaFetcherManager): one
 * ReplicaFetcher per leader broker, carrying every partition followed there. The replica
 * manager hands it the full list of followed partitions after each cluster picture; fetchers
 * left with nothing to follow are stopped (their connections closed).
 */
import type { Partition } from '../partition/partition';
import { FetcherDependencies, FetcherSettings, ReplicaFetcher } from './fetcher';

export interface Followed {
  partition: Partition;
  leaderId: number;
  leaderEpoch: number;
}

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private stopped = false;

  constructor(
    private readonly settings: Readonly<FetcherSettings>,
    private readonly deps: FetcherDependencies,
  ) {}

  /** Makes the fetchers follow exactly `followed`. */
  update(followed: readonly Followed[]): void {
    if (this.stopped) return;
    const wanted = new Map(followed.map((entry) => [entry.partition.key, entry]));
    for (const fetcher of this.fetchers.values()) {
      for (const key of fetcher.keys()) if (wanted.get(key)?.leaderId !== fetcher.leaderId) fetcher.unfollow(key);
    }
    for (const entry of followed) {
      let fetcher = this.fetchers.get(entry.leaderId);
      if (fetcher === undefined) {
        fetcher = new ReplicaFetcher(entry.leaderId, this.settings, this.deps);
        this.fetchers.set(entry.leaderId, fetcher);
      }
      fetcher.follow(entry.partition, entry.leaderEpoch);
    }
    for (const [leaderId, fetcher] of this.fetchers) {
      if (fetcher.size > 0) continue;
      this.fetchers.delete(leaderId);
      void fetcher.stop();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const fetchers = [...this.fetchers.values()];
    this.fetchers.clear();
    await Promise.all(fetchers.map((fetcher) => fetcher.stop()));
  }
}
