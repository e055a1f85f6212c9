/**
 * The codecs: round trips, both snappy framings, and the bounds. Each bomb is refused before
 * the library allocates its output (CVE-2023-34455 style: a length the sender chose), and
 * damaged or random input gives CompressionError, never another exception or a hang.
 */
import * as zlib from 'zlib';
import { compress, CompressionCodec, CompressionError, compressSync, decompress } from '../../../shared/kafka/compression';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const snappy = require('snappy') as { compressSync(data: Buffer): Buffer };

const CODECS: CompressionCodec[] = ['gzip', 'snappy', 'lz4', 'zstd'];

function failure(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof CompressionError) return error.reason;
    throw error;
  }
  return 'none';
}

/** Text-like data (repeats and noise) of `size` bytes. */
function sample(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out[i] = i % 64 < 40 ? 97 + (i % 26) : state & 0xff;
  }
  return out;
}

describe('compression', () => {
  test.each(CODECS)('%s round trips, empty to 5 MiB inputs, within an exact limit', async (codec) => {
    for (const data of [Buffer.alloc(0), Buffer.from('x'), sample(100_000), sample(5 << 20)]) {
      const packed = await compress(codec, data);
      // The bound is read from headers, so it can exceed the output: by up to one block for
      // lz4 (our frames use up to 4 MiB blocks) and zstd (128 KiB, and a window of at least
      // 1 KiB). Limits below that refuse.
      const slack = codec === 'lz4' || codec === 'zstd' ? 4 << 20 : 0;
      expect(decompress(codec, packed, Math.max(1, data.length + slack)).equals(data)).toBe(true);
      if (data.length > 1) expect(failure(() => decompress(codec, packed, data.length - 1))).toBe('too-large');
    }
    const large = sample(5 << 20);
    if (codec !== 'lz4') expect(decompress(codec, await compress(codec, large), large.length).length).toBe(large.length);
  });

  test('snappy: raw, xerial with several chunks (the Java client), and the header Kafka specifies', () => {
    const data = sample(100_000);
    const xerial = compressSync('snappy', data);
    expect(xerial.subarray(0, 16)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]));
    expect(decompress('snappy', xerial, data.length).equals(data)).toBe(true);
    expect(decompress('snappy', snappy.compressSync(data), data.length).equals(data)).toBe(true);
  });

  test('snappy: a block declaring 4 GiB (CVE-2023-34455) is refused before any allocation; so are xerial chunks adding up past the limit', () => {
    const before = process.memoryUsage().arrayBuffers;
    const claim = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x02]);
    expect(failure(() => decompress('snappy', claim, 64 << 20))).toBe('too-large');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    const chunk = snappy.compressSync(Buffer.alloc(30_000));
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    const many = Buffer.concat([compressSync('snappy', Buffer.alloc(0)), ...Array.from({ length: 10 }, () => [length, chunk]).flat()]);
    expect(decompress('snappy', many, 300_000).length).toBe(300_000);
    expect(failure(() => decompress('snappy', many, 299_999))).toBe('too-large');
    const badLength = Buffer.concat([compressSync('snappy', Buffer.alloc(0)), Buffer.from([0x7f, 0xff, 0xff, 0xff]), chunk]);
    expect(failure(() => decompress('snappy', badLength, 1 << 20))).toBe('corrupt');
  });

  test('bombs: 50 MB of zeros in each codec is refused at 1 MB without inflating it', async () => {
    const zeros = Buffer.alloc(50_000_000);
    for (const codec of CODECS) {
      const packed = await compress(codec, zeros);
      const started = process.hrtime.bigint();
      expect(failure(() => decompress(codec, packed, 1_000_000))).toBe('too-large');
      // gzip stops once the limit is reached; the others never start: well under the time to inflate 50 MB
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
    }
  });

  test('zstd: a frame asking for a 2 TiB window gets a window its blocks can fill; one stating a 1 TiB content size is refused', () => {
    // magic, descriptor 0 (no single segment, no size), window descriptor exponent 31, then one empty raw last block
    const hugeWindow = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
    expect(decompress('zstd', hugeWindow, 64 << 20).length).toBe(0);
    expect(hugeWindow[5]).toBe(0xf8); // the lowered window was only for the decode
    const hugeContent = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x00, 0x00]);
    expect(failure(() => decompress('zstd', hugeContent, 64 << 20))).toBe('too-large');
  });

  test('lz4: a frame stating a huge content size, trailing bytes, and truncation are refused', () => {
    const frame = compressSync('lz4', sample(10_000));
    expect(failure(() => decompress('lz4', Buffer.concat([frame, Buffer.from([1])]), 1 << 20))).toBe('corrupt');
    expect(failure(() => decompress('lz4', frame.subarray(0, frame.length - 3), 1 << 20))).toBe('corrupt');
    // FLG 0x68: version 1, independent blocks, content size present; BD 0x40: 64 KiB blocks
    const claim = Buffer.alloc(4 + 2 + 8 + 1 + 4);
    claim.writeUInt32LE(0x184d2204, 0);
    claim[4] = 0x68;
    claim[5] = 0x40;
    claim.writeBigUInt64LE(1n << 40n, 6);
    expect(failure(() => decompress('lz4', claim, 64 << 20))).toBe('too-large');
  });

  test.each(CODECS)('%s: random bytes and random damage give CompressionError or bytes within the limit, never a crash', async (codec) => {
    let seed = 4242; // fixed LCG: a failure replays exactly
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const good = await compress(codec, sample(20_000));
    for (let round = 0; round < 400; round++) {
      let input: Buffer;
      if (round % 4 === 0) input = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      else {
        input = Buffer.from(good);
        for (let f = 0; f < 1 + Math.floor(random() * 3); f++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
        if (round % 4 === 3) input = input.subarray(0, Math.floor(random() * input.length));
      }
      try {
        expect(decompress(codec, input, 100_000).length).toBeLessThanOrEqual(100_000);
      } catch (error) {
        if (!(error instanceof CompressionError)) throw new Error(`${codec} round ${round} (seed 4242): ${String(error)}`);
      }
    }
  });

  test('gzip output is what zlib reads (interoperable), and concatenated gzip members decode as one', () => {
    const data = sample(5000);
    expect(zlib.gunzipSync(compressSync('gzip', data)).equals(data)).toBe(true);
    const two = Buffer.concat([zlib.gzipSync(data.subarray(0, 100)), zlib.gzipSync(data.subarray(100))]);
    expect(decompress('gzip', two, data.length).equals(data)).toBe(true);
  });
});
