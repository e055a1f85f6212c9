/**
 * A follower's copy loop towards one leader broker (Kafka's ReplicaFetcherThread): one Kafka
 * connection carrying every partition this broker follows on that leader, long-polling Fetch
 * requests with this broker's id as the replica id.
 *
 * Each partition starts in the truncating phase: before its first fetch from a leader epoch,
 * the follower asks the leader where its own latest epoch ends there (OffsetForLeaderEpoch)
 * and cuts the divergent suffix (truncation.ts; repeated while the leader answers an epoch
 * the follower does not have, KIP-279). Then it fetches from its log end, appends what comes
 * back as it is (offsets and epochs kept), and takes the leader's high watermark.
 *
 * Errors are per partition: a partition whose leader says it no longer leads (or whose epoch
 * is fenced) waits for the next state, which the manager applies; a fetch below the leader's
 * log start starts the log over at the leader's start (logged); a fetch above the leader's
 * log end goes back to truncation. A lost connection is re-opened after a backoff, to the
 * leader's address as the cluster picture has it then.
 */
import type { Clock } from '../../shared/clock';
import { ApiKey } from '../../shared/kafka/api-keys';
import { KafkaConnection } from '../../shared/kafka/client';
import { KafkaError, kafkaErrorName } from '../../shared/kafka/errors';
import type { Logger } from '../../shared/logging';
import type { Partition } from '../partition/partition';
import { truncationFor } from './truncation';

export interface FetcherSettings {
  brokerId: number;
  /** replica.fetch.wait.max.ms: how long a fetch waits on the leader for new records. */
  fetchWaitMaxMs: number;
  /** replica.fetch.max.bytes: per partition. */
  partitionFetchMaxBytes: number;
  /** replica.fetch.response.max.bytes. */
  fetchMaxBytes: number;
  /** replica.fetch.backoff.ms: after an error, before the partition (or connection) is tried again. */
  backoffMs: number;
}

export interface FetcherDependencies {
  /** The leader's address in the current cluster picture; null while it is not registered. */
  endpoint(brokerId: number): { host: string; port: number } | null;
  clock: Clock;
  logger: Logger;
}

interface FetchState {
  partition: Partition;
  leaderEpoch: number;
  phase: 'truncating' | 'fetching';
  /** Not tried again before this time (after an error). */
  retryAtMs: number;
  /** The last fetch round whose response this partition's answer was taken from (a partition listed twice is taken once). */
  answeredRound: number;
}

const FETCH_API_VERSION = 11;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 3;
/** The leader answers a long poll within fetchWaitMaxMs; beyond this much more the connection is considered lost. */
const REQUEST_SLACK_MS = 10_000;
const EMPTY = Buffer.alloc(0);

/**
 * After a leadership error the state that resolves it (this broker's or the leader's) is
 * usually milliseconds away: retry soon rather than after the full backoff, so a follower
 * joins a new leader's ISR (and acks=all resumes) quickly after a failover.
 */
const LEADERSHIP_RETRY_MS = 25;

/** Errors that mean "this leader no longer serves this partition in this epoch": wait for the next state. */
const LEADERSHIP_ERRORS = new Set<number>([KafkaError.NOT_LEADER_OR_FOLLOWER, KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.UNKNOWN_TOPIC_OR_PARTITION]);

export class ReplicaFetcher {
  private readonly states = new Map<string, FetchState>();
  private connection: KafkaConnection | null = null;
  private running = true;
  private wakeUp: (() => void) | null = null;
  private readonly done: Promise<void>;
  private readonly logger: Logger;
  private connectFailuresLogged = 0;
  /** A long-polling fetch is on the wire. */
  private fetching = false;
  /** The in-flight fetch was cut on purpose (a partition to add): no warning, no backoff. */
  private interrupted = false;
  /** Counts fetch responses (FetchState.answeredRound). */
  private round = 0;
  /** The incremental fetch session with the leader (id 0: none yet; the next request opens one). */
  private session: FetcherSession = { id: 0, epoch: 0, sent: new Map() };

  constructor(
    readonly leaderId: number,
    private readonly settings: Readonly<FetcherSettings>,
    private readonly deps: FetcherDependencies,
  ) {
    this.logger = deps.logger.child({ fetchingFrom: leaderId });
    this.done = this.loop();
  }

  get size(): number {
    return this.states.size;
  }

