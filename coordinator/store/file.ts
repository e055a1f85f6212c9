/**
 * The file store: a write-ahead log plus periodic snapshots in one directory.
 *
 *   log.<firstZxid, 16 hex digits>       records [u32 length BE][u32 crc32 BE][JSON txn]
 *   snapshot.<lastZxid, 16 hex digits>   records of the same shape: a snapshot's header, chunks
 *                                        of znodes and trailer (snapshot-stream.ts); older ones
 *                                        are one record holding the whole snapshot, still read
 *
 * Znode data is base64 in the JSON (`data64`); records from before data became bytes hold UTF-8
 * text (`data`) and are still read (records.ts).
 *
 * Group commit: one `append` call (all transactions of one event-loop tick) is one write
 * and one fdatasync (an O_DSYNC write). Appends may overlap on the disk, each at its own offset,
 * but resolve in call order (append). A small one with nothing else being written is written at
 * once on the event loop instead of libuv's pool (appendNow): the low-load latency.
 *
 * Preallocation: with fsync on, zeros are written ahead of the appends (as ZooKeeper preallocates
 * its logs), so that an append overwrites blocks the file already has and its O_DSYNC write need
 * not also make a new file size and new blocks durable (measured here, one 4 KB write at a time:
 * ~3,600 writes/s appending against ~7,000 over zeros, p50 0.26 ms against 0.13). A log file may
 * therefore end in zeros: a record header of zeros followed by nothing but zeros is the end of the
 * log (no record is ever empty: its JSON has at least two bytes). The zeros after the last record
 * are cut off when the file is closed (roll, close), a logged step that removes nothing written.
 *
 * A snapshot is written a chunk at a time while the server goes on (the tree as it was at its
 * zxid: snapshot-stream.ts) to a temp file, fsynced, renamed and the directory fsynced; the
 * next append then starts a new log file. It is read back a record at a time too. The newest
 * `snapshotsRetained` snapshots are kept (so start-up can fall back to an older one if the
 * newest is corrupt or torn), and log files wholly before the oldest kept snapshot are deleted.
 *
 * Start-up loads the newest valid snapshot and replays the log after it. A torn or
 * corrupt tail of the last log file (short record, bad CRC, bad JSON) is what a crash
 * mid-write leaves: it is truncated and logged. Corruption anywhere else cannot come
 * from a crash (a file is complete before the next one gets its first write), so it
 * stops start-up with the file and offset rather than silently dropping acknowledged writes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { crc32 } from 'zlib';
import type { Logger } from 'pino';
import type { LatencySummary } from '../../shared/coordinator/protocol';
import type { CoreSnapshot, SnapshotSource, Txn } from '../core-api';
import { txnFromJson, txnToJson } from './records';
import { BINARY_CHUNK_MARK, SnapshotAssembler, SnapshotProblem, parseSnapshotValue, sourceOf, writeSnapshotValues } from './snapshot-stream';
import { CoordinatorStore, LatencyRecorder, RecoveredState } from './store';

export interface FileStoreOptions {
  dataDir: string;
  /** fdatasync each group commit. Default true. */
  fsync?: boolean;
  /** Snapshots kept on disk. Default 2. */
  snapshotsRetained?: number;
  logger: Logger;
}

const HEADER_BYTES = 8;
/** Zeros are written this far past the last append, at least: appends there need not wait for them. */
const PREALLOCATE_LEAD_BYTES = 16 * 1024;
/** A file's zero-fill steps grow with it (its size so far) between these bounds. */
const PREALLOCATE_MIN_BYTES = 64 * 1024;
const PREALLOCATE_MAX_BYTES = 4 * 1024 * 1024;
/**
 * An append of at most this many bytes, when no other is being written, is written on the event
 * loop (appendNow) rather than on libuv's pool: at low load (one request at a time, a watch's
 * setData) that saves two thread hand-offs per commit, which on a busy 2-vCPU machine is where the
 * tail was (a pool thread waiting for a CPU); an O_DSYNC write of a few KB over preallocated
 * blocks takes ~0.15 ms. Under load appends overlap on the pool as before.
 */
