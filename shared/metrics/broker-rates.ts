/**
 * Live traffic from a broker's /metrics, for the console's charts and `samsa top`: per-second
 * rates between two scrapes of the same broker (Kafka's MessagesInPerSec, BytesInPerSec,
 * BytesOutPerSec, in total and per topic), the produce and consumer-fetch p99 latencies, and
 * the replica gauges. The rates are computed as Prometheus' rate() does over two points: a
 * counter that went down (the broker restarted) counted up from zero, never a negative rate.
 *
 * Pure, except `scrape` at the end (the HTTP GET that feeds it): time comes in with each scrape.
 */
import * as http from 'http';
import { parseExposition, sample, type Exposition } from './prometheus-text';

export const METRIC = {
  recordsIn: 'kafka_server_brokertopicmetrics_messagesin_total',
  bytesIn: 'kafka_server_brokertopicmetrics_bytesin_total',
  bytesOut: 'kafka_server_brokertopicmetrics_bytesout_total',
  totalTimeMs: 'kafka_network_requestmetrics_totaltimems',
  underReplicated: 'kafka_server_replicamanager_underreplicatedpartitions',
  offline: 'kafka_controller_kafkacontroller_offlinepartitionscount',
  activeController: 'kafka_controller_kafkacontroller_activecontrollercount',
  leaderCount: 'kafka_server_replicamanager_leadercount',
  partitionCount: 'kafka_server_replicamanager_partitioncount',
  /** prom-client's default metric: it changes when the broker restarts, so every counter started again from zero. */
  processStart: 'process_start_time_seconds',
} as const;

/** Per-second traffic between two scrapes. The same shape as console/server/types.ts TrafficRates (shared/ imports nothing from console/). */
export interface TrafficRates {
  recordsInPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
}

export interface TopicRates extends TrafficRates {
  name: string;
}

/** One scrape of one broker and when it was taken (epoch ms). */
export interface TimedScrape {
  at: number;
  exposition: Exposition;
}

export interface BrokerRates extends TrafficRates {
  /** Seconds between the two scrapes. */
  seconds: number;
  /** p99 of Produce's total time over the broker's last 30-60 s; null when it has timed none in that window. */
  produceP99Ms: number | null;
  /** The same for consumers' fetches (Kafka's FetchConsumer: followers' long polls would drown it). */
  fetchP99Ms: number | null;
  /** Topics with traffic counters on this broker, by name. */
  topics: TopicRates[];
}

export interface BrokerGauges {
  /** Partitions led here with fewer in-sync replicas than replicas. */
  underReplicated: number | null;
  /** Partitions without a live leader: the controller's figure, 0 on other brokers. */
  offline: number | null;
  leaderCount: number | null;
  partitionCount: number | null;
  /** True on the controller; null when the broker does not say. */
  controller: boolean | null;
}

const FIELDS: ReadonlyArray<[keyof TrafficRates, string]> = [
  ['recordsInPerSec', METRIC.recordsIn],
  ['bytesInPerSec', METRIC.bytesIn],
  ['bytesOutPerSec', METRIC.bytesOut],
];

/** The increase of a counter between two readings; one that went down restarted from zero since. */
export function counterIncrease(previous: number | undefined, current: number, restarted = false): number {
  if (!Number.isFinite(current) || current < 0) return 0;
  if (previous === undefined || restarted || !Number.isFinite(previous) || current < previous) return current;
  return current - previous;
}

/** A counter's samples: the unlabelled total and each `topic`'s. */
function counterSeries(exposition: Exposition, name: string): { total: number | undefined; topics: Map<string, number> } {
  let total: number | undefined;
  const topics = new Map<string, number>();
  for (const entry of exposition.samples) {
    if (entry.name !== name) continue;
    const keys = Object.keys(entry.labels);
    if (keys.length === 0) total = entry.value;
    else if (keys.length === 1 && entry.labels.topic !== undefined) topics.set(entry.labels.topic, entry.value);
  }
  return { total, topics };
}

/** A request's p99 total time in ms; null when absent or NaN (no request of that kind in the window). */
export function requestP99Ms(exposition: Exposition, request: string): number | null {
  const value = sample(exposition, METRIC.totalTimeMs, { request, quantile: '0.99' });
  return value === undefined || !Number.isFinite(value) ? null : value;
}

/**
 * Rates from `previous` to `current` (two scrapes of the same broker, in that order); null when
 * no time passed between them (a clock step back), as no rate can be told then.
 */
