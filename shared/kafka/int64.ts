/**
 * int64 fields without BigInt arithmetic. Node's readBigInt64BE / writeBigInt64BE build the
 * value from several intermediate BigInts (heap objects) per call; on the produce and fetch
 * paths that is garbage on every request and every batch, and young-generation collections
 * show in the latency tail. Offsets, timestamps and producer ids stay below 2^53 in practice:
 * two 32-bit halves give them exactly (a larger value is read rounded, as Number(bigint) does).
 */

const TWO_32 = 0x1_0000_0000;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The int64 at `position` as a number (exact below 2^53 in magnitude). */
export function readInt64Number(buf: Buffer, position: number): number {
  return buf.readInt32BE(position) * TWO_32 + buf.readUInt32BE(position + 4);
}

/** Writes a safe integer as an int64 (two's complement, big-endian). */
export function writeInt64Number(buf: Buffer, value: number, position: number): void {
  const high = Math.floor(value / TWO_32);
  buf.writeInt32BE(high, position);
  buf.writeUInt32BE(value - high * TWO_32, position + 4);
}

/** The int64 at `position` as a bigint: one BigInt allocated when the value is a safe integer. */
export function readInt64(buf: Buffer, position: number): bigint {
  const high = buf.readInt32BE(position);
  // |high| < 2^21: high * 2^32 + low is below 2^53 in magnitude, exact as a number.
  if (high >= -0x20_0000 && high < 0x20_0000) return BigInt(high * TWO_32 + buf.readUInt32BE(position + 4));
  return buf.readBigInt64BE(position);
}

/** Writes a bigint as an int64; a safe integer goes through numbers, without intermediate BigInts. */
export function writeInt64(buf: Buffer, value: bigint, position: number): void {
  if (value >= SAFE_MIN && value <= SAFE_MAX) writeInt64Number(buf, Number(value), position);
  else buf.writeBigInt64BE(value, position);
}