  /** Follows `partition` on this leader in `leaderEpoch`; a new epoch starts again with truncation. */
  follow(partition: Partition, leaderEpoch: number): void {
    const existing = this.states.get(partition.key);
    if (existing !== undefined && existing.leaderEpoch === leaderEpoch) return;
    this.states.set(partition.key, { partition, leaderEpoch, phase: 'truncating', retryAtMs: 0, answeredRound: 0 });
    this.logger.info({ topic: partition.topic, partition: partition.partition, leaderEpoch }, 'fetcher.partition_added');
    this.wake();
    // A long poll on the wire would hold the new partition back for up to fetchWaitMaxMs (and
    // with it acks=all on a leader that just took over): cut it; the next request carries all.
    if (this.fetching && this.connection !== null) {
      this.interrupted = true;
      this.connection.close();
    }
  }

  unfollow(key: string): void {
    if (this.states.delete(key)) this.wake();
  }

  keys(): string[] {
    return [...this.states.keys()];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.connection?.close();
    this.wake();
    await this.done;
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Waits `ms` or until woken (a partition added or removed, stop). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, Math.max(0, ms));
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.states.size === 0) {
        await this.pause(60_000);
        continue;
      }
      // The open connection without an await (connect() is async): one turn and promise less per round trip.
      const open = this.connection;
      const connection = open !== null && !open.isClosed ? open : await this.connect();
      if (connection === null) {
        await this.pause(this.settings.backoffMs);
        continue;
      }
      try {
        const now = this.deps.clock.now();
        // One pass, no intermediate arrays: this runs for every round trip (each acks=all record).
        let truncating: FetchState[] | null = null;
        const fetching: FetchState[] = [];
        let nextRetry = Number.POSITIVE_INFINITY;
        for (const state of this.states.values()) {
          if (state.retryAtMs > now) nextRetry = Math.min(nextRetry, state.retryAtMs);
          else if (state.phase === 'truncating') (truncating ??= []).push(state);
          else fetching.push(state);
        }
        if (truncating !== null) {
          await this.truncate(connection, truncating);
          continue;
        }
        if (fetching.length === 0) {
          await this.pause(Math.max(10, Math.min(nextRetry, now + 60_000) - now));
          continue;
        }
        // A partition waiting to retry (a new leader not ready yet) must not sit out a whole
        // long poll of the others: the poll ends when its retry is due.
        await this.fetch(connection, fetching, Math.max(0, Math.min(this.settings.fetchWaitMaxMs, nextRetry - now)));
      } catch (error) {
        if (!this.running) break;
        connection.close();
        this.connection = null;
        if (this.interrupted) {
          this.interrupted = false;
          continue;
        }
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'fetcher.request_failed');
        await this.pause(this.settings.backoffMs);
      }
    }
    this.connection?.close();
    this.connection = null;
  }

  private async connect(): Promise<KafkaConnection | null> {
    if (this.connection !== null && !this.connection.isClosed) return this.connection;
    this.connection = null;
    const endpoint = this.deps.endpoint(this.leaderId);
    if (endpoint === null) return null;
    // A request lost with its connection may have moved the session on the leader: start anew.
    this.resetSession();
    try {
      this.connection = await KafkaConnection.connect(endpoint.host, endpoint.port, {
        clientId: `samsa-replica-${this.settings.brokerId}`,
        connectTimeoutMs: 2000,
        requestTimeoutMs: this.settings.fetchWaitMaxMs + REQUEST_SLACK_MS,
      });
      this.connectFailuresLogged = 0;
      this.logger.info({ host: endpoint.host, port: endpoint.port }, 'fetcher.connected');
      return this.connection;
    } catch (error) {
      // Every failure while a leader is down would flood the log: the first few, then every 50th.
      if (this.connectFailuresLogged < 3 || this.connectFailuresLogged % 50 === 0) this.logger.warn({ err: (error as Error).message }, 'fetcher.connect_failed');
      this.connectFailuresLogged++;
      return null;
    }
  }

  private backoff(state: FetchState, delayMs = this.settings.backoffMs): void {
    state.retryAtMs = this.deps.clock.now() + delayMs;
  }

  /** One OffsetForLeaderEpoch round for the partitions that start following (KIP-101/279). */
  private async truncate(connection: KafkaConnection, states: FetchState[]): Promise<void> {
    const asked: Array<{ state: FetchState; epoch: number }> = [];
    for (const state of states) {
      await state.partition.followerIdle();
      const epochs = state.partition.epochs();
      if (epochs.length === 0) {
        state.phase = 'fetching'; // no epoch of its own to compare: fetch from the log end
        continue;
      }
      // Also for an empty log (Kafka asks whenever the cache has an entry): an epoch this
      // broker recorded while leading without writing must go before copied batches arrive.
      asked.push({ state, epoch: epochs[epochs.length - 1]!.epoch });
    }
    if (asked.length === 0) return;
    const topics = groupByTopic(asked.map(({ state, epoch }) => ({ topic: state.partition.topic, entry: { partition: state.partition.partition, currentLeaderEpoch: state.leaderEpoch, leaderEpoch: epoch } })));
    const response = await connection.request<{ topics: Array<{ topic: string; partitions: Array<{ errorCode: number; partition: number; leaderEpoch: number; endOffset: bigint }> }> }>(
      ApiKey.OffsetForLeaderEpoch,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      { replicaId: this.settings.brokerId, topics },
    );
    const answers = new Map<string, { errorCode: number; leaderEpoch: number; endOffset: number }>();
    for (const topic of response.topics) for (const p of topic.partitions) answers.set(`${topic.topic}/${p.partition}`, { errorCode: p.errorCode, leaderEpoch: p.leaderEpoch, endOffset: Number(p.endOffset) });
    for (const { state, epoch } of asked) {
      if (this.states.get(state.partition.key) !== state) continue; // moved on meanwhile
      const answer = answers.get(state.partition.key);
      if (answer === undefined || answer.errorCode !== KafkaError.NONE) {
        this.logger.debug({ topic: state.partition.topic, partition: state.partition.partition, error: answer === undefined ? 'missing' : kafkaErrorName(answer.errorCode) }, 'fetcher.epoch_lookup_failed');
        this.backoff(state, answer !== undefined && LEADERSHIP_ERRORS.has(answer.errorCode) ? LEADERSHIP_RETRY_MS : this.settings.backoffMs);
        continue;
      }
      const log = state.partition.log;
      const decision = truncationFor({ epoch: answer.leaderEpoch, endOffset: answer.endOffset }, state.partition.epochs(), log.logEndOffset, state.partition.highWatermark);
      try {
        await state.partition.truncateAsFollower(state.leaderEpoch, decision.offset, `leader ${this.leaderId} ends epoch ${epoch} at ${answer.endOffset} (its epoch ${answer.leaderEpoch})`);
      } catch (error) {
        this.logger.warn({ topic: state.partition.topic, partition: state.partition.partition, err: (error as Error).message }, 'fetcher.truncation_failed');
        this.backoff(state);
        continue;
      }
      if (decision.complete) state.phase = 'fetching';
    }
  }

  /** The fetch session with the leader starts over (a new connection, a refused session). */
  private resetSession(): void {
    this.session = { id: 0, epoch: 0, sent: new Map() };
  }

  /**
   * One fetch round. A small async function around plain ones (fetchRequest, takeResponse):
   * its locals live in a heap frame for the whole long poll, once per acks=all record.
   */
  private async fetch(connection: KafkaConnection, states: FetchState[], maxWaitMs: number): Promise<void> {
    const round = this.fetchRequest(states, maxWaitMs);
    this.fetching = true;
    let response: FetchResponse;
    try {
      response = await connection.request<FetchResponse>(ApiKey.Fetch, FETCH_API_VERSION, round.body);
    } finally {
      this.fetching = false;
    }
    const appends = this.takeResponse(round, states, response);
    // The partitions' logs are independent: their appends run side by side; the next fetch goes
    // once all have landed (its offsets are their log ends).
    if (appends !== null) await Promise.all(appends);
  }

  /**
   * The request of a fetch round, built with plain loops, offsets as numbers (the codec writes
   * them as int64 without BigInts). An incremental fetch session (KIP-227): after the first
   * request, name only the partitions whose position or epoch changed, and drop the ones no
   * longer fetched; the leader answers only for partitions with something new. Idle partitions
   * then cost nothing per round trip.
   */
  private fetchRequest(states: readonly FetchState[], maxWaitMs: number): FetchRound {
    const fetchOffsets = new Array<number>(states.length);
    for (let index = 0; index < states.length; index++) fetchOffsets[index] = states[index]!.partition.log.logEndOffset;
    const session = this.session;
    const full = session.id === 0;
    const named: number[] = [];
    const topics: Array<{ topic: string; partitions: object[] }> = [];
    for (let index = 0; index < states.length; index++) {
      const state = states[index]!;
      if (!full) {
        const before = session.sent.get(state.partition.key);
        if (before !== undefined && before.fetchOffset === fetchOffsets[index] && before.leaderEpoch === state.leaderEpoch) continue;
      }
      named.push(index);
      topicEntry(topics, state.partition.topic).push({
        partition: state.partition.partition,
        currentLeaderEpoch: state.leaderEpoch,
        fetchOffset: fetchOffsets[index]!,
        logStartOffset: state.partition.log.logStartOffset,
        partitionMaxBytes: this.settings.partitionFetchMaxBytes,
      });
    }
    const forgotten = full ? [] : this.forgottenBy(session, states);
    const body = {
      replicaId: this.settings.brokerId,
      maxWaitMs,
      minBytes: 1,
      maxBytes: this.settings.fetchMaxBytes,
      isolationLevel: 0,
      sessionId: session.id,
      sessionEpoch: full ? 0 : session.epoch,
      topics,
      forgottenTopicsData: forgotten.length === 0 ? [] : groupByTopic(forgotten.map((entry) => ({ topic: entry.topic, entry: entry.partition }))),
      rackId: '',
    };
    return { session, full, fetchOffsets, named, forgotten, body };
  }

  /**
   * Takes a fetch round's response: the session moves on, partitions with nothing new take the
   * leader's high watermark, the others' appends start. Returns the appends (null: none).
   * Throws when the leader refused the whole fetch (the loop backs off).
   */
  private takeResponse(round: FetchRound, states: readonly FetchState[], response: FetchResponse): Array<Promise<void>> | null {
    const { session, full, fetchOffsets, named, forgotten } = round;
    if (response.errorCode === KafkaError.FETCH_SESSION_ID_NOT_FOUND || response.errorCode === KafkaError.INVALID_FETCH_SESSION_EPOCH) {
      // The leader dropped the session (restarted, evicted it): start a new one at once.
      this.logger.debug({ error: kafkaErrorName(response.errorCode) }, 'fetcher.session_reset');
      this.resetSession();
      return null;
    }
    if (response.errorCode !== KafkaError.NONE) throw new Error(`fetch refused: ${kafkaErrorName(response.errorCode)}`);
    if (this.session === session) {
      if (full) this.session = { id: response.sessionId, epoch: 1, sent: new Map() };
      else session.epoch = session.epoch >= 0x7fffffff ? 1 : session.epoch + 1;
      const now = this.session;
      for (const entry of forgotten) now.sent.delete(`${entry.topic}/${entry.partition}`);
      if (now.id !== 0) {
        for (const index of named) {
          const { partition, leaderEpoch } = states[index]!;
          const known = now.sent.get(partition.key);
          if (known === undefined) now.sent.set(partition.key, { topic: partition.topic, partition: partition.partition, fetchOffset: fetchOffsets[index]!, leaderEpoch });
          else {
            known.fetchOffset = fetchOffsets[index]!;
            known.leaderEpoch = leaderEpoch;
          }
        }
      }
    }
    let appends: Array<Promise<void>> | null = null;
    const answered = ++this.round;
    const positions = states.length > POSITIONS_SCAN_MAX ? new Map(states.map((state, index) => [state, index])) : null;
    for (const topic of response.responses) {
      for (const result of topic.partitions) {
        const state = this.states.get(`${topic.topic}/${result.partitionIndex}`);
        if (state === undefined) continue;
        // Only a partition of this request, still followed in the same epoch (not unfollowed or re-followed meanwhile).
        const index = positions === null ? states.indexOf(state) : (positions.get(state) ?? -1);
        if (index < 0 || state.answeredRound === answered) continue;
        state.answeredRound = answered;
        if (result.errorCode === KafkaError.NONE && (result.records === null || result.records.length === 0)) {
          // Nothing new (most partitions of most fetches): only the leader's high watermark.
          state.partition.followerHighWatermark(state.leaderEpoch, Number(result.highWatermark));
          continue;
        }
        (appends ??= []).push(this.handle(state, fetchOffsets[index]!, result));
      }
    }
    return appends;
  }

  /** The partitions of the session that this request no longer fetches (unfollowed, or waiting to retry). */
  private forgottenBy(session: FetcherSession, states: readonly FetchState[]): SessionEntry[] {
    let covered = 0;
    for (const state of states) if (session.sent.has(state.partition.key)) covered++;
    // Every partition of the session is fetched again (the usual case): nothing to forget.
    if (covered === session.sent.size) return [];
    const fetched = new Set(states.map((state) => state.partition.key));
    return [...session.sent.values()].filter((entry) => !fetched.has(`${entry.topic}/${entry.partition}`));
  }

  private async handle(state: FetchState, fetchOffset: number, result: FetchResponse['responses'][number]['partitions'][number]): Promise<void> {
    const { partition } = state;
    const where = { topic: partition.topic, partition: partition.partition };
    if (result.errorCode === KafkaError.NONE) {
      if (result.records === null || result.records.length === 0) {
        partition.followerHighWatermark(state.leaderEpoch, Number(result.highWatermark));
        return;
      }
      try {
        await partition.appendAsFollower(state.leaderEpoch, result.records ?? EMPTY, Number(result.highWatermark), fetchOffset);
      } catch (error) {
        this.logger.warn({ ...where, fetchOffset, err: (error as Error).message }, 'fetcher.append_failed');
        this.backoff(state);
      }
      return;
    }
    if (result.errorCode === KafkaError.OFFSET_OUT_OF_RANGE) {
      const leaderLogStart = Number(result.logStartOffset);
      if (leaderLogStart > fetchOffset) {
        // The leader no longer has what comes after this log's end (retention, DeleteRecords):
        // nothing here past its start can be kept in step, so the log starts over there.
        await partition.restartAsFollowerAt(state.leaderEpoch, leaderLogStart, `fetch offset ${fetchOffset} is below leader ${this.leaderId}'s log start ${leaderLogStart}`).catch((error: unknown) => {
          this.logger.warn({ ...where, err: (error as Error).message }, 'fetcher.restart_failed');
          this.backoff(state);
        });
        return;
      }
      this.logger.warn({ ...where, fetchOffset, leaderEpoch: state.leaderEpoch }, 'fetcher.offset_above_leader');
      state.phase = 'truncating';
      return;
    }
    if (LEADERSHIP_ERRORS.has(result.errorCode)) {
      this.backoff(state, LEADERSHIP_RETRY_MS);
      return;
    }
    this.logger.warn({ ...where, error: kafkaErrorName(result.errorCode) }, 'fetcher.partition_error');
    this.backoff(state);
  }
}

