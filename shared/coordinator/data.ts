/**
 * Znode data is bytes (as in ZooKeeper). This module is where bytes meet text: the wire form of
 * data in each protocol version, the conversions the client library offers, and how the CLI and
 * the console show data that may not be text.
 *
 * Wire form (docs/coordinator-protocol.md, "Data"): protocol 2 carries data as standard base64
 * (RFC 4648, padded) inside the JSON frame; protocol 1 (older clients) carried UTF-8 text, so
 * bytes that are not UTF-8 reach a protocol-1 client decoded lossily (U+FFFD), as they always did.
 */
import { isUtf8 } from 'buffer';

/** What a caller may write: bytes, or text (written as its UTF-8 bytes). */
export type ZnodeData = string | Buffer;

/** Shared by every empty value (never written into). */
export const EMPTY_DATA: Buffer = Buffer.alloc(0);

/** Protocol versions whose data is base64; below it, UTF-8 text. */
export const BASE64_DATA_SINCE_PROTOCOL = 2;

/**
 * The base64 length of `bytes` bytes: 4 characters per 3 bytes, rounded up. It depends on the
 * length only, not the content, which is what lets the server's frame limit be derived from the
 * data limit (coordinator/config.ts).
 */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The bytes of `data` (a string as UTF-8). */
export function toBytes(data: ZnodeData): Buffer {
  if (typeof data !== 'string') return data;
  return data === '' ? EMPTY_DATA : Buffer.from(data, 'utf8');
}

/** `data` as it travels in a frame of `protocolVersion`. */
export function wireData(data: ZnodeData, protocolVersion: number): string {
  if (protocolVersion < BASE64_DATA_SINCE_PROTOCOL) return typeof data === 'string' ? data : data.toString('utf8');
  if (data.length === 0) return '';
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');
}

/**
 * The bytes a frame of `protocolVersion` carries in `text`, or null when it is not valid base64.
 * The buffer is a value buffer (valueBuffer): the tree may keep it for long.
 */
export function bytesFromWire(text: string, protocolVersion: number): Buffer | null {
  if (text.length === 0) return EMPTY_DATA;
  if (protocolVersion < BASE64_DATA_SINCE_PROTOCOL) {
    const out = valueBuffer(Buffer.byteLength(text, 'utf8'));
    out.write(text, 'utf8');
    return out;
  }
  const bytes = fromBase64(text);
  if (bytes !== null) arrivedAs.set(bytes, text);
  return bytes;
}

/**
 * Values up to this size are carved from slabs that hold znode values only (valueBuffer); larger
 * ones get a buffer of their own.
 */
const SLAB_VALUE_BYTES_MAX = 1024;
const SLAB_BYTES = 8 * 1024;
let slab: Buffer = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/**
 * A buffer for a value the tree may keep for long. Not a slice of Node's shared 8 KiB pool: one
 * kept slice keeps its whole pool chunk alive, with the transient buffers that shared it (measured
 * with 100,000 values of 100 bytes written between requests' other small buffers: pool slices
 * pinned 117 MB of buffers, a buffer per value 14 MB plus 22 MB of heap). Not a buffer per value
 * either: an ArrayBuffer each costs about 2.5 µs against 0.5 µs carved (measured decoding a
 * 100-byte value), and as many objects for the garbage collector to track. Small values are carved
 * from slabs of their own, so a slab holds nothing but values, packed: a kept value pins at most
 * its 8 KiB slab, as a pool slice does, but no transient buffer ever shares it.
 */
export function valueBuffer(bytes: number): Buffer {
  if (bytes > SLAB_VALUE_BYTES_MAX) return Buffer.allocUnsafeSlow(bytes);
  if (bytes > slab.length - slabUsed) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes);
  slabUsed = (slabUsed + bytes + 7) & ~7; // 8-byte aligned, as Node's pool
  return out;
}

/**
 * The base64 text each decoded request value arrived as, until the store writes the transaction
 * holding it (takeBase64): the log record (base64 too) reuses the text instead of encoding the
 * bytes again, which for a 100-byte value costs about twice the lookup (and for a 1 MiB value a
 * millisecond). Taken once: the tree keeps the bytes for long, and keeping their text as well would
 * more than double what values cost in memory. Values that never reach the log (a failed write)
 * leave their entry to the garbage collector, with the bytes.
 */
const arrivedAs = new WeakMap<Buffer, string>();

/** `data` as base64: the text it arrived as when bytesFromWire decoded it and nobody took it yet, else encoded now. */
export function takeBase64(data: Buffer): string {
  if (data.length === 0) return '';
  const text = arrivedAs.get(data);
  if (text === undefined) return data.toString('base64');
  arrivedAs.delete(data);
  return text;
}

/**
 * Strict base64 decoding: padded, standard alphabet, no whitespace. Node's decoder skips what it
 * does not understand, so a wrong character shows as fewer bytes than the length promises (checked
 * here); the URL-safe `-` and `_` are the one thing it accepts silently, so they are looked for.
 */
export function fromBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const expected = (text.length / 4) * 3 - padding;
  const out = valueBuffer(expected);
  if (out.write(text, 'base64') !== expected) return null;
  if (text.includes('-') || text.includes('_')) return null;
  return out;
}

/** True when `bytes` is valid UTF-8 (so showing it as text loses nothing). */
export function isText(bytes: Buffer): boolean {
  return isUtf8(bytes);
}

export type DataFormat = 'text' | 'hex' | 'base64';

/** `auto`: text when the bytes are valid UTF-8, hex otherwise (what `samsa get` and the console show). */
export function chooseFormat(bytes: Buffer, wanted: DataFormat | 'auto' = 'auto'): DataFormat {
  if (wanted !== 'auto') return wanted;
  return isText(bytes) ? 'text' : 'hex';
}

/** The bytes shown in `format`. */
export function formatData(bytes: Buffer, format: DataFormat): string {
  switch (format) {
    case 'text':
      return bytes.toString('utf8');
    case 'hex':
      return bytes.toString('hex');
    case 'base64':
      return bytes.toString('base64');
  }
}
