/**
 * Wires the coordinator together: store -> recovered core -> WebSocket server -> metrics.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './config';
import { CoordinatorCore } from './core';
import type { CoordinatorCoreApi } from './core-api';
import { startMetricsServer, MetricsServer } from './metrics';
import { CoordinatorServer } from './server';
import { FileStore } from './store/file';
import { MemoryStore } from './store/memory';
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
  switch (config.store) {
    case 'file':
      return new FileStore({ dataDir: config.dataDir, fsync: config.fsync, snapshotsRetained: config.snapshotsRetained, logger });
    case 'memory':
      return new MemoryStore();
  }
}

/** Rebuilds the core from the store; every session alive at the crash gets a fresh timeout from `now`. */
async function recover(store: CoordinatorStore, config: Readonly<CoordinatorConfig>, now: number): Promise<CoordinatorCoreApi> {
  const { snapshot, txns } = await store.open();
  const core: CoordinatorCoreApi = snapshot !== null ? CoordinatorCore.fromSnapshot(snapshot, config.limits, now) : new CoordinatorCore(config.limits);
  for (const txn of txns) core.replay(txn);
  if (txns.length > 0) {
    // Sessions created by replayed transactions carry their old deadlines: restart them from now.
    for (const session of core.snapshot().sessions) core.touchSession(session.sessionId, now);
  }
  return core;
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

export async function startCoordinator(config: Readonly<CoordinatorConfig>, logger: Logger, options: StartOptions = {}): Promise<RunningCoordinator> {
  const log = logger.child({ component: 'coordinator' });
  const clock = options.clock ?? Date.now;
  const store = createStore(config, logger);
  const core = await recover(store, config, clock());
  const onFatal =
    options.onFatal ??
    ((error: Error) => {
      log.fatal({ err: error }, 'coordinator.fatal');
      setTimeout(() => process.exit(1), 100).unref();
    });
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
