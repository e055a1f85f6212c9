/**
 * The Redis store (issue 9): the coordinator's transactions in a Redis stream, its snapshots in
 * a Redis string and list, through ioredis.
 *
 *   <prefix>:log        a stream; entry id `<zxid>-0`, field `t` = the transaction's JSON
 *                       (znode data as base64, records.ts; older entries' text data is still read).
 *                       Redis refuses an id not above the last one, so the log can only grow
 *                       in zxid order, whoever writes to it.
 *   <prefix>:snapshot   the newest snapshot's header (snapshot-stream.ts: zxid, sessions)
 *   <prefix>:snapshot:chunks   a list: its chunks of znodes (binary since format 4, JSON
 *                       before), then its trailer (each 256 KiB or so: a Redis string holds
 *                       512 MB at most, and one JSON text of the whole tree would hold the
 *                       event loop for seconds)
 *   <prefix>:snapshot:staging  the list a snapshot is written into, a chunk per round trip,
 *                       while the server goes on; once complete, one script renames it to
 *                       the chunks, sets the header and trims the log behind it (XTRIM MINID),
 *                       so Redis memory is bounded by the tree's size (twice, while a snapshot
 *                       is written), not its history.
 *                       Snapshots written before are the whole snapshot's JSON in <prefix>:snapshot
 *                       (no chunks); they are still read.
 *
 * An append is one round trip (a Lua script adding every transaction of the server's group
 * commit); it resolves when Redis has answered, which with `appendonly yes` and
 * `appendfsync always` means written and fsynced on the Redis host (`everysec`: up to a second
 * of acknowledged writes can be lost with that host). With `wait` > 0 it also waits for that many
 * Redis replicas (WAIT) and fails when fewer acknowledge in time.
 *
 * The scripts take an optional fence: a key and the epoch this coordinator holds; when the key
 * names another epoch the append (or snapshot step) is refused (FENCED) and nothing is written. Several
 * coordinators on one store use it (the lease); a lone one passes none.
 *
 * Start-up fails with a clear error when Redis cannot be reached (never an in-memory
 * fallback), and logs a loud warning when Redis is not configured to keep what it acknowledges.
 */
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { LatencySummary } from '../../shared/coordinator/protocol';
import type { CoreSnapshot, SnapshotSource, Txn } from '../core-api';
import { txnFromJson, txnToJson } from './records';
import { SnapshotAssembler, SnapshotProblem, parseSnapshotValue, sourceOf, writeSnapshotValues } from './snapshot-stream';
import { CoordinatorStore, LatencyRecorder, RecoveredState } from './store';

export interface RedisStoreOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Key prefix; several clusters can share one Redis under different prefixes. Default 'samsa'. */
  prefix?: string;
  /** Redis replicas each append waits for (WAIT); 0 = none. */
  wait?: number;
  /** How long WAIT may take before the append fails. */
  waitTimeoutMs?: number;
  /** How long to try reaching Redis at start before failing. */
  connectTimeoutMs?: number;
  /** The fence checked by every append and snapshot: refused unless `key` holds `epoch`. */
  fence?: { key: string; epoch: number } | null;
  logger: Logger;
}

/** Stream entries read per XRANGE while recovering: bounds one reply's size. */
const RECOVERY_BATCH = 10_000;
const DEFAULT_WAIT_TIMEOUT_MS = 5000;
/** A standby's blocking read returns at least this often (to notice it was stopped). */
const FOLLOW_BLOCK_MS = 1000;
const FOLLOW_RETRY_MS = 200;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Snapshot chunks read per LRANGE: bounds one reply (256 KiB or so a chunk, 1.4 MiB in format 3). */
const SNAPSHOT_READ_BATCH = 16;
/** Reads of a snapshot that a newer one replaced meanwhile, before giving up. */
const SNAPSHOT_READ_ATTEMPTS = 5;

/** The zxid a stream entry id (`<zxid>-0`) names. */
const zxidOf = (id: string): number => Number(id.slice(0, id.indexOf('-')));

