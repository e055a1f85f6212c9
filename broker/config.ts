/**
 * A broker's configuration: one typed, validated, frozen object, defaults <- env <- flags.
 * Defaults follow `make cluster`: broker N on port 9091+N, data in ./data/broker-N.
 */
import { digestCredentialsProblem } from '../shared/coordinator/acl';
import type { TopicConfig } from './context';

export interface BrokerConfig {
  id: number;
  port: number;
  /** Prometheus /metrics on 127.0.0.1: a port, 0 = any free port, -1 = off. Default 7191 + id (broker 1: 7192). */
  metricsPort: number;
  /** Addresses to listen on; ::1 is skipped with a log line when IPv6 is unavailable. */
  hosts: string[];
  advertisedHost: string;
  coordinators: string[];
  dataDir: string;
  /** Coordinator session timeout: a crashed broker's registration goes this long after it died. */
  sessionTimeoutMs: number;
  autoCreateTopics: boolean;
  numPartitions: number;
  defaultReplicationFactor: number;
  topicDefaults: TopicConfig;
  segmentBytes: number;
  /** Kafka's socket.request.max.bytes. */
  socketRequestMaxBytes: number;
  inFlightRequestsPerConnectionMax: number;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs: number;
  /** flush.messages / flush.ms (Infinity = leave it to the OS, Kafka's default). */
  flushMessages: number;
  flushMs: number;
  /** Appends of at most this many bytes are written on the event loop (LogConfig.inlineWriteBytesMax); 0 = none. */
  inlineWriteBytesMax: number;
  /** Kafka's max.connections: open connections at most; more are closed at accept. */
  maxConnections: number;
  /** Kafka's max.connections.per.ip. */
  maxConnectionsPerIp: number;
  /** Kafka's connections.max.idle.ms: a connection with no request in flight this long is closed. */
  connectionsMaxIdleMs: number;
  /** Samsa's own (Kafka has none): a request must arrive whole within this long of its first byte. */
  requestReadTimeoutMs: number;
  /** Samsa's own: reading a connection's requests stops while more response bytes than this wait to be sent. */
  connectionUnsentResponseBytesMax: number;
  /** Samsa's own: most unknown topics one Metadata request may auto-create (the rest answer LEADER_NOT_AVAILABLE, retriable, and are created on a later request). */
  autoCreateTopicsPerRequestMax: number;
  /** Kafka's replica.lag.time.max.ms: an ISR member that has not caught up with the leader for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  /** Kafka's replica.fetch.wait.max.ms: a follower's fetch waits on the leader at most this long for new records. */
  replicaFetchWaitMaxMs: number;
  /** Kafka's replica.fetch.backoff.ms: a follower waits this long after a fetch error. */
  replicaFetchBackoffMs: number;
  /** Kafka's replica.high.watermark.checkpoint.interval.ms. */
  highWatermarkCheckpointIntervalMs: number;
  /** Samsa's coordinator extension: after its connection drops, the session expires this soon (0 = the full session timeout, as ZooKeeper). */
  coordinatorDisconnectGraceMs: number;
  /**
   * Digest credentials `user:password` the broker presents to the coordinator, or null (open, the
   * default). With them every znode the broker creates gets the ACL digest:<user>:<hash>:cdrwa +
   * world:anyone:r, so only brokers (with the same credentials) write the cluster's tree and
   * anyone reads it: Kafka's zookeeper.set.acl. Never logged or described.
   */
  coordinatorAuth: string | null;
  /** Kafka's auto.leader.rebalance.enable: leadership goes back to each partition's first replica once it is in the ISR again. */
  autoLeaderRebalance: boolean;
  /** Kafka's leader.imbalance.check.interval.ms (the controller's). */
  leaderImbalanceCheckIntervalMs: number;
  /** Kafka's controlled.shutdown.enable: on SIGTERM, hand leaderships over before exiting. */
  controlledShutdown: boolean;
  /** How long a controlled shutdown waits for its leaderships to move before stopping anyway. */
  controlledShutdownTimeoutMs: number;
  /** Kafka's offsets.topic.num.partitions: partitions of __consumer_offsets when it is created. */
  offsetsTopicPartitions: number;
  /** Kafka's offsets.topic.replication.factor (capped at the live brokers when the topic is created). */
  offsetsTopicReplicationFactor: number;
  /** Kafka's offsets.retention.minutes: committed offsets of a group empty this long are removed. */
  offsetsRetentionMinutes: number;
  /** Kafka's offsets.retention.check.interval.ms. */
  offsetsRetentionCheckIntervalMs: number;
  /** Kafka's group.initial.rebalance.delay.ms: the first rebalance of an empty group waits this long for more members. */
  groupInitialRebalanceDelayMs: number;
  /** Kafka's group.min.session.timeout.ms / group.max.session.timeout.ms: the session timeouts members may ask for. */
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
}

