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
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  get size(): number {
    return this.sessions.size;
  }

  add(record: SessionRecord, now: number): void {
    this.sessions.set(record.sessionId, { ...record, deadline: now + record.timeoutMs });
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
