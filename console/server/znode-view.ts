/**
 * The znode tree browser's pure parts: which path a request names (ZooKeeper's path rules,
 * shared/coordinator/paths.ts), the JSON body of a znode, and the bound on open tree streams.
 */
import { isText } from '../../shared/coordinator/data';
import { pathProblem } from '../../shared/coordinator/paths';
import type { Stat } from '../../shared/coordinator/protocol';
import type { DeletedBody, ZnodeBody } from '../web/src/api-types';
export type { DeletedBody, ZnodeBody } from '../web/src/api-types';

/** The coordinator's default path limit (coordinator/core-api.ts); a longer path cannot name a znode. */
export const ZNODE_PATH_BYTES_MAX = 4096;
/** Open /api/tree/events streams per console process (each holds watches in the coordinator). */
export const TREE_STREAMS_MAX = 100;

/** The znode path of `?path=` (absent or empty: the root), or why it is not one. */
export function treePath(raw: string | null): { path: string } | { problem: string } {
  const path = raw === null || raw === '' ? '/' : raw;
  const problem = pathProblem(path, ZNODE_PATH_BYTES_MAX);
  return problem === null ? { path } : { problem: `${problem}: ${JSON.stringify(path.slice(0, 200))}` };
}


/** `data`: the znode's bytes (or text); bytes that are not UTF-8 go as hex, not mangled into U+FFFD. */
export function znodeBody(path: string, data: string | Buffer, stat: Stat, children: string[]): ZnodeBody {
  if (typeof data !== 'string') {
    if (!isText(data)) return { path, data: data.toString('hex'), format: 'hex', stat: { ...stat }, ephemeral: stat.ephemeralOwner !== '0', children: [...children].sort() };
    data = data.toString('utf8');
  }
  const body: ZnodeBody = { path, data, stat: { ...stat }, ephemeral: stat.ephemeralOwner !== '0', children: [...children].sort() };
  if (data.trim() !== '') {
    try {
      body.json = JSON.parse(data) as unknown;
    } catch {
      // Not JSON: shown as text.
    }
  }
  return body;
}

/** A counter with a ceiling: `take()` is false when every slot is in use. */
export class StreamSlots {
  private used = 0;

  constructor(readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new Error(`StreamSlots max must be an integer >= 1, got ${max}`);
  }

  get inUse(): number {
    return this.used;
  }

  take(): boolean {
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  release(): void {
    if (this.used <= 0) throw new Error('StreamSlots.release without a matching take');
    this.used--;
  }
}