const INLINE_APPEND_BYTES_MAX = 4 * 1024;
/** A length beyond this is corruption, not a record (bounds allocation on a bad header). */
const RECORD_BYTES_MAX = 512 * 1024 * 1024;
const LOG_PREFIX = 'log.';
const SNAPSHOT_PREFIX = 'snapshot.';
const TEMP_SUFFIX = '.tmp';

export function zxidName(prefix: string, zxid: number): string {
  return `${prefix}${zxid.toString(16).padStart(16, '0')}`;
}

function parseName(prefix: string, name: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const hex = name.slice(prefix.length);
  if (!/^[0-9a-f]{16}$/.test(hex)) return null;
  return parseInt(hex, 16);
}

export function encodeRecord(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) {
    // A binary snapshot chunk (snapshot-stream.ts): its bytes are the body.
    const record = Buffer.allocUnsafe(HEADER_BYTES + value.length);
    value.copy(record, HEADER_BYTES);
    record.writeUInt32BE(value.length, 0);
    record.writeUInt32BE(crc32(value), 4);
    return record;
  }
  // The JSON is written straight into the record (no buffer of its own to copy).
  const json = JSON.stringify(value);
  const length = Buffer.byteLength(json, 'utf8');
  const record = Buffer.allocUnsafe(HEADER_BYTES + length);
  record.write(json, HEADER_BYTES, length, 'utf8');
  record.writeUInt32BE(length, 0);
  record.writeUInt32BE(crc32(record.subarray(HEADER_BYTES)), 4);
  return record;
}

export interface DecodedRecords {
  values: unknown[];
  /** Bytes up to the end of the last good record. */
  validBytes: number;
  /** Why decoding stopped before the end, if it did (zeros to the end, preallocated, are an end, not a problem). */
  problem: string | null;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether `buffer` from `offset` on holds only zeros. */
function zerosFrom(buffer: Buffer, offset: number): boolean {
  for (let at = offset; at < buffer.length; at += ZEROS.length) {
    const part = buffer.subarray(at, Math.min(buffer.length, at + ZEROS.length));
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/**
 * The records of `buffer` as parsed JSON values; with `binaryChunks` (a snapshot file) a record
 * that is a binary snapshot chunk is given as a Buffer (a copy) instead.
 */
export function decodeRecords(buffer: Buffer, recordsMax = Infinity, binaryChunks = false): DecodedRecords {
  const values: unknown[] = [];
  let offset = 0;
  while (offset < buffer.length && values.length < recordsMax) {
    if (buffer.length - offset < HEADER_BYTES) return { values, validBytes: offset, problem: zerosFrom(buffer, offset) ? null : 'short header' };
    const length = buffer.readUInt32BE(offset);
    const crc = buffer.readUInt32BE(offset + 4);
    if (length === 0 && crc === 0) {
      // No record is empty: a zero header starts the preallocated zeros after the last record,
      // unless something was written after it (an append that landed while an earlier one did not).
      return { values, validBytes: offset, problem: zerosFrom(buffer, offset) ? null : 'zeros before written records' };
    }
    if (length > RECORD_BYTES_MAX) return { values, validBytes: offset, problem: `record length ${length} too large` };
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) return { values, validBytes: offset, problem: 'short record' };
    const body = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(body) !== crc) return { values, validBytes: offset, problem: 'bad crc' };
    if (binaryChunks && body[0] === BINARY_CHUNK_MARK) {
      values.push(Buffer.from(body));
      offset = end;
      continue;
    }
    try {
      values.push(JSON.parse(body.toString('utf8')));
    } catch {
      return { values, validBytes: offset, problem: 'bad json' };
    }
    offset = end;
  }
  return { values, validBytes: offset, problem: null };
}

export class FileStore implements CoordinatorStore {
  readonly kind = 'file';
  /** Overlapping O_DSYNC writes (measured here: 2 commit twice as many per second as 1, 4 about three times). */
  readonly appendsInFlightMax = 4;
  private readonly dir: string;
  private readonly fsync: boolean;
  private readonly snapshotsRetained: number;
  private readonly logger: Logger;
  private readonly syncLatencyRecorder = new LatencyRecorder();
  /** The log file being appended to; `dsync`: opened O_DSYNC (a write is durable when it returns). */
  private active: { handle: fs.promises.FileHandle; name: string; dsync: boolean } | null = null;
  /** Resolves once the file the next append writes to is open (roll); null before the first append. */
  private activeReady: Promise<void> | null = null;
  /** Bytes appended to that file, written or being written: where the next append starts. */
  private activeBytes = 0;
  private rollPending = false;
  /** The zeros written ahead of the appends in the active file (preallocation); null when fsync is off. */
  private zeros: Preallocation | null = null;
  /** Rolls asked for, and the one whose file is open: the next append's file is open when they are equal. */
  private rollsAsked = 0;
  private rollsOpened = 0;
  /** Appends being written on the pool. */
  private writesInFlight = 0;
  /** A write failed: the log's state is unknown, nothing more is written. */
  private writeFailed = false;
  /** Appends chain onto this so they reach the disk in call order. */
  private appendTail: Promise<void> = Promise.resolve();
  private snapshotTail: Promise<void> = Promise.resolve();
  private lastAppendedZxid = 0;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.dir = path.resolve(options.dataDir);
    this.fsync = options.fsync ?? true;
    this.snapshotsRetained = options.snapshotsRetained ?? 2;
    this.logger = options.logger.child({ component: 'file-store' });
  }

