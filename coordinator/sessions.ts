/**
 * The session table: negotiated timeouts and deadlines. Pure: time comes in as `now`.
 *
 * ZooKeeper groups deadlines into tick-sized buckets (ExpiryQueue) so that touching a session
 * is O(1) and expiry is a bucket pop. Here touching is also O(1) (one number written) and
 * `expired(now)` scans the table; the coordinator holds at most thousands of sessions and
 * the server calls it once per tick, so the scan costs microseconds.
 */
import type { SessionRecord } from './core-api';

interface Session extends SessionRecord {
  deadline: number;
  /**
   * Samsa's disconnect grace (docs/coordinator-protocol.md), 0 = none. Set by the connection
   * that last took the session up and never stored: a recovered session starts without one.
   */
  disconnectGraceMs: number;
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  get size(): number {
    return this.sessions.size;
  }

  add(record: SessionRecord, now: number): void {
    const { sessionId, password, timeoutMs } = record;
    this.sessions.set(sessionId, { sessionId, password, timeoutMs, deadline: now + timeoutMs, disconnectGraceMs: 0 });
  }

  get(sessionId: string): SessionRecord | null {
    const session = this.sessions.get(sessionId);
    return session === undefined ? null : { sessionId: session.sessionId, password: session.password, timeoutMs: session.timeoutMs };
  }

  has(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  touch(sessionId: string, now: number): void {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) session.deadline = Math.max(session.deadline, now + session.timeoutMs);
  }

  /** A connection took the session up: full timeout from now, and that connection's grace. */
  attach(sessionId: string, disconnectGraceMs: number, now: number): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    session.disconnectGraceMs = disconnectGraceMs;
    session.deadline = Math.max(session.deadline, now + session.timeoutMs);
  }

  /**
   * The session's connection is gone: with a grace, the deadline comes forward to now + grace
   * (never pushed back: a session already closer to its end keeps that end). Returns the grace
   * applied, 0 when none.
   */
  detach(sessionId: string, now: number): number {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.disconnectGraceMs === 0) return 0;
    session.deadline = Math.min(session.deadline, now + session.disconnectGraceMs);
    return session.disconnectGraceMs;
  }

  /** The deadline (for tests and logs); null for an unknown session. */
  deadlineOf(sessionId: string): number | null {
    return this.sessions.get(sessionId)?.deadline ?? null;
  }

  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  expired(now: number): string[] {
    const out: string[] = [];
    for (const session of this.sessions.values()) if (session.deadline <= now) out.push(session.sessionId);
    return out;
  }

  records(): SessionRecord[] {
    return [...this.sessions.values()].map(({ sessionId, password, timeoutMs }) => ({ sessionId, password, timeoutMs }));
  }
}
