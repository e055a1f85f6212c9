/** The Kafka server's connection limits, as pure functions of counts and time. */
import { ConnectionTable, expiry, LogLimiter, sweepIntervalMs } from '../../../broker/kafka/connection-limits';

test('admission counts connections in total and per address, and releases them', () => {
  const table = new ConnectionTable({ maxConnections: 3, maxConnectionsPerIp: 2 });
  expect(table.admit('a')).toBe('accepted');
  expect(table.admit('a')).toBe('accepted');
  expect(table.admit('a')).toBe('max.connections.per.ip');
  expect(table.admit('b')).toBe('accepted');
  expect(table.admit('c')).toBe('max.connections');
  table.release('a');
  expect(table.size).toBe(2);
  expect(table.admit('c')).toBe('accepted');
  table.release('zzz'); // never admitted: no effect
  expect(table.size).toBe(3);
});

const limits = { connectionsMaxIdleMs: 1000, requestReadTimeoutMs: 300 };

test('idle: only without requests in flight or a request half-received', () => {
  expect(expiry({ lastActiveMs: 0, partialSinceMs: null, inFlight: 0 }, 999, limits)).toBeNull();
  expect(expiry({ lastActiveMs: 0, partialSinceMs: null, inFlight: 0 }, 1000, limits)).toBe('idle');
  expect(expiry({ lastActiveMs: 0, partialSinceMs: null, inFlight: 1 }, 5000, limits)).toBeNull();
});

test('a request must arrive whole within the read timeout of its first byte, however active the sender', () => {
  expect(expiry({ lastActiveMs: 10_000, partialSinceMs: 9_800, inFlight: 0 }, 10_000, limits)).toBeNull();
  expect(expiry({ lastActiveMs: 10_000, partialSinceMs: 9_700, inFlight: 0 }, 10_000, limits)).toBe('request read timeout');
});

test('the sweep runs often enough for the smaller deadline, within bounds', () => {
  expect(sweepIntervalMs(limits)).toBe(75);
  expect(sweepIntervalMs({ connectionsMaxIdleMs: 600_000, requestReadTimeoutMs: 30_000 })).toBe(1000);
  expect(sweepIntervalMs({ connectionsMaxIdleMs: 1, requestReadTimeoutMs: 1 })).toBe(10);
});

test('log limiter: one line per key per interval, reporting what it suppressed', () => {
  const limiter = new LogLimiter(1000);
  expect(limiter.take('x', 0)).toEqual({ suppressed: 0 });
  expect(limiter.take('x', 10)).toBeNull();
  expect(limiter.take('x', 20)).toBeNull();
  expect(limiter.take('y', 20)).toEqual({ suppressed: 0 });
  expect(limiter.take('x', 1000)).toEqual({ suppressed: 2 });
});
