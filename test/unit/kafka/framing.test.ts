/**
 * Frame splitting: every split point, several frames per chunk, and oversized or negative
 * sizes refused before the body is buffered.
 */
import { FrameReader, FrameTooLargeError } from '../../../shared/kafka/framing';

function frame(body: string): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  out.write(body, 4);
  return out;
}

function drain(reader: FrameReader): string[] {
  const out: string[] = [];
  for (let f = reader.next(); f !== null; f = reader.next()) out.push(f.toString());
  return out;
}

describe('FrameReader', () => {
  test('a stream split at every byte boundary yields the same frames', () => {
    const stream = Buffer.concat([frame('hello'), frame(''), frame('x'.repeat(300)), frame('end')]);
    for (let split = 0; split <= stream.length; split++) {
      const reader = new FrameReader(1000);
      reader.push(stream.subarray(0, split));
      const got = drain(reader);
      reader.push(stream.subarray(split));
      got.push(...drain(reader));
      expect(got).toEqual(['hello', '', 'x'.repeat(300), 'end']);
    }
  });

  test('byte-by-byte delivery of a large frame', () => {
    const reader = new FrameReader(1 << 20);
    const big = frame('y'.repeat(5000));
    const got: string[] = [];
    for (const byte of big) {
      reader.push(Buffer.from([byte]));
      got.push(...drain(reader));
    }
    expect(got).toEqual(['y'.repeat(5000)]);
    expect(reader.bufferedBytes).toBe(0);
  });

  test.each([
    ['over the limit', 2 ** 31 - 1],
    ['negative', -5],
    ['one over', 101],
  ])('a %s size is refused from its 4 bytes alone', (_name, size) => {
    const reader = new FrameReader(100);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size, 0);
    reader.push(prefix);
    expect(() => reader.next()).toThrow(FrameTooLargeError);
    expect(reader.bufferedBytes).toBe(4);
  });

  test('a truncated frame waits without yielding', () => {
    const reader = new FrameReader(100);
    reader.push(frame('abcdef').subarray(0, 7));
    expect(reader.next()).toBeNull();
  });
});
