/**
 * Request latency quantiles, cheap enough to record for every request: a fixed log-scale bucket
 * array (a bucket index and an increment per sample, no allocation) over a sliding window of two
 * halves, read as quantiles when /metrics is scraped. prom-client's Summary costs about 0.8 µs a
 * sample (t-digests per age bucket) and its Histogram 0.3 µs; this is a few tens of ns.
 *
 * Quantiles are the upper bound of the bucket holding them (at most LATENCY_BUCKET_GROWTH - 1
 * = 20% above the true value), capped at the largest sample of the window. Pure: time is given.
 */

/** The first bucket holds everything up to this (ms). */
export const LATENCY_BUCKET_MIN_MS = 0.01;
/** Each bucket's upper bound is this factor above the previous one. */
export const LATENCY_BUCKET_GROWTH = 1.2;
/** Buckets up to about 2 minutes; slower samples land in the last one. */
export const LATENCY_BUCKETS = 92;
/** Quantiles cover the last one to two of these windows (Kafka's histograms decay over minutes). */
export const LATENCY_WINDOW_MS = 30_000;

const LOG_GROWTH = Math.log(LATENCY_BUCKET_GROWTH);

export function bucketIndex(valueMs: number): number {
  if (!(valueMs > LATENCY_BUCKET_MIN_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(valueMs / LATENCY_BUCKET_MIN_MS) / LOG_GROWTH));
}

export function bucketUpperBound(index: number): number {
  return LATENCY_BUCKET_MIN_MS * LATENCY_BUCKET_GROWTH ** index;
}

export class LatencyWindow {
  /** All samples since start (Kafka's histogram Count), and their sum in ms. */
  count = 0;
  sumMs = 0;
  private current = new Uint32Array(LATENCY_BUCKETS);
  private previous = new Uint32Array(LATENCY_BUCKETS);
  private currentMax = 0;
  private previousMax = 0;
  private windowStart: number;

  constructor(
    now: number,
    private readonly windowMs = LATENCY_WINDOW_MS,
  ) {
    this.windowStart = now;
  }

  record(valueMs: number, now: number): void {
    if (now - this.windowStart >= this.windowMs) this.rotate(now);
    this.current[bucketIndex(valueMs)]! += 1;
    if (valueMs > this.currentMax) this.currentMax = valueMs;
    this.count += 1;
    this.sumMs += valueMs;
  }

  /** The q-quantile (0..1) of the samples of the window, or NaN when it has none (as a Prometheus summary says). */
  quantile(q: number, now: number): number {
    if (now - this.windowStart >= this.windowMs) this.rotate(now);
    let total = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) total += this.current[i]! + this.previous[i]!;
    if (total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      seen += this.current[i]! + this.previous[i]!;
      if (seen >= rank) return Math.min(bucketUpperBound(i), Math.max(this.currentMax, this.previousMax));
    }
    return Math.max(this.currentMax, this.previousMax);
  }

  private rotate(now: number): void {
    const elapsedWindows = Math.floor((now - this.windowStart) / this.windowMs);
    const recycled = this.previous;
    recycled.fill(0);
    if (elapsedWindows === 1) {
      this.previous = this.current;
      this.previousMax = this.currentMax;
    } else {
      // Idle for longer than a whole window: nothing recent is left.
      this.current.fill(0);
      this.previous = this.current;
      this.previousMax = 0;
    }
    this.current = recycled;
    this.currentMax = 0;
    this.windowStart += elapsedWindows * this.windowMs;
  }
}
