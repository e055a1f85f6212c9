/**
 * Splits a TCP byte stream into Kafka frames: int32 size, then that many bytes.
 * A size above the limit (or negative) is refused as soon as its 4 bytes arrive, before any
 * of the claimed body is buffered. Chunks are kept in a list and joined once per frame, so a
 * large frame arriving in many small chunks costs one copy, not a quadratic series of them.
 */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  constructor(readonly size: number, readonly limit: number) {
    super(size < 0 ? `negative frame size ${size}` : `frame of ${size} bytes exceeds the limit of ${limit}`);
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame without its size prefix, or null until one is complete. */
  next(): Buffer | null {
    if (this.expected < 0) {
      if (this.buffered < 4) return null;
      const size = this.peekInt32();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
      this.consume(4);
      this.expected = size;
    }
    if (this.buffered < this.expected) return null;
    const frame = this.take(this.expected);
    this.expected = -1;
    return frame;
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const chunk of this.chunks) {
      filled += chunk.copy(head, filled, 0, Math.min(chunk.length, 4 - filled));
      if (filled === 4) break;
    }
    return head.readInt32BE(0);
  }

  private consume(n: number): void {
    this.take(n);
  }

  /** Removes and returns the first n bytes (zero-copy when they lie in one chunk). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first!.length >= n) {
      const out = first!.subarray(0, n);
      if (first!.length === n) this.chunks.shift();
      else this.chunks[0] = first!.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const wanted = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, wanted);
      filled += wanted;
      if (wanted === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(wanted);
    }
    return out;
  }
}
