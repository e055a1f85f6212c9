/**
 * The partitions this broker holds, and the one door the Kafka handlers use to reach them:
 * find a partition or the right error, append with an acks level, read for a consumer or a
 * replica, list offsets, delete records. No handler touches a log or fires an event itself.
 *
 * Waiting requests (acks=all produce, fetch long-poll) park in the purgatory keyed by
 * partition; partitions notify it when their high watermark advances or their state changes.
 *
 * Keeping in step with the cluster picture (sync): opens a log for every partition assigned
 * here, applies each partition's state znode (older states are ignored), keeps log configs in
 * step with /config/topics. A log is deleted only when a topic deletion that the controller
 * carries out names it (/admin/delete_topics/<topic>); the broker then acknowledges. Logs the
 * tree does not mention (a wiped or different coordinator) are never deleted: they are logged
 * as orphaned and left alone.
 */
import type { Clock } from '../../shared/clock';
import { KafkaError, KafkaProtocolError } from '../../shared/kafka/errors';
import { decodeRecords, iterateBatches, RecordBatchError } from '../../shared/kafka/record-batch';
import type { Logger } from '../../shared/logging';
import { SerialTask } from '../../shared/serial-task';
import type { ClusterSnapshot, PartitionState } from '../cluster/metadata-cache';
import { effectiveConfig, logConfigFor } from '../cluster/topic-config';
import type { TopicConfig } from '../context';
import { LogCleaner } from '../log/cleaner';
import type { LogManager } from '../log/log-manager';
import { Purgatory } from '../purgatory';
import type { EpochEntry } from '../replication/truncation';
import { ReplicaFetcherManager } from '../replication/fetcher-manager';
import type { TrafficMeter } from '../metrics/broker-metrics';
import { DelayedFetch, DelayedProduce, FetchPartitionResult, ProduceWait } from './delayed';
import { FetchSessions, ForgottenTopic, PartitionResult } from './fetch-sessions';
import { readHighWatermarks, writeHighWatermarks } from './hw-checkpoint';
import { LeaderAppend, Partition, PartitionEvent, partitionKey } from './partition';

export interface ReplicaManagerSettings {
  brokerId: number;
  topicDefaults: TopicConfig;
  flushMessages: number;
  flushMs: number;
  inlineWriteBytesMax: number;
  retentionCheckIntervalMs: number;
  /** replica.lag.time.max.ms: an ISR member that has not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  /** replica.fetch.wait.max.ms, replica.fetch.max.bytes, replica.fetch.response.max.bytes, replica.fetch.backoff.ms. */
  replicaFetchWaitMaxMs: number;
  replicaFetchMaxBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchBackoffMs: number;
  /** replica.high.watermark.checkpoint.interval.ms. */
  highWatermarkCheckpointIntervalMs: number;
}

export interface ReplicaManagerDependencies {
  logs: LogManager;
  clock: Clock;
  fenced(): boolean;
  /** Records that this broker has deleted its logs of a topic being deleted (the controller waits for every replica). */
  acknowledgeDeletion(topic: string): Promise<void>;
  /**
   * Writes a partition's state znode if its version is still `version` (the leader's ISR
   * changes); resolves with the new version. Rejects when the version moved (BadVersion) or
   * the session is gone.
   */
  writeState(topic: string, partition: number, state: PartitionState, version: number): Promise<number>;
  logger: Logger;
  /** Counts records and bytes in and out, and ISR changes (broker/metrics); none when absent. */
  traffic?: TrafficMeter;
}

export type Acks = 0 | 1 | -1;

export interface ProduceEntry {
  topic: string;
  partition: number;
  records: Buffer | null;
}

export interface ProduceResult {
  errorCode: number;
  baseOffset: number;
  logStartOffset: number;
}

export interface FetchEntry {
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  /** -1: the client does not say (before Fetch v9). */
  currentLeaderEpoch: number;
  /** The topic id the client named (Fetch v13+); `topic` is then the name it resolved to, or '' when unknown. */
  topicId?: string;
}

export interface FetchParams {
  /** -1 for consumers; a broker id for a follower. */
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  entries: readonly FetchEntry[];
}

/** No request waits longer than this, whatever it asks (a bound on parked requests). */
export const REQUEST_WAIT_MAX_MS = 30_000;
/** Reads again (instead of parking) at most this often when records arrived during a fetch's read. */
const FETCH_REREADS_MAX = 3;
/** Longest a request waits for a running sync that is making this broker a partition's leader. */
export const SYNC_WAIT_MAX_MS = 5000;

const failed = (errorCode: number): ProduceResult => ({ errorCode, baseOffset: -1, logStartOffset: -1 });

