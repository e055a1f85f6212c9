/**
 * The compression codecs a RecordBatch may use (attributes bits 0-2: 1 gzip, 2 snappy, 3 lz4,
 * 4 zstd), on well-kept libraries: Node's zlib for gzip, `snappy` (Rust snap crate, napi-rs,
 * prebuilt binaries in npm packages), `lz4-napi` (Rust lz4_flex, prebuilt) for the LZ4 frame
 * format, `fzstd` (pure JavaScript) to decompress zstd synchronously, `@mongodb-js/zstd` 1.x
 * (prebuilt, asynchronous) to compress it. Node 20's zlib has no zstd.
 *
 * Decompression is BOUNDED: a producer controls every byte of a batch, so it must not be able
 * to make the broker allocate more than `maxBytes` (CVE-2023-34455: snappy-java allocated
 * whatever length a chunk header claimed). Before a library call this module reads the
 * container around the compressed blocks (the snappy length preamble and xerial chunk
 * lengths, the LZ4 frame's block sizes, the zstd frame's window and block headers: no
 * decoding, just lengths) and refuses input whose declared or worst-case output exceeds the
 * limit; the libraries then allocate no more than that. gzip is bounded by zlib's own
 * maxOutputLength.
 *
 * Errors are CompressionError with a reason the caller maps to a Kafka error code.
 */
import * as zlib from 'zlib';
import * as fzstd from 'fzstd';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

export type CompressionCodec = 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type CompressionFailure = 'corrupt' | 'too-large';

export class CompressionError extends Error {
  override readonly name = 'CompressionError';
  constructor(
    readonly reason: CompressionFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Decompresses `input`, refusing (CompressionError 'too-large') anything that would exceed `maxBytes`. */
export function decompress(codec: CompressionCodec, input: Buffer, maxBytes: number): Buffer {
  switch (codec) {
    case 'gzip':
      return gunzip(input, maxBytes);
    case 'snappy':
      return unsnappy(input, maxBytes);
    case 'lz4':
      return unlz4(input, maxBytes);
    case 'zstd':
      return unzstd(input, maxBytes);
  }
}

/** Synchronous compression: every codec but zstd, whose library compresses only asynchronously. */
export type SyncCodec = Exclude<CompressionCodec, 'zstd'>;

export function compressSync(codec: SyncCodec, input: Buffer): Buffer {
  switch (codec) {
    case 'gzip':
      return zlib.gzipSync(input);
    case 'snappy':
      return xerialSnappy(input);
    case 'lz4':
      return compressFrameSync(input);
  }
}

/** zstd level: 3 is zstd's and Kafka's default. */
const ZSTD_LEVEL = 3;

export async function compress(codec: CompressionCodec, input: Buffer): Promise<Buffer> {
  if (codec !== 'zstd') return compressSync(codec, input);
  // Loaded here, not at the top: only producers need it, and a platform without its prebuilt
  // binary can still decompress (fzstd is plain JavaScript).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { compress: zstdCompress } = require('@mongodb-js/zstd') as { compress(data: Buffer, level: number): Promise<Buffer> };
  return zstdCompress(input, ZSTD_LEVEL);
}

function tooLarge(codec: string, maxBytes: number): CompressionError {
  return new CompressionError('too-large', `${codec} records decompress past ${maxBytes} bytes`);
}

function corrupt(codec: string, detail: string): CompressionError {
  return new CompressionError('corrupt', `${codec} records do not decompress: ${detail}`);
}

// ---------------------------------------------------------------------------
// gzip

function gunzip(input: Buffer, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(input, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (error) {
    // zlib's errors carry codes: ERR_BUFFER_TOO_LARGE when the output limit is hit, Z_* otherwise.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', maxBytes);
    throw corrupt('gzip', code ?? 'error');
  }
}

// ---------------------------------------------------------------------------
// snappy: raw (librdkafka) or xerial-framed (the Java client, snappy-java's SnappyOutputStream)

/** snappy-java's stream header: magic \x82SNAPPY\0, then version and compatible version (int32 BE). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
/** snappy-java's default block size, used when we write the framing. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function isXerial(input: Buffer): boolean {
  return input.length >= XERIAL_HEADER_SIZE && input.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0;
}

/** The uncompressed length a raw snappy block declares (its varint preamble, at most 2^32-1). */
function snappyDeclaredLength(block: Buffer): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return value;
    multiplier *= 0x80;
  }
  throw corrupt('snappy', 'bad length preamble');
}

/** One raw snappy block, after checking the length it declares against what is left of the budget. */
function snappyBlock(block: Buffer, budget: number, maxBytes: number): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > budget) throw tooLarge('snappy', maxBytes);
  let out: Buffer;
  try {
    out = snappyUncompress(block, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw corrupt('snappy', (error as Error).message);
  }
  if (out.length !== declared) throw corrupt('snappy', `block gave ${out.length} bytes, declared ${declared}`);
  return out;
}

