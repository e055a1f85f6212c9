/**
 * The broker process's composition root: coordinator session, registration, metadata cache,
 * local replicas, controller election, admin, and the Kafka protocol server.
 *
 * Fencing: when the coordinator expires this broker's session (it was cut off for longer than
 * the timeout), the broker stops acting as a leader at once (produce and fetch answer
 * NOT_LEADER_OR_FOLLOWER), then makes a new session, registers again, and resumes.
 *
 * Identity (broker/cluster/meta-properties.ts): before touching the tree or the data directory,
 * at start and again before every re-registration, the broker checks that its data directory's
 * meta.properties and the coordinator's /cluster/id agree. At start a mismatch rejects
 * startBroker; after a session expiry (a coordinator restarted empty) the broker stays fenced,
 * stops serving and calls onFatal (default: exit 1), leaving its data as it is.
 *
 * Access control (--coordinator-auth): the session presents the brokers' digest credentials and
 * every znode it creates gets brokerTreeAcl, so only the brokers write the cluster's tree.
 */
import { systemClock } from '../shared/clock';
import { digestId, READ_ACL } from '../shared/coordinator/acl';
import { CoordinatorClient } from '../shared/coordinator/client';
import type { CoordinatorClientOptions } from '../shared/coordinator/client-api';
import { Acl, hasCode, PERMS_ALL } from '../shared/coordinator/protocol';
import type { Logger } from '../shared/logging';
import { Admin } from './cluster/admin';
import { acknowledgeDeletion } from './cluster/deletion';
import { MetadataCache, PATHS, statePath } from './cluster/metadata-cache';
import { ClusterIdentityError, establishIdentity } from './cluster/meta-properties';
import { registerBroker } from './cluster/registration';
import { ReplicaManager } from './partition/replica-manager';
import type { BrokerConfig } from './config';
import type { BrokerContext } from './context';
import { Controller } from './controller/controller';
import { GroupCoordinator, OFFSET_COMMIT_DEFAULTS } from './group/coordinator';
import { KafkaServer } from './kafka/server';
import { LogManager } from './log/log-manager';
import { BrokerMetrics } from './metrics/broker-metrics';
import { MetricsServer, startMetricsServer } from './metrics/server';
import { DelayedProduce } from './partition/delayed';

/** A stop still running after this long is logged with the step it is in. */
const CLOSE_STEP_WARNING_MS = 15_000;

export interface RunningBroker {
  port: number;
  /** The /metrics port bound, or -1 when metrics are off. */
  metricsPort: number;
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  /** The broker cannot go on (its data belongs to another cluster than the coordinator's). Default: print the message, exit 1. */
  onFatal?: (error: Error) => void;
}

/**
 * The ACL of every znode a broker with credentials `user:password` creates: everything for the
 * brokers' digest identity, read for everyone (Kafka's zookeeper.set.acl: the broker's identity
 * ALL, world READ), so tools and consoles still read the tree and only brokers change it.
 */
export function brokerTreeAcl(userPassword: string): Acl[] {
  return [{ scheme: 'digest', id: digestId(userPassword), perms: PERMS_ALL }, ...READ_ACL.map((entry) => ({ ...entry }))];
}

/** The client options for --coordinator-auth: credentials on every connection, and the ACL of every create. */
function coordinatorAccess(config: Readonly<BrokerConfig>): Pick<CoordinatorClientOptions, 'auth' | 'defaultAcl'> {
  if (config.coordinatorAuth === null) return {};
  return { auth: [{ scheme: 'digest', auth: config.coordinatorAuth }], defaultAcl: brokerTreeAcl(config.coordinatorAuth) };
}

/** A NoAuth while joining means brokers with other credentials locked the tree: say what to do. */
function explainNoAuth(error: unknown, config: Readonly<BrokerConfig>): unknown {
  if (!hasCode(error, 'NoAuth')) return error;
  const hint = config.coordinatorAuth === null
    ? 'start this broker with --coordinator-auth user:password, the credentials the other brokers use'
    : "this broker's --coordinator-auth differs from the credentials the tree was locked with";
  return new Error(`${error.message}: the cluster's tree is locked; ${hint}`);
}