/** The Kafka error code an operating error carries; anything else is a bug and is rethrown. */
export function kafkaCodeOf(error: unknown): number {
  if (error instanceof KafkaProtocolError) return error.errorCode;
  if (error instanceof RecordBatchError) return error.kafkaErrorCode;
  throw error;
}

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  /**
   * The same partitions by topic, then number: the lookups every produce and fetch make then
   * build no "topic/partition" string (garbage per partition per request). Changed only with
   * `partitions`.
   */
  private readonly byTopic = new Map<string, Map<number, Partition>>();
  readonly purgatory = new Purgatory<PartitionEvent>('partitions');
  private readonly fetchSessions = new FetchSessions();
  private view: ClusterSnapshot | null = null;
  private readonly syncTask: SerialTask;
  private readonly orphansLogged = new Set<string>();
  private readonly topicConfigs = new Map<string, TopicConfig>();
  private orphansCheckedFor: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private isrTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly logger: Logger;
  private readonly fetchers: ReplicaFetcherManager;
  /** The checkpointed high watermarks read at the first sync (null before). */
  private checkpointed: Map<string, number> | null = null;
  /** What the checkpoint file holds now (written when a high watermark moved). */
  private lastCheckpoint = new Map<string, number>();
  private checkpointing: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: Readonly<ReplicaManagerSettings>,
    private readonly deps: ReplicaManagerDependencies,
  ) {
    this.logger = deps.logger;
    this.syncTask = new SerialTask(
      async () => {
        if (this.closed || this.view === null) return false;
        await this.syncOnce(this.view);
      },
      (error) => this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'replicas.sync_failed'),
    );
    this.fetchers = new ReplicaFetcherManager(
      {
        brokerId: settings.brokerId,
        fetchWaitMaxMs: settings.replicaFetchWaitMaxMs,
        partitionFetchMaxBytes: settings.replicaFetchMaxBytes,
        fetchMaxBytes: settings.replicaFetchResponseMaxBytes,
        backoffMs: settings.replicaFetchBackoffMs,
      },
      {
        endpoint: (id) => {
          const broker = this.view?.brokers.find((entry) => entry.id === id);
          return broker === undefined ? null : { host: broker.host, port: broker.port };
        },
        clock: deps.clock,
        logger: deps.logger,
      },
    );
  }

  /** The local partition, whatever its role. */
  get(topic: string, partition: number): Partition | null {
    return this.local(topic, partition) ?? null;
  }

  private local(topic: string, partition: number): Partition | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  all(): Partition[] {
    return [...this.partitions.values()];
  }

  /**
   * The partition when this broker leads it, or the error to answer: UNKNOWN_TOPIC_OR_PARTITION
   * when the cluster has no such partition, NOT_LEADER_OR_FOLLOWER (and the leader-epoch and
   * storage errors) otherwise.
   */
  leaderPartition(topic: string, partition: number, currentLeaderEpoch = -1): Partition | { errorCode: number } {
    const topicView = this.view?.topics.get(topic);
    if (topicView === undefined || topicView.markedForDeletion || !Number.isInteger(partition) || partition < 0 || partition >= topicView.partitions.length) {
      return { errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
    }
    const local = this.local(topic, partition);
    if (local === undefined) return { errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER };
    try {
      local.checkLeader(currentLeaderEpoch);
    } catch (error) {
      return { errorCode: kafkaCodeOf(error) };
    }
    return local;
  }

  /**
   * leaderPartition, but when the cluster picture already names this broker leader and the
   * local partition is still being opened or brought in step (a sync is running: a topic just
   * created, a leadership just moved here), waits for that sync, at most SYNC_WAIT_MAX_MS,
   * rather than send the client away with NOT_LEADER_OR_FOLLOWER. Kafka's leader has its log
   * before clients learn it leads; this keeps that promise.
   */
  private async settledLeaderPartition(topic: string, partition: number, currentLeaderEpoch = -1): Promise<Partition | { errorCode: number }> {
    const found = this.leaderPartition(topic, partition, currentLeaderEpoch);
    if (found instanceof Partition || found.errorCode !== KafkaError.NOT_LEADER_OR_FOLLOWER || !this.syncTask.isRunning) return found;
    if (this.view?.states.get(partitionKey(topic, partition))?.state.leader !== this.settings.brokerId || this.deps.fenced()) return found;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.syncTask.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, SYNC_WAIT_MAX_MS)))]);
    clearTimeout(timer);
    return this.leaderPartition(topic, partition, currentLeaderEpoch);
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  /**
   * Appends each entry to its partition. acks 0/1 answer after the local append; acks=all
   * (-1) waits in the purgatory until the high watermark passes the appended batch, or
   * `timeoutMs` (REQUEST_TIMED_OUT), or the leadership goes (NOT_LEADER_OR_FOLLOWER).
   */
  async appendRecords(acks: Acks, timeoutMs: number, entries: readonly ProduceEntry[]): Promise<ProduceResult[]> {
    // Most produce requests carry one partition: then no Promise.all and its arrays.
    const results = entries.length === 1 ? [await this.appendOne(acks, entries[0]!)] : await Promise.all(entries.map((entry) => this.appendOne(acks, entry)));
    if (acks !== -1) return results;
    const waiting = this.produceWaits(entries, results);
    if (waiting.length === 0) return results;
    const outcome = await new Promise<Map<number, number>>((resolve) => {
      const operation = new DelayedProduce(waiting, resolve);
      if (operation.tryComplete()) return;
      this.purgatory.wait(operation, Math.min(Math.max(0, timeoutMs), REQUEST_WAIT_MAX_MS));
    });
    // The results are this request's own objects: the outcome goes into them.
    for (const [index, errorCode] of outcome) if (errorCode !== KafkaError.NONE) results[index]!.errorCode = errorCode;
    return results;
  }

  /** What an acks=all produce waits for: each appended partition's high watermark past its batch. */
  private produceWaits(entries: readonly ProduceEntry[], results: ReadonlyArray<ProduceResult & { lastOffset: number }>): ProduceWait[] {
    const waiting: ProduceWait[] = [];
    for (let index = 0; index < results.length; index++) {
      const entry = entries[index]!;
      const partition = this.local(entry.topic, entry.partition);
      if (results[index]!.errorCode !== KafkaError.NONE || partition === undefined) continue;
      waiting.push({ index, partition, requiredOffset: results[index]!.lastOffset + 1, minInsyncReplicas: this.topicConfig(entry.topic)['min.insync.replicas'] });
    }
    return waiting;
  }

  private async appendOne(acks: Acks, entry: ProduceEntry): Promise<ProduceResult & { lastOffset: number }> {
    // The settled lookup only when the quick one says "not the leader" (it awaits, which costs every produce a turn).
    let found = this.leaderPartition(entry.topic, entry.partition);
    if (!(found instanceof Partition)) found = await this.settledLeaderPartition(entry.topic, entry.partition);
    if (!(found instanceof Partition)) return { ...failed(found.errorCode), lastOffset: -1 };
    if (entry.records === null || entry.records.length === 0) return { ...failed(KafkaError.CORRUPT_MESSAGE), lastOffset: -1 };
    try {
      return this.appended(entry, await found.appendAsLeader(entry.records, acks === -1, this.topicConfig(entry.topic)['min.insync.replicas']));
    } catch (error) {
      return this.appendRejected(entry, error);
    }
  }

  private appended(entry: ProduceEntry, appended: LeaderAppend): ProduceResult & { lastOffset: number } {
    // Records from the offsets they took: counting them would mean walking every batch.
    this.deps.traffic?.produced(entry.topic, appended.lastOffset - appended.baseOffset + 1, entry.records!.length);
    return { errorCode: KafkaError.NONE, baseOffset: appended.baseOffset, lastOffset: appended.lastOffset, logStartOffset: appended.logStartOffset };
  }

  private appendRejected(entry: ProduceEntry, error: unknown): ProduceResult & { lastOffset: number } {
    const errorCode = kafkaCodeOf(error);
    this.logger.debug({ topic: entry.topic, partition: entry.partition, errorCode, err: (error as Error).message }, 'produce.rejected');
    return { ...failed(errorCode), lastOffset: -1 };
  }

  /**
   * Reads for a consumer (replicaId -1: up to the high watermark) or a follower (up to the log
   * end). When fewer than minBytes are available and nothing failed, waits in the purgatory
   * until enough bytes become visible on its partitions, a partition's state changes, or
   * maxWaitMs passes; then reads once more. A partition named twice is read once (the last
   * entry wins, as Kafka's request map does).
   */
  async fetch(params: FetchParams): Promise<FetchPartitionResult[]> {
    // Few locals here, the work in plain functions: an async function's locals live in a heap
    // frame while it waits, and every long poll waits here.
    const entries = dedupe(params.entries);
    const follower = params.replicaId >= 0;
    // What the read can see of each partition: the log end for a follower, the high watermark
    // for a consumer. A read is asynchronous; whatever arrives while it runs notifies nobody
    // (the request is not parked yet), so it is caught by comparing these before and after
    // (without it, a lone append waited out the whole long poll).
    const seen = new Array<number>(entries.length);
    this.progressed(entries, follower, seen);
    let pending = this.readAll(params.replicaId, entries, readBudget(params));
    // Awaited only when a file is read: most long polls are answered from memory, in this turn.
    let result = Array.isArray(pending) ? pending : await pending;
    for (let reread = 0; ; reread++) {
      const wanted = bytesStillWanted(params, entries.length, result);
      if (wanted === 0) return this.counted(result, follower);
      if (reread >= FETCH_REREADS_MAX || !this.progressed(entries, follower, seen)) {
        await this.parkFetch(entries, follower, wanted, params.maxWaitMs);
        pending = this.readAll(params.replicaId, entries, readBudget(params));
        return this.counted(Array.isArray(pending) ? pending : await pending, follower);
      }
      pending = this.readAll(params.replicaId, entries, readBudget(params));
      result = Array.isArray(pending) ? pending : await pending;
    }
  }

  /** Waits in the purgatory: a follower for the leader's log to grow, a consumer for the high watermark to move. */
  private parkFetch(entries: readonly FetchEntry[], follower: boolean, bytesWanted: number, maxWaitMs: number): Promise<void> {
    const keys = entries.map((e) => this.local(e.topic, e.partition)?.key ?? partitionKey(e.topic, e.partition));
    return new Promise<void>((resolve) => this.purgatory.wait(new DelayedFetch(keys, bytesWanted, follower ? 'append' : 'highWatermark', resolve), fetchWaitMs(maxWaitMs)));
  }

  /** Counts what a fetch answers (records and bytes out), then returns it. */
  private counted(results: FetchPartitionResult[], follower: boolean): FetchPartitionResult[] {
    const traffic = this.deps.traffic;
    if (traffic !== undefined) for (const result of results) traffic.fetched(result.topic, result.records.length, follower);
    return results;
  }

  /** Updates `seen` with what each partition shows now (see fetch); true when anything moved. */
  private progressed(entries: readonly FetchEntry[], follower: boolean, seen: number[]): boolean {
    let moved = false;
    for (let index = 0; index < entries.length; index++) {
      const local = this.local(entries[index]!.topic, entries[index]!.partition);
      const value = local === undefined ? -1 : follower ? local.log.logEndOffset : local.highWatermark;
      if (seen[index] !== value) {
        seen[index] = value;
        moved = true;
      }
    }
    return moved;
  }

  /**
   * A Fetch that may belong to an incremental fetch session (KIP-227, fetch-sessions.ts): the
   * session decides which partitions are read (the request's, or every partition of the
   * session) and which results the response lists (with a session: only what changed).
   */
  async fetchInSession(
    params: FetchParams,
    session: { sessionId: number; sessionEpoch: number; forgotten: readonly ForgottenTopic[] },
    /** Per partition to read (the request's or the session's): an error code answered instead of reading (topic ids: UNKNOWN_TOPIC_ID), or 0. */
    refuse: (entry: FetchEntry) => number = () => KafkaError.NONE,
  ): Promise<{ errorCode: number; sessionId: number; results: PartitionResult[] }> {
    const context = this.fetchSessions.resolve({ sessionId: session.sessionId, sessionEpoch: session.sessionEpoch, forgotten: session.forgotten, privileged: params.replicaId >= 0, entries: params.entries }, this.deps.clock.now());
    if (!('respond' in context)) return { errorCode: context.errorCode, sessionId: 0, results: [] };
    const refused = refusals(context.entries, refuse);
    const toRead = refused === null ? context.entries : context.entries.filter((entry) => !refused.has(entry));
    const read = await this.fetch({ replicaId: params.replicaId, maxWaitMs: params.maxWaitMs, minBytes: params.minBytes, maxBytes: params.maxBytes, entries: toRead });
    return { errorCode: KafkaError.NONE, sessionId: context.sessionId, results: context.respond(sessionResults(context.entries, refused, toRead, read)) };
  }

  /**
   * Kafka's rule for a response's byte budget: partitions in request order, each up to its
   * partitionMaxBytes and what is left of maxBytes, the first one with data getting at least one
   * whole batch. When the partition limits together fit in maxBytes the budget cannot bind, so
   * the reads go to the disk all at once (one round trip through the I/O pool instead of one per
   * partition); otherwise one after the other.
   */
  private readAll(replicaId: number, entries: readonly FetchEntry[], maxBytes: number): FetchPartitionResult[] | Promise<FetchPartitionResult[]> {
    let budget = 0;
    for (const entry of entries) budget += Math.max(0, entry.partitionMaxBytes);
    if (budget > maxBytes) return this.readInOrder(replicaId, entries, maxBytes);
    // The budget cannot bind. Partitions with nothing new, or whose new batches are in memory,
    // are answered in this turn; when all are, so is the whole read (no promise).
    const quick = new Array<FetchPartitionResult | null>(entries.length);
    let missing = 0;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      quick[index] = this.answerWithoutLog(replicaId, entry, entry.partitionMaxBytes, true);
      if (quick[index] === null) missing++;
    }
    if (missing === 0) return firstBatchOnly(entries, quick as FetchPartitionResult[]);
    return Promise.all(entries.map((entry, index) => quick[index] ?? this.readOne(replicaId, entry, entry.partitionMaxBytes, true))).then((results) => firstBatchOnly(entries, results));
  }

  /** readAll when the response's byte budget may bind: one partition after the other. */
  private async readInOrder(replicaId: number, entries: readonly FetchEntry[], maxBytes: number): Promise<FetchPartitionResult[]> {
    const results: FetchPartitionResult[] = [];
    let total = 0;
    for (const entry of entries) {
      const limit = Math.min(entry.partitionMaxBytes, Math.max(0, maxBytes - total));
      const result = this.answerWithoutLog(replicaId, entry, limit, total === 0) ?? (await this.readOne(replicaId, entry, limit, total === 0));
      total += result.records.length;
      results.push(result);
    }
    return results;
  }

  /**
   * The answer for a partition when it needs no file read, in this turn of the event loop: an
   * error (unless a running sync may make this broker its leader: then null, and readOne waits
   * for it), or a consumer's read that the log answers from memory (nothing new, or the new
   * batches in its in-memory tail). Null otherwise: readOne reads the file.
   */
  private answerWithoutLog(replicaId: number, entry: FetchEntry, limit: number, minOneBatch: boolean): FetchPartitionResult | null {
    // One object per answer and no intermediate ones: this runs for every partition of every long poll.
    const found = this.leaderPartition(entry.topic, entry.partition, entry.currentLeaderEpoch);
    if (!(found instanceof Partition)) {
      if (found.errorCode === KafkaError.NOT_LEADER_OR_FOLLOWER && this.syncTask.isRunning) return null;
      return { topic: entry.topic, partition: entry.partition, errorCode: found.errorCode, highWatermark: -1, logStartOffset: -1, records: EMPTY };
    }
    if (replicaId >= 0) {
      try {
        const records = limit > 0 || minOneBatch ? found.readForReplicaNow(replicaId, entry.fetchOffset, limit, minOneBatch, entry.currentLeaderEpoch) : null;
        // The high watermark after the read: this fetch may just have moved it.
        return records === null ? null : { topic: entry.topic, partition: entry.partition, errorCode: KafkaError.NONE, highWatermark: found.highWatermark, logStartOffset: found.log.logStartOffset, records };
      } catch (error) {
        return { topic: entry.topic, partition: entry.partition, errorCode: kafkaCodeOf(error), highWatermark: found.highWatermark, logStartOffset: found.log.logStartOffset, records: EMPTY };
      }
    }
    const highWatermark = found.highWatermark;
    let records: Buffer | null;
    try {
      records = limit > 0 || minOneBatch ? found.readForConsumerNow(entry.fetchOffset, limit, minOneBatch, entry.currentLeaderEpoch) : EMPTY;
    } catch (error) {
      return { topic: entry.topic, partition: entry.partition, errorCode: kafkaCodeOf(error), highWatermark, logStartOffset: found.log.logStartOffset, records: EMPTY };
    }
    if (records === null) return null;
    return { topic: entry.topic, partition: entry.partition, errorCode: KafkaError.NONE, highWatermark, logStartOffset: found.log.logStartOffset, records };
  }

  private async readOne(replicaId: number, entry: FetchEntry, limit: number, minOneBatch: boolean): Promise<FetchPartitionResult> {
    const found = await this.settledLeaderPartition(entry.topic, entry.partition, entry.currentLeaderEpoch);
    const base = { topic: entry.topic, partition: entry.partition, highWatermark: -1, logStartOffset: -1, records: EMPTY };
    if (!(found instanceof Partition)) return { ...base, errorCode: found.errorCode };
    try {
      const read = limit > 0 || minOneBatch
        ? replicaId >= 0
          ? await found.readForReplica(replicaId, entry.fetchOffset, limit, minOneBatch, entry.currentLeaderEpoch)
          : await found.readForConsumer(entry.fetchOffset, limit, minOneBatch, entry.currentLeaderEpoch)
        : { records: EMPTY, highWatermark: found.highWatermark, logStartOffset: found.log.logStartOffset };
      return { ...base, errorCode: KafkaError.NONE, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset, records: read.records };
    } catch (error) {
      return { ...base, errorCode: kafkaCodeOf(error), highWatermark: found.highWatermark, logStartOffset: found.log.logStartOffset };
    }
  }

  /**
   * ListOffsets for one partition, answered by its leader: earliest (-2; -4, Kafka's earliest
   * LOCAL offset, is the same here: no tiered storage), latest (-1, the high watermark), max
   * timestamp (-3, KIP-734: the record with the largest timestamp), or the first record at or
   * after a timestamp (with its own timestamp), both only below the high watermark.
   * `leaderEpoch` is the epoch of the batch holding the offset (for latest: the current epoch),
   * -1 when none; a client uses it to validate its position with OffsetForLeaderEpoch.
   */
  async listOffset(topic: string, partition: number, timestamp: number, currentLeaderEpoch = -1): Promise<{ errorCode: number; offset: number; timestamp: number; leaderEpoch: number }> {
    const found = await this.settledLeaderPartition(topic, partition);
    if (!(found instanceof Partition)) return { errorCode: found.errorCode, offset: -1, timestamp: -1, leaderEpoch: -1 };
    try {
      found.checkLeader(currentLeaderEpoch);
      const answer = timestamp === LIST_MAX_TIMESTAMP
        ? await maxTimestampOffset(found)
        : timestamp >= 0
          ? await firstRecordAtOrAfter(found, timestamp)
          : await found.offsetFor(timestamp === LIST_EARLIEST_LOCAL ? LIST_EARLIEST : timestamp);
      return { errorCode: KafkaError.NONE, ...answer, leaderEpoch: answer.offset < 0 ? -1 : epochAt(found.epochs(), answer.offset) };
    } catch (error) {
      return { errorCode: kafkaCodeOf(error), offset: -1, timestamp: -1, leaderEpoch: -1 };
    }
  }

  /** OffsetForLeaderEpoch for one partition: the leader answers; `anyReplica` (debugging id -2) lets a follower answer too. */
  offsetForLeaderEpoch(topic: string, partition: number, currentLeaderEpoch: number, epoch: number, anyReplica: boolean): { errorCode: number; epoch: number; endOffset: number } {
    const undefinedAnswer = { epoch: -1, endOffset: -1 };
    const local = this.partitions.get(partitionKey(topic, partition));
    const found = anyReplica && local !== undefined ? local : this.leaderPartition(topic, partition, currentLeaderEpoch);
    if (!(found instanceof Partition)) return { errorCode: found.errorCode, ...undefinedAnswer };
    try {
      return { errorCode: KafkaError.NONE, ...found.lastOffsetForLeaderEpoch(currentLeaderEpoch, epoch, anyReplica) };
    } catch (error) {
      return { errorCode: kafkaCodeOf(error), ...undefinedAnswer };
    }
  }

  /**
   * This broker's own replica of a partition, whatever its role (ListOffsets with Kafka's
   * debugging replica id -2, which `samsa cluster` uses for each replica's log end and lag):
   * its log start, log end and high watermark as known here; null when it holds none.
   */
  localOffsets(topic: string, partition: number): { logStartOffset: number; logEndOffset: number; highWatermark: number } | null {
    const local = this.partitions.get(partitionKey(topic, partition));
    if (local === undefined) return null;
    return { logStartOffset: local.log.logStartOffset, logEndOffset: local.log.logEndOffset, highWatermark: local.highWatermark };
  }

  async deleteRecords(topic: string, partition: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
    const found = await this.settledLeaderPartition(topic, partition);
    if (!(found instanceof Partition)) return { errorCode: found.errorCode, lowWatermark: -1 };
    try {
      return { errorCode: KafkaError.NONE, lowWatermark: await found.deleteRecordsBefore(offset) };
    } catch (error) {
      return { errorCode: kafkaCodeOf(error), lowWatermark: -1 };
    }
  }

  // ---------------------------------------------------------------------------------------
  // Replication: what this broker follows, and the ISR of what it leads

  /** Every partition this broker follows, from the leader the picture names, in its epoch. */
  private updateFetchers(view: ClusterSnapshot): void {
    const followed = [];
    for (const partition of this.partitions.values()) {
      if (partition.role !== 'follower' || view.pendingDeletions.has(partition.topic)) continue;
      followed.push({ partition, leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch });
    }
    this.fetchers.update(followed);
  }

  /**
   * Writes the ISR a leader wants (followers that fell behind out, caught-up ones in) to the
   * partition's state znode, conditional on the version this broker applied: a controller's
   * write in between (a new leader, a dead broker removed) wins, and the next check starts
   * from it. Only live brokers that are not shutting down may join.
   */
  private async maybeChangeIsr(partition: Partition): Promise<void> {
    const view = this.view;
    if (view === null || this.closed || this.deps.fenced()) return;
    const live = new Set(view.brokers.map((broker) => broker.id));
    const wanted = partition.wantedIsr(this.deps.clock.now(), this.settings.replicaLagTimeMaxMs, (id) => live.has(id) && !view.shuttingDown.has(id));
    if (wanted === null || partition.stateVersion < 0) return;
    const before = [...partition.isr];
    const next: PartitionState = { leader: this.settings.brokerId, leaderEpoch: partition.leaderEpoch, isr: wanted, controllerEpoch: partition.controllerEpoch };
    const where = { topic: partition.topic, partition: partition.partition, leaderEpoch: partition.leaderEpoch };
    partition.setPendingIsr(wanted);
    try {
      const version = await this.deps.writeState(partition.topic, partition.partition, next, partition.stateVersion);
      partition.applyState({ ...next, replicas: partition.replicas, version });
      const event = wanted.length < before.length ? 'partition.isr_shrunk' : wanted.length > before.length ? 'partition.isr_expanded' : 'partition.isr_changed';
      if (wanted.length < before.length) this.deps.traffic?.isrShrunk();
      else if (wanted.length > before.length) this.deps.traffic?.isrExpanded();
      this.logger.info({ ...where, from: before, to: wanted, highWatermark: partition.highWatermark }, event);
    } catch (error) {
      partition.setPendingIsr(null);
      // A lost compare-and-set: the picture brings the newer state (a new leader stops this one leading).
      this.logger.warn({ ...where, wanted, err: error instanceof Error ? error.message : String(error) }, 'partition.isr_write_failed');
    }
  }

  private checkIsrs(): void {
    for (const partition of this.partitions.values()) if (partition.isLeader && partition.replicas.length > 1) void this.maybeChangeIsr(partition);
  }

  /** Writes the high-watermark checkpoint when a high watermark moved since the last one. */
  private checkpointHighWatermarks(): Promise<void> {
    if (this.checkpointed === null) return this.checkpointing;
    const marks = new Map<string, number>();
    for (const [key, partition] of this.partitions) marks.set(key, partition.highWatermark);
    const same = marks.size === this.lastCheckpoint.size && [...marks].every(([key, value]) => this.lastCheckpoint.get(key) === value);
    if (same) return this.checkpointing;
    this.checkpointing = this.checkpointing.then(async () => {
      try {
        await writeHighWatermarks(this.deps.logs.dataDir, marks);
        this.lastCheckpoint = marks;
      } catch (error) {
        this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'replicas.hw_checkpoint_failed');
      }
    });
    return this.checkpointing;
  }

  /** The topic's effective configuration, worked out once per cluster picture (produce asks per partition). */
  topicConfig(topic: string): TopicConfig {
    let config = this.topicConfigs.get(topic);
    if (config === undefined) {
      config = effectiveConfig(this.settings.topicDefaults, this.view?.overrides.get(topic) ?? {});
      this.topicConfigs.set(topic, config);
    }
    return config;
  }

  /** Fencing changed: every waiter re-evaluates (a fenced leader's acks=all produce fails at once). */
  fencingChanged(): void {
    for (const partition of this.partitions.values()) partition.stateChanged();
  }

  // ---------------------------------------------------------------------------------------
  // Keeping in step with the cluster

  /** Brings local partitions in line with the cluster picture (serialised; calls coalesce). */
  sync(view: ClusterSnapshot): Promise<void> {
    // An unread picture has no topics; nothing may be concluded from it.
    if (!view.loaded) return Promise.resolve();
    this.topicConfigs.clear();
    this.view = view;
    return this.syncTask.request();
  }

  private async syncOnce(view: ClusterSnapshot): Promise<void> {
    const id = this.settings.brokerId;
    if (this.checkpointed === null) {
      const { marks, problem } = await readHighWatermarks(this.deps.logs.dataDir);
      if (problem !== null) this.logger.warn({ problem }, 'replicas.hw_checkpoint_unreadable');
      this.checkpointed = marks;
      this.lastCheckpoint = new Map(marks);
    }
    for (const [topic, assignment] of view.assignments) {
      if (view.pendingDeletions.has(topic)) continue;
      const logConfig = logConfigFor(this.topicConfig(topic), this.settings);
      for (let p = 0; p < assignment.partitions.length; p++) {
        const replicas = assignment.partitions[p]!;
        if (!replicas.includes(id)) continue;
        const local = await this.openPartition(topic, p, logConfig);
        if (local === null) continue;
        local.log.updateConfig(logConfig);
        const found = view.states.get(partitionKey(topic, p));
        if (found !== undefined) local.applyState({ leader: found.state.leader, leaderEpoch: found.state.leaderEpoch, isr: found.state.isr, replicas, controllerEpoch: found.state.controllerEpoch, version: found.version });
      }
    }
    this.updateFetchers(view);
    for (const topic of view.pendingDeletions) await this.carryOutDeletion(view, topic);
    // Listing the data directory is file I/O: only when the set of topics changed.
    const topics = [...view.assignments.keys()].sort().join('\n');
    if (topics !== this.orphansCheckedFor) {
      this.orphansCheckedFor = topics;
      this.logOrphans(view);
    }
  }

  private async openPartition(topic: string, partition: number, logConfig: ReturnType<typeof logConfigFor>): Promise<Partition | null> {
    const key = partitionKey(topic, partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing;
    try {
      const log = await this.deps.logs.open(topic, partition, logConfig, this.deps.clock.now());
      const opened = new Partition(topic, partition, log, {
        brokerId: this.settings.brokerId,
        clock: this.deps.clock,
        fenced: this.deps.fenced,
        onEvent: (eventKey, event) => this.purgatory.notify(eventKey, event),
        isrChangeWanted: (wanting) => void this.maybeChangeIsr(wanting),
        initialHighWatermark: this.checkpointed?.get(key) ?? null,
        logger: this.logger,
      });
      this.partitions.set(key, opened);
      let numbered = this.byTopic.get(topic);
      if (numbered === undefined) this.byTopic.set(topic, (numbered = new Map()));
      numbered.set(partition, opened);
      this.logger.info({ topic, partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset }, 'partition.opened');
      return opened;
    } catch (error) {
      // One unreadable log (disk trouble) must not keep the others from opening; the next picture retries it.
      this.logger.error({ topic, partition, err: error instanceof Error ? error.message : String(error) }, 'partition.open_failed');
      return null;
    }
  }

  /**
   * The controller named `topic` for deletion: a replica broker deletes every local log of it,
   * then acknowledges (the controller completes the deletion once every replica has). A broker
   * outside the assignment deletes nothing: its logs of that name are not the ones named.
   */
  private async carryOutDeletion(view: ClusterSnapshot, topic: string): Promise<void> {
    const id = this.settings.brokerId;
    const isReplica = view.assignments.get(topic)?.partitions.some((replicas) => replicas.includes(id)) ?? false;
    if (!isReplica || view.deletionAcks.get(topic)?.has(id) === true) return;
    for (const { partition } of this.deps.logs.onDisk().filter((entry) => entry.topic === topic)) {
      const key = partitionKey(topic, partition);
      const local = this.partitions.get(key);
      this.partitions.delete(key);
      const numbered = this.byTopic.get(topic);
      numbered?.delete(partition);
      if (numbered?.size === 0) this.byTopic.delete(topic);
      local?.stateChanged(); // its waiters answer now (the topic is marked for deletion)
      await local?.followerIdle(); // a fetched append under way lands before the files go
      await this.deps.logs.delete(topic, partition);
      this.logger.warn({ topic, partition, reason: 'topic deletion carried out by the controller' }, 'log.deleted');
    }
    // Idempotent: a repeat before the picture shows the acknowledgement finds it there.
    await this.deps.acknowledgeDeletion(topic);
    this.logger.info({ topic }, 'topic.deletion_acknowledged');
  }

  /** Logs the tree does not mention stay; they are reported once each. */
  private logOrphans(view: ClusterSnapshot): void {
    for (const { topic, partition } of this.deps.logs.onDisk()) {
      const key = partitionKey(topic, partition);
      const assigned = view.assignments.get(topic)?.partitions[partition]?.includes(this.settings.brokerId) ?? false;
      if (assigned || view.pendingDeletions.has(topic) || this.orphansLogged.has(key)) continue;
      this.orphansLogged.add(key);
      this.logger.warn({ topic, partition, dataDir: this.deps.logs.dataDir }, 'log.orphaned');
    }
  }

  startTimers(): void {
    const flushEvery = Number.isFinite(this.settings.flushMs) ? Math.max(10, this.settings.flushMs) : Number.POSITIVE_INFINITY;
    const every = Math.min(this.settings.retentionCheckIntervalMs, flushEvery);
    let lastRetention = this.deps.clock.now();
    let retaining = false;
    const cleaner = new LogCleaner(this.logger);
    this.timer = setInterval(() => {
      const now = this.deps.clock.now();
      for (const partition of this.partitions.values()) partition.log.flushIfDue(now);
      if (now - lastRetention < this.settings.retentionCheckIntervalMs || retaining) return;
      lastRetention = now;
      retaining = true;
      void (async () => {
        for (const partition of this.partitions.values()) {
          try {
            await partition.log.applyRetention(now);
          } catch (error) {
            this.logger.error({ topic: partition.topic, partition: partition.partition, err: error instanceof Error ? error.message : String(error) }, 'log.retention_failed');
          }
        }
        // Compaction (cleanup.policy=compact): one log per pass, each broker its own copies, never past the high watermark.
        await cleaner.runPass([...this.partitions.values()].map((partition) => ({ log: partition.log, topic: partition.topic, partition: partition.partition, upTo: partition.highWatermark })), now);
      })().finally(() => (retaining = false));
    }, every);
    this.timer.unref();
    this.isrTimer = setInterval(() => this.checkIsrs(), Math.max(50, Math.min(1000, Math.floor(this.settings.replicaLagTimeMaxMs / 2))));
    this.isrTimer.unref();
    this.checkpointTimer = setInterval(() => void this.checkpointHighWatermarks(), Math.max(50, this.settings.highWatermarkCheckpointIntervalMs));
    this.checkpointTimer.unref();
  }

  /** Stops copying from leaders (a broker shutting down, before it hands its leaderships over). */
  stopFetchers(): Promise<void> {
    return this.fetchers.stop();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    if (this.checkpointTimer !== null) clearInterval(this.checkpointTimer);
    this.purgatory.shutdown();
    await this.fetchers.stop();
    // Appends the fetchers started finish before the logs close; then the last high watermarks.
    await Promise.all([...this.partitions.values()].map((partition) => partition.followerIdle()));
    await this.checkpointHighWatermarks();
    await this.deps.logs.closeAll();
    this.partitions.clear();
    this.byTopic.clear();
  }
}