export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/**
 * KEYS[1] log stream, KEYS[2] fence key ('' = none); ARGV[1] fence epoch, ARGV[2..] zxid, txn JSON pairs.
 * All-or-nothing: the fence is checked before any write, and zxids rise within a call (checked
 * before sending), so only the first XADD can be refused (an id not above the stream's last),
 * before anything was added. Scripts run atomically: no other client interleaves.
 */
const APPEND_SCRIPT = `
if KEYS[2] ~= '' then
  local held = redis.call('GET', KEYS[2])
  if held ~= ARGV[1] then return redis.error_reply('FENCED epoch ' .. tostring(held) .. ' is not ' .. ARGV[1]) end
end
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i] .. '-0', 't', ARGV[i + 1])
end
return #ARGV / 2
`;

/**
 * KEYS[1] staging list, KEYS[2] fence key ('' = none); ARGV[1] fence epoch, ARGV[2] '1' to start
 * a new snapshot (dropping what an unfinished one left), ARGV[3] a snapshot value (a binary chunk or the JSON trailer). Returns the list's length.
 */
const SNAPSHOT_STAGE_SCRIPT = `
if KEYS[2] ~= '' then
  local held = redis.call('GET', KEYS[2])
  if held ~= ARGV[1] then return redis.error_reply('FENCED epoch ' .. tostring(held) .. ' is not ' .. ARGV[1]) end
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
return redis.call('RPUSH', KEYS[1], ARGV[3])
`;

/**
 * KEYS[1] snapshot (header), KEYS[2] staging list, KEYS[3] chunks list, KEYS[4] log, KEYS[5] fence
 * key ('' = none); ARGV[1] fence epoch, ARGV[2] header JSON, ARGV[3] values the staging list must
 * hold, ARGV[4] first zxid to keep. The new snapshot replaces the old and the log is trimmed, at once.
 */
const SNAPSHOT_COMMIT_SCRIPT = `
if KEYS[5] ~= '' then
  local held = redis.call('GET', KEYS[5])
  if held ~= ARGV[1] then return redis.error_reply('FENCED epoch ' .. tostring(held) .. ' is not ' .. ARGV[1]) end
end
local staged = redis.call('LLEN', KEYS[2])
if staged ~= tonumber(ARGV[3]) then return redis.error_reply('SNAPSHOT staging holds ' .. staged .. ' values, not ' .. ARGV[3]) end
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('SET', KEYS[1], ARGV[2])
return redis.call('XTRIM', KEYS[4], 'MINID', ARGV[4] .. '-0')
`;

/** Where a redis:// URL points, for logs and errors (without a password). */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error();
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || 6379}${parsed.pathname === '' || parsed.pathname === '/' ? '/0' : parsed.pathname}`;
  } catch {
    throw new Error(`--store must be file, memory or redis://host:port[/db], got ${JSON.stringify(url)}`);
  }
}

export class RedisStore implements CoordinatorStore {
  readonly kind = 'redis';
  /** One XADD script at a time: a batch gathers more per round trip. */
  readonly appendsInFlightMax = 1;
  private readonly redis: Redis;
  private readonly logKey: string;
  private readonly snapshotKey: string;
  private readonly chunksKey: string;
  private readonly stagingKey: string;
  private readonly where: string;
  private readonly logger: Logger;
  private readonly latency = new LatencyRecorder();
  private appendTail: Promise<void> = Promise.resolve();
  private snapshotTail: Promise<void> = Promise.resolve();
  private lastAppendedZxid = 0;
  private closed = false;
  private fence: { key: string; epoch: number } | null;

