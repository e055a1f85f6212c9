/**
 * The file store: a write-ahead log plus periodic snapshots in one directory.
 *
 *   log.<firstZxid, 16 hex digits>       records [u32 length BE][u32 crc32 BE][JSON txn]
 *   snapshot.<lastZxid, 16 hex digits>   one record of the same shape holding a CoreSnapshot
 *
 * Znode data is base64 in the JSON (`data64`); records from before data became bytes hold UTF-8
 * text (`data`) and are still read (records.ts).
 *
 * Group commit: one `append` call (all transactions of one event-loop tick) is one write
 * and one fdatasync. Appends are chained, so they become durable in call order.
 *
 * A snapshot is written to a temp file, fsynced, renamed and the directory fsynced; the
 * next append then starts a new log file. The newest `snapshotsRetained` snapshots are kept
 * (so start-up can fall back to an older one if the newest is corrupt), and log files
 * wholly before the oldest kept snapshot are deleted.
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
import type { CoreSnapshot, Txn } from '../core-api';
import { snapshotFromJson, snapshotToJson, txnFromJson, txnToJson } from './records';
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
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const record = Buffer.allocUnsafe(HEADER_BYTES + json.length);
  record.writeUInt32BE(json.length, 0);
  record.writeUInt32BE(crc32(json), 4);
  json.copy(record, HEADER_BYTES);
  return record;
}

export interface DecodedRecords {
  values: unknown[];
  /** Bytes up to the end of the last good record. */
  validBytes: number;
  /** Why decoding stopped before the end, if it did. */
  problem: string | null;
}

export function decodeRecords(buffer: Buffer, recordsMax = Infinity): DecodedRecords {
  const values: unknown[] = [];
  let offset = 0;
  while (offset < buffer.length && values.length < recordsMax) {
    if (buffer.length - offset < HEADER_BYTES) return { values, validBytes: offset, problem: 'short header' };
    const length = buffer.readUInt32BE(offset);
    const crc = buffer.readUInt32BE(offset + 4);
    if (length > RECORD_BYTES_MAX) return { values, validBytes: offset, problem: `record length ${length} too large` };
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) return { values, validBytes: offset, problem: 'short record' };
    const body = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(body) !== crc) return { values, validBytes: offset, problem: 'bad crc' };
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
  private readonly dir: string;
  private readonly fsync: boolean;
  private readonly snapshotsRetained: number;
  private readonly logger: Logger;
  private readonly syncLatencyRecorder = new LatencyRecorder();
  private active: { handle: fs.promises.FileHandle; name: string } | null = null;
  private rollPending = false;
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
      const decoded = decodeRecords(await fs.promises.readFile(file), 1);
      const value = decoded.problem === null ? snapshotFromJson(decoded.values[0]) : null;
      if (value !== null && value.lastZxid === zxid) return value;
      this.logger.warn({ file, problem: decoded.problem ?? 'not a snapshot' }, 'store.snapshot_corrupt');
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
    // Encoding happens now, in call order; the write waits for earlier appends.
    const buffer = txns.length === 1 ? encodeRecord(txnToJson(txns[0])) : Buffer.concat(txns.map((txn) => encodeRecord(txnToJson(txn))));
    const firstZxid = txns[0].zxid;
    const result = this.appendTail.then(() => this.write(buffer, firstZxid));
    // A failed append leaves the log in an unknown state; later appends fail too.
    this.appendTail = result;
    return result;
  }

  private async write(buffer: Buffer, firstZxid: number): Promise<void> {
    if (this.active === null || this.rollPending) await this.roll(firstZxid);
    const active = this.active!;
    let written = 0;
    while (written < buffer.length) {
      const { bytesWritten } = await active.handle.write(buffer, written, buffer.length - written);
      written += bytesWritten;
    }
    if (this.fsync) {
      const started = performance.now();
      await active.handle.datasync();
      this.syncLatencyRecorder.record(performance.now() - started);
    }
  }

  private async roll(firstZxid: number): Promise<void> {
    this.rollPending = false;
    if (this.active !== null) {
      await this.active.handle.close();
      this.active = null;
    }
    const name = zxidName(LOG_PREFIX, firstZxid);
    const handle = await fs.promises.open(path.join(this.dir, name), 'wx');
    this.active = { handle, name };
    // The new file's directory entry must be durable before records in it are acknowledged.
    if (this.fsync) await this.syncDirectory();
    this.logger.debug({ file: name }, 'store.log_rolled');
  }

  snapshot(snapshot: CoreSnapshot): Promise<void> {
    const result = this.snapshotTail.then(() => this.writeSnapshot(snapshot));
    this.snapshotTail = result.catch(() => undefined);
    return result;
  }

  private async writeSnapshot(snapshot: CoreSnapshot): Promise<void> {
    const started = performance.now();
    // JSON.stringify of a big tree is synchronous and blocks the event loop for its duration
    // (tens of ms for ~100k znodes). Acceptable for now: it happens once per snapshotEveryTxns.
    const record = encodeRecord(snapshotToJson(snapshot));
    const name = zxidName(SNAPSHOT_PREFIX, snapshot.lastZxid);
    const file = path.join(this.dir, name);
    const temp = file + TEMP_SUFFIX;
    const handle = await fs.promises.open(temp, 'w');
    try {
      await handle.writeFile(record);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, file);
    await this.syncDirectory();
    this.rollPending = true;
    this.logger.info({ file: name, zxid: snapshot.lastZxid, bytes: record.length, ms: Math.round(performance.now() - started) }, 'store.snapshot_written');
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
    await this.snapshotTail;
    if (this.active !== null) {
      await this.active.handle.close();
      this.active = null;
    }
  }

  syncLatency(): LatencySummary {
    return this.syncLatencyRecorder.summary();
  }
}

/** Byte offset just after record `index` (or 0 for -1). */
function offsetOfRecord(buffer: Buffer, index: number): number {
  let offset = 0;
  for (let i = 0; i <= index; i++) offset += HEADER_BYTES + buffer.readUInt32BE(offset);
  return offset;
}
