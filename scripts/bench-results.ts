/**
 * One JSON line per workload of `make bench`, and the medians and ratios printed from them.
 */
export type System = 'samsa' | 'jetstream';
/** Who produced: Samsa's codec producer, kcat (librdkafka), kafkajs, @platformatic/kafka; JetStream's js.publish() or core publish with a reply subject. */
export type Client = 'codec' | 'kcat' | 'kafkajs' | 'platformatic' | 'js.publish' | 'core-publish';
/** lead-in: Samsa's unmeasured produce before each produce block (bench.ts), printed but in no median. */
export type Workload = 'produce' | 'consume' | 'e2e' | 'lead-in';

export interface Result {
  system: System;
  /** Replication factor (JetStream: the stream's replicas). */
  rf: number;
  /** Samsa's acks (-1 = all); JetStream acknowledges after a quorum of the stream's replicas stored the message. */
  acks?: number;
  client?: Client;
  workload: Workload;
  recordBytes: number;
  /** e2e: the records/s the producer aims at. */
  rate?: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  /** Records whose produce (publish) was answered with an error. */
  errors?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  /**
   * e2e: the p99 of the records sent in each 5 s from the start, warm-up included (how long a
   * fresh process takes to reach its steady tail).
   */
  p99ByWindowMs?: number[];
  /** BENCH_OBSERVED=1: run while /metrics was scraped every second and the console was open (false: the same without them). */
  observed?: boolean;
}

export type Labels = Pick<Result, 'system' | 'rf' | 'acks' | 'client' | 'workload' | 'recordBytes' | 'rate' | 'observed'>;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(3));
}

/** The window of p99ByWindowMs. */
export const LATENCY_WINDOW_MS = 5000;

/**
 * Latencies by when their record was sent, warm-up included: `add(sentMs, latencyMs)` with
 * sentMs counted from the workload's start; `p99s()` gives the p99 of each LATENCY_WINDOW_MS.
 */
export class LatencyTimeline {
  private readonly windows: number[][] = [];
  add(sentMs: number, latencyMs: number): void {
    const index = Math.max(0, Math.floor(sentMs / LATENCY_WINDOW_MS));
    while (this.windows.length <= index) this.windows.push([]);
    this.windows[index]!.push(latencyMs);
  }
  p99s(): number[] {
    return this.windows.map((window) => percentile(Float64Array.from(window).sort(), 99));
  }
}

/** Builds a result, prints it as one JSON line, and returns it. */
export function report(labels: Labels, records: number, seconds: number, latencies?: number[], errors = 0, timeline?: LatencyTimeline): Result {
  const out: Result = {
    ...labels,
    records,
    seconds: Number(seconds.toFixed(3)),
    recordsPerSecond: Math.round(records / seconds),
    mbPerSecond: Number(((records * labels.recordBytes) / seconds / 1e6).toFixed(2)),
  };
  if (errors > 0) out.errors = errors;
  if (latencies !== undefined) {
    const sorted = Float64Array.from(latencies).sort();
    out.p50Ms = percentile(sorted, 50);
    out.p99Ms = percentile(sorted, 99);
    out.p999Ms = percentile(sorted, 99.9);
  }
  if (timeline !== undefined) out.p99ByWindowMs = timeline.p99s();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return out;
}

export function key(labels: Partial<Labels>): string {
  return [labels.system, labels.rf, labels.acks ?? '', labels.client ?? '', labels.workload, labels.recordBytes, labels.rate ?? '', labels.observed === true ? 'observed' : ''].join('/');
}

/** Results of repeated runs of the same workload; `median` picks the run with the median records/s (e2e: the median p99). */
export class Results {
  private readonly runs = new Map<string, Result[]>();

  add(result: Result): void {
    const k = key(result);
    this.runs.set(k, [...(this.runs.get(k) ?? []), result]);
  }

  median(labels: Partial<Labels>): Result | undefined {
    const runs = this.runs.get(key(labels));
    if (runs === undefined || runs.length === 0) return undefined;
    const by = labels.workload === 'e2e' ? (r: Result) => r.p99Ms ?? 0 : (r: Result) => r.recordsPerSecond;
    return [...runs].sort((a, b) => by(a) - by(b))[Math.floor((runs.length - 1) / 2)];
  }

  all(): Result[] {
    return [...this.runs.values()].flat();
  }
}

export function printLine(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