  constructor(private readonly options: RedisStoreOptions) {
    this.fence = options.fence ?? null;
    this.where = describeRedisUrl(options.url);
    const prefix = options.prefix ?? 'samsa';
    this.logKey = `${prefix}:log`;
    this.snapshotKey = `${prefix}:snapshot`;
    this.chunksKey = `${prefix}:snapshot:chunks`;
    this.stagingKey = `${prefix}:snapshot:staging`;
    this.logger = options.logger.child({ component: 'redis-store' });
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      // A command sent while Redis is unreachable fails at once instead of queueing for ever:
      // the server turns a failed append into a stop, which is what the store must cause.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    });
    this.redis.on('error', (error: Error) => this.logger.warn({ err: error.message, redis: this.where }, 'store.redis_error'));
    this.redis.defineCommand('samsaAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.redis.defineCommand('samsaSnapshotStage', { numberOfKeys: 2, lua: SNAPSHOT_STAGE_SCRIPT });
    this.redis.defineCommand('samsaSnapshotCommit', { numberOfKeys: 5, lua: SNAPSHOT_COMMIT_SCRIPT });
  }

  async open(): Promise<RecoveredState> {
    try {
      await this.redis.connect();
    } catch (error) {
      this.redis.disconnect();
      throw new Error(`redis store: cannot reach ${this.where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await this.checkDurability();
    const snapshot = await this.readSnapshot(this.redis);
    const txns = await this.readAfter(snapshot?.lastZxid ?? 0);
    const after = txns.length > 0 ? txns[txns.length - 1]!.zxid : (snapshot?.lastZxid ?? 0);
    this.lastAppendedZxid = after;
    this.logger.info({ redis: this.where, snapshotZxid: snapshot?.lastZxid ?? null, txnsReplayed: txns.length, lastZxid: after }, 'store.recovered');
    return { snapshot, txns };
  }

  /**
   * The newest snapshot, read a batch of chunks at a time, or null when there is none. A standby
   * may read while the active coordinator replaces it: that shows as a value of another zxid
   * (snapshot-stream.ts) and the read starts over. Throws when it is not a snapshot.
   */
  private async readSnapshot(client: Redis): Promise<CoreSnapshot | null> {
    for (let attempt = 1; ; attempt++) {
      const header = await client.getBuffer(this.snapshotKey);
      if (header === null) return null;
      try {
        return await this.readSnapshotFrom(client, header);
      } catch (error) {
        if (!(error instanceof SnapshotProblem)) throw error;
        if (attempt >= SNAPSHOT_READ_ATTEMPTS) throw new Error(`redis store: ${this.snapshotKey} at ${this.where} is not a coordinator snapshot (${error.message}); refusing to use it`);
        this.logger.info({ redis: this.where, problem: error.message, attempt }, 'store.snapshot_reread');
      }
    }
  }

  private async readSnapshotFrom(client: Redis, header: Buffer): Promise<CoreSnapshot> {
    const assembler = new SnapshotAssembler();
    if (assembler.add(parseSnapshotValue(header))) return assembler.snapshot;
    for (let index = 0; ; index += SNAPSHOT_READ_BATCH) {
      const values = await client.lrangeBuffer(this.chunksKey, index, index + SNAPSHOT_READ_BATCH - 1);
      if (values.length === 0) throw new SnapshotProblem(`${this.chunksKey} ends before the snapshot's trailer`);
      for (const value of values) if (assembler.add(parseSnapshotValue(value))) return assembler.snapshot;
    }
  }

  /**
   * Every transaction logged after `afterZxid`, in order (a standby taking over reads what the
   * last active appended since its last follow); later appends continue after the last one.
   */
  async readAfter(afterZxid: number): Promise<Txn[]> {
    const txns: Txn[] = [];
    let after = afterZxid;
    for (;;) {
      const entries = (await this.redis.xrange(this.logKey, `(${after}-0`, '+', 'COUNT', RECOVERY_BATCH)) as Array<[string, string[]]>;
      for (const entry of entries) {
        const txn = this.entryTxn(entry);
        txns.push(txn);
        after = txn.zxid;
      }
      if (entries.length < RECOVERY_BATCH) break;
    }
    if (after > this.lastAppendedZxid) this.lastAppendedZxid = after;
    return txns;
  }

  /** A stream entry's transaction; an entry that is not one (or not under its own zxid) is corruption, not skipped. */
  private entryTxn([id, fields]: [string, string[]]): Txn {
    const txn = fields[0] === 't' && fields[1] !== undefined ? txnFromJson(JSON.parse(fields[1])) : null;
    if (txn === null || txn.zxid !== zxidOf(id)) throw new Error(`redis store: log entry ${id} in ${this.logKey} at ${this.where} is not a transaction; refusing to use it`);
    return txn;
  }

  /** The newest zxid in the log (0 when it is empty): how far a standby lags. */
  async lastLoggedZxid(): Promise<number> {
    const newest = (await this.redis.xrevrange(this.logKey, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return newest.length === 0 ? 0 : zxidOf(newest[0]![0]);
  }

  /** From now on every append and snapshot checks this fence (a standby that won the lease sets its epoch). */
  setFence(fence: { key: string; epoch: number } | null): void {
    this.fence = fence;
  }

  /** A Redis that forgets what it acknowledged would make the coordinator forget: say so loudly. */
  private async checkDurability(): Promise<void> {
    let appendonly: string | null = null;
    let appendfsync: string | null = null;
    try {
      const [, aof] = (await this.redis.config('GET', 'appendonly')) as string[];
      const [, fsync] = (await this.redis.config('GET', 'appendfsync')) as string[];
      appendonly = aof ?? null;
      appendfsync = fsync ?? null;
    } catch (error) {
      this.logger.warn({ redis: this.where, err: error instanceof Error ? error.message : String(error) }, 'store.redis_durability_unknown');
      return;
    }
    if (appendonly !== 'yes') {
      this.logger.error(
        { redis: this.where, appendonly, appendfsync },
        'store.redis_not_durable: appendonly is off; a Redis restart loses every coordinator write since its last RDB save (set appendonly yes, appendfsync always)',
      );
    } else if (appendfsync !== 'always') {
      this.logger.warn({ redis: this.where, appendonly, appendfsync }, `store.redis_fsync_${appendfsync}: a crash of the Redis host can lose up to a second of acknowledged coordinator writes (appendfsync always keeps them)`);
    } else {
      this.logger.info({ redis: this.where, appendonly, appendfsync }, 'store.redis_durable');
    }
  }

  append(txns: Txn[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('redis store is closed'));
    if (txns.length === 0) return this.appendTail;
    const args: string[] = [];
    for (const txn of txns) {
      if (!(txn.zxid > this.lastAppendedZxid)) return Promise.reject(new Error(`append out of order: zxid ${txn.zxid} after ${this.lastAppendedZxid}`));
      this.lastAppendedZxid = txn.zxid;
      args.push(String(txn.zxid), JSON.stringify(txnToJson(txn)));
    }
    const result = this.appendTail.then(() => this.write(args));
    // A failed append leaves the log's tail unknown: later appends fail too.
    this.appendTail = result;
    return result;
  }

  private fenceArgs(): [string, string] {
    const fence = this.fence;
    return fence === null ? ['', ''] : [fence.key, String(fence.epoch)];
  }

  private async write(args: string[]): Promise<void> {
    const started = performance.now();
    const [fenceKey, epoch] = this.fenceArgs();
    try {
      await (this.redis as unknown as { samsaAppend(...a: string[]): Promise<number> }).samsaAppend(this.logKey, fenceKey, epoch, ...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes('FENCED')) throw new FencedError(`redis store: ${message}`);
      throw new Error(`redis store: append to ${this.where} failed: ${message}`);
    }
    await this.waitForReplicas();
    this.latency.record(performance.now() - started);
  }

  private async waitForReplicas(): Promise<void> {
    const wanted = this.options.wait ?? 0;
    if (wanted <= 0) return;
    const timeoutMs = this.options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const acknowledged = await this.redis.wait(wanted, timeoutMs);
    if (acknowledged < wanted) throw new Error(`redis store: only ${acknowledged} of ${wanted} Redis replicas acknowledged within ${timeoutMs} ms (--redis-wait)`);
  }

  snapshot(snapshot: CoreSnapshot | SnapshotSource): Promise<void> {
    const result = this.snapshotTail.then(() => this.writeSnapshot(sourceOf(snapshot)));
    this.snapshotTail = result.catch(() => undefined);
    return result;
  }

  private async writeSnapshot(source: SnapshotSource): Promise<void> {
    const started = performance.now();
    const zxid = source.lastZxid;
    const commands = this.redis as unknown as {
      samsaSnapshotStage(...a: Array<string | Buffer>): Promise<number>;
      samsaSnapshotCommit(...a: string[]): Promise<number>;
    };
    let header: string | null = null;
    let staged = 0;
    let bytes = 0;
    let trimmed: number;
    try {
      // The header goes last, with the commit: until then readers see the previous snapshot whole.
      const written = await writeSnapshotValues(source, async (value) => {
        // Binary chunks go as they are (Redis strings are bytes); the header and trailer as JSON.
        const text = Buffer.isBuffer(value) ? value : JSON.stringify(value);
        bytes += text.length;
        if (header === null) {
          if (typeof text !== 'string') throw new Error('a snapshot begins with its JSON header');
          header = text;
          return;
        }
        const [fenceKey, epoch] = this.fenceArgs();
        staged = await commands.samsaSnapshotStage(this.stagingKey, fenceKey, epoch, staged === 0 ? '1' : '0', text);
      });
      const [fenceKey, epoch] = this.fenceArgs();
      trimmed = await commands.samsaSnapshotCommit(this.snapshotKey, this.stagingKey, this.chunksKey, this.logKey, fenceKey, epoch, header!, String(written.chunks + 1), String(zxid + 1));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes('FENCED')) throw new FencedError(`redis store: ${message}`);
      throw error;
    }
    await this.waitForReplicas();
    // The trim is the snapshot's logged decision: entries up to its zxid are redundant with it.
    this.logger.info({ redis: this.where, zxid, bytes, logEntriesTrimmed: trimmed, ms: Math.round(performance.now() - started) }, 'store.snapshot_written');
  }

  /**
   * For a standby: calls `onTxns` with every transaction appended after `afterZxid`, in order,
   * as they arrive (a blocking XREAD on a connection of its own), until the returned function
   * is called. When the log no longer holds the transaction after the last one delivered (the
   * active coordinator snapshotted and trimmed while this one lagged), `onGap` is called with the
   * newest snapshot instead and following resumes after it.
   */
  follow(afterZxid: number, onTxns: (txns: Txn[]) => void, onGap: (snapshot: CoreSnapshot) => void): () => void {
    const reader = this.redis.duplicate({ enableOfflineQueue: true });
    reader.on('error', (error: Error) => this.logger.warn({ err: error.message, redis: this.where }, 'store.redis_follow_error'));
    let stopped = false;
    let after = afterZxid;
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          const reply = (await reader.xread('COUNT', RECOVERY_BATCH, 'BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', this.logKey, `${after}-0`)) as Array<[string, Array<[string, string[]]>]> | null;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0 || stopped) continue;
          const firstZxid = zxidOf(entries[0]![0]);
          if (firstZxid > after + 1) {
            const snapshot = await this.readSnapshot(reader);
            if (snapshot === null || snapshot.lastZxid < firstZxid - 1) throw new Error(`log resumes at zxid ${firstZxid} after ${after} and no snapshot covers the gap`);
            this.logger.info({ after, snapshotZxid: snapshot.lastZxid }, 'store.follow_resynced');
            after = snapshot.lastZxid;
            onGap(snapshot);
            continue;
          }
          const txns = entries.map((entry) => this.entryTxn(entry));
          after = txns[txns.length - 1]!.zxid;
          onTxns(txns);
        } catch (error) {
          if (stopped) return;
          this.logger.warn({ err: error instanceof Error ? error.message : String(error), after }, 'store.follow_failed');
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_RETRY_MS));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
      reader.disconnect();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appendTail.catch(() => undefined);
    await this.snapshotTail;
    await this.redis.quit().catch(() => undefined);
    // quit() cannot be sent while disconnected: stop the reconnect timer either way.
    this.redis.disconnect();
  }

  syncLatency(): LatencySummary {
    return this.latency.summary();
  }
}