const EMPTY = Buffer.alloc(0);

/** ListOffsets' special timestamps (Kafka's ListOffsetsRequest constants). */
const LIST_EARLIEST = -2;
const LIST_MAX_TIMESTAMP = -3;
const LIST_EARLIEST_LOCAL = -4;
/** Timestamp lookups read from the batch the time index finds: at most this many bytes (a larger first batch is still read whole). */
const TIMESTAMP_READ_BYTES = 1024 * 1024;
const NOT_FOUND = Object.freeze({ offset: -1, timestamp: -1 });

/** The epoch whose range holds `offset` (the last one starting at or before it), -1 when the cache has none. */
function epochAt(epochs: readonly EpochEntry[], offset: number): number {
  let epoch = -1;
  for (const entry of epochs) if (entry.startOffset <= offset) epoch = entry.epoch;
  return epoch;
}

/**
 * KIP-734 (ListOffsets v7, timestamp -3): the offset and timestamp of the record with the
 * largest timestamp. Each segment knows its largest batch timestamp; the first batch reaching
 * the overall largest is found through the time index and decoded for the record itself.
 */
async function maxTimestampOffset(partition: Partition): Promise<{ offset: number; timestamp: number }> {
  const { segments } = partition.log.cleanerView();
  const largest = segments.reduce((max, segment) => (segment.removed ? max : Math.max(max, segment.maxTimestamp)), -1);
  return largest < 0 ? NOT_FOUND : firstRecordAtOrAfter(partition, largest);
}

