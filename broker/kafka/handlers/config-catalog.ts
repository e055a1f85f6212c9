/**
 * What DescribeConfigs v1+ tells about each config beyond its value: its data type (v3+), its
 * documentation (v3+, when asked) and, for a topic config, the broker setting it defaults to
 * (its synonym, v1+). Types and texts are Kafka's (TopicConfig, KafkaConfig), shortened where
 * Kafka's text describes behaviour Samsa does not have. Pure tables.
 */
import type { TopicConfig } from '../../context';

/** DescribeConfigsResponse ConfigType (v3+). */
export const ConfigType = { UNKNOWN: 0, BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;

/** DescribeConfigs config sources (Kafka's ConfigSource ids). */
export const ConfigSource = { DYNAMIC_TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const;

interface TopicKeyInfo {
  type: number;
  /** The broker setting this topic config falls back to (Kafka's TopicConfigSynonyms). */
  brokerName: string;
  documentation: string;
}

export const TOPIC_CONFIG_INFO: Readonly<Record<keyof TopicConfig, TopicKeyInfo>> = {
  'retention.ms': {
    type: ConfigType.LONG,
    brokerName: 'log.retention.ms',
    documentation: 'The maximum time a log is retained before old log segments are discarded to free up space, under the "delete" retention policy. -1: no time limit.',
  },
  'retention.bytes': {
    type: ConfigType.LONG,
    brokerName: 'log.retention.bytes',
    documentation: 'The maximum size a partition can grow to before old log segments are discarded to free up space, under the "delete" retention policy. Enforced per partition. -1: no size limit.',
  },
  'segment.bytes': {
    type: ConfigType.INT,
    brokerName: 'log.segment.bytes',
    documentation: 'The segment file size for the log. Retention and cleaning are done a file at a time, so a larger segment size means fewer files but less granular control over retention.',
  },
  'min.insync.replicas': {
    type: ConfigType.INT,
    brokerName: 'min.insync.replicas',
    documentation: 'When a producer sets acks to "all" (or -1), the minimum number of replicas that must acknowledge a write for it to succeed; otherwise the producer gets NOT_ENOUGH_REPLICAS.',
  },
  'max.message.bytes': {
    type: ConfigType.INT,
    brokerName: 'message.max.bytes',
    documentation: 'The largest record batch size allowed (after compression if compression is enabled).',
  },
  'cleanup.policy': {
    type: ConfigType.LIST,
    brokerName: 'log.cleanup.policy',
    documentation:
      'The retention policy of log segments: "delete" discards old segments when their retention time or size limit has been reached; "compact" keeps the latest value of each key. Both may be given, comma-separated ("compact,delete").',
  },
  'delete.retention.ms': {
    type: ConfigType.LONG,
    brokerName: 'log.cleaner.delete.retention.ms',
    documentation: 'How long delete tombstones of compacted topics are retained: a consumer must read from the start of the log within this time to see the final stage of each key.',
  },
  'min.cleanable.dirty.ratio': {
    type: ConfigType.DOUBLE,
    brokerName: 'log.cleaner.min.cleanable.ratio',
    documentation: 'How often the compactor attempts to clean a compacted log: when the ratio of dirty (not yet compacted) bytes to the whole log reaches this value.',
  },
  'min.compaction.lag.ms': {
    type: ConfigType.LONG,
    brokerName: 'log.cleaner.min.compaction.lag.ms',
    documentation: 'The minimum time a record remains uncompacted in the log. Only applies to compacted topics.',
  },
  'unclean.leader.election.enable': {
    type: ConfigType.BOOLEAN,
    brokerName: 'unclean.leader.election.enable',
    documentation: 'Whether a replica outside the ISR may be elected leader as a last resort when no ISR member is alive, even though doing so may lose data.',
  },
};

/** Broker settings (broker/config-describe.ts names): type and documentation. Unlisted: UNKNOWN, no text. */
export const BROKER_CONFIG_INFO: Readonly<Record<string, { type: number; documentation: string }>> = {
  'broker.id': { type: ConfigType.INT, documentation: 'The broker id of this server.' },
  listeners: { type: ConfigType.STRING, documentation: 'The addresses the broker listens on (comma-separated listener URIs).' },
  'advertised.listeners': { type: ConfigType.STRING, documentation: 'The address clients are told to use for this broker (Metadata).' },
  'zookeeper.connect': { type: ConfigType.STRING, documentation: 'The Samsa coordinators this broker registers with (host:port, comma-separated).' },
  'zookeeper.session.timeout.ms': { type: ConfigType.INT, documentation: 'The coordinator session timeout: a broker silent this long is considered dead.' },
  'log.dirs': { type: ConfigType.STRING, documentation: 'The directory in which the log data is kept.' },
  'auto.create.topics.enable': { type: ConfigType.BOOLEAN, documentation: 'Enable auto creation of topics on the server (Metadata requests for unknown topics).' },
  'num.partitions': { type: ConfigType.INT, documentation: 'The default number of partitions per topic.' },
  'default.replication.factor': { type: ConfigType.INT, documentation: 'The default replication factor of automatically created topics.' },
  'log.retention.ms': { type: ConfigType.LONG, documentation: 'The default retention.ms of topics. -1: no time limit.' },
  'log.retention.bytes': { type: ConfigType.LONG, documentation: 'The default retention.bytes of topics (per partition). -1: no size limit.' },
  'log.segment.bytes': { type: ConfigType.INT, documentation: 'The maximum size of a single log file.' },
  'min.insync.replicas': { type: ConfigType.INT, documentation: 'The default min.insync.replicas of topics.' },
  'message.max.bytes': { type: ConfigType.INT, documentation: 'The largest record batch size allowed (the default max.message.bytes of topics).' },
  'log.cleanup.policy': { type: ConfigType.LIST, documentation: 'The default cleanup.policy of topics: "delete", "compact" or both.' },
  'log.cleaner.delete.retention.ms': { type: ConfigType.LONG, documentation: 'The default delete.retention.ms of topics: how long tombstones are retained.' },
  'log.cleaner.min.cleanable.ratio': { type: ConfigType.DOUBLE, documentation: 'The default min.cleanable.dirty.ratio of topics.' },
  'log.cleaner.min.compaction.lag.ms': { type: ConfigType.LONG, documentation: 'The default min.compaction.lag.ms of topics.' },
  'log.cleaner.backoff.ms': { type: ConfigType.LONG, documentation: 'How often the cleaner looks for logs to clean (with the retention check).' },
  'log.retention.check.interval.ms': { type: ConfigType.LONG, documentation: 'How often logs are checked for segments to delete under the retention policy.' },
  'log.flush.interval.messages': { type: ConfigType.LONG, documentation: 'The number of records accumulated on a log partition before they are flushed to disk.' },
  'log.flush.interval.ms': { type: ConfigType.LONG, documentation: 'The maximum time records stay in memory before they are flushed to disk.' },
  'socket.request.max.bytes': { type: ConfigType.INT, documentation: 'The maximum number of bytes in a request: a larger frame closes the connection.' },
  'max.connections': { type: ConfigType.INT, documentation: 'The maximum number of connections the broker accepts at any time.' },
  'max.connections.per.ip': { type: ConfigType.INT, documentation: 'The maximum number of connections the broker accepts from each IP address.' },
  'connections.max.idle.ms': { type: ConfigType.LONG, documentation: 'Idle connections are closed after this many milliseconds.' },
  'samsa.in.flight.requests.per.connection.max': { type: ConfigType.INT, documentation: 'Requests a connection may have unanswered before the broker stops reading it.' },
  'samsa.request.read.timeout.ms': { type: ConfigType.INT, documentation: 'How long a request may take to arrive whole once its first byte has.' },
  'samsa.connection.unsent.response.bytes.max': { type: ConfigType.INT, documentation: 'Response bytes a slow client may leave untaken before the broker stops reading its connection.' },
  'samsa.auto.create.topics.per.request.max': { type: ConfigType.INT, documentation: 'The most topics one request may auto-create.' },
};

/** Topic configs of Kafka's LIST type: the only ones IncrementalAlterConfigs APPEND and SUBTRACT apply to. */
export function isListConfig(name: string): boolean {
  return (TOPIC_CONFIG_INFO as Record<string, TopicKeyInfo | undefined>)[name]?.type === ConfigType.LIST;
}