export interface BrokerFlags {
  id?: number;
  port?: number;
  metricsPort?: number;
  host?: string[];
  advertisedHost?: string;
  coordinator?: string;
  dataDir?: string;
  sessionTimeoutMs?: number;
  autoCreateTopics?: boolean;
  numPartitions?: number;
  defaultReplicationFactor?: number;
  retentionCheckIntervalMs?: number;
  flushMessages?: number;
  flushMs?: number;
  inlineWriteBytesMax?: number;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  connectionsMaxIdleMs?: number;
  requestReadTimeoutMs?: number;
  connectionUnsentResponseBytesMax?: number;
  autoCreateTopicsPerRequestMax?: number;
  replicaLagTimeMaxMs?: number;
  replicaFetchWaitMaxMs?: number;
  replicaFetchBackoffMs?: number;
  highWatermarkCheckpointIntervalMs?: number;
  coordinatorDisconnectGraceMs?: number;
  coordinatorAuth?: string;
  autoLeaderRebalance?: boolean;
  leaderImbalanceCheckIntervalMs?: number;
  controlledShutdown?: boolean;
  controlledShutdownTimeoutMs?: number;
  offsetsTopicPartitions?: number;
  offsetsTopicReplicationFactor?: number;
  offsetsRetentionMinutes?: number;
  offsetsRetentionCheckIntervalMs?: number;
  groupInitialRebalanceDelayMs?: number;
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
}

/** Defaults of the connection and request limits (Kafka's own defaults where Kafka has the setting and one is given). */
export const LIMIT_DEFAULTS = Object.freeze({
  /** Kafka: unlimited. A bound keeps file descriptors for the coordinator session and logs. */
  maxConnections: 10_000,
  /** Kafka: unlimited. */
  maxConnectionsPerIp: 1_000,
  /** Kafka: 10 minutes. */
  connectionsMaxIdleMs: 600_000,
  /** Kafka has no such limit; a client's whole request normally arrives in milliseconds. */
  requestReadTimeoutMs: 30_000,
  /** A few full fetch responses; beyond it the client is not reading and the broker stops too. */
  connectionUnsentResponseBytesMax: 4 * 1024 * 1024,
  /** Bounds the tree writes one request can cause; 300 names in one request create in three rounds. */
  autoCreateTopicsPerRequestMax: 100,
});

/**
 * Replication defaults. Kafka's replica.lag.time.max.ms is 30 s; Samsa's failure detection is
 * ~3 s (the session timeout), so a follower that is alive but stuck leaves the ISR after 5 s:
 * longer than a session timeout (a paused or dead broker leaves through its expired session
 * first, one controller write), short enough that acks=all producers do not stall for long.
 */