/** /cluster/id is not created here: only establishIdentity names a cluster. */
async function ensureTree(client: CoordinatorClient): Promise<void> {
  for (const path of [PATHS.brokerIds, PATHS.topics, PATHS.configTopics, PATHS.deleteTopics, PATHS.controlledShutdown]) await client.ensurePath(path);
}

export async function startBroker(config: Readonly<BrokerConfig>, rootLogger: Logger, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const logger = rootLogger.child({ brokerId: config.id });
  // The one clock of the broker's side: the replica manager, the Kafka server and registration take it.
  const clock = systemClock;
  const identity = { brokerId: config.id, dataDir: config.dataDir, coordinators: config.coordinators };
  const onFatal = options.onFatal ?? ((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
  const newClient = (): CoordinatorClient => new CoordinatorClient({
    servers: config.coordinators,
    sessionTimeoutMs: config.sessionTimeoutMs,
    requestTimeoutMs: 10_000,
    // Samsa's extension: a crashed broker's session (and registration) goes this soon after its connection drops.
    ...(config.coordinatorDisconnectGraceMs > 0 ? { disconnectGraceMs: config.coordinatorDisconnectGraceMs } : {}),
    ...coordinatorAccess(config),
  });
  let client = newClient();
  // Fenced = must not act as a leader: the session expired (until registered again), or the
  // coordinator has been out of reach for longer than the session timeout, by which time the
  // coordinator has expired the session and the controller may have moved leadership.
  let sessionLost = false;
  let cutOff = false;
  let fenced = false;
  let closing = false;
  let cutOffTimer: NodeJS.Timeout | null = null;
  const setFence = (reason: string): void => {
    const next = sessionLost || cutOff;
    if (next === fenced) return;
    fenced = next;
    if (fenced) logger.warn({ reason }, 'broker.fenced');
    else logger.info({ reason }, 'broker.unfenced');
    replicas.fencingChanged();
    groups.refresh(); // a fenced broker coordinates no group
  };
  const watchSession = (session: CoordinatorClient): void => {
    session.on('state', (state) => {
      if (session !== client || closing) return;
      if (state === 'disconnected' && cutOffTimer === null) {
        cutOffTimer = setTimeout(() => {
          cutOffTimer = null;
          cutOff = true;
          setFence('coordinator unreachable for the session timeout');
        }, config.sessionTimeoutMs);
        cutOffTimer.unref();
      } else if (state === 'connected') {
        if (cutOffTimer !== null) clearTimeout(cutOffTimer);
        cutOffTimer = null;
        cutOff = false;
        setFence('reconnected with the session intact');
      } else if (state === 'expired') {
        if (cutOffTimer !== null) clearTimeout(cutOffTimer);
        cutOffTimer = null;
        cutOff = false;
        void rejoin();
      }
    });
  };
  await client.connect();
  try {
    await establishIdentity(client, identity, logger);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  try {
    await ensureTree(client);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw explainNoAuth(error, config);
  }

  const cache = new MetadataCache(client, logger.child({ component: 'metadata' }));
  const metrics = config.metricsPort >= 0 ? new BrokerMetrics() : null;
  const logs = new LogManager(config.dataDir, logger.child({ component: 'logs' }));
  const replicas = new ReplicaManager(
    {
      brokerId: config.id,
      topicDefaults: config.topicDefaults,
      flushMessages: config.flushMessages,
      flushMs: config.flushMs,
      inlineWriteBytesMax: config.inlineWriteBytesMax,
      retentionCheckIntervalMs: config.retentionCheckIntervalMs,
      replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
      replicaFetchWaitMaxMs: config.replicaFetchWaitMaxMs,
      replicaFetchMaxBytes: 1024 * 1024,
      replicaFetchResponseMaxBytes: 10 * 1024 * 1024,
      replicaFetchBackoffMs: config.replicaFetchBackoffMs,
      highWatermarkCheckpointIntervalMs: config.highWatermarkCheckpointIntervalMs,
    },
    {
      logs,
      clock,
      fenced: () => fenced,
      acknowledgeDeletion: async (topic) => void (await acknowledgeDeletion(client, topic, config.id)),
      writeState: async (topic, partition, state, version) => (await client.setData(statePath(topic, partition), JSON.stringify(state), version)).stat.version,
      logger: logger.child({ component: 'replicas' }),
      ...(metrics !== null ? { traffic: metrics } : {}),
    },
  );
  const admin = new Admin(() => client, cache, config, logger.child({ component: 'admin' }));
  const groups = new GroupCoordinator(
    {
      ...OFFSET_COMMIT_DEFAULTS,
      offsetsTopicPartitions: config.offsetsTopicPartitions,
      offsetsTopicReplicationFactor: config.offsetsTopicReplicationFactor,
      offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
      offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
      group: {
        groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        groupMaxSize: 2 ** 31 - 1,
      },
    },
    { replicas, admin, cluster: () => cache.view, clock, logger: logger.child({ component: 'groups' }) },
  );
  // Groups follow leadership of __consumer_offsets: loaded or unloaded once the replicas are in step.
  cache.on('change', (view) => void replicas.sync(view).then(() => groups.refresh()));
  const context: BrokerContext = {
    logger,
    cluster: () => cache.view,
    replicas,
    admin,
    groups,
  };
  const controller = new Controller(config.id, cache, logger.child({ component: 'controller' }), {
    topicDefaults: config.topicDefaults,
    autoLeaderRebalance: config.autoLeaderRebalance,
    leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
  });
  const server = new KafkaServer(context, config, logger, clock, metrics);
  metrics?.attach({
    brokerId: config.id,
    partitions: () => replicas.all(),
    minInsyncReplicas: (topic) => replicas.topicConfig(topic)['min.insync.replicas'],
    cluster: () => cache.view,
    purgatorySizes: () => {
      const waiting = replicas.purgatory.countBy((operation) => (operation instanceof DelayedProduce ? 'Produce' : 'Fetch'));
      return new Map([['Produce', waiting.get('Produce') ?? 0], ['Fetch', waiting.get('Fetch') ?? 0], ['Rebalance', groups.waiting]]);
    },
    committedOffsets: () => groups.committedOffsets(),
    clientSoftware: () => server.clientSoftware.snapshot(),
  });
  let metricsServer: MetricsServer | null = null;
  const closeMetrics = async (): Promise<void> => {
    await metricsServer?.close();
  };
  const port = await server.listen();
  const endpoint = { host: config.advertisedHost, port, rack: null };

  const join = async (session: CoordinatorClient): Promise<void> => {
    // Wait up to one session timeout (plus slack) for a registration left by our own crashed predecessor.
    // The metrics URL rides along (as Kafka's jmx_port does) so the console and `samsa top` find it.
    await registerBroker(session, config.id, { ...endpoint, metricsUrl: metricsServer?.url ?? null }, config.sessionTimeoutMs + 2000, logger, clock);
    await cache.start(session);
    await replicas.sync(cache.view);
    await controller.start(session);
  };

  const rejoin = async (): Promise<void> => {
    sessionLost = true;
    setFence('session expired');
    await controller.stop().catch(() => undefined);
    // Retried with backoff for as long as the broker runs: a broker without a session is useless.
    for (let attempt = 0; !closing; attempt++) {
      try {
        client = newClient();
        watchSession(client);
        await client.connect();
        // A coordinator that came back empty (or another one) must not get this broker, or its data.
        await establishIdentity(client, identity, logger);
        await join(client);
        sessionLost = false;
        setFence('registered again');
        return;
      } catch (error) {
        if (error instanceof ClusterIdentityError) {
          await stopForIdentity(error);
          return;
        }
        logger.error({ err: error instanceof Error ? error.message : String(error), attempt }, 'broker.rejoin_failed');
        await client.close().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  };

  /**
   * Kafka's controlled shutdown: stop copying from leaders, ask the controller (an ephemeral
   * /admin/controlled_shutdown/<id>) to move this broker's leaderships to other in-sync
   * replicas and take it out of every ISR, and wait until the picture shows that done (or the
   * timeout passes: a partition nobody else is in sync for keeps its leader until the end).
   */
  const controlledShutdown = async (): Promise<void> => {
    if (!config.controlledShutdown || fenced || client.state !== 'connected') return;
    const started = clock.now();
    await replicas.stopFetchers();
    try {
      await client.create(`${PATHS.controlledShutdown}/${config.id}`, '', { mode: 'ephemeral' });
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'broker.controlled_shutdown_failed');
        return;
      }
    }
    const movable = (view: typeof cache.view): number => {
      const live = new Set(view.brokers.map((broker) => broker.id));
      let count = 0;
      for (const { state } of view.states.values()) {
        if (state.leader === config.id && state.isr.some((id) => id !== config.id && live.has(id) && !view.shuttingDown.has(id))) count++;
      }
      return count;
    };
    const done = await cache.waitFor((view) => view.shuttingDown.has(config.id) && movable(view) === 0, config.controlledShutdownTimeoutMs);
    const leading = [...cache.view.states.values()].filter(({ state }) => state.leader === config.id).length;
    logger[done ? 'info' : 'warn']({ tookMs: clock.now() - started, stillLeading: leading, movableLeft: movable(cache.view) }, done ? 'broker.controlled_shutdown_done' : 'broker.controlled_shutdown_timed_out');
  };

  /** Fenced already (the session is lost); stop serving and hand over, writing nothing more to disk or the tree. */
  const stopForIdentity = async (error: ClusterIdentityError): Promise<void> => {
    closing = true;
    logger.fatal({ err: error.message }, 'broker.identity_lost');
    await server.close().catch(() => undefined);
    await closeMetrics();
    cache.stop();
    await client.close().catch(() => undefined);
    onFatal(error);
  };

  watchSession(client);
  try {
    if (metrics !== null) {
      try {
        metricsServer = await startMetricsServer(config.metricsPort, metrics.registry, logger.child({ component: 'metrics' }));
      } catch (error) {
        throw new Error(`metrics port ${config.metricsPort}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await join(client);
  } catch (error) {
    await closeMetrics();
    await server.close();
    await client.close();
    await replicas.close();
    throw explainNoAuth(error, config);
  }
  server.markReady(); // the metadata cache is loaded: requests may be answered now
  replicas.startTimers();
  groups.start();
  groups.refresh();
  logger.info({ port, dataDir: config.dataDir, metrics: metricsServer?.url ?? null }, 'broker.ready');

  return {
    port,
    metricsPort: metricsServer?.port ?? -1,
    close: async () => {
      // Each step is named so that a stop that hangs says where (the watchdog below logs it).
      let step = 'controlled shutdown';
      const watchdog = setTimeout(() => logger.error({ step, waitedMs: CLOSE_STEP_WARNING_MS }, 'broker.stop_slow'), CLOSE_STEP_WARNING_MS);
      watchdog.unref();
      // Bounded as a whole: with the coordinator out of reach each call would wait out its own timeout.
      await Promise.race([
        controlledShutdown().catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'broker.controlled_shutdown_failed')),
        new Promise<void>((resolve) => setTimeout(resolve, config.controlledShutdownTimeoutMs + 1000).unref()),
      ]);
      closing = true;
      if (cutOffTimer !== null) clearTimeout(cutOffTimer);
      replicas.purgatory.shutdown(); // waiting requests answer before their connections go
      groups.close();
      step = 'kafka server';
      await server.close();
      await closeMetrics();
      cache.stop();
      step = 'controller';
      await controller.stop().catch(() => undefined);
      step = 'coordinator session';
      await client.close();
      step = 'logs';
      await replicas.close();
      clearTimeout(watchdog);
      logger.info({}, 'broker.stopped');
    },
  };
}