/**
 * Kafka's timestamp lookup: the first record (not only its batch) whose timestamp is at least
 * `timestamp`, with that record's own timestamp. A record not yet under the high watermark is
 * not visible to consumers: none (-1) then.
 */
async function firstRecordAtOrAfter(partition: Partition, timestamp: number): Promise<{ offset: number; timestamp: number }> {
  const baseOffset = await partition.log.offsetForTimestamp(timestamp);
  const visibleEnd = partition.highWatermark;
  if (baseOffset === null || baseOffset >= visibleEnd) return NOT_FOUND;
  const { records } = await partition.log.read(baseOffset, TIMESTAMP_READ_BYTES, true, visibleEnd);
  for (const batch of iterateBatches(records)) {
    if (batch.maxTimestamp < timestamp) continue;
    const found = decodeRecords(records.subarray(batch.position, batch.position + batch.size)).find((r) => r.timestamp >= timestamp && r.offset >= partition.log.logStartOffset);
    if (found !== undefined) return found.offset < visibleEnd ? { offset: found.offset, timestamp: found.timestamp } : NOT_FOUND;
  }
  return NOT_FOUND;
}

/** Most partitions compared pairwise for duplicates; beyond, a map (pairs grow quadratically). */
const DEDUPE_PAIRWISE_MAX = 16;

