/**
 * The client library's side of "data is bytes" (shared/coordinator/data.ts has the wire form):
 * requests carry data as base64, results give it back as `bytes` plus `data`, their UTF-8
 * decoding (what most callers, who store JSON, read), and a request frame the server would drop
 * the connection for is refused before it is sent.
 */
import { EMPTY_DATA, wireData } from './data';
import { GetDataResult, MultiReadResult, MultiReadSubResult, MultiSubOp, PROTOCOL_VERSION, Stat } from './protocol';

/** What the server announced in its `connected` frame (protocol 2); absent fields were not announced. */
export interface ServerLimits {
  dataBytesMax?: number;
  frameBytesMax?: number;
}

/** The limits a `connected` frame announces; a field that is not a positive integer is taken as not announced. */
export function serverLimits(connected: { dataBytesMax?: unknown; frameBytesMax?: unknown }): ServerLimits {
  const limits: ServerLimits = {};
  const valid = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
  if (valid(connected.dataBytesMax)) limits.dataBytesMax = connected.dataBytesMax;
  if (valid(connected.frameBytesMax)) limits.frameBytesMax = connected.frameBytesMax;
  return limits;
}

/** A multi's operations with their data in the wire form. */
export function wireOps(ops: MultiSubOp[]): MultiSubOp[] {
  return ops.map((op) => (op.op === 'create' || op.op === 'setData' ? { ...op, data: wireData(op.data, PROTOCOL_VERSION) } : op));
}

function bytesOf(wire: string): Buffer {
  return wire.length === 0 ? EMPTY_DATA : Buffer.from(wire, 'base64');
}

/** A getData answer as the library returns it: `bytes` exact, `data` their UTF-8 decoding. */
export function dataResult(wire: { data: string; stat: Stat }): GetDataResult {
  const bytes = bytesOf(wire.data);
  return { data: bytes.toString('utf8'), bytes, stat: wire.stat };
}

/** A multiRead answer with each getData entry as dataResult gives it. */
export function multiReadResult(wire: MultiReadResult): MultiReadResult {
  return {
    results: wire.results.map((entry): MultiReadSubResult => {
      if (entry.type !== 'getData') return entry;
      const bytes = bytesOf(entry.data);
      return { type: 'getData', data: bytes.toString('utf8'), bytes, stat: entry.stat };
    }),
  };
}

/** Why a request frame cannot be sent (over the server's frame limit), or null when it can. */
export function oversizedFrame(text: string, limits: ServerLimits): string | null {
  const max = limits.frameBytesMax;
  // UTF-8 is at most 3 bytes per UTF-16 unit: count bytes only when it could matter.
  if (max === undefined || text.length * 3 <= max) return null;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= max) return null;
  const data = limits.dataBytesMax === undefined ? '' : `; data may be at most ${limits.dataBytesMax} bytes per znode`;
  return `request of ${bytes} bytes is over the server's frame limit of ${max} bytes${data}`;
}