/** What the session with the leader was last told about a partition. */
interface SessionEntry {
  topic: string;
  partition: number;
  fetchOffset: number;
  leaderEpoch: number;
}

interface FetcherSession {
  id: number;
  epoch: number;
  sent: Map<string, SessionEntry>;
}

/** A fetch round: its request and what the response is matched against. */
interface FetchRound {
  session: FetcherSession;
  /** The request opens a new session (names every partition). */
  full: boolean;
  /** Per partition of the round (as `states`): the log end it fetches from. */
  fetchOffsets: number[];
  /** Indexes of the partitions the request names. */
  named: number[];
  forgotten: SessionEntry[];
  body: object;
}

/** Up to this many partitions, a response's partition is matched to the request's by a scan; beyond, through a map. */
const POSITIONS_SCAN_MAX = 32;

/** The partition list of `topic` in a request being built (a scan: a fetcher's topics are few). */
function topicEntry<T>(topics: Array<{ topic: string; partitions: T[] }>, topic: string): T[] {
  for (let index = topics.length - 1; index >= 0; index--) if (topics[index]!.topic === topic) return topics[index]!.partitions;
  const partitions: T[] = [];
  topics.push({ topic, partitions });
  return partitions;
}

interface FetchResponse {
  errorCode: number;
  sessionId: number;
  responses: Array<{
    topic: string;
    partitions: Array<{ partitionIndex: number; errorCode: number; highWatermark: bigint; logStartOffset: bigint; records: Buffer | null }>;
  }>;
}

function groupByTopic<T>(entries: Array<{ topic: string; entry: T }>): Array<{ topic: string; partitions: T[] }> {
  const byTopic = new Map<string, T[]>();
  for (const { topic, entry } of entries) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [entry]);
    else list.push(entry);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

