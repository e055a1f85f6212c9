/**
 * The broker's Prometheus metrics, under the names the Prometheus JMX exporter gives Kafka's
 * MBeans with its standard Kafka config (example_configs/kafka-2_0_0.yml: lowercased
 * `kafka_<domain>_<type>_<name>`, `_total` for meters, quantile gauges for histograms), so
 * Kafka dashboards and alerts apply. docs/metrics.md lists every one.
 *
 * The data path only adds to plain numbers, once per request or partition (never per record);
 * prom-client's counters read them when scraped (collect callbacks), and every gauge is computed
 * then from the replica manager, the cluster picture, the purgatories and the group coordinator.
 */
import { performance } from 'perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { API_NAMES, ApiKey } from '../../shared/kafka/api-keys';
import { kafkaErrorName } from '../../shared/kafka/errors';
import type { ClusterSnapshot } from '../cluster/metadata-cache';
import type { ClientSoftwareCount } from '../kafka/client-software';
import type { CommittedOffsetInfo } from './gauges';
import { consumerLag, errorCounts, offlinePartitions, replicaCounts } from './gauges';
import { LatencyWindow } from './latency';

/** Kafka's request histograms' percentiles, as the JMX exporter labels them ("0.$N" of NthPercentile). */
const LATENCY_QUANTILES: ReadonlyArray<[label: string, q: number]> = [['0.50', 0.5], ['0.75', 0.75], ['0.95', 0.95], ['0.98', 0.98], ['0.99', 0.99], ['0.999', 0.999]];

/** What the replica manager reports as data moves (small hooks on its produce and fetch paths). */
export interface TrafficMeter {
  /** One partition's append as leader: records (from its offsets) and bytes of its record sets. */
  produced(topic: string, messages: number, bytes: number): void;
  /** One partition's read: to a consumer, or to a follower (replication). */
  fetched(topic: string, bytes: number, follower: boolean): void;
  isrShrunk(): void;
  isrExpanded(): void;
}

/** What the Kafka server reports per request (one call when its response is ready). */
export interface RequestObserver {
  /** A timestamp in ms for `requestDone`'s start: high resolution, sub-ms requests are the norm. */
  now(): number;
  requestDone(apiKey: number, version: number, request: unknown, body: unknown, startedMs: number): void;
}

/** A local partition as the gauges read it (the replica manager's Partition has these). */
export interface LocalPartition {
  topic: string;
  partition: number;
  isLeader: boolean;
  replicas: readonly number[];
  isr: readonly number[];
  highWatermark: number;
  log: { sizeInBytes: number; logEndOffset: number; logStartOffset: number };
}

/** Where the scrape-time gauges read from; given once the broker's parts exist. */
export interface MetricsSources {
  brokerId: number;
  partitions(): Iterable<LocalPartition>;
  minInsyncReplicas(topic: string): number;
  cluster(): Pick<ClusterSnapshot, 'controllerId' | 'brokers' | 'states'>;
  /** Waiting operations by Kafka's delayedOperation name (Produce, Fetch, Rebalance). */
  purgatorySizes(): Map<string, number>;
  committedOffsets(): Iterable<CommittedOffsetInfo>;
  clientSoftware(): ClientSoftwareCount[];
}

/** Plain numbers on the hot path; prom-client's counters take them when scraped (an inc() through it costs ~0.1 µs). */
interface TopicCounts {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
  replicationBytesOut: number;
}

const zeroCounts = (): TopicCounts => ({ messagesIn: 0, bytesIn: 0, bytesOut: 0, replicationBytesOut: 0 });

interface RequestCounts {
  name: string;
  version: string;
  count: number;
}

function fetchReplicaId(version: number, request: unknown): number {
  const fields = request as { replicaId?: number; replicaState?: { replicaId: number } | null };
  if (version < 15 && typeof fields.replicaId === 'number') return fields.replicaId;
  return fields.replicaState?.replicaId ?? -1;
}