function dedupe(entries: readonly FetchEntry[]): readonly FetchEntry[] {
  if (entries.length <= DEDUPE_PAIRWISE_MAX && !hasDuplicate(entries)) return entries; // the usual case, without a map per fetch
  const byKey = new Map<string, FetchEntry>();
  for (const entry of entries) {
    // Map.set on a present key keeps its first position and takes the new value (Kafka's LinkedHashMap does the same).
    byKey.set(partitionKey(entry.topic, entry.partition), entry);
  }
  return [...byKey.values()];
}

function hasDuplicate(entries: readonly FetchEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    for (let j = 0; j < i; j++) if (entries[i]!.partition === entries[j]!.partition && entries[i]!.topic === entries[j]!.topic) return true;
  }
  return false;
}

/** Only the first partition with data may pass its limit (by its one whole batch): the others' over-limit reads go. In place. */
function firstBatchOnly(entries: readonly FetchEntry[], results: FetchPartitionResult[]): FetchPartitionResult[] {
  let seenData = false;
  for (let index = 0; index < results.length; index++) {
    const result = results[index]!;
    if (result.records.length === 0) continue;
    if (seenData && result.records.length > entries[index]!.partitionMaxBytes) results[index] = { ...result, records: EMPTY };
    seenData = true;
  }
  return results;
}

