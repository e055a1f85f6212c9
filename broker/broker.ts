/**
 * The broker process's composition root: coordinator session, registration, metadata cache,
 * local replicas, controller election, admin, and the Kafka protocol server.
 *
 * Fencing: when the coordinator expires this broker's session (it was cut off for longer than
 * the timeout), the broker stops acting as a leader at once (produce and fetch answer
 * NOT_LEADER_OR_FOLLOWER), then makes a new session, registers again, and resumes.
 */
import { randomBytes } from 'crypto';
import { CoordinatorClient } from '../shared/coordinator/client';
import { unlessCode } from '../shared/coordinator/protocol';
import type { Logger } from '../shared/logging';
import { Admin } from './cluster/admin';
import { MetadataCache, PATHS } from './cluster/metadata-cache';
import { registerBroker } from './cluster/registration';
import { ReplicaManager } from './cluster/replica-manager';
import { effectiveConfig } from './cluster/topic-config';
import type { BrokerConfig } from './config';
import type { BrokerContext } from './context';
import { Controller } from './controller/controller';
import { KafkaServer } from './kafka/server';
import { LogManager } from './log/log-manager';

export interface RunningBroker {
  port: number;
  close(): Promise<void>;
}

async function ensureTree(client: CoordinatorClient): Promise<void> {
  for (const path of [PATHS.brokerIds, PATHS.topics, PATHS.configTopics, PATHS.deleteTopics, '/cluster']) await client.ensurePath(path);
  // The first broker to start names the cluster; everyone after reads it.
  await unlessCode(client.create(PATHS.clusterId, randomBytes(16).toString('base64url').slice(0, 22)), ['NodeExists'], null);
}

export async function startBroker(config: Readonly<BrokerConfig>, rootLogger: Logger): Promise<RunningBroker> {
  const logger = rootLogger.child({ brokerId: config.id });
  const newClient = (): CoordinatorClient => new CoordinatorClient({ servers: config.coordinators, sessionTimeoutMs: config.sessionTimeoutMs, requestTimeoutMs: 10_000 });
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
  await ensureTree(client);

  const cache = new MetadataCache(client, logger.child({ component: 'metadata' }));
  const logs = new LogManager(config.dataDir, logger.child({ component: 'logs' }));
  const replicas = new ReplicaManager(config.id, logs, config, () => fenced, logger.child({ component: 'replicas' }));
  cache.on('change', (view) => void replicas.sync(view));
  const admin = new Admin(() => client, cache, config, logger.child({ component: 'admin' }));
  const context: BrokerContext = {
    settings: {
      brokerId: config.id,
      advertisedHost: config.advertisedHost,
      port: config.port,
      autoCreateTopicsEnable: config.autoCreateTopics,
      numPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      socketRequestMaxBytes: config.socketRequestMaxBytes,
      inFlightRequestsPerConnectionMax: config.inFlightRequestsPerConnectionMax,
    },
    logger,
    cluster: () => cache.view,
    localPartition: (topic, partition) => replicas.get(topic, partition),
    topicConfig: (topic) => effectiveConfig(config.topicDefaults, cache.view.overrides.get(topic) ?? {}),
    isFenced: () => fenced,
    admin,
  };
  const controller = new Controller(config.id, cache, logger.child({ component: 'controller' }));
  const server = new KafkaServer(context, { hosts: config.hosts, port: config.port }, logger);
  const port = await server.listen();
  const endpoint = { host: config.advertisedHost, port, rack: null };

  const join = async (session: CoordinatorClient): Promise<void> => {
    // Wait up to one session timeout (plus slack) for a registration left by our own crashed predecessor.
    await registerBroker(session, config.id, endpoint, config.sessionTimeoutMs + 2000, logger);
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
        await join(client);
        sessionLost = false;
        setFence('registered again');
        return;
      } catch (error) {
        logger.error({ err: error instanceof Error ? error.message : String(error), attempt }, 'broker.rejoin_failed');
        await client.close().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))));
      }
    }
  };

  watchSession(client);
  try {
    await join(client);
  } catch (error) {
    await server.close();
    await client.close();
    logs.closeAll();
    throw error;
  }
  replicas.startTimers();
  logger.info({ port, dataDir: config.dataDir }, 'broker.ready');

  return {
    port,
    close: async () => {
      closing = true;
      if (cutOffTimer !== null) clearTimeout(cutOffTimer);
      await server.close();
      cache.stop();
      await controller.stop().catch(() => undefined);
      await client.close();
      replicas.close();
      logger.info({}, 'broker.stopped');
    },
  };
}
