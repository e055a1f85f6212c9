/**
 * Incremental fetch sessions (Kafka's KIP-227, FetchSession.scala), pure bookkeeping with an
 * injected time.
 *
 * Without a session every Fetch names every partition it wants and every response lists them
 * all: a follower that copies 40 partitions from a leader sends and receives 40 entries per
 * round trip, however few changed, so each acks=all record costs more as idle topics pile up.
 * With a session the broker remembers the partitions (and what it last told about each); a
 * request names only the partitions whose fetch position changed (plus `forgotten` ones to
 * drop), and a response lists only the partitions with records, an error, or a new high
 * watermark or log start.
 *
 * Request rules, as Kafka's: sessionEpoch -1 is a fetch without a session (a session named by
 * sessionId is closed); sessionEpoch 0 opens a new session (closing sessionId's if given)
 * and answers in full; sessionEpoch N > 0 continues session sessionId, which must exist
 * (FETCH_SESSION_ID_NOT_FOUND) and expect exactly N (INVALID_FETCH_SESSION_EPOCH). The cache
 * is bounded (the least recently used session goes) and sessions idle for `idleMs` go; a
 * client whose session went gets FETCH_SESSION_ID_NOT_FOUND and starts a new one.
 */
import { KafkaError } from '../../shared/kafka/errors';
import type { FetchPartitionResult } from './delayed';
import type { FetchEntry } from './replica-manager';

export interface FetchSessionLimits {
  /** Kafka's max.incremental.fetch.session.cache.slots. */
  maxSessions: number;
  /** A session not used for this long is dropped. */
  idleMs: number;
}

export const FETCH_SESSION_DEFAULTS: FetchSessionLimits = Object.freeze({ maxSessions: 1000, idleMs: 120_000 });

interface CachedPartition {
  entry: FetchEntry;
  /** What the last response told the client; -2: nothing yet (the next response must list it). */
  highWatermark: number;
  logStartOffset: number;
  /** The error the last response gave (a recovery is news too). */
  errorCode: number;
}

interface Session {
  id: number;
  /** The epoch the next request must carry. */
  epoch: number;
  lastUsedMs: number;
  partitions: Map<string, CachedPartition>;
}

export interface SessionRequest {
  sessionId: number;
  sessionEpoch: number;
  entries: readonly FetchEntry[];
  forgotten: ReadonlyArray<{ topic: string; partitions: readonly number[] }>;
}

export type SessionContext =
  | { errorCode: number }
  /** `entries`: every partition to read (the request's, or the whole session's); `respond` filters the results. */
  | { errorCode: 0; sessionId: number; entries: readonly FetchEntry[]; respond<T extends PartitionResult>(results: T[]): T[] };

/** One partition's answer, as the replica manager gives it. */
export type PartitionResult = FetchPartitionResult;

/** Without a session every result is listed. */
const everyResult = <T extends PartitionResult>(results: T[]): T[] => results;

const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;
const key = (topic: string, partition: number): string => `${topic}/${partition}`;
const nextEpoch = (epoch: number): number => (epoch >= 0x7fffffff ? 1 : epoch + 1);

export class FetchSessions {
  private readonly sessions = new Map<number, Session>();

  constructor(
    private readonly limits: FetchSessionLimits = FETCH_SESSION_DEFAULTS,
    /** A new session id (a positive int32 not in use); injected so tests are deterministic. */
    private readonly newId: () => number = () => 1 + Math.floor(Math.random() * 0x7ffffffe),
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  resolve(request: SessionRequest, now: number): SessionContext {
    this.expire(now);
    const { sessionId, sessionEpoch } = request;
    if (sessionEpoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      return { errorCode: 0, sessionId: 0, entries: request.entries, respond: everyResult };
    }
    if (sessionEpoch === INITIAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      const session = this.create(now);
      if (session === null) return { errorCode: 0, sessionId: 0, entries: request.entries, respond: everyResult };
      for (const entry of request.entries) session.partitions.set(key(entry.topic, entry.partition), { entry, highWatermark: -2, logStartOffset: -2, errorCode: 0 });
      // The first response is in full: it records what it told for each partition.
      return { errorCode: 0, sessionId: session.id, entries: request.entries, respond: (results) => this.record(session, results, false) };
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND };
    if (sessionEpoch !== session.epoch) return { errorCode: KafkaError.INVALID_FETCH_SESSION_EPOCH };
    session.epoch = nextEpoch(session.epoch);
    session.lastUsedMs = now;
    // Re-inserted at the end: the Map's order is least recently used first.
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    for (const { topic, partitions } of request.forgotten) for (const partition of partitions) session.partitions.delete(key(topic, partition));
    for (const entry of request.entries) {
      const cached = session.partitions.get(key(entry.topic, entry.partition));
      if (cached === undefined) session.partitions.set(key(entry.topic, entry.partition), { entry, highWatermark: -2, logStartOffset: -2, errorCode: 0 });
      else cached.entry = entry;
    }
    return { errorCode: 0, sessionId: session.id, entries: [...session.partitions.values()].map((cached) => cached.entry), respond: (results) => this.record(session, results, true) };
  }

  /** Notes what a response tells; with `incremental`, keeps only the partitions with something new. */
  private record<T extends PartitionResult>(session: Session, results: T[], incremental: boolean): T[] {
    const out: T[] = [];
    for (const result of results) {
      const cached = session.partitions.get(key(result.topic, result.partition));
      const changed = cached === undefined || result.records.length > 0 || result.errorCode !== KafkaError.NONE || result.errorCode !== cached.errorCode || result.highWatermark !== cached.highWatermark || result.logStartOffset !== cached.logStartOffset;
      if (cached !== undefined) {
        cached.highWatermark = result.highWatermark;
        cached.logStartOffset = result.logStartOffset;
        cached.errorCode = result.errorCode;
      }
      if (!incremental || changed) out.push(result);
    }
    return out;
  }

  private create(now: number): Session | null {
    if (this.limits.maxSessions <= 0) return null;
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as number;
      this.sessions.delete(oldest);
    }
    let id = this.newId();
    for (let attempt = 0; this.sessions.has(id) && attempt < 10; attempt++) id = this.newId();
    if (this.sessions.has(id)) return null;
    const session: Session = { id, epoch: 1, lastUsedMs: now, partitions: new Map() };
    this.sessions.set(id, session);
    return session;
  }

  private expire(now: number): void {
    for (const session of this.sessions.values()) {
      if (now - session.lastUsedMs < this.limits.idleMs) break; // least recently used first
      this.sessions.delete(session.id);
    }
  }
}
