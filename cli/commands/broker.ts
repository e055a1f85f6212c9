/**
 * `samsa broker --id N`: one broker in the foreground.
 */
import type { Argv, CommandModule } from 'yargs';
import { startBroker } from '../../broker/broker';
import { GROUP_DEFAULTS, LIMIT_DEFAULTS, loadBrokerConfig, METRICS_PORT_BASE, REPLICATION_DEFAULTS } from '../../broker/config';
import { createLogger, loggingOptionsFromEnv } from '../../shared/logging';

interface BrokerArgs {
  id?: number;
  port?: number;
  'metrics-port'?: number;
  host?: string[];
  'advertised-host'?: string;
  coordinator?: string;
  'data-dir'?: string;
  'session-timeout-ms'?: number;
  'auto-create-topics'?: boolean;
  'num-partitions'?: number;
  'default-replication-factor'?: number;
  'retention-check-interval-ms'?: number;
  'flush-messages'?: number;
  'flush-ms'?: number;
  'inline-write-bytes-max'?: number;
  'max-connections'?: number;
  'max-connections-per-ip'?: number;
  'connections-max-idle-ms'?: number;
  'request-read-timeout-ms'?: number;
  'connection-unsent-response-bytes-max'?: number;
  'auto-create-topics-per-request-max'?: number;
  'replica-lag-time-max-ms'?: number;
  'replica-fetch-wait-max-ms'?: number;
  'replica-fetch-backoff-ms'?: number;
  'high-watermark-checkpoint-interval-ms'?: number;
  'coordinator-disconnect-grace-ms'?: number;
  'coordinator-auth'?: string;
  'auto-leader-rebalance'?: boolean;
  'leader-imbalance-check-interval-ms'?: number;
  'controlled-shutdown'?: boolean;
  'controlled-shutdown-timeout-ms'?: number;
  'offsets-topic-partitions'?: number;
  'offsets-topic-replication-factor'?: number;
  'offsets-retention-minutes'?: number;
  'offsets-retention-check-interval-ms'?: number;
  'group-initial-rebalance-delay-ms'?: number;
  'group-min-session-timeout-ms'?: number;
  'group-max-session-timeout-ms'?: number;
  'log-level'?: string;
}

