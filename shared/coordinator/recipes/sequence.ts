/**
 * Helpers shared by the recipes: ordering sequential children and a compare-and-set counter.
 */
import type { CoordinatorClient } from '../client';
import { CoordinatorError, hasCode } from '../protocol';

/** The 10-digit suffix a sequential create appended. */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

/** Children whose names start with `prefix`, in creation order. */
export function sortBySequence(children: string[], prefix: string): string[] {
  return children.filter((name) => name.startsWith(prefix)).sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/** Most attempts of a compare-and-set before giving up (each loses only to a concurrent winner). */
const CAS_ATTEMPTS_MAX = 100;

/**
 * Atomically increments the integer stored at `path` (created with 1 when missing) and
 * returns the new value. Safe against concurrent incrementers: setData is conditional on the
 * version that was read.
 */
export async function incrementCounter(client: CoordinatorClient, path: string): Promise<number> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
    let current: { data: string; version: number } | null = null;
    try {
      const { data, stat } = await client.getData(path);
      current = { data, version: stat.version };
    } catch (error) {
      if (!hasCode(error, 'NoNode')) throw error;
    }
    try {
      if (current === null) {
        await client.create(path, '1', { createParents: true });
        return 1;
      }
      const next = (Number.parseInt(current.data, 10) || 0) + 1;
      await client.setData(path, String(next), current.version);
      return next;
    } catch (error) {
      if (!hasCode(error, 'BadVersion', 'NodeExists')) throw error;
    }
  }
  throw new CoordinatorError('OperationTimeout', `could not increment after ${CAS_ATTEMPTS_MAX} attempts`, path);
}
