/**
 * Positional file I/O on raw descriptors through libuv's thread pool (the callback fs API,
 * wrapped in promises): nothing here blocks the event loop. Partial writes and reads are
 * continued until done or the end of the file.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Buffers per writev call: Linux's IOV_MAX. */
const IOV_MAX = 1024;

export function openFd(file: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, flags, 0o644, (error, fd) => (error ? reject(error) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (error) => (error ? reject(error) : resolve())));
}

export function fstatFd(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats))));
}

export function truncateFd(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, length, (error) => (error ? reject(error) : resolve())));
}

export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function writevOnce(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.writev(fd, buffers, position, (error, written) => (error ? reject(error) : resolve(written))));
}

function readOnce(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, offset, length, position, (error, read) => (error ? reject(error) : resolve(read))));
}

/** Writes every byte of `buffers` at `position` (one pwritev, more only after a short write). */
export async function writeAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  // Empty buffers (an empty index of an empty segment) write nothing and would read as a failed write.
  let pending = buffers.filter((buffer) => buffer.length > 0);
  let at = position;
  while (pending.length > 0) {
    const chunk = pending.length > IOV_MAX ? pending.slice(0, IOV_MAX) : pending;
    let written = await writevOnce(fd, chunk, at);
    if (written === 0) throw Object.assign(new Error('writev wrote nothing'), { code: 'EIO' });
    at += written;
    let consumed = 0;
    while (consumed < chunk.length && written >= chunk[consumed]!.length) written -= chunk[consumed++]!.length;
    const rest = pending.slice(consumed);
    if (written > 0) rest[0] = rest[0]!.subarray(written);
    pending = rest;
  }
}

/** writeAllAt on the calling thread (small appends: see LogConfig.inlineWriteBytesMax). */
export function writeAllAtSync(fd: number, buffers: Buffer[], position: number): void {
  let at = position;
  for (const buffer of buffers) {
    for (let done = 0; done < buffer.length; ) {
      const written = fs.writeSync(fd, buffer, done, buffer.length - done, at);
      if (written === 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
      done += written;
      at += written;
    }
  }
}

/** Reads up to `length` bytes at `position` into `buffer`; fewer only at the end of the file. */
export async function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  let total = 0;
  while (total < length) {
    const read = await readOnce(fd, buffer, offset + total, length - total, position + total);
    if (read === 0) break;
    total += read;
  }
  return total;
}

/** Replaces `file` with `content` so that a crash leaves the old or the new content, never a mix. */
export async function writeFileAtomically(file: string, content: Buffer | string, durable: boolean): Promise<void> {
  const temporary = `${file}.tmp`;
  const fd = await openFd(temporary, 'w');
  try {
    await writeAllAt(fd, [typeof content === 'string' ? Buffer.from(content) : content], 0);
    if (durable) await datasyncFd(fd);
  } finally {
    await closeFd(fd);
  }
  await fs.promises.rename(temporary, file);
  if (durable) await syncDirectory(path.dirname(file));
}

/** fsync of a directory: makes creations, renames and unlinks in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    await closeFd(fd);
  }
}