/** The byte budget of a fetch's response (0 or less: no limit). */
function readBudget(params: FetchParams): number {
  return params.maxBytes > 0 ? params.maxBytes : 0x7fffffff;
}

/** How long a fetch may park: what it asks, within REQUEST_WAIT_MAX_MS. */
function fetchWaitMs(maxWaitMs: number): number {
  return Math.min(Math.max(0, maxWaitMs), REQUEST_WAIT_MAX_MS);
}

/**
 * 0 when a fetch is answered now, else the bytes it still waits for. Kafka answers at once
 * when minBytes is 0, when there is enough, when anything failed, or when it may not wait.
 */
function bytesStillWanted(params: FetchParams, partitions: number, result: readonly FetchPartitionResult[]): number {
  const minBytes = Math.max(0, params.minBytes);
  let bytes = 0;
  for (const entry of result) {
    if (entry.errorCode !== KafkaError.NONE) return 0;
    bytes += entry.records.length;
  }
  if (minBytes === 0 || bytes >= minBytes || fetchWaitMs(params.maxWaitMs) === 0 || partitions === 0) return 0;
  return minBytes - bytes;
}

/** The entries `refuse` answers with an error instead of a read (topic ids), or null when none (the usual case, without a map). */
function refusals(entries: readonly FetchEntry[], refuse: (entry: FetchEntry) => number): Map<FetchEntry, number> | null {
  let refused: Map<FetchEntry, number> | null = null;
  for (const entry of entries) {
    const errorCode = refuse(entry);
    if (errorCode !== KafkaError.NONE) (refused ??= new Map()).set(entry, errorCode);
  }
  return refused;
}

