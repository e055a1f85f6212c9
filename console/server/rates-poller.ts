/**
 * The console's live traffic: every second, each live broker's registered /metrics is scraped
 * (all at once, each bounded well under the interval), turned into per-second rates against the
 * broker's previous scrape (shared/metrics/broker-rates.ts), and kept for the last few minutes
 * for the charts page; listeners (the charts' server-sent events) hear each sample as taken.
 *
 * Ticks never overlap: the next one is scheduled when the current one ends, at the interval
 * from its start. A broker that does not answer is left out of that sample (a gap in its chart)
 * and logged once per failing streak, not every second.
 */
import type { Logger } from '../../shared/logging';
import type { Exposition } from '../../shared/metrics/prometheus-text';
import { brokerRates, scrape, sumTopics, type BrokerRates, type TimedScrape } from '../../shared/metrics/broker-rates';
import type { RatesSample, RatesSource } from './types';

export const RATES_INTERVAL_MS_DEFAULT = 1000;
/** Five minutes at one sample a second: what the charts show. */
export const RATES_HISTORY_DEFAULT = 300;
/** A scrape may take this share of the interval, so a slow broker never pushes the next tick back. */
const SCRAPE_TIMEOUT_SHARE = 0.8;

export interface RatesPollerOptions {
  intervalMs?: number;
  /** Samples kept (oldest dropped first). */
  historyLength?: number;
  /** Per scrape; default 80% of the interval, and always under it. */
  scrapeTimeoutMs?: number;
}

/** The brokers registered now, as the cluster picture has them (the console passes `() => cluster.view.brokers`). */
export type LiveBrokers = () => ReadonlyArray<{ id: number; metricsUrl?: string }>;

interface LastScrape extends TimedScrape {
  url: string;
}

/** The sample of one tick (pure): each broker's rates and the topics summed over brokers. */
export function buildSample(at: number, rates: ReadonlyArray<{ id: number; rates: BrokerRates }>): RatesSample {
  const brokers = [...rates].sort((a, b) => a.id - b.id);
  return {
    at,
    brokers: brokers.map(({ id, rates: r }) => ({ id, recordsInPerSec: r.recordsInPerSec, bytesInPerSec: r.bytesInPerSec, bytesOutPerSec: r.bytesOutPerSec, produceP99Ms: r.produceP99Ms, fetchP99Ms: r.fetchP99Ms })),
    topics: sumTopics(brokers.map((b) => b.rates)),
  };
}

export class RatesPoller implements RatesSource {
  private readonly intervalMs: number;
  private readonly historyLength: number;
  private readonly scrapeTimeoutMs: number;
  private readonly samples: RatesSample[] = [];
  private readonly listeners = new Set<(sample: RatesSample) => void>();
  private readonly last = new Map<number, LastScrape>();
  private readonly failing = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: AbortController | null = null;
  private started = false;
  private closed = false;

  constructor(
    private readonly brokers: LiveBrokers,
    private readonly logger: Logger,
    options: RatesPollerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? RATES_INTERVAL_MS_DEFAULT;
    this.historyLength = options.historyLength ?? RATES_HISTORY_DEFAULT;
    this.scrapeTimeoutMs = options.scrapeTimeoutMs ?? Math.floor(this.intervalMs * SCRAPE_TIMEOUT_SHARE);
    if (!(this.intervalMs > 0) || !(this.historyLength >= 1) || !(this.scrapeTimeoutMs > 0 && this.scrapeTimeoutMs < this.intervalMs)) {
      throw new Error(`rates poller: interval ${this.intervalMs} ms, history ${this.historyLength}, scrape timeout ${this.scrapeTimeoutMs} ms (must be under the interval)`);
    }
  }

  /** Takes the first scrape now; a sample follows each interval after. */
  start(): this {
    if (this.started || this.closed) return this;
    this.started = true;
    this.schedule(0);
    return this;
  }

  history(): RatesSample[] {
    return [...this.samples];
  }

  subscribe(listener: (sample: RatesSample) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  latest(): Map<number, Exposition> {
    return new Map([...this.last].map(([id, scrape]) => [id, scrape.exposition]));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight?.abort();
    this.listeners.clear();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
    // The console's HTTP server keeps the process alive; this timer alone should not.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    const startedMs = performance.now();
    try {
      await this.poll();
    } catch (error) {
      // A bug, not a broker failing (those are caught per broker): keep the charts going.
      this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'rates.tick_failed');
    }
    if (this.closed) return;
    this.schedule(Math.max(0, this.intervalMs - (performance.now() - startedMs)));
  }

  private async poll(): Promise<void> {
    const brokers = this.brokers().filter((b): b is { id: number; metricsUrl: string } => typeof b.metricsUrl === 'string' && b.metricsUrl !== '');
    // Brokers no longer registered (or without metrics now): their last scrape is stale.
    const ids = new Set(brokers.map((b) => b.id));
    for (const id of [...this.last.keys()]) if (!ids.has(id)) this.last.delete(id);
    for (const id of [...this.failing]) if (!ids.has(id)) this.failing.delete(id);
    if (brokers.length === 0) return;

    const controller = new AbortController();
    this.inFlight = controller;
    const results = await Promise.all(
      brokers.map(async ({ id, metricsUrl }) => {
        try {
          const exposition = await scrape(metricsUrl, this.scrapeTimeoutMs, { signal: controller.signal });
          return { id, scraped: { at: Date.now(), exposition, url: metricsUrl } satisfies LastScrape };
        } catch (error) {
          return { id, error: error instanceof Error ? error.message : String(error), url: metricsUrl };
        }
      }),
    );
    this.inFlight = null;
    if (this.closed) return;

    const rates: Array<{ id: number; rates: BrokerRates }> = [];
    for (const result of results) {
      if ('error' in result) {
        if (!this.failing.has(result.id)) this.logger.warn({ brokerId: result.id, url: result.url, err: result.error }, 'rates.scrape_failed');
        this.failing.add(result.id);
        continue;
      }
      if (this.failing.delete(result.id)) this.logger.info({ brokerId: result.id, url: result.url }, 'rates.scrape_recovered');
      const previous = this.last.get(result.id);
      // A broker that re-registered elsewhere is another process: no rate across the two.
      const computed = previous !== undefined && previous.url === result.scraped.url ? brokerRates(previous, result.scraped) : null;
      if (computed !== null) rates.push({ id: result.id, rates: computed });
      this.last.set(result.id, result.scraped);
    }
    // The very first scrape has nothing to compare with; after that every tick is a sample, brokers that failed left out (gaps).
    if (rates.length === 0 && this.samples.length === 0) return;
    this.record(buildSample(Date.now(), rates));
  }

  private record(sample: RatesSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.historyLength) this.samples.splice(0, this.samples.length - this.historyLength);
    for (const listener of [...this.listeners]) {
      try {
        listener(sample);
      } catch (error) {
        this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'rates.listener_failed');
      }
    }
  }
}
