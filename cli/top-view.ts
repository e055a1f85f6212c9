/**
 * `samsa top`'s pure core: from each broker's previous and current scrape of /metrics, one
 * frame (rates per broker and per topic, latencies, the cluster's under-replicated and offline
 * counts, which brokers did not answer) and its text table. The command (cli/commands/top.ts)
 * does the discovery, the scraping and the screen.
 */
import { brokerGauges, brokerRates, sumTopics, type BrokerGauges, type BrokerRates, type TimedScrape, type TopicRates } from '../shared/metrics/broker-rates';

/** One broker as the command saw it for this frame. */
export interface BrokerObservation {
  id: number;
  /** Its registered /metrics URL; null when its metrics are off. */
  metricsUrl: string | null;
  /** Still registered in the coordinator (false: its session ended; kept in the table as gone). */
  registered: boolean;
  /** The last successful scrape before this frame's (null: none yet). */
  previous: TimedScrape | null;
  /** This frame's scrape; null when it failed (`error` says why) or was not tried. */
  current: TimedScrape | null;
  error: string | null;
}

export type BrokerStatus = 'up' | 'down' | 'gone' | 'no-metrics';

export interface TopBroker {
  id: number;
  status: BrokerStatus;
  error: string | null;
  /** Null on the first frame a broker answers (nothing to compare with yet) and when it did not answer. */
  rates: BrokerRates | null;
  gauges: BrokerGauges | null;
}

export interface TopFrame {
  /** Epoch ms. */
  at: number;
  brokers: TopBroker[];
  /** Summed over the brokers that answered (each counts the partitions it leads). */
  topics: TopicRates[];
  /** Summed over the brokers that answered; null when none did. */
  underReplicated: number | null;
  /** The controller's count; null when the controller did not answer. */
  offline: number | null;
  /** The broker that reports itself controller, among those that answered. */
  controller: number | null;
  /** Set when the coordinator could not be read for this frame (the broker list is the last one known). */
  coordinatorError: string | null;
}

function status(observation: BrokerObservation): BrokerStatus {
  if (observation.metricsUrl === null) return 'no-metrics';
  if (observation.current !== null) return 'up';
  return observation.registered ? 'down' : 'gone';
}

export function buildFrame(at: number, observations: readonly BrokerObservation[], coordinatorError: string | null = null): TopFrame {
  const brokers: TopBroker[] = [...observations]
    .sort((a, b) => a.id - b.id)
    .map((o) => ({
      id: o.id,
      status: status(o),
      error: o.current === null ? o.error : null,
      rates: o.current !== null && o.previous !== null ? brokerRates(o.previous, o.current) : null,
      gauges: o.current !== null ? brokerGauges(o.current.exposition) : null,
    }));
  const answering = brokers.filter((b) => b.gauges !== null);
  const controller = answering.find((b) => b.gauges!.controller === true) ?? null;
  const underReplicated = answering.some((b) => b.gauges!.underReplicated !== null) ? answering.reduce((sum, b) => sum + (b.gauges!.underReplicated ?? 0), 0) : null;
  return {
    at,
    brokers,
    topics: sumTopics(brokers.flatMap((b) => (b.rates === null ? [] : [b.rates]))),
    underReplicated,
    offline: controller?.gauges!.offline ?? null,
    controller: controller?.id ?? null,
    coordinatorError,
  };
}

// -----------------------------------------------------------------------------------------
// Text

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A rate: one decimal under 10, else whole with thousands separators. */
export function formatRate(value: number): string {
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

export function formatByteRate(bytesPerSec: number): string {
  let value = bytesPerSec;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${BYTE_UNITS[unit]}/s`;
}

function formatMs(value: number | null): string {
  return value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function count(value: number | null): string {
  return value === null ? '?' : String(value);
}

/** Rows as columns padded to their widest cell, two spaces apart; `right[i]` right-aligns column i (numbers). */
export function table(rows: string[][], right: readonly boolean[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

const STATUS_TEXT: Record<BrokerStatus, string> = { up: 'up', down: 'DOWN', gone: 'GONE', 'no-metrics': 'no metrics' };

export function renderFrame(frame: TopFrame, options: { intervalSec: number }): string {
  const up = frame.brokers.filter((b) => b.status === 'up').length;
  const time = new Date(frame.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const lines = [
    `samsa top  ${time}  every ${options.intervalSec} s`,
    `Brokers: ${up} up of ${frame.brokers.length}  controller: ${frame.controller ?? '?'}  under-replicated: ${count(frame.underReplicated)}  offline: ${count(frame.offline)}`,
  ];
  if (frame.coordinatorError !== null) lines.push(`Coordinator unreachable (brokers as last seen): ${frame.coordinatorError}`);
  lines.push('');
  const dash = '-';
  const brokerRows = frame.brokers.map((b) => {
    const r = b.rates;
    return [
      String(b.id),
      STATUS_TEXT[b.status],
      r === null ? dash : formatRate(r.recordsInPerSec),
      r === null ? dash : formatByteRate(r.bytesInPerSec),
      r === null ? dash : formatByteRate(r.bytesOutPerSec),
      formatMs(r?.produceP99Ms ?? null),
      formatMs(r?.fetchP99Ms ?? null),
      b.gauges?.leaderCount == null ? dash : String(b.gauges.leaderCount),
      b.gauges?.underReplicated == null ? dash : String(b.gauges.underReplicated),
      b.error ?? (b.status === 'up' && r === null ? 'first scrape' : ''),
    ];
  });
  lines.push(...table([['BROKER', 'STATUS', 'RECORDS IN/S', 'BYTES IN/S', 'BYTES OUT/S', 'PRODUCE P99 MS', 'FETCH P99 MS', 'LEADERS', 'UNDER-REPL', 'NOTE'], ...brokerRows], [true, false, true, true, true, true, true, true, true, false]));
  lines.push('');
  if (frame.topics.length === 0) lines.push('No topic traffic counted yet.');
  else {
    // Latency is measured per request, not per topic (Kafka has no per-topic TotalTimeMs either).
    const topicRows = frame.topics.map((t) => [t.name, formatRate(t.recordsInPerSec), formatByteRate(t.bytesInPerSec), formatByteRate(t.bytesOutPerSec)]);
    lines.push(...table([['TOPIC', 'RECORDS IN/S', 'BYTES IN/S', 'BYTES OUT/S'], ...topicRows], [false, true, true, true]));
  }
  return `${lines.join('\n')}\n`;
}

/** The frame for `--json`: one object per line, rates as plain numbers. */
export function frameJson(frame: TopFrame): unknown {
  return {
    at: new Date(frame.at).toISOString(),
    controller: frame.controller,
    underReplicated: frame.underReplicated,
    offline: frame.offline,
    coordinatorError: frame.coordinatorError,
    brokers: frame.brokers.map((b) => ({
      id: b.id,
      status: b.status,
      error: b.error,
      recordsInPerSec: b.rates?.recordsInPerSec ?? null,
      bytesInPerSec: b.rates?.bytesInPerSec ?? null,
      bytesOutPerSec: b.rates?.bytesOutPerSec ?? null,
      produceP99Ms: b.rates?.produceP99Ms ?? null,
      fetchP99Ms: b.rates?.fetchP99Ms ?? null,
      leaderCount: b.gauges?.leaderCount ?? null,
      partitionCount: b.gauges?.partitionCount ?? null,
      underReplicated: b.gauges?.underReplicated ?? null,
    })),
    topics: frame.topics,
  };
}