export function brokerRates(previous: TimedScrape, current: TimedScrape): BrokerRates | null {
  const seconds = (current.at - previous.at) / 1000;
  if (!(seconds > 0)) return null;
  const startedBefore = sample(previous.exposition, METRIC.processStart, {});
  const startedNow = sample(current.exposition, METRIC.processStart, {});
  const restarted = startedBefore !== undefined && startedNow !== undefined && startedBefore !== startedNow;
  const totals: TrafficRates = { recordsInPerSec: 0, bytesInPerSec: 0, bytesOutPerSec: 0 };
  const topics = new Map<string, TopicRates>();
  for (const [field, name] of FIELDS) {
    const before = counterSeries(previous.exposition, name);
    const now = counterSeries(current.exposition, name);
    if (now.total !== undefined) totals[field] = counterIncrease(before.total, now.total, restarted) / seconds;
    // A topic absent before got its first traffic here since: counted from zero. A topic absent now is left out.
    for (const [topic, value] of now.topics) {
      let rates = topics.get(topic);
      if (rates === undefined) topics.set(topic, (rates = { name: topic, recordsInPerSec: 0, bytesInPerSec: 0, bytesOutPerSec: 0 }));
      rates[field] = counterIncrease(before.topics.get(topic), value, restarted) / seconds;
    }
  }
  return {
    ...totals,
    seconds,
    produceP99Ms: requestP99Ms(current.exposition, 'Produce'),
    fetchP99Ms: requestP99Ms(current.exposition, 'FetchConsumer'),
    topics: [...topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

function gauge(exposition: Exposition, name: string): number | null {
  const value = sample(exposition, name, {});
  return value === undefined || !Number.isFinite(value) ? null : value;
}

export function brokerGauges(exposition: Exposition): BrokerGauges {
  const active = gauge(exposition, METRIC.activeController);
  return {
    underReplicated: gauge(exposition, METRIC.underReplicated),
    offline: gauge(exposition, METRIC.offline),
    leaderCount: gauge(exposition, METRIC.leaderCount),
    partitionCount: gauge(exposition, METRIC.partitionCount),
    controller: active === null ? null : active > 0,
  };
}

/** Per-topic rates summed over brokers (each broker counts the partitions it leads), by name. */
export function sumTopics(brokers: ReadonlyArray<{ topics: readonly TopicRates[] }>): TopicRates[] {
  const sums = new Map<string, TopicRates>();
  for (const broker of brokers) {
    for (const topic of broker.topics) {
      const sum = sums.get(topic.name);
      if (sum === undefined) sums.set(topic.name, { ...topic });
      else for (const [field] of FIELDS) sum[field] += topic[field];
    }
  }
  return [...sums.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// -----------------------------------------------------------------------------------------
// The scrape itself (I/O)

/** A broker's /metrics is tens of KiB (more with many partitions); a body over this is refused, not buffered. */
export const SCRAPE_BODY_BYTES_MAX = 16 * 1024 * 1024;

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
}

/**
 * GET `url` and parse its Prometheus text. Rejects with ScrapeError when nothing answers, the
 * answer is not 200, the body is over `bodyBytesMax`, it takes over `timeoutMs` in all, or
 * `signal` aborts it.
 */
export function scrape(url: string, timeoutMs: number, options: { bodyBytesMax?: number; signal?: AbortSignal } = {}): Promise<Exposition> {
  const bodyBytesMax = options.bodyBytesMax ?? SCRAPE_BODY_BYTES_MAX;
  return new Promise((resolve, reject) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      reject(new ScrapeError(`${url}: ${message}`));
    };
    const timer = setTimeout(() => fail(`no answer in ${timeoutMs} ms`), timeoutMs);
    try {
      request = http.get(url, { signal: options.signal, headers: { accept: 'text/plain' } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          return fail(`HTTP ${response.statusCode}`);
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > bodyBytesMax) return fail(`body over ${bodyBytesMax} bytes`);
          chunks.push(chunk);
        });
        response.on('error', (error) => fail(error.message));
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          try {
            resolve(parseExposition(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(new ScrapeError(`${url}: ${error instanceof Error ? error.message : String(error)}`));
          }
        });
      });
    } catch (error) {
      // A malformed URL throws at once.
      return fail(error instanceof Error ? error.message : String(error));
    }
    request.on('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ABORT_ERR' ? 'aborted' : (error.code ?? error.message)));
  });
}