function unsnappy(input: Buffer, maxBytes: number): Buffer {
  if (!isXerial(input)) return snappyBlock(input, maxBytes, maxBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  let position = XERIAL_HEADER_SIZE;
  while (position < input.length) {
    if (input.length - position < 4) throw corrupt('snappy', 'truncated xerial chunk length');
    const length = input.readInt32BE(position);
    position += 4;
    if (length < 0 || length > input.length - position) throw corrupt('snappy', `xerial chunk of ${length} bytes with ${input.length - position} left`);
    const chunk = snappyBlock(input.subarray(position, position + length), maxBytes - total, maxBytes);
    chunks.push(chunk);
    total += chunk.length;
    position += length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

function xerialSnappy(input: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let start = 0; start < input.length; start += XERIAL_BLOCK_SIZE) {
    const block = snappyCompress(input.subarray(start, Math.min(input.length, start + XERIAL_BLOCK_SIZE)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md)

const LZ4_MAGIC = 0x184d2204;
/**
 * An LZ4 block cannot expand more than this: a length byte of 255 adds at most 255 bytes of
 * output, and a whole sequence (token, offset) gives at most 19 bytes for 3 of input.
 */
const LZ4_MAX_RATIO = 255;
/** BD byte bits 4-6 → block maximum size. */
const LZ4_BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/**
 * The most one LZ4 frame can decompress to, read from its headers: for each block the frame's
 * block maximum or 255 times its size, whichever is less (its own size when stored
 * uncompressed), or the content size the frame states if larger. Also
 * refuses trailing bytes after the frame, which the library would silently ignore.
 */
function lz4FrameBound(input: Buffer): number {
  const fail = (detail: string): CompressionError => corrupt('lz4', detail);
  if (input.length < 7 || input.readUInt32LE(0) !== LZ4_MAGIC) throw fail('not an LZ4 frame');
  const flags = input[4]!;
  if (flags >> 6 !== 1) throw fail(`frame version ${flags >> 6}`);
  const blockChecksums = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  const hasDictId = (flags & 0x01) !== 0;
  const blockMax = LZ4_BLOCK_MAX[(input[5]! >> 4) & 0x07];
  if (blockMax === undefined) throw fail(`block size id ${(input[5]! >> 4) & 0x07}`);
  let position = 6;
  let contentSize = -1;
  if (hasContentSize) {
    if (input.length < position + 8) throw fail('truncated frame header');
    contentSize = Number(input.readBigUInt64LE(position));
    position += 8;
  }
  if (hasDictId) position += 4;
  position += 1; // header checksum (the library checks it)
  let bound = 0;
  for (;;) {
    if (input.length < position + 4) throw fail('truncated block header');
    const word = input.readUInt32LE(position);
    position += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (size > blockMax) throw fail(`block of ${size} bytes above the frame's ${blockMax}`);
    bound += (word & 0x80000000) !== 0 ? size : Math.min(blockMax, LZ4_MAX_RATIO * size);
    position += size + (blockChecksums ? 4 : 0);
  }
  position += contentChecksum ? 4 : 0;
  if (position !== input.length) throw fail(`${input.length - position} bytes after the frame`);
  // A stated content size may be what the library allocates up front: it counts as well.
  return Math.max(bound, contentSize);
}

function unlz4(input: Buffer, maxBytes: number): Buffer {
  if (lz4FrameBound(input) > maxBytes) throw tooLarge('lz4', maxBytes);
  let out: Buffer;
  try {
    out = decompressFrameSync(input);
  } catch (error) {
    throw corrupt('lz4', (error as Error).message);
  }
  if (out.length > maxBytes) throw tooLarge('lz4', maxBytes);
  return out;
}

// ---------------------------------------------------------------------------
// zstd frames (RFC 8878)

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50-0x184D2A5F. */
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE = 0x184d2a50;
const ZSTD_BLOCK_MAX = 128 * 1024;

/** A window descriptor byte to lower before decoding (see zstdFrames). */
interface WindowPatch {
  at: number;
  byte: number;
}

/**
 * Reads a run of zstd frames' headers: the most they can decompress to (raw and RLE blocks
 * state their output size, a compressed block gives at most min(window, 128 KiB)), and the
 * most the decoder will allocate for a frame (fzstd allocates the content size when a frame
 * states one, else the whole window).
 *
 * Java's zstd-jni and librdkafka stream without a content size and a window of 2 MiB or more
 * however small the batch, so fzstd would allocate (and zero) megabytes per batch. A frame
 * can never reference further back than its own output, so a window just above the frame's
 * bound decodes it identically: `patches` lower such window descriptors for the decode.
 */
function zstdFrames(input: Buffer): { bound: number; allocation: number; patches: WindowPatch[] } {
  const fail = (detail: string): CompressionError => corrupt('zstd', detail);
  let position = 0;
  let bound = 0;
  let allocation = 0;
  const patches: WindowPatch[] = [];
  while (position < input.length) {
    if (input.length - position < 8) throw fail('truncated frame');
    const magic = input.readUInt32LE(position);
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE) {
      position += 8 + input.readUInt32LE(position + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw fail('not a zstd frame');
    const descriptor = input[position + 4]!;
    position += 5;
    const sizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    if ((descriptor & 0x08) !== 0) throw fail('reserved frame header bit set');
    const checksum = (descriptor & 0x04) !== 0;
    // Kafka never uses dictionaries, and fzstd cannot decode with one.
    if ((descriptor & 0x03) !== 0) throw fail('frame needs a dictionary');
    let window = 0;
    const windowAt = singleSegment ? -1 : position;
    if (!singleSegment) {
      const descriptorByte = input[position++]!;
      const base = 2 ** (10 + (descriptorByte >> 3));
      window = base + (base / 8) * (descriptorByte & 0x07);
    }
    const sizeBytes = sizeFlag === 0 ? (singleSegment ? 1 : 0) : 2 ** sizeFlag;
    if (input.length < position + sizeBytes) throw fail('truncated frame header');
    let contentSize = -1;
    if (sizeBytes === 1) contentSize = input[position]!;
    else if (sizeBytes === 2) contentSize = input.readUInt16LE(position) + 256;
    else if (sizeBytes === 4) contentSize = input.readUInt32LE(position);
    else if (sizeBytes === 8) contentSize = Number(input.readBigUInt64LE(position));
    position += sizeBytes;
    if (singleSegment) window = contentSize;
    const blockMax = Math.min(window, ZSTD_BLOCK_MAX);
    let frameBound = 0;
    for (let last = false; !last; ) {
      if (input.length < position + 3) throw fail('truncated block header');
      const header = input[position]! | (input[position + 1]! << 8) | (input[position + 2]! << 16);
      position += 3;
      last = (header & 1) !== 0;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw fail('reserved block type');
      if (size > blockMax) throw fail(`block of ${size} bytes above the frame's ${blockMax}`);
      frameBound += type === 2 ? blockMax : size;
      position += type === 1 ? 1 : size;
    }
    position += checksum ? 4 : 0;
    if (position > input.length) throw fail('truncated frame');
    bound += contentSize >= 0 ? Math.min(frameBound, contentSize) : frameBound;
    if (contentSize > 0) {
      allocation = Math.max(allocation, contentSize);
      continue;
    }
    const log = Math.max(10, Math.ceil(Math.log2(Math.max(1, frameBound))));
    if (windowAt >= 0 && 2 ** log < window) {
      patches.push({ at: windowAt, byte: (log - 10) << 3 });
      window = 2 ** log;
    }
    allocation = Math.max(allocation, window);
  }
  if (position !== input.length) throw fail('truncated frame');
  return { bound, allocation, patches };
}

function unzstd(input: Buffer, maxBytes: number): Buffer {
  const { bound, allocation, patches } = zstdFrames(input);
  if (bound > maxBytes || allocation > maxBytes) throw tooLarge('zstd', maxBytes);
  const original = patches.map(({ at }) => input[at]!);
  let out: Uint8Array;
  try {
    for (const { at, byte } of patches) input[at] = byte;
    out = fzstd.decompress(input);
  } catch (error) {
    throw corrupt('zstd', (error as Error).message);
  } finally {
    patches.forEach(({ at }, i) => (input[at] = original[i]!));
  }
  if (out.length > maxBytes) throw tooLarge('zstd', maxBytes);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}
