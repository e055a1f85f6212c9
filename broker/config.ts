/**
 * A broker's configuration: one typed, validated, frozen object, defaults <- env <- flags.
 * Defaults follow `make cluster`: broker N on port 9091+N, data in ./data/broker-N.
 */
import type { TopicConfig } from './context';

export interface BrokerConfig {
  id: number;
  port: number;
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
}

export interface BrokerFlags {
  id?: number;
  port?: number;
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
}

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
});

export function loadBrokerConfig(env: NodeJS.ProcessEnv, flags: BrokerFlags): Readonly<BrokerConfig> {
  const id = flags.id ?? (env.SAMSA_BROKER_ID !== undefined ? Number(env.SAMSA_BROKER_ID) : undefined);
  if (id === undefined || !Number.isInteger(id) || id < 0 || id > 1_000_000) throw new BrokerConfigError('--id must be a non-negative integer');
  const config: BrokerConfig = {
    id,
    port: flags.port ?? 9091 + id,
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
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new BrokerConfigError(`--port ${config.port} is not a TCP port`);
  if (config.coordinators.length === 0) throw new BrokerConfigError('--coordinator needs at least one URL');
  if (config.sessionTimeoutMs < 100) throw new BrokerConfigError('--session-timeout-ms must be at least 100');
  if (config.numPartitions < 1 || config.defaultReplicationFactor < 1) throw new BrokerConfigError('--num-partitions and --default-replication-factor must be at least 1');
  return Object.freeze(config);
}