export const brokerCommand: CommandModule<unknown, BrokerArgs> = {
  command: 'broker',
  describe: 'run a broker in the foreground (registers with the coordinator, serves the Kafka protocol)',
  builder: (yargs) =>
    (yargs as Argv<BrokerArgs>)
      .option('id', { type: 'number', describe: 'broker id (required)' })
      .option('port', { type: 'number', describe: 'Kafka port (default 9091 + id)' })
      .option('metrics-port', { type: 'number', describe: `Prometheus /metrics on 127.0.0.1 (default ${METRICS_PORT_BASE} + id; 0 = any free port, -1 = off)` })
      .option('host', { type: 'string', array: true, describe: 'listen addresses (default 127.0.0.1 and ::1)' })
      .option('advertised-host', { type: 'string', describe: 'host clients are told (default 127.0.0.1)' })
      .option('coordinator', { type: 'string', describe: 'coordinator URL(s), comma-separated; a path is a chroot: ws://host:2181/kafka keeps this cluster under /kafka (default env SAMSA_COORDINATOR, else ws://127.0.0.1:2181)' })
      .option('data-dir', { type: 'string', describe: 'partition logs (default ./data/broker-<id>)' })
      .option('session-timeout-ms', { type: 'number', describe: 'coordinator session timeout (default 3000)' })
      .option('auto-create-topics', { type: 'boolean', describe: 'create unknown topics on first use (default true)' })
      .option('num-partitions', { type: 'number', describe: 'partitions of auto-created topics (default 1)' })
      .option('default-replication-factor', { type: 'number', describe: 'replication factor of auto-created topics (default 1)' })
      .option('retention-check-interval-ms', { type: 'number', describe: 'how often retention runs (default 300000)' })
      .option('flush-messages', { type: 'number', describe: 'fsync after this many records (default: never, as Kafka)' })
      .option('flush-ms', { type: 'number', describe: 'fsync this long after an append (default: never, as Kafka)' })
      .option('inline-write-bytes-max', { type: 'number', describe: 'appends up to this size are written on the event loop, larger ones and every fsync off it (default 16384; 0 = all off it)' })
      .option('max-connections', { type: 'number', describe: `Kafka max.connections: open connections at most, more are closed at accept (default ${LIMIT_DEFAULTS.maxConnections})` })
      .option('max-connections-per-ip', { type: 'number', describe: `Kafka max.connections.per.ip (default ${LIMIT_DEFAULTS.maxConnectionsPerIp})` })
      .option('connections-max-idle-ms', { type: 'number', describe: `Kafka connections.max.idle.ms: close connections idle this long (default ${LIMIT_DEFAULTS.connectionsMaxIdleMs})` })
      .option('request-read-timeout-ms', { type: 'number', describe: `close a connection whose request has not arrived whole this long after its first byte (default ${LIMIT_DEFAULTS.requestReadTimeoutMs})` })
      .option('connection-unsent-response-bytes-max', { type: 'number', describe: `stop reading a connection's requests while this many response bytes wait to be sent (default ${LIMIT_DEFAULTS.connectionUnsentResponseBytesMax})` })
      .option('auto-create-topics-per-request-max', { type: 'number', describe: `most unknown topics one Metadata request auto-creates (default ${LIMIT_DEFAULTS.autoCreateTopicsPerRequestMax})` })
      .option('replica-lag-time-max-ms', { type: 'number', describe: `Kafka replica.lag.time.max.ms: a follower not caught up this long leaves the ISR (default ${REPLICATION_DEFAULTS.replicaLagTimeMaxMs})` })
      .option('replica-fetch-wait-max-ms', { type: 'number', describe: `Kafka replica.fetch.wait.max.ms: a follower's long poll on its leader (default ${REPLICATION_DEFAULTS.replicaFetchWaitMaxMs})` })
      .option('replica-fetch-backoff-ms', { type: 'number', describe: `Kafka replica.fetch.backoff.ms (default ${REPLICATION_DEFAULTS.replicaFetchBackoffMs})` })
      .option('high-watermark-checkpoint-interval-ms', { type: 'number', describe: `Kafka replica.high.watermark.checkpoint.interval.ms (default ${REPLICATION_DEFAULTS.highWatermarkCheckpointIntervalMs})` })
      .option('coordinator-disconnect-grace-ms', { type: 'number', describe: `the coordinator expires this broker's session this soon after its connection drops, so a crash is noticed at once (default ${REPLICATION_DEFAULTS.coordinatorDisconnectGraceMs}; 0 = the full session timeout)` })
      .option('coordinator-auth', { type: 'string', describe: "digest credentials user:password for the coordinator (default env SAMSA_COORDINATOR_AUTH, else none: the tree stays open). With them every znode the broker creates gets the ACL digest:<user>:<hash>:cdrwa,world:anyone:r: only brokers with these credentials write the cluster's tree, anyone reads it. Give every broker the same" })
      .option('auto-leader-rebalance', { type: 'boolean', describe: 'Kafka auto.leader.rebalance.enable: move leadership back to each partition\'s first replica once it is in sync (default true)' })
      .option('leader-imbalance-check-interval-ms', { type: 'number', describe: `Kafka leader.imbalance.check.interval.ms (default ${REPLICATION_DEFAULTS.leaderImbalanceCheckIntervalMs})` })
      .option('controlled-shutdown', { type: 'boolean', describe: 'Kafka controlled.shutdown.enable: on SIGTERM/SIGINT, hand leaderships to other in-sync replicas before exiting (default true)' })
      .option('controlled-shutdown-timeout-ms', { type: 'number', describe: `how long a controlled shutdown waits for its leaderships to move (default ${REPLICATION_DEFAULTS.controlledShutdownTimeoutMs})` })
      .option('offsets-topic-partitions', { type: 'number', describe: `Kafka offsets.topic.num.partitions: partitions of __consumer_offsets, made on first group use (default ${GROUP_DEFAULTS.offsetsTopicPartitions})` })
      .option('offsets-topic-replication-factor', { type: 'number', describe: `Kafka offsets.topic.replication.factor, capped at the live brokers (default ${GROUP_DEFAULTS.offsetsTopicReplicationFactor})` })
      .option('offsets-retention-minutes', { type: 'number', describe: `Kafka offsets.retention.minutes: offsets of a group empty this long are removed (default ${GROUP_DEFAULTS.offsetsRetentionMinutes})` })
      .option('offsets-retention-check-interval-ms', { type: 'number', describe: `Kafka offsets.retention.check.interval.ms (default ${GROUP_DEFAULTS.offsetsRetentionCheckIntervalMs})` })
      .option('group-initial-rebalance-delay-ms', { type: 'number', describe: `Kafka group.initial.rebalance.delay.ms: an empty group's first rebalance waits this long for more members (default ${GROUP_DEFAULTS.groupInitialRebalanceDelayMs})` })
      .option('group-min-session-timeout-ms', { type: 'number', describe: `Kafka group.min.session.timeout.ms (default ${GROUP_DEFAULTS.groupMinSessionTimeoutMs})` })
      .option('group-max-session-timeout-ms', { type: 'number', describe: `Kafka group.max.session.timeout.ms (default ${GROUP_DEFAULTS.groupMaxSessionTimeoutMs})` })
      .option('log-level', { type: 'string', describe: 'trace|debug|info|warn|error (default info)' })
      .example('$0 broker --id 1', 'broker 1 on 127.0.0.1:9092, data in ./data/broker-1'),
  handler: async (args) => {
    const config = loadBrokerConfig(process.env, {
      id: args.id,
      port: args.port,
      metricsPort: args['metrics-port'],
      host: args.host,
      advertisedHost: args['advertised-host'],
      coordinator: args.coordinator,
      dataDir: args['data-dir'],
      sessionTimeoutMs: args['session-timeout-ms'],
      autoCreateTopics: args['auto-create-topics'],
      numPartitions: args['num-partitions'],
      defaultReplicationFactor: args['default-replication-factor'],
      retentionCheckIntervalMs: args['retention-check-interval-ms'],
      flushMessages: args['flush-messages'],
      flushMs: args['flush-ms'],
      inlineWriteBytesMax: args['inline-write-bytes-max'],
      maxConnections: args['max-connections'],
      maxConnectionsPerIp: args['max-connections-per-ip'],
      connectionsMaxIdleMs: args['connections-max-idle-ms'],
      requestReadTimeoutMs: args['request-read-timeout-ms'],
      connectionUnsentResponseBytesMax: args['connection-unsent-response-bytes-max'],
      autoCreateTopicsPerRequestMax: args['auto-create-topics-per-request-max'],
      replicaLagTimeMaxMs: args['replica-lag-time-max-ms'],
      replicaFetchWaitMaxMs: args['replica-fetch-wait-max-ms'],
      replicaFetchBackoffMs: args['replica-fetch-backoff-ms'],
      highWatermarkCheckpointIntervalMs: args['high-watermark-checkpoint-interval-ms'],
      coordinatorDisconnectGraceMs: args['coordinator-disconnect-grace-ms'],
      coordinatorAuth: args['coordinator-auth'],
      autoLeaderRebalance: args['auto-leader-rebalance'],
      leaderImbalanceCheckIntervalMs: args['leader-imbalance-check-interval-ms'],
      controlledShutdown: args['controlled-shutdown'],
      controlledShutdownTimeoutMs: args['controlled-shutdown-timeout-ms'],
      offsetsTopicPartitions: args['offsets-topic-partitions'],
      offsetsTopicReplicationFactor: args['offsets-topic-replication-factor'],
      offsetsRetentionMinutes: args['offsets-retention-minutes'],
      offsetsRetentionCheckIntervalMs: args['offsets-retention-check-interval-ms'],
      groupInitialRebalanceDelayMs: args['group-initial-rebalance-delay-ms'],
      groupMinSessionTimeoutMs: args['group-min-session-timeout-ms'],
      groupMaxSessionTimeoutMs: args['group-max-session-timeout-ms'],
    });
    const logger = createLogger(loggingOptionsFromEnv(process.env, args['log-level']));
    const broker = await startBroker(config, logger);
    let stopping = false;
    const stop = (): void => {
      if (stopping) process.exit(1);
      stopping = true;
      broker.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    await new Promise<never>(() => undefined);
  },
};
