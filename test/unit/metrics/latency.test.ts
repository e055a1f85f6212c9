/**
 * The request-latency window behind kafka_network_requestmetrics_totaltimems: quantiles within
 * one bucket (20%), a window that slides with the given time, counts that never reset.
 */
import { bucketIndex, bucketUpperBound, LATENCY_BUCKET_GROWTH, LATENCY_BUCKETS, LatencyWindow } from '../../../broker/metrics/latency';

test('bucket bounds: each value lies under its bucket bound and above the previous one', () => {
  for (const value of [0.011, 0.5, 1, 3.3, 42, 999, 60_000]) {
    const index = bucketIndex(value);
    expect(bucketUpperBound(index)).toBeGreaterThanOrEqual(value * (1 - 1e-9));
    expect(bucketUpperBound(index - 1)).toBeLessThan(value);
  }
  expect(bucketIndex(0)).toBe(0);
  expect(bucketIndex(-1)).toBe(0);
  expect(bucketIndex(1e12)).toBe(LATENCY_BUCKETS - 1);
});

test('quantiles of 1..1000 ms are within one bucket of the truth, capped at the largest sample', () => {
  const window = new LatencyWindow(0, 1000);
  for (let ms = 1; ms <= 1000; ms++) window.record(ms, 10);
  for (const [q, truth] of [[0.5, 500], [0.99, 990], [0.999, 999]] as const) {
    const value = window.quantile(q, 10);
    expect(value).toBeGreaterThanOrEqual(truth);
    expect(value).toBeLessThanOrEqual(truth * LATENCY_BUCKET_GROWTH);
  }
  expect(window.quantile(1, 10)).toBe(1000);
  expect(window.count).toBe(1000);
  expect(window.sumMs).toBe(500_500);
});

test('the window slides: old samples leave after two windows, the count stays', () => {
  const window = new LatencyWindow(0, 1000);
  window.record(500, 100);
  window.record(1, 1100); // next window: 500 still counts
  expect(window.quantile(1, 1100)).toBe(500);
  expect(window.quantile(1, 2100)).toBeLessThan(500); // the 500 ms sample's window is gone
  expect(window.quantile(0.5, 5000)).toBeNaN(); // idle for long: nothing recent
  expect(window.count).toBe(2);
});
