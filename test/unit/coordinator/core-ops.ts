/**
 * The core's unit tests write operations with text data, as most callers do; the core takes
 * bytes (the server's validator decodes each frame's data). `coreOp` makes the one from the other.
 */
import type { CoreOperation } from '../../../coordinator/core-api';
import { toBytes } from '../../../shared/coordinator/data';
import type { Operation } from '../../../shared/coordinator/protocol';

/** A core operation with its data as text or bytes. */
export type TextOperation = Exclude<Operation, { op: 'ping' } | { op: 'close' } | { op: 'stats' } | { op: 'addAuth' }>;

export function coreOp(op: TextOperation): CoreOperation {
  switch (op.op) {
    case 'create':
    case 'setData':
      return { ...op, data: toBytes(op.data) };
    case 'multi':
      return { op: 'multi', ops: op.ops.map((sub) => (sub.op === 'create' || sub.op === 'setData' ? { ...sub, data: toBytes(sub.data) } : sub)) };
    default:
      return op;
  }
}