export class BrokerMetrics implements TrafficMeter, RequestObserver {
  readonly registry = new Registry();
  private readonly totals = zeroCounts();
  private readonly topics = new Map<string, TopicCounts>();
  /** Per API name and version. */
  private readonly requestCounts = new Map<string, RequestCounts>();
  /** The same counts by name, then version: found per request without building a "name/version" key. */
  private readonly requestCountsByVersion = new Map<string, Array<RequestCounts | undefined>>();
  /** Per API name (TotalTimeMs has no version label). */
  private readonly latencies = new Map<string, LatencyWindow>();
  /** Per API name and error name. */
  private readonly errorTotals = new Map<string, { request: string; error: string; count: number }>();
  private readonly responseErrors = new Map<number, number>();
  private isrShrinks = 0;
  private isrExpands = 0;

  constructor() {
    const registers = [this.registry];
    const self = this;
    const perTopic = (name: string, help: string, field: keyof TopicCounts): void => {
      new Counter({
        name, help, labelNames: ['topic'], registers,
        collect() {
          this.reset();
          this.inc(self.totals[field]);
          for (const [topic, counts] of self.topics) this.inc({ topic }, counts[field]);
        },
      });
    };
    perTopic('kafka_server_brokertopicmetrics_messagesin_total', 'Records appended as leader (MessagesInPerSec); without labels the total, with topic per topic.', 'messagesIn');
    perTopic('kafka_server_brokertopicmetrics_bytesin_total', 'Record-set bytes appended as leader (BytesInPerSec); without labels the total, with topic per topic.', 'bytesIn');
    perTopic('kafka_server_brokertopicmetrics_bytesout_total', 'Record-set bytes sent to consumers (BytesOutPerSec); without labels the total, with topic per topic.', 'bytesOut');
    perTopic('kafka_server_brokertopicmetrics_replicationbytesout_total', 'Record-set bytes sent to followers (ReplicationBytesOutPerSec).', 'replicationBytesOut');
    const single = (name: string, help: string, value: () => number): void => {
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(value()); } });
    };
    single('kafka_server_replicamanager_isrshrinks_total', 'ISR shrinks of partitions led here (IsrShrinksPerSec).', () => self.isrShrinks);
    single('kafka_server_replicamanager_isrexpands_total', 'ISR expansions of partitions led here (IsrExpandsPerSec).', () => self.isrExpands);
    new Counter({
      name: 'kafka_network_requestmetrics_requests_total',
      help: 'Requests answered, per API and version (RequestsPerSec); a Fetch also counts as FetchConsumer or FetchFollower.',
      labelNames: ['request', 'version'], registers,
      collect() {
        this.reset();
        for (const { name: request, version, count } of self.requestCounts.values()) this.inc({ request, version }, count);
      },
    });
    new Counter({
      name: 'kafka_network_requestmetrics_errors_total',
      help: 'Error codes in responses, one per partition or entry, per API (ErrorsPerSec; NONE is not counted).',
      labelNames: ['request', 'error'], registers,
      collect() {
        this.reset();
        for (const { request, error, count } of self.errorTotals.values()) this.inc({ request, error }, count);
      },
    });
    new Gauge({
      name: 'kafka_network_requestmetrics_totaltimems',
      help: 'Time from a request read to its response ready, in ms, per API (TotalTimeMs percentiles over the last 30-60 s; within 20%).',
      labelNames: ['request', 'quantile'], registers,
      collect() {
        this.reset();
        const now = performance.now();
        for (const [request, window] of self.latencies) for (const [quantile, q] of LATENCY_QUANTILES) this.set({ request, quantile }, window.quantile(q, now));
      },
    });
    new Counter({
      name: 'kafka_network_requestmetrics_totaltimems_count', help: 'Requests timed, per API (TotalTimeMs Count).', labelNames: ['request'], registers,
      collect() {
        this.reset();
        for (const [request, window] of self.latencies) this.inc({ request }, window.count);
      },
    });
    new Counter({
      name: 'kafka_network_requestmetrics_totaltimems_sum', help: 'Total ms of the requests timed, per API (for a mean: _sum / _count).', labelNames: ['request'], registers,
      collect() {
        this.reset();
        for (const [request, window] of self.latencies) this.inc({ request }, window.sumMs);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  // ---------------------------------------------------------------------------------------
  // Hot path: plain increments

  produced(topic: string, messages: number, bytes: number): void {
    const counts = this.topic(topic);
    counts.messagesIn += messages;
    counts.bytesIn += bytes;
    this.totals.messagesIn += messages;
    this.totals.bytesIn += bytes;
  }

  fetched(topic: string, bytes: number, follower: boolean): void {
    if (bytes === 0) return;
    const counts = this.topic(topic);
    if (follower) {
      counts.replicationBytesOut += bytes;
      this.totals.replicationBytesOut += bytes;
    } else {
      counts.bytesOut += bytes;
      this.totals.bytesOut += bytes;
    }
  }

  isrShrunk(): void {
    this.isrShrinks++;
  }

  isrExpanded(): void {
    this.isrExpands++;
  }

  now(): number {
    return performance.now();
  }

  requestDone(apiKey: number, version: number, request: unknown, body: unknown, startedMs: number): void {
    const now = performance.now();
    const elapsedMs = now - startedMs;
    const name = API_NAMES[apiKey] ?? `Api${apiKey}`;
    this.observe(name, version, elapsedMs, now);
    // Kafka reports a fetch under Fetch and under who asked.
    if (apiKey === ApiKey.Fetch) this.observe(fetchReplicaId(version, request) >= 0 ? 'FetchFollower' : 'FetchConsumer', version, elapsedMs, now);
    if (body === null) return;
    const codes = errorCounts(body, this.responseErrors);
    if (codes.size === 0) return;
    for (const [code, count] of codes) {
      const key = `${name}/${code}`;
      let entry = this.errorTotals.get(key);
      if (entry === undefined) this.errorTotals.set(key, (entry = { request: name, error: kafkaErrorName(code), count: 0 }));
      entry.count += count;
    }
    codes.clear();
  }

  private observe(name: string, version: number, elapsedMs: number, now: number): void {
    let byVersion = this.requestCountsByVersion.get(name);
    if (byVersion === undefined) this.requestCountsByVersion.set(name, (byVersion = []));
    let counts = byVersion[version];
    if (counts === undefined) {
      counts = { name, version: String(version), count: 0 };
      byVersion[version] = counts;
      this.requestCounts.set(`${name}/${version}`, counts);
    }
    counts.count++;
    let window = this.latencies.get(name);
    if (window === undefined) this.latencies.set(name, (window = new LatencyWindow(now)));
    window.record(elapsedMs, now);
  }

  private topic(topic: string): TopicCounts {
    let counts = this.topics.get(topic);
    if (counts === undefined) this.topics.set(topic, (counts = zeroCounts()));
    return counts;
  }

  // ---------------------------------------------------------------------------------------
  // Scrape time: gauges

  /** Registers the gauges, computed from `sources` whenever /metrics is read. */
  attach(sources: MetricsSources): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, labelNames: string[], collect: (gauge: Gauge) => void): void => {
      new Gauge({ name, help, labelNames, registers, collect() { collect(this); } });
    };
    const counts = () => replicaCounts([...sources.partitions()].map((p) => ({ isLeader: p.isLeader, replicas: p.replicas, isr: p.isr, minInsyncReplicas: sources.minInsyncReplicas(p.topic) })));
    gauge('kafka_server_replicamanager_partitioncount', 'Partitions with a replica on this broker (PartitionCount).', [], (g) => g.set(counts().partitionCount));
    gauge('kafka_server_replicamanager_leadercount', 'Partitions led by this broker (LeaderCount).', [], (g) => g.set(counts().leaderCount));
    gauge('kafka_server_replicamanager_underreplicatedpartitions', 'Partitions led here with fewer in-sync replicas than replicas (UnderReplicatedPartitions).', [], (g) => g.set(counts().underReplicated));
    gauge('kafka_server_replicamanager_underminisrpartitioncount', 'Partitions led here with fewer in-sync replicas than min.insync.replicas (UnderMinIsrPartitionCount).', [], (g) => g.set(counts().underMinIsr));
    gauge('kafka_server_replicamanager_atminisrpartitioncount', 'Partitions led here with exactly min.insync.replicas in sync (AtMinIsrPartitionCount).', [], (g) => g.set(counts().atMinIsr));
    gauge('kafka_controller_kafkacontroller_activecontrollercount', '1 on the broker that is the controller, else 0 (ActiveControllerCount).', [], (g) => g.set(sources.cluster().controllerId === sources.brokerId ? 1 : 0));
    gauge('kafka_controller_kafkacontroller_offlinepartitionscount', 'Partitions without a live leader; reported by the controller, 0 elsewhere (OfflinePartitionsCount).', [], (g) => {
      const view = sources.cluster();
      if (view.controllerId !== sources.brokerId) return g.set(0);
      const live = new Set(view.brokers.map((broker) => broker.id));
      g.set(offlinePartitions([...view.states.values()].map(({ state }) => state), live));
    });
    const perPartition = (name: string, help: string, value: (p: LocalPartition) => number): void => gauge(name, help, ['topic', 'partition'], (g) => {
      g.reset();
      for (const p of sources.partitions()) g.set({ topic: p.topic, partition: String(p.partition) }, value(p));
    });
    perPartition('kafka_log_log_size', 'Bytes of the partition\'s log on this broker (Log Size).', (p) => p.log.sizeInBytes);
    perPartition('kafka_log_log_logendoffset', 'The offset the next record appended here gets (Log LogEndOffset).', (p) => p.log.logEndOffset);
    perPartition('kafka_log_log_logstartoffset', 'The first offset still in the log here (Log LogStartOffset).', (p) => p.log.logStartOffset);
    gauge('kafka_server_delayedoperationpurgatory_purgatorysize', 'Requests waiting in a purgatory: acks=all produce, fetch long-poll, join/sync (PurgatorySize).', ['delayedOperation'], (g) => {
      for (const [operation, size] of sources.purgatorySizes()) g.set({ delayedOperation: operation }, size);
    });
    const lag = () => {
      const ends = new Map<string, number>();
      for (const p of sources.partitions()) ends.set(`${p.topic}/${p.partition}`, p.highWatermark);
      return consumerLag(sources.committedOffsets(), (topic, partition) => ends.get(`${topic}/${partition}`) ?? null);
    };
    gauge('kafka_consumergroup_lag', 'Records a group has not committed yet: high watermark - committed offset, for groups this broker coordinates and partitions it holds (kafka_exporter\'s name).', ['consumergroup', 'topic', 'partition'], (g) => {
      g.reset();
      for (const entry of lag()) g.set({ consumergroup: entry.group, topic: entry.topic, partition: String(entry.partition) }, entry.lag);
    });
    gauge('kafka_consumergroup_current_offset', 'The committed offset per group and partition, for groups this broker coordinates (kafka_exporter\'s name).', ['consumergroup', 'topic', 'partition'], (g) => {
      g.reset();
      for (const entry of sources.committedOffsets()) g.set({ consumergroup: entry.group, topic: entry.topic, partition: String(entry.partition) }, entry.offset);
    });
    gauge('kafka_server_socket_server_metrics_connections', 'Open connections per client software named in ApiVersions v3+ (socket-server-metrics connections).', ['clientSoftwareName', 'clientSoftwareVersion'], (g) => {
      g.reset();
      for (const software of sources.clientSoftware()) g.set({ clientSoftwareName: software.name, clientSoftwareVersion: software.version }, software.open);
    });
  }

  /** The Prometheus text of everything registered. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
