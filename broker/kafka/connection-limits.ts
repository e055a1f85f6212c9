/**
 * The pure parts of the Kafka server's connection limits (no sockets, no timers; time passed in):
 * admission at accept (max.connections, max.connections.per.ip), the per-connection deadlines
 * (connections.max.idle.ms, the partial-request bound), and a log limiter so that a flood of
 * refused connections writes one line per interval, not one per connection.
 */

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  connectionsMaxIdleMs: number;
  requestReadTimeoutMs: number;
}

export type Admission = 'accepted' | 'max.connections' | 'max.connections.per.ip';

/** Open connections, in total and per peer address. */
export class ConnectionTable {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerIp'>) {}

  /** Counts the connection in when it is within both limits. */
  admit(ip: string): Admission {
    if (this.total >= this.limits.maxConnections) return 'max.connections';
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.limits.maxConnectionsPerIp) return 'max.connections.per.ip';
    this.total++;
    this.perIp.set(ip, fromIp + 1);
    return 'accepted';
  }

  release(ip: string): void {
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp <= 0) return;
    this.total--;
    if (fromIp === 1) this.perIp.delete(ip);
    else this.perIp.set(ip, fromIp - 1);
  }

  get size(): number {
    return this.total;
  }
}

/** What a connection's sweep needs to know about it. */
export interface ConnectionActivity {
  /** Last time bytes arrived or a response was sent. */
  lastActiveMs: number;
  /** When the first byte of the request still being received arrived; null between requests. */
  partialSinceMs: number | null;
  /** Requests read and not yet answered (a parked long poll is not idleness). */
  inFlight: number;
}

export type Expiry = 'idle' | 'request read timeout' | null;

/** Whether a connection must be closed now, and why. */
export function expiry(activity: ConnectionActivity, nowMs: number, limits: Pick<ConnectionLimits, 'connectionsMaxIdleMs' | 'requestReadTimeoutMs'>): Expiry {
  if (activity.partialSinceMs !== null && nowMs - activity.partialSinceMs >= limits.requestReadTimeoutMs) return 'request read timeout';
  if (activity.inFlight === 0 && activity.partialSinceMs === null && nowMs - activity.lastActiveMs >= limits.connectionsMaxIdleMs) return 'idle';
  return null;
}

/** How often the server checks deadlines: often enough to honour the smaller one within ~25%. */
export function sweepIntervalMs(limits: Pick<ConnectionLimits, 'connectionsMaxIdleMs' | 'requestReadTimeoutMs'>): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(limits.connectionsMaxIdleMs, limits.requestReadTimeoutMs) / 4)));
}

/** One log line per key per interval; the lines in between are counted and reported with the next. */
export class LogLimiter {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** null: stay quiet; otherwise log now, with how many were suppressed since the last line. */
  take(key: string, nowMs: number): { suppressed: number } | null {
    const entry = this.last.get(key);
    if (entry !== undefined && nowMs - entry.atMs < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    return { suppressed: entry?.suppressed ?? 0 };
  }
}
