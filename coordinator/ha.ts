/**
 * Several coordinators on one Redis store, one active (issue 9).
 *
 * A coordinator starts as a standby: it recovers the tree from Redis, follows the log as the
 * active appends to it, redirects clients to the active (standby-listener.ts) and tries to take
 * the lease (lease.ts) whenever nobody holds it. Once it holds the lease it fences the store
 * with its epoch, reads what the last active appended after its last follow, gives every
 * session a fresh timeout (as after a restart: sessions survive a coordinator's death) and
 * serves on its port. It renews the lease RENEWALS_PER_LEASE times per lease period and steps
 * down to standby when it cannot renew in time on its own monotonic clock, or when an append
 * is fenced (another coordinator took over while it was paused).
 */
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { StatsResult } from '../shared/coordinator/protocol';
import type { CoordinatorConfig } from './config';
import { CoordinatorCore } from './core';
import type { CoordinatorCoreApi } from './core-api';
import { acquireLease, defineLeaseCommands, LeaseKeys, leaseKeys, readLease, releaseLease, renewLease, RENEWALS_PER_LEASE, safeUntil } from './lease';
import { CoordinatorServer } from './server';
import { startStandbyListener, StandbyListener, StandbyStatus } from './standby-listener';
import type { RecoveredState } from './store/store';
import { FencedError, RedisStore } from './store/redis';

export interface HaSettings {
  redisUrl: string;
  /** Key prefix shared by the coordinators of one cluster. */
  prefix: string;
  leaseMs: number;
  /** Redis replicas each append waits for (WAIT). */
  redisWait: number;
  /** The URL clients are redirected to while this coordinator is active. */
  advertisedUrl: string;
}

export type HaRole = 'standby' | 'active' | 'closed';

/** Builds the core from what a store recovered; every session gets a fresh timeout from `now`. */
export function coreFromState(state: RecoveredState, limits: CoordinatorConfig['limits'], now: number): CoordinatorCoreApi {
  const core: CoordinatorCoreApi = state.snapshot !== null ? CoordinatorCore.fromSnapshot(state.snapshot, limits, now) : new CoordinatorCore(limits);
  for (const txn of state.txns) core.replay(txn);
  if (state.txns.length > 0) {
    core.touchAllSessions(now);
  }
  return core;
}

const monotonic = (): number => performance.now();
/** How often a standby reads the lease (and its lag): one GET and one XREVRANGE. */
const STANDBY_POLL_MS = 100;

export class HaCoordinator {
  readonly id = randomUUID();
  private readonly keys: LeaseKeys;
  private readonly leaseRedis: Redis;
  private role: HaRole = 'standby';
  private epoch: number | null = null;
  private activeUrl: string | null = null;
  private core: CoordinatorCoreApi | null = null;
  private store: RedisStore | null = null;
  private server: CoordinatorServer | null = null;
  private listener: StandbyListener | null = null;
  private stopFollowing: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lag = 0;
  /** The epoch of the lease holder this standby last saw. */
  private seenEpoch: number | null = null;
  private safeUntilAt = 0;
  private transition: Promise<void> = Promise.resolve();
  private boundPort = 0;