  async open(): Promise<RecoveredState> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const names = await fs.promises.readdir(this.dir);
    for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX))) {
      await fs.promises.rm(path.join(this.dir, name), { force: true });
    }
    const snapshot = await this.loadNewestSnapshot(names);
    const afterZxid = snapshot?.lastZxid ?? 0;
    const txns = await this.readLogs(names, afterZxid);
    this.lastAppendedZxid = txns.length > 0 ? txns[txns.length - 1].zxid : afterZxid;
    this.logger.info(
      { dataDir: this.dir, snapshotZxid: snapshot?.lastZxid ?? null, txnsReplayed: txns.length, lastZxid: this.lastAppendedZxid },
      'store.recovered',
    );
    return { snapshot, txns };
  }

  private async loadNewestSnapshot(names: string[]): Promise<CoreSnapshot | null> {
    const snapshots = names
      .map((name) => ({ name, zxid: parseName(SNAPSHOT_PREFIX, name) }))
      .filter((entry): entry is { name: string; zxid: number } => entry.zxid !== null)
      .sort((a, b) => b.zxid - a.zxid);
    for (const { name, zxid } of snapshots) {
      const file = path.join(this.dir, name);
      const started = performance.now();
      try {
        const snapshot = await readSnapshotFile(file);
        if (snapshot.lastZxid !== zxid) throw new SnapshotProblem(`holds the snapshot at zxid ${snapshot.lastZxid}`);
        this.logger.info({ file: name, zxid, nodes: snapshot.nodes.length, ms: Math.round(performance.now() - started) }, 'store.snapshot_loaded');
        return snapshot;
      } catch (error) {
        if (!(error instanceof SnapshotProblem)) throw error;
        this.logger.warn({ file, problem: error.message }, 'store.snapshot_corrupt');
      }
    }
    return null;
  }

  private listLogs(names: string[]): { name: string; zxid: number }[] {
    return names
      .map((name) => ({ name, zxid: parseName(LOG_PREFIX, name) }))
      .filter((entry): entry is { name: string; zxid: number } => entry.zxid !== null)
      .sort((a, b) => a.zxid - b.zxid);
  }

  private async readLogs(names: string[], afterZxid: number): Promise<Txn[]> {
    const logs = this.listLogs(names);
    const txns: Txn[] = [];
    let lastZxid = afterZxid;
    for (let index = 0; index < logs.length; index++) {
      const next = logs[index + 1];
      // Every record of this file is below the next file's first zxid: skip files the snapshot covers.
      if (next !== undefined && next.zxid <= afterZxid + 1) continue;
      const file = path.join(this.dir, logs[index].name);
      const buffer = await fs.promises.readFile(file);
      const decoded = decodeRecords(buffer);
      let problem = decoded.problem;
      let validBytes = decoded.validBytes;
      for (let recordIndex = 0; recordIndex < decoded.values.length; recordIndex++) {
        const value = txnFromJson(decoded.values[recordIndex]);
        if (value === null) {
          problem = 'not a transaction';
          validBytes = offsetOfRecord(buffer, recordIndex - 1);
          break;
        }
        if (value.zxid <= lastZxid) continue;
        txns.push(value);
        lastZxid = value.zxid;
      }
      if (problem === null) continue;
      if (next !== undefined) {
        throw new Error(`coordinator log ${file} is corrupt at offset ${validBytes} (${problem}) and is not the last log file; refusing to start`);
      }
      const bytesDropped = buffer.length - validBytes;
      this.logger.warn({ file, offset: validBytes, bytesDropped, problem }, 'store.log_tail_truncated');
      if (validBytes === 0) {
        await fs.promises.rm(file);
      } else {
        const handle = await fs.promises.open(file, 'r+');
        try {
          await handle.truncate(validBytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await this.syncDirectory();
    }
    return txns;
  }

  append(txns: Txn[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('file store is closed'));
    if (txns.length === 0) return this.appendTail;
    for (const txn of txns) {
      if (!(txn.zxid > this.lastAppendedZxid)) {
        return Promise.reject(new Error(`append out of order: zxid ${txn.zxid} after ${this.lastAppendedZxid}`));
      }
      this.lastAppendedZxid = txn.zxid;
    }
    // Encoding happens now, in call order.
    const buffer = encodeTxns(txns);
    if (this.activeReady === null || this.rollPending) {
      // A new file (the first append, or the first after a snapshot), opened once every earlier
      // write (zeros too) is done, so a file is complete before the next one gets its first record.
      this.rollPending = false;
      const firstZxid = txns[0].zxid;
      const previous = { bytes: this.activeBytes, zeros: this.zeros };
      const roll = ++this.rollsAsked;
      this.activeReady = Promise.all([this.appendTail, previous.zeros?.tail]).then(() => this.roll(firstZxid, previous, roll));
      this.activeBytes = 0;
      this.zeros = this.fsync ? { zeroedTo: 0, filling: null, tail: this.activeReady } : null;
    }
    const offset = this.activeBytes;
    this.activeBytes += buffer.length;
    const zeros = this.zeros;
    // An append into zeros still being written waits for them (they must not land after it).
    const ready = zeros?.filling != null && this.activeBytes > zeros.filling.from ? zeros.filling.done : this.activeReady;
    if (zeros !== null) this.preallocate(zeros);
    if (ready === this.activeReady && this.writesInFlight === 0 && this.rollsOpened === this.rollsAsked && this.active?.dsync === true && buffer.length <= INLINE_APPEND_BYTES_MAX && !this.writeFailed) {
      return this.appendNow(buffer, offset);
    }
    // Writes overlap, each at its own offset, so the disk commits several at once (measured with
    // O_DSYNC writes of 8 KB on this machine's disk: 1 at a time ~1,100 writes/s, 2 ~2,200, 4
    // ~3,400), but an append resolves only after every earlier one: the caller acknowledges in
    // order, and what a crash leaves is a prefix of acknowledged appends followed by at most a torn
    // or missing (zero) stretch, which start-up truncates with whatever follows it.
    this.writesInFlight++;
    const written = ready.then(() => this.write(buffer, offset)).then(
      () => {
        this.writesInFlight--;
      },
      (error: unknown) => {
        this.writesInFlight--;
        this.writeFailed = true;
        throw error;
      },
    );
    // A failed append leaves the log in an unknown state; later appends fail too.
    const result = Promise.all([this.appendTail, written]).then(() => undefined);
    this.appendTail = result;
    return result;
  }

  /**
   * An append written at once on the event loop (INLINE_APPEND_BYTES_MAX): the active file is open
   * with O_DSYNC and nothing else is being written, so when writeSync returns the record is durable
   * and every earlier one too; it still resolves after the earlier appends' promises (call order).
   */
  private appendNow(buffer: Buffer, offset: number): Promise<void> {
    const started = performance.now();
    try {
      const fd = this.active!.handle.fd;
      let written = 0;
      while (written < buffer.length) written += fs.writeSync(fd, buffer, written, buffer.length - written, offset + written);
    } catch (error) {
      this.writeFailed = true;
      const failed = Promise.reject(error);
      this.appendTail = failed;
      return failed;
    }
    this.syncLatencyRecorder.record(performance.now() - started);
    const result = this.appendTail.then(() => undefined);
    this.appendTail = result;
    return result;
  }

  private async write(buffer: Buffer, offset: number): Promise<void> {
    const active = this.active!;
    const started = performance.now();
    let written = 0;
    while (written < buffer.length) {
      const { bytesWritten } = await active.handle.write(buffer, written, buffer.length - written, offset + written);
      written += bytesWritten;
    }
    if (!this.fsync) return;
    // An O_DSYNC file (roll) is durable when write returns; the latency recorded is then the write's.
    if (!active.dsync) await active.handle.datasync();
    this.syncLatencyRecorder.record(performance.now() - started);
  }

  /**
   * Starts writing zeros ahead of the appends when fewer than half a step of them are left. They go
   * from PREALLOCATE_LEAD_BYTES past the last append (or where the last zeros end) through the
   * active handle: with O_DSYNC, durable when the write returns.
   */
  private preallocate(zeros: Preallocation): void {
    const step = Math.min(PREALLOCATE_MAX_BYTES, Math.max(PREALLOCATE_MIN_BYTES, this.activeBytes));
    if (zeros.filling !== null || zeros.zeroedTo >= this.activeBytes + step / 2) return;
    const from = Math.max(zeros.zeroedTo, this.activeBytes + PREALLOCATE_LEAD_BYTES);
    const to = from + step;
    // The zeros are an optimisation: a failure to write them (a full disk) is logged, and appends go
    // on as plain appends (they do not wait on zeros again for this file).
    const done = zeros.tail.then(() => this.writeZeros(from, to)).then(
      () => {
        zeros.zeroedTo = to;
        zeros.filling = null;
      },
      (error: Error) => {
        this.logger.warn({ file: this.active?.name, from, to, error: error.message }, 'store.log_preallocation_failed');
        zeros.zeroedTo = Infinity;
        zeros.filling = null;
      },
    );
    zeros.filling = { from, done };
    zeros.tail = done;
  }

  private async writeZeros(from: number, to: number): Promise<void> {
    const active = this.active!;
    const zeros = Buffer.alloc(to - from);
    let written = 0;
    while (written < zeros.length) {
      const { bytesWritten } = await active.handle.write(zeros, written, zeros.length - written, from + written);
      written += bytesWritten;
    }
  }

  /**
   * Closes the active file, first cutting off the zeros written ahead past its last record (logged:
   * `bytes` is where its records end, nothing written is removed).
   */
  private async closeActive(previous: { bytes: number; zeros: Preallocation | null }): Promise<void> {
    const active = this.active;
    if (active === null) return;
    this.active = null;
    try {
      if (previous.zeros !== null && previous.zeros.zeroedTo > previous.bytes) {
        const size = (await active.handle.stat()).size;
        if (size > previous.bytes) {
          await active.handle.truncate(previous.bytes);
          this.logger.info({ file: active.name, bytes: previous.bytes, zerosRemoved: size - previous.bytes }, 'store.log_preallocation_trimmed');
        }
      }
    } finally {
      await active.handle.close();
    }
  }

  private async roll(firstZxid: number, previous: { bytes: number; zeros: Preallocation | null }, roll: number): Promise<void> {
    await this.closeActive(previous);
    const name = zxidName(LOG_PREFIX, firstZxid);
    // With fsync on, O_DSYNC: each write returns once its data (and the file size) is durable, what
    // write + fdatasync give, in one call to libuv's thread pool instead of two.
    const dsyncFlag = fs.constants.O_DSYNC as number | undefined;
    const dsync = this.fsync && dsyncFlag !== undefined;
    const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
    const handle = await fs.promises.open(path.join(this.dir, name), dsync ? O_WRONLY | O_CREAT | O_EXCL | dsyncFlag! : 'wx');
    this.active = { handle, name, dsync };
    // The new file's directory entry must be durable before records in it are acknowledged.
    if (this.fsync) await this.syncDirectory();
    this.rollsOpened = roll;
    this.logger.debug({ file: name }, 'store.log_rolled');
  }

  snapshot(snapshot: CoreSnapshot | SnapshotSource): Promise<void> {
    const result = this.snapshotTail.then(() => this.writeSnapshot(sourceOf(snapshot)));
    this.snapshotTail = result.catch(() => undefined);
    return result;
  }

  private async writeSnapshot(source: SnapshotSource): Promise<void> {
    const started = performance.now();
    const zxid = source.lastZxid;
    const name = zxidName(SNAPSHOT_PREFIX, zxid);
    const file = path.join(this.dir, name);
    const temp = file + TEMP_SUFFIX;
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(temp, 'w');
    } catch (error) {
      source.close();
      throw error;
    }
    let bytes = 0;
    let written: { chunks: number; nodes: number };
    try {
      // Each record is encoded and written before the next chunk is taken: no more than one
      // chunk of the snapshot is ever held as text.
      written = await writeSnapshotValues(source, async (value) => {
        const record = encodeRecord(value);
        await writeFully(handle, record);
        bytes += record.length;
      });
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      // Only the unfinished temp file (never a snapshot start-up would read) goes.
      await fs.promises.rm(temp, { force: true });
      this.logger.warn({ file: name + TEMP_SUFFIX, bytes }, 'store.snapshot_temp_removed');
      throw error;
    }
    await handle.close();
    await fs.promises.rename(temp, file);
    await this.syncDirectory();
    this.rollPending = true;
    this.logger.info({ file: name, zxid, bytes, chunks: written.chunks, nodes: written.nodes, ms: Math.round(performance.now() - started) }, 'store.snapshot_written');
    await this.purge();
  }

  /** Deletes snapshots beyond the retained ones and log files wholly before the oldest kept snapshot. */
  private async purge(): Promise<void> {
    const names = await fs.promises.readdir(this.dir);
    const snapshots = names
      .map((name) => ({ name, zxid: parseName(SNAPSHOT_PREFIX, name) }))
      .filter((entry): entry is { name: string; zxid: number } => entry.zxid !== null)
      .sort((a, b) => b.zxid - a.zxid);
    const kept = snapshots.slice(0, this.snapshotsRetained);
    for (const old of snapshots.slice(this.snapshotsRetained)) await fs.promises.rm(path.join(this.dir, old.name), { force: true });
    const oldestKept = kept[kept.length - 1];
    if (oldestKept === undefined) return;
    const logs = this.listLogs(names);
    for (let index = 0; index + 1 < logs.length; index++) {
      if (logs[index].name === this.active?.name) break;
      if (logs[index + 1].zxid > oldestKept.zxid + 1) break;
      await fs.promises.rm(path.join(this.dir, logs[index].name), { force: true });
      this.logger.debug({ file: logs[index].name }, 'store.log_deleted');
    }
  }

  private async syncDirectory(): Promise<void> {
    const handle = await fs.promises.open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appendTail.catch(() => undefined);
    await this.zeros?.tail;
    await this.snapshotTail;
    // The active file is the one the counts are about only if its opening (roll) went through.
    const opened = this.activeReady !== null && (await this.activeReady.then(() => true, () => false));
    if (opened) await this.closeActive({ bytes: this.activeBytes, zeros: this.zeros });
    else await this.active?.handle.close();
    this.active = null;
  }

  syncLatency(): LatencySummary {
    return this.syncLatencyRecorder.summary();
  }
}

/** The zeros written ahead of the appends to one log file. */
interface Preallocation {
  /** Bytes of the file from which on it holds zeros up to here (0: none yet; Infinity: no more are written). */
  zeroedTo: number;
  /** Zeros being written from `from`, done when `done` resolves (it never rejects). */
  filling: { from: number; done: Promise<void> } | null;
  /** The last zero-fill of the file (or its opening): the next one starts after it. */
  tail: Promise<void>;
}

async function writeFully(handle: fs.promises.FileHandle, buffer: Buffer): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, written, buffer.length - written);
    written += bytesWritten;
  }
}