export const REPLICATION_DEFAULTS = Object.freeze({
  replicaLagTimeMaxMs: 5000,
  /** Kafka: 500. */
  replicaFetchWaitMaxMs: 500,
  /** Kafka: 1000; shorter here so a follower finds a new leader quickly. */
  replicaFetchBackoffMs: 200,
  /** Kafka: 5000. */
  highWatermarkCheckpointIntervalMs: 1000,
  coordinatorDisconnectGraceMs: 500,
  /** Kafka: 300 s; Samsa moves leadership home within seconds of a broker's return. */
  leaderImbalanceCheckIntervalMs: 5000,
  controlledShutdownTimeoutMs: 5000,
});

/** Consumer-group defaults: Kafka's. */
export const GROUP_DEFAULTS = Object.freeze({
  offsetsTopicPartitions: 50,
  offsetsTopicReplicationFactor: 3,
  offsetsRetentionMinutes: 7 * 24 * 60,
  offsetsRetentionCheckIntervalMs: 600_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
});

/** Broker N serves /metrics on METRICS_PORT_BASE + N by default (the coordinator has 7181). */
export const METRICS_PORT_BASE = 7191;

export class BrokerConfigError extends Error {
  override readonly name = 'BrokerConfigError';
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = Object.freeze({
  'retention.ms': 7 * 24 * 3600 * 1000,
  'retention.bytes': -1,
  'segment.bytes': 1024 * 1024 * 1024,
  'min.insync.replicas': 1,
  'max.message.bytes': 1_048_588,
  'cleanup.policy': 'delete',
  'delete.retention.ms': 86_400_000,
  'min.cleanable.dirty.ratio': 0.5,
  'min.compaction.lag.ms': 0,
  'unclean.leader.election.enable': 'false',
});

function requireInteger(flag: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new BrokerConfigError(`${flag} must be an integer from ${min} to ${max}, got ${value}`);
}

export function loadBrokerConfig(env: NodeJS.ProcessEnv, flags: BrokerFlags): Readonly<BrokerConfig> {
  const id = flags.id ?? (env.SAMSA_BROKER_ID !== undefined ? Number(env.SAMSA_BROKER_ID) : undefined);
  if (id === undefined || !Number.isInteger(id) || id < 0 || id > 1_000_000) throw new BrokerConfigError('--id must be a non-negative integer');
  const config: BrokerConfig = {
    id,
    port: flags.port ?? 9091 + id,
    metricsPort: flags.metricsPort ?? (env.SAMSA_BROKER_METRICS_PORT !== undefined ? Number(env.SAMSA_BROKER_METRICS_PORT) : METRICS_PORT_BASE + id),
    hosts: flags.host ?? ['127.0.0.1', '::1'],
    advertisedHost: flags.advertisedHost ?? '127.0.0.1',
    coordinators: (flags.coordinator ?? env.SAMSA_COORDINATOR ?? 'ws://127.0.0.1:2181').split(',').map((url) => url.trim()).filter(Boolean),
    dataDir: flags.dataDir ?? `./data/broker-${id}`,
    sessionTimeoutMs: flags.sessionTimeoutMs ?? 3000,
    autoCreateTopics: flags.autoCreateTopics ?? true,
    numPartitions: flags.numPartitions ?? 1,
    defaultReplicationFactor: flags.defaultReplicationFactor ?? 1,
    topicDefaults: DEFAULT_TOPIC_CONFIG,
    segmentBytes: DEFAULT_TOPIC_CONFIG['segment.bytes'],
    socketRequestMaxBytes: 100 * 1024 * 1024,
    inFlightRequestsPerConnectionMax: 100,
    retentionCheckIntervalMs: flags.retentionCheckIntervalMs ?? 300_000,
    flushMessages: flags.flushMessages ?? Number.POSITIVE_INFINITY,
    flushMs: flags.flushMs ?? Number.POSITIVE_INFINITY,
    inlineWriteBytesMax: flags.inlineWriteBytesMax ?? 16 * 1024,
    maxConnections: flags.maxConnections ?? LIMIT_DEFAULTS.maxConnections,
    maxConnectionsPerIp: flags.maxConnectionsPerIp ?? LIMIT_DEFAULTS.maxConnectionsPerIp,
    connectionsMaxIdleMs: flags.connectionsMaxIdleMs ?? LIMIT_DEFAULTS.connectionsMaxIdleMs,
    requestReadTimeoutMs: flags.requestReadTimeoutMs ?? LIMIT_DEFAULTS.requestReadTimeoutMs,
    connectionUnsentResponseBytesMax: flags.connectionUnsentResponseBytesMax ?? LIMIT_DEFAULTS.connectionUnsentResponseBytesMax,
    autoCreateTopicsPerRequestMax: flags.autoCreateTopicsPerRequestMax ?? LIMIT_DEFAULTS.autoCreateTopicsPerRequestMax,
    replicaLagTimeMaxMs: flags.replicaLagTimeMaxMs ?? REPLICATION_DEFAULTS.replicaLagTimeMaxMs,
    replicaFetchWaitMaxMs: flags.replicaFetchWaitMaxMs ?? REPLICATION_DEFAULTS.replicaFetchWaitMaxMs,
    replicaFetchBackoffMs: flags.replicaFetchBackoffMs ?? REPLICATION_DEFAULTS.replicaFetchBackoffMs,
    highWatermarkCheckpointIntervalMs: flags.highWatermarkCheckpointIntervalMs ?? REPLICATION_DEFAULTS.highWatermarkCheckpointIntervalMs,
    coordinatorDisconnectGraceMs: flags.coordinatorDisconnectGraceMs ?? REPLICATION_DEFAULTS.coordinatorDisconnectGraceMs,
    // An empty value (a Makefile variable left unset) means none.
    coordinatorAuth: (flags.coordinatorAuth ?? env.SAMSA_COORDINATOR_AUTH ?? '') || null,
    autoLeaderRebalance: flags.autoLeaderRebalance ?? true,
    leaderImbalanceCheckIntervalMs: flags.leaderImbalanceCheckIntervalMs ?? REPLICATION_DEFAULTS.leaderImbalanceCheckIntervalMs,
    controlledShutdown: flags.controlledShutdown ?? true,
    controlledShutdownTimeoutMs: flags.controlledShutdownTimeoutMs ?? REPLICATION_DEFAULTS.controlledShutdownTimeoutMs,
    offsetsTopicPartitions: flags.offsetsTopicPartitions ?? GROUP_DEFAULTS.offsetsTopicPartitions,
    offsetsTopicReplicationFactor: flags.offsetsTopicReplicationFactor ?? GROUP_DEFAULTS.offsetsTopicReplicationFactor,
    offsetsRetentionMinutes: flags.offsetsRetentionMinutes ?? GROUP_DEFAULTS.offsetsRetentionMinutes,
    offsetsRetentionCheckIntervalMs: flags.offsetsRetentionCheckIntervalMs ?? GROUP_DEFAULTS.offsetsRetentionCheckIntervalMs,
    groupInitialRebalanceDelayMs: flags.groupInitialRebalanceDelayMs ?? GROUP_DEFAULTS.groupInitialRebalanceDelayMs,
    groupMinSessionTimeoutMs: flags.groupMinSessionTimeoutMs ?? GROUP_DEFAULTS.groupMinSessionTimeoutMs,
    groupMaxSessionTimeoutMs: flags.groupMaxSessionTimeoutMs ?? GROUP_DEFAULTS.groupMaxSessionTimeoutMs,
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new BrokerConfigError(`--port ${config.port} is not a TCP port`);
  if (!Number.isInteger(config.metricsPort) || config.metricsPort < -1 || config.metricsPort > 65535) throw new BrokerConfigError(`--metrics-port ${config.metricsPort} is not a TCP port, 0 (any) or -1 (off)`);
  if (config.coordinators.length === 0) throw new BrokerConfigError('--coordinator needs at least one URL');
  for (const url of config.coordinators) if (!/^wss?:\/\/./.test(url)) throw new BrokerConfigError(`--coordinator ${url} is not a ws:// URL`);
  const authProblem = config.coordinatorAuth === null ? null : digestCredentialsProblem(config.coordinatorAuth);
  if (authProblem !== null) throw new BrokerConfigError(`--coordinator-auth: ${authProblem}`);
  if (config.hosts.length === 0) throw new BrokerConfigError('--host needs at least one address');
  requireInteger('--session-timeout-ms', config.sessionTimeoutMs, 100, 600_000);
  requireInteger('--num-partitions', config.numPartitions, 1, 10_000);
  requireInteger('--default-replication-factor', config.defaultReplicationFactor, 1, 1000);
  requireInteger('--retention-check-interval-ms', config.retentionCheckIntervalMs, 10, 2 ** 31 - 1);
  requireInteger('--max-connections', config.maxConnections, 1, 1_000_000);
  requireInteger('--max-connections-per-ip', config.maxConnectionsPerIp, 1, 1_000_000);
  requireInteger('--connections-max-idle-ms', config.connectionsMaxIdleMs, 100, 2 ** 31 - 1);
  requireInteger('--request-read-timeout-ms', config.requestReadTimeoutMs, 100, 2 ** 31 - 1);
  requireInteger('--connection-unsent-response-bytes-max', config.connectionUnsentResponseBytesMax, 1024, 2 ** 31 - 1);
  requireInteger('--auto-create-topics-per-request-max', config.autoCreateTopicsPerRequestMax, 1, 100_000);
  requireInteger('--replica-lag-time-max-ms', config.replicaLagTimeMaxMs, 100, 2 ** 31 - 1);
  requireInteger('--replica-fetch-wait-max-ms', config.replicaFetchWaitMaxMs, 1, 60_000);
  requireInteger('--replica-fetch-backoff-ms', config.replicaFetchBackoffMs, 1, 60_000);
  requireInteger('--high-watermark-checkpoint-interval-ms', config.highWatermarkCheckpointIntervalMs, 10, 2 ** 31 - 1);
  requireInteger('--coordinator-disconnect-grace-ms', config.coordinatorDisconnectGraceMs, 0, config.sessionTimeoutMs);
  requireInteger('--leader-imbalance-check-interval-ms', config.leaderImbalanceCheckIntervalMs, 100, 2 ** 31 - 1);
  requireInteger('--controlled-shutdown-timeout-ms', config.controlledShutdownTimeoutMs, 0, 600_000);
  requireInteger('--offsets-topic-partitions', config.offsetsTopicPartitions, 1, 10_000);
  requireInteger('--offsets-topic-replication-factor', config.offsetsTopicReplicationFactor, 1, 1000);
  requireInteger('--offsets-retention-minutes', config.offsetsRetentionMinutes, 1, 2 ** 31 - 1);
  requireInteger('--offsets-retention-check-interval-ms', config.offsetsRetentionCheckIntervalMs, 10, 2 ** 31 - 1);
  requireInteger('--group-initial-rebalance-delay-ms', config.groupInitialRebalanceDelayMs, 0, 600_000);
  requireInteger('--group-min-session-timeout-ms', config.groupMinSessionTimeoutMs, 1, 2 ** 31 - 1);
  requireInteger('--group-max-session-timeout-ms', config.groupMaxSessionTimeoutMs, config.groupMinSessionTimeoutMs, 2 ** 31 - 1);
  // Infinity (the default) leaves flushing to the OS, as Kafka does.
  if (config.flushMessages !== Number.POSITIVE_INFINITY) requireInteger('--flush-messages', config.flushMessages, 1, Number.MAX_SAFE_INTEGER);
  if (config.flushMs !== Number.POSITIVE_INFINITY) requireInteger('--flush-ms', config.flushMs, 0, 2 ** 31 - 1);
  requireInteger('--inline-write-bytes-max', config.inlineWriteBytesMax, 0, 1024 * 1024);
  return Object.freeze({ ...config, hosts: Object.freeze([...config.hosts]) as string[], coordinators: Object.freeze([...config.coordinators]) as string[] });
}
