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
 * is bounded and sessions idle for `idleMs` go; a client whose session went gets
 * FETCH_SESSION_ID_NOT_FOUND and starts a new one. When the cache is full, a new session takes
 * the place of the least recently used CONSUMER session: followers' sessions are privileged,
 * as in Kafka, because some clients open a new session with every fetch and never use it again
 * (@platformatic/kafka sends session epoch 0 each time) and would otherwise push the followers'
 * sessions out. A follower's new session may take a follower's place; a consumer's may not (it
 * then fetches without a session, session id 0).
 *
 * Fetch v13+ names topics by id: a partition is then keyed by its topic id (as Kafka's
 * TopicIdPartition), so a topic deleted and recreated under the same name is a different
 * partition of the session, and forgotten topics are named by id too. Before v13 the key is
 * the name.
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
  privileged: boolean;
  partitions: Map<string, CachedPartition>;
  /** The partitions' entries in order, made when first asked after a change (not per request: most requests change nothing or one entry). Never modified once handed out. */
  entries: readonly FetchEntry[] | null;
}

export interface SessionRequest {
  sessionId: number;
  sessionEpoch: number;
  /** A follower's request (replica id >= 0): its session is privileged. */
  privileged?: boolean;
  entries: readonly FetchEntry[];
  /** By name (before Fetch v13) or by topic id (v13+: `topicId` set, `topic` ignored). */
  forgotten: ReadonlyArray<ForgottenTopic>;
}

export interface ForgottenTopic {
  topic: string;
  topicId?: string;
  partitions: readonly number[];
}

export type SessionContext =
  | { errorCode: number }
  /** `entries`: every partition to read (the request's, or the whole session's); `respond` filters the results. */
  | { errorCode: 0; sessionId: number; entries: readonly FetchEntry[]; respond<T extends PartitionResult>(results: T[]): T[] };

/** One partition's answer, as the replica manager gives it (with the topic id its entry named, v13+). */
export type PartitionResult = FetchPartitionResult & { topicId?: string };

/** Without a session every result is listed. */
const everyResult = <T extends PartitionResult>(results: T[]): T[] => results;

const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;
// Ids are 22 characters of base64url and names never hold '\u0000': the two kinds cannot collide.
const key = (topic: string, partition: number, topicId?: string): string => (topicId === undefined ? `${topic}/${partition}` : `\u0000${topicId}/${partition}`);
const nextEpoch = (epoch: number): number => (epoch >= 0x7fffffff ? 1 : epoch + 1);

/** How often the idle sessions are looked for. */
const EXPIRY_SCAN_MS = 1000;

export class FetchSessions {
  /**
   * In creation order; recency is each session's lastUsedMs, not its place in the Map. (Moving a
   * session to the end on every fetch churned a long-lived Map: each rehash allocates a new
   * old-generation table, see broker/purgatory.ts.)
   */
  private readonly sessions = new Map<number, Session>();
  private lastExpiryScanMs = -Infinity;

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
      const session = this.create(now, request.privileged === true);
      if (session === null) return { errorCode: 0, sessionId: 0, entries: request.entries, respond: everyResult };
      for (const entry of request.entries) session.partitions.set(key(entry.topic, entry.partition, entry.topicId), { entry, highWatermark: -2, logStartOffset: -2, errorCode: 0 });
      // The first response is in full: it records what it told for each partition.
      return { errorCode: 0, sessionId: session.id, entries: request.entries, respond: (results) => this.record(session, results, false) };
    }
    const session = this.sessions.get(sessionId);
    if (session !== undefined && now - session.lastUsedMs >= this.limits.idleMs) this.sessions.delete(sessionId); // idle: gone, whether or not a scan saw it
    else if (session !== undefined) {
      if (sessionEpoch !== session.epoch) return { errorCode: KafkaError.INVALID_FETCH_SESSION_EPOCH };
      session.epoch = nextEpoch(session.epoch);
      session.lastUsedMs = now;
      return this.continueSession(session, request);
    }
    return { errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND };
  }

  private continueSession(session: Session, request: SessionRequest): SessionContext {
    for (const { topic, topicId, partitions } of request.forgotten) {
      for (const partition of partitions) if (session.partitions.delete(key(topic, partition, topicId))) session.entries = null;
    }
    for (const entry of request.entries) {
      const entryKey = key(entry.topic, entry.partition, entry.topicId);
      const cached = session.partitions.get(entryKey);
      if (cached === undefined) session.partitions.set(entryKey, { entry, highWatermark: -2, logStartOffset: -2, errorCode: 0 });
      else cached.entry = entry;
      session.entries = null;
    }
    if (session.entries === null) {
      const entries: FetchEntry[] = [];
      for (const cached of session.partitions.values()) entries.push(cached.entry);
      session.entries = entries;
    }
    return { errorCode: 0, sessionId: session.id, entries: session.entries, respond: (results) => this.record(session, results, true) };
  }

  /** Notes what a response tells; with `incremental`, keeps only the partitions with something new. */
  private record<T extends PartitionResult>(session: Session, results: T[], incremental: boolean): T[] {
    const out: T[] = [];
    for (const result of results) {
      const cached = session.partitions.get(key(result.topic, result.partition, result.topicId));
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

  private create(now: number, privileged: boolean): Session | null {
    if (this.limits.maxSessions <= 0) return null;
    while (this.sessions.size >= this.limits.maxSessions) {
      const victim = this.evictable(privileged);
      if (victim === undefined) return null;
      this.sessions.delete(victim);
    }
    let id = this.newId();
    for (let attempt = 0; this.sessions.has(id) && attempt < 10; attempt++) id = this.newId();
    if (this.sessions.has(id)) return null;
    const session: Session = { id, epoch: 1, lastUsedMs: now, privileged, partitions: new Map(), entries: null };
    this.sessions.set(id, session);
    return session;
  }

  /**
   * The session a new one may replace: the least recently used consumer session, else (for a
   * follower) the least recently used of all. A scan, but only when the cache is full.
   */
  private evictable(privileged: boolean): number | undefined {
    let consumer: Session | undefined;
    let any: Session | undefined;
    for (const session of this.sessions.values()) {
      if (!session.privileged && (consumer === undefined || session.lastUsedMs < consumer.lastUsedMs)) consumer = session;
      if (any === undefined || session.lastUsedMs < any.lastUsedMs) any = session;
    }
    return consumer?.id ?? (privileged ? any?.id : undefined);
  }

  /**
   * Drops the idle sessions, scanning at most once per EXPIRY_SCAN_MS (or idleMs if shorter); a
   * request for an idle session finds it gone either way (resolve checks).
   */
  private expire(now: number): void {
    if (now - this.lastExpiryScanMs < Math.min(this.limits.idleMs, EXPIRY_SCAN_MS)) return;
    this.lastExpiryScanMs = now;
    for (const session of this.sessions.values()) if (now - session.lastUsedMs >= this.limits.idleMs) this.sessions.delete(session.id);
  }
}
