/**
 * Wires the coordinator together: store -> recovered core -> WebSocket server -> metrics.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './config';
import type { CoordinatorCoreApi } from './core-api';
import { coreFromState, HaCoordinator } from './ha';
import { startMetricsServer, MetricsServer } from './metrics';
import { CoordinatorServer } from './server';
import { FileStore } from './store/file';
import { MemoryStore } from './store/memory';
import { describeRedisUrl } from './store/redis';
import type { CoordinatorStore } from './store/store';

export interface RunningCoordinator {
  /** The WebSocket port actually bound. */
  port: number;
  /** The metrics port actually bound, or -1 when metrics are off. */
  metricsPort: number;
  /** Clean shutdown: answers what is pending, writes a snapshot, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** The store failed and nothing more can be acknowledged. Default: log and exit(1). */
  onFatal?: (error: Error) => void;
  /** Wall clock (ms since the epoch). Default Date.now. */
  clock?: () => number;
}

function createStore(config: Readonly<CoordinatorConfig>, logger: Logger): CoordinatorStore {
  if (config.store === 'file') return new FileStore({ dataDir: config.dataDir, fsync: config.fsync, snapshotsRetained: config.snapshotsRetained, logger });
  if (config.store === 'memory') return new MemoryStore();
  throw new Error(`store ${config.store} is opened by the HA coordinator`);
}

/** Rebuilds the core from the store; every session alive at the crash gets a fresh timeout from `now`. */
async function recover(store: CoordinatorStore, config: Readonly<CoordinatorConfig>, now: number): Promise<CoordinatorCoreApi> {
  return coreFromState(await store.open(), config.limits, now);
}

function packageVersion(): string {
  for (const candidate of [path.join(__dirname, '..', '..', 'package.json'), path.join(__dirname, '..', 'package.json')]) {
    try {
      const parsed = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'samsa' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // try the next one
    }
  }
  return '0.0.0';
}

/** Coordinators on a Redis store: a standby until this one holds the lease (coordinator/ha.ts). */
async function startOnRedis(config: Readonly<CoordinatorConfig>, logger: Logger, clock: () => number, onFatal: (error: Error) => void): Promise<RunningCoordinator> {
  const log = logger.child({ component: 'coordinator' });
  const redis = config.redis!;
  const advertisedUrl = redis.advertisedUrl ?? `ws://${config.host}:${config.port}`;
  const ha = new HaCoordinator(config, { redisUrl: redis.url, prefix: redis.prefix, leaseMs: redis.leaseMs, redisWait: redis.wait, advertisedUrl }, logger, packageVersion(), clock, onFatal);
  await ha.start();
  let metrics: MetricsServer | null = null;
  if (config.metricsPort >= 0) {
    try {
      metrics = await startMetricsServer(config.metricsPort, () => ha.stats());
    } catch (error) {
      await ha.close();
      throw new Error(`metrics port ${config.metricsPort}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  log.info({ url: advertisedUrl, store: describeRedisUrl(redis.url), prefix: redis.prefix, leaseMs: redis.leaseMs, redisWait: redis.wait, id: ha.id, metrics: metrics !== null ? `http://127.0.0.1:${metrics.port}/metrics` : null }, 'coordinator.listening');
  let closing: Promise<void> | null = null;
  return {
    port: ha.port,
    metricsPort: metrics?.port ?? -1,
    close: () => {
      closing ??= (async () => {
        await metrics?.close();
        await ha.close();
        log.info({}, 'coordinator.stopped');
      })();
      return closing;
    },
  };
}

export async function startCoordinator(config: Readonly<CoordinatorConfig>, logger: Logger, options: StartOptions = {}): Promise<RunningCoordinator> {
  const log = logger.child({ component: 'coordinator' });
  const clock = options.clock ?? Date.now;
  const onFatal =
    options.onFatal ??
    ((error: Error) => {
      log.fatal({ err: error }, 'coordinator.fatal');
      setTimeout(() => process.exit(1), 100).unref();
    });
  if (config.store === 'redis') return startOnRedis(config, logger, clock, onFatal);
  const store = createStore(config, logger);
  const core = await recover(store, config, clock());
  const server = new CoordinatorServer({ config, core, store, logger, version: packageVersion(), onFatal, clock });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    await store.close();
    throw error;
  }
  let metrics: MetricsServer | null = null;
  if (config.metricsPort >= 0) {
    try {
      metrics = await startMetricsServer(config.metricsPort, () => server.stats());
    } catch (error) {
      await server.close({ snapshot: false });
      await store.close();
      throw new Error(`metrics port ${config.metricsPort}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const { limits } = config;
  log.info(
    {
      url: `ws://${config.host}:${port}`,
      store: config.store,
      dataDir: config.store === 'file' ? path.resolve(config.dataDir) : null,
      fsync: config.store === 'file' ? config.fsync : null,
      metrics: metrics !== null ? `http://127.0.0.1:${metrics.port}/metrics` : null,
      sessionTimeoutMinMs: limits.sessionTimeoutMinMs,
      sessionTimeoutMaxMs: limits.sessionTimeoutMaxMs,
      lastZxid: core.lastZxid,
    },
    'coordinator.listening',
  );
  let closing: Promise<void> | null = null;
  return {
    port,
    metricsPort: metrics?.port ?? -1,
    close: () => {
      closing ??= (async () => {
        await metrics?.close();
        await server.close();
        await store.close();
        log.info({ lastZxid: core.lastZxid }, 'coordinator.stopped');
      })();
      return closing;
    },
  };
}
