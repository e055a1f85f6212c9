/**
 * The broker's effective configuration as DescribeConfigs shows it for a broker resource:
 * Kafka's setting names where Kafka has the setting, Samsa's own (`samsa.` prefix) where not;
 * values as Kafka prints them (Long.MAX_VALUE for "never"); all read-only (no dynamic broker
 * configs). Source: DEFAULT_CONFIG when the value equals the default, else STATIC_BROKER_CONFIG
 * (set by a flag or the environment at start).
 */
import { BrokerConfig, loadBrokerConfig } from './config';

export interface BrokerConfigEntry {
  name: string;
  value: string;
  isDefault: boolean;
}

const LONG_MAX = '9223372036854775807';

const never = (value: number): string => (value === Number.POSITIVE_INFINITY ? LONG_MAX : String(value));
const listeners = (hosts: readonly string[], port: number): string => hosts.map((host) => `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');

/** Kafka name → how to print it from a BrokerConfig. */
const ENTRIES: ReadonlyArray<[string, (config: Readonly<BrokerConfig>) => string]> = [
  ['broker.id', (c) => String(c.id)],
  ['listeners', (c) => listeners(c.hosts, c.port)],
  ['advertised.listeners', (c) => listeners([c.advertisedHost], c.port)],
  ['zookeeper.connect', (c) => c.coordinators.join(',')],
  ['zookeeper.session.timeout.ms', (c) => String(c.sessionTimeoutMs)],
  // Whether the broker locks the znodes it creates; the credentials themselves are never shown.
  ['zookeeper.set.acl', (c) => String(c.coordinatorAuth !== null)],
  ['log.dirs', (c) => c.dataDir],
  ['auto.create.topics.enable', (c) => String(c.autoCreateTopics)],
  ['num.partitions', (c) => String(c.numPartitions)],
  ['default.replication.factor', (c) => String(c.defaultReplicationFactor)],
  ['log.retention.ms', (c) => String(c.topicDefaults['retention.ms'])],
  ['log.retention.bytes', (c) => String(c.topicDefaults['retention.bytes'])],
  ['log.segment.bytes', (c) => String(c.segmentBytes)],
  ['min.insync.replicas', (c) => String(c.topicDefaults['min.insync.replicas'])],
  ['message.max.bytes', (c) => String(c.topicDefaults['max.message.bytes'])],
  ['log.cleanup.policy', (c) => c.topicDefaults['cleanup.policy']],
  ['log.cleaner.delete.retention.ms', (c) => String(c.topicDefaults['delete.retention.ms'])],
  ['log.cleaner.min.cleanable.ratio', (c) => String(c.topicDefaults['min.cleanable.dirty.ratio'])],
  ['log.cleaner.min.compaction.lag.ms', (c) => String(c.topicDefaults['min.compaction.lag.ms'])],
  // The cleaner runs after retention on its timer (Kafka's log.cleaner.backoff.ms is separate).
  ['log.cleaner.backoff.ms', (c) => String(c.retentionCheckIntervalMs)],
  ['log.retention.check.interval.ms', (c) => String(c.retentionCheckIntervalMs)],
  ['log.flush.interval.messages', (c) => never(c.flushMessages)],
  ['log.flush.interval.ms', (c) => never(c.flushMs)],
  ['socket.request.max.bytes', (c) => String(c.socketRequestMaxBytes)],
  ['max.connections', (c) => String(c.maxConnections)],
  ['max.connections.per.ip', (c) => String(c.maxConnectionsPerIp)],
  ['connections.max.idle.ms', (c) => String(c.connectionsMaxIdleMs)],
  ['samsa.in.flight.requests.per.connection.max', (c) => String(c.inFlightRequestsPerConnectionMax)],
  ['samsa.request.read.timeout.ms', (c) => String(c.requestReadTimeoutMs)],
  ['samsa.connection.unsent.response.bytes.max', (c) => String(c.connectionUnsentResponseBytesMax)],
  ['samsa.auto.create.topics.per.request.max', (c) => String(c.autoCreateTopicsPerRequestMax)],
];

export function describeBrokerConfig(config: Readonly<BrokerConfig>): BrokerConfigEntry[] {
  // The defaults for this broker id (port and data directory defaults depend on it).
  const defaults = loadBrokerConfig({}, { id: config.id });
  return ENTRIES.map(([name, print]) => {
    const value = print(config);
    return { name, value, isDefault: value === print(defaults) };
  });
}
