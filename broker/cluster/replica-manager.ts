/**
 * The partitions this broker holds a replica of: it opens a log for every assigned partition,
 * deletes the logs of partitions no longer assigned (deleted topics), keeps each log's config
 * in step with /config/topics, and runs retention and flush.ms on a timer.
 */
import { EventEmitter } from 'events';
import type { Logger } from '../../shared/logging';
import type { LocalPartition, TopicConfig } from '../context';
import type { LogManager } from '../log/log-manager';
import type { PartitionLog } from '../log/partition-log';
import type { ClusterSnapshot } from './metadata-cache';
import { effectiveConfig, logConfigFor } from './topic-config';

export class Replica extends EventEmitter implements LocalPartition {
  leaderId = -1;
  epoch = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private readonly brokerId: number,
    private readonly fenced: () => boolean,
  ) {
    super();
    this.setMaxListeners(0); // one listener per waiting fetch
  }

  get isLeader(): boolean {
    return this.leaderId === this.brokerId && !this.fenced();
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  /** Until replication lands, the leader's log end. */
  get highWatermark(): number {
    return this.log.logEndOffset;
  }
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Replica>();
  private syncing: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly brokerId: number,
    private readonly logs: LogManager,
    private readonly settings: { topicDefaults: TopicConfig; flushMessages: number; flushMs: number; retentionCheckIntervalMs: number },
    private readonly fenced: () => boolean,
    private readonly logger: Logger,
  ) {}

  get(topic: string, partition: number): Replica | null {
    return this.replicas.get(`${topic}/${partition}`) ?? null;
  }

  all(): Replica[] {
    return [...this.replicas.values()];
  }

  startTimers(): void {
    const flushEvery = Number.isFinite(this.settings.flushMs) ? Math.max(10, this.settings.flushMs) : Number.POSITIVE_INFINITY;
    const every = Math.min(this.settings.retentionCheckIntervalMs, flushEvery);
    let lastRetention = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const replica of this.replicas.values()) {
        replica.log.flushIfDue(now);
        if (now - lastRetention >= this.settings.retentionCheckIntervalMs) replica.log.applyRetention(now);
      }
      if (now - lastRetention >= this.settings.retentionCheckIntervalMs) lastRetention = now;
    }, every);
    this.timer.unref();
  }

  /** Brings local replicas in line with the cluster picture (serialised; coalesces calls). */
  sync(view: ClusterSnapshot): Promise<void> {
    this.latest = view;
    if (this.syncing !== null) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce(this.latest!);
        } catch (error) {
          this.logger.error({ err: error }, 'replicas.sync_failed');
        }
      } while (this.again);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private latest: ClusterSnapshot | null = null;

  private async syncOnce(view: ClusterSnapshot): Promise<void> {
    if (!view.loaded) return; // an unread picture has no topics: acting on it would delete every log
    const wanted = new Set<string>();
    for (const [topic, assignment] of view.assignments) {
      const config = effectiveConfig(this.settings.topicDefaults, view.overrides.get(topic) ?? {});
      const logConfig = logConfigFor(config, this.settings);
      const topicView = view.topics.get(topic);
      for (let p = 0; p < assignment.partitions.length; p++) {
        if (!assignment.partitions[p]!.includes(this.brokerId)) continue;
        const key = `${topic}/${p}`;
        wanted.add(key);
        let replica = this.replicas.get(key);
        if (replica === undefined) {
          let log: PartitionLog;
          try {
            log = await this.logs.open(topic, p, logConfig, Date.now());
          } catch (error) {
            // One unreadable log (disk trouble) must not keep the other partitions from opening; the next picture retries it.
            this.logger.error({ topic, partition: p, err: error instanceof Error ? error.message : String(error) }, 'replica.open_failed');
            continue;
          }
          replica = new Replica(topic, p, log, this.brokerId, this.fenced);
          this.replicas.set(key, replica);
          this.logger.info({ topic, partition: p, logEndOffset: log.logEndOffset }, 'replica.opened');
        } else {
          replica.log.updateConfig(logConfig);
        }
        const state = topicView?.partitions[p];
        const wasLeader = replica.leaderId === this.brokerId;
        replica.leaderId = state?.leader ?? -1;
        replica.epoch = state?.leaderEpoch ?? 0;
        if (wasLeader !== (replica.leaderId === this.brokerId)) {
          this.logger.info({ topic, partition: p, leader: replica.leaderId, leaderEpoch: replica.epoch }, replica.leaderId === this.brokerId ? 'replica.became_leader' : 'replica.became_follower');
        }
      }
    }
    for (const [key, replica] of this.replicas) {
      if (wanted.has(key)) continue;
      this.replicas.delete(key);
      replica.emit('append'); // wake fetches waiting on it
      await this.logs.delete(replica.topic, replica.partition);
      this.logger.info({ topic: replica.topic, partition: replica.partition }, 'replica.deleted');
    }
    // Logs on disk for topics that no longer exist (deleted while this broker was down).
    for (const { topic, partition } of this.logs.onDisk()) {
      if (!this.replicas.has(`${topic}/${partition}`) && !view.assignments.has(topic) && !view.pendingDeletions.has(topic)) {
        await this.logs.delete(topic, partition);
        this.logger.info({ topic, partition }, 'replica.deleted_stale');
      }
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    for (const replica of this.replicas.values()) replica.emit('append');
    this.logs.closeAll();
    this.replicas.clear();
  }
}