  constructor(
    private readonly config: Readonly<CoordinatorConfig>,
    private readonly settings: HaSettings,
    private readonly logger: Logger,
    private readonly version: string,
    private readonly clock: () => number,
    private readonly onFatal: (error: Error) => void,
  ) {
    this.keys = leaseKeys(settings.prefix);
    this.leaseRedis = new Redis(settings.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A lease command slower than a renewal period is as good as lost.
      commandTimeout: Math.max(50, Math.floor(settings.leaseMs / RENEWALS_PER_LEASE)),
      retryStrategy: (attempt) => Math.min(500, 50 * 2 ** attempt),
    });
    this.leaseRedis.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'ha.redis_error'));
    defineLeaseCommands(this.leaseRedis);
  }

  get port(): number {
    return this.boundPort;
  }

  /** The monitoring view: the active server's, or this standby's copy of the tree (no connections, no latencies). */
  stats(): StatsResult {
    if (this.server !== null) return this.server.stats();
    const zero = { min: 0, avg: 0, max: 0, count: 0 };
    const counts = this.core?.counts() ?? { znodeCount: 0, ephemeralsCount: 0, watchCount: 0, sessions: 0, approximateDataSize: 0, lastZxid: 0 };
    return {
      version: this.version,
      serverState: 'standalone',
      ...counts,
      connections: 0,
      outstandingRequests: 0,
      requestLatencyMs: zero,
      fsyncLatencyMs: zero,
      store: 'redis',
      uptimeMs: 0,
      role: 'standby',
      leaseEpoch: this.seenEpoch,
      activeUrl: this.activeUrl,
      lag: this.lag,
    };
  }

  /** Recovers, starts following and listening as a standby; the lease loop runs from here on. */
  async start(): Promise<void> {
    await this.leaseRedis.connect().catch((error: unknown) => {
      this.leaseRedis.disconnect();
      throw new Error(`redis store: cannot reach ${this.settings.redisUrl}: ${error instanceof Error ? error.message : String(error)}`);
    });
    await this.becomeStandby();
    this.schedule();
  }

  private newStore(): RedisStore {
    return new RedisStore({ url: this.settings.redisUrl, prefix: this.settings.prefix, wait: this.settings.redisWait, logger: this.logger });
  }

  private async becomeStandby(): Promise<void> {
    this.role = 'standby';
    this.epoch = null;
    const store = this.newStore();
    const state = await store.open();
    this.store = store;
    this.core = coreFromState(state, this.config.limits, this.clock());
    this.stopFollowing = store.follow(
      this.core.lastZxid,
      (txns) => {
        for (const txn of txns) this.core!.replay(txn);
      },
      (snapshot) => {
        this.core = CoordinatorCore.fromSnapshot(snapshot, this.config.limits, this.clock());
      },
    );
    this.listener = await startStandbyListener(this.config.host, this.boundPort || this.config.port, (): StandbyStatus => ({ role: 'standby', active: this.activeUrl, leaseEpoch: this.seenEpoch, appliedZxid: this.core?.lastZxid ?? 0, lag: this.lag }));
    this.boundPort = this.listener.port;
    this.logger.info({ id: this.id, port: this.boundPort, appliedZxid: this.core.lastZxid }, 'ha.standby');
  }

  private async becomeActive(epoch: number): Promise<void> {
    this.stopFollowing?.();
    this.stopFollowing = null;
    await this.listener?.close();
    this.listener = null;
    const store = this.store!;
    store.setFence({ key: this.keys.epoch, epoch });
    // What the last active appended after our last follow: nobody can append now but us.
    const missed = await store.readAfter(this.core!.lastZxid);
    for (const txn of missed) this.core!.replay(txn);
    const now = this.clock();
    this.core!.touchAllSessions(now);
    this.epoch = epoch;
    this.role = 'active';
    this.server = new CoordinatorServer({
      config: { ...this.config, port: this.boundPort },
      core: this.core!,
      store,
      logger: this.logger,
      version: this.version,
      clock: this.clock,
      statsExtra: () => ({ role: 'active', leaseEpoch: this.epoch, activeUrl: this.settings.advertisedUrl, lag: 0 }),
      onFatal: (error) => {
        if (error instanceof FencedError) this.stepDown('fenced: another coordinator holds the lease');
        else this.onFatal(error);
      },
    });
    this.boundPort = await this.server.listen();
    this.logger.info({ id: this.id, epoch, port: this.boundPort, lastZxid: this.core!.lastZxid, caughtUp: missed.length }, 'ha.active');
  }

  private stepDown(reason: string): void {
    if (this.role !== 'active') return;
    this.role = 'standby';
    this.logger.warn({ id: this.id, epoch: this.epoch, reason }, 'ha.step_down');
    this.transition = this.transition.then(async () => {
      await this.server?.close({ snapshot: false }).catch(() => undefined);
      this.server = null;
      await this.store?.close().catch(() => undefined);
      this.store = null;
      await this.becomeStandby();
    }).catch((error: unknown) => this.onFatal(error instanceof Error ? error : new Error(String(error))));
  }

  private schedule(): void {
    // A standby looks more often than the active renews: it takes over as soon as the lease is free.
    const renewal = Math.max(20, Math.floor(this.settings.leaseMs / RENEWALS_PER_LEASE));
    const period = this.role === 'active' ? renewal : Math.min(renewal, STANDBY_POLL_MS);
    this.timer = setTimeout(() => {
      this.transition = this.transition.then(() => this.tick()).catch((error: unknown) => this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'ha.tick_failed'));
      void this.transition.then(() => {
        if (this.role !== 'closed') this.schedule();
      });
    }, period);
  }

  private async tick(): Promise<void> {
    if (this.role === 'closed') return;
    if (this.role === 'active') {
      const sentAt = monotonic();
      if (sentAt > this.safeUntilAt && this.safeUntilAt > 0) {
        this.stepDown('lease not renewed in time');
        return;
      }
      const renewed = await renewLease(this.leaseRedis, this.keys, this.id, this.epoch!, this.settings.leaseMs).catch(() => null);
      if (renewed === true) this.safeUntilAt = safeUntil(sentAt, this.settings.leaseMs);
      else if (renewed === false) this.stepDown('the lease is held by another coordinator');
      else if (monotonic() > this.safeUntilAt) this.stepDown('Redis did not answer the lease renewal in time');
      return;
    }
    const holder = await readLease(this.leaseRedis, this.keys).catch(() => undefined);
    if (holder === undefined) return;
    this.activeUrl = holder?.url ?? null;
    this.seenEpoch = holder?.epoch ?? null;
    this.lag = Math.max(0, ((await this.store?.lastLoggedZxid().catch(() => null)) ?? 0) - (this.core?.lastZxid ?? 0));
    if (holder !== null) return;
    const sentAt = monotonic();
    const epoch = await acquireLease(this.leaseRedis, this.keys, this.id, this.settings.advertisedUrl, this.settings.leaseMs).catch(() => null);
    if (epoch === null) return;
    this.safeUntilAt = safeUntil(sentAt, this.settings.leaseMs);
    await this.becomeActive(epoch);
  }

  /** Clean shutdown: an active one hands the lease over at once (snapshot first, then release). */
  async close(): Promise<void> {
    const wasActive = this.role === 'active';
    this.role = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    await this.transition.catch(() => undefined);
    this.stopFollowing?.();
    await this.listener?.close();
    await this.server?.close({ snapshot: true }).catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    if (wasActive) await releaseLease(this.leaseRedis, this.keys, this.id).catch(() => false);
    this.leaseRedis.disconnect();
  }
}