/** A session's results in the order of its entries, each with the topic id it named (the response names topics by id from v13). */
function sessionResults(entries: readonly FetchEntry[], refused: Map<FetchEntry, number> | null, toRead: readonly FetchEntry[], read: readonly FetchPartitionResult[]): PartitionResult[] {
  const results: PartitionResult[] = [];
  if (refused === null && read.length === toRead.length) {
    // The usual case: nothing refused, no partition named twice, so read[i] answers entry i.
    for (let index = 0; index < read.length; index++) {
      const topicId = toRead[index]!.topicId;
      results.push(topicId === undefined ? read[index]! : { ...read[index]!, topicId });
    }
    return results;
  }
  const byPartition = new Map(read.map((result) => [partitionKey(result.topic, result.partition), result]));
  const listed = new Set<string>();
  for (const entry of entries) {
    const errorCode = refused?.get(entry);
    if (errorCode !== undefined) {
      results.push({ topic: entry.topic, topicId: entry.topicId, partition: entry.partition, errorCode, highWatermark: -1, logStartOffset: -1, records: EMPTY });
      continue;
    }
    const key = partitionKey(entry.topic, entry.partition);
    const result = byPartition.get(key);
    // A partition named twice is answered once (fetch() read it once).
    if (result === undefined || listed.has(key)) continue;
    listed.add(key);
    results.push({ ...result, topicId: entry.topicId });
  }
  return results;
}