/** Fills `buffer` from `position`; false when the file ends first. */
async function readFully(handle: fs.promises.FileHandle, buffer: Buffer, position: number): Promise<boolean> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) return false;
    filled += bytesRead;
  }
  return true;
}

/**
 * A snapshot file, read a record at a time (a snapshot can be far bigger than one Buffer or one
 * string may be). Throws SnapshotProblem when it is torn or corrupt.
 */
async function readSnapshotFile(file: string): Promise<CoreSnapshot> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const assembler = new SnapshotAssembler();
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    let offset = 0;
    for (;;) {
      if (!(await readFully(handle, header, offset))) throw new SnapshotProblem(`ends at offset ${offset} before its trailer`);
      const length = header.readUInt32BE(0);
      if (length > RECORD_BYTES_MAX) throw new SnapshotProblem(`record length ${length} too large at offset ${offset}`);
      const body = Buffer.allocUnsafe(length);
      if (!(await readFully(handle, body, offset + HEADER_BYTES))) throw new SnapshotProblem(`short record at offset ${offset}`);
      if (crc32(body) !== header.readUInt32BE(4)) throw new SnapshotProblem(`bad crc at offset ${offset}`);
      let value: unknown;
      try {
        value = parseSnapshotValue(body);
      } catch (error) {
        if (error instanceof SnapshotProblem) throw new SnapshotProblem(`${error.message} at offset ${offset}`);
        throw error;
      }
      offset += HEADER_BYTES + length;
      if (assembler.add(value)) break;
    }
    if (offset !== size) throw new SnapshotProblem(`${size - offset} bytes after the end of the snapshot`);
    return assembler.snapshot;
  } finally {
    await handle.close();
  }
}

/**
 * The records of `txns` in one buffer, as encodeRecord writes each: the JSON is written straight
 * into the buffer (no buffer per record, no concatenation); this runs for every group commit.
 */
function encodeTxns(txns: Txn[]): Buffer {
  const jsons = txns.map((txn) => JSON.stringify(txnToJson(txn)));
  const lengths = jsons.map((json) => Buffer.byteLength(json, 'utf8'));
  let total = 0;
  for (const length of lengths) total += HEADER_BYTES + length;
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i]!;
    buffer.writeUInt32BE(length, offset);
    buffer.write(jsons[i]!, offset + HEADER_BYTES, length, 'utf8');
    buffer.writeUInt32BE(crc32(buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length)), offset + 4);
    offset += HEADER_BYTES + length;
  }
  return buffer;
}

/** Byte offset just after record `index` (or 0 for -1). */
function offsetOfRecord(buffer: Buffer, index: number): number {
  let offset = 0;
  for (let i = 0; i <= index; i++) offset += HEADER_BYTES + buffer.readUInt32BE(offset);
  return offset;
}
