/**
 * The high-watermark checkpoint (Kafka's replication-offset-checkpoint): every partition's high
 * watermark, written to one file in the data directory every few hundred milliseconds when one
 * changed, and at a clean shutdown. A restarted broker starts each partition's high watermark
 * there instead of at its log start, so that as a new leader it does not hide records already
 * committed, and as a follower it knows what was committed before its leader tells it.
 *
 * A checkpoint behind the truth is harmless (the high watermark only starts lower); the file
 * is written atomically (write, fsync, rename), so it is never half written.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeFileAtomically } from '../log/file-io';

export const HW_CHECKPOINT_FILE = 'replication-offset-checkpoint';

/** The checkpointed high watermarks by `topic/partition`; empty when there is no (readable) file. */
export async function readHighWatermarks(dataDir: string): Promise<{ marks: Map<string, number>; problem: string | null }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, HW_CHECKPOINT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { marks: new Map(), problem: null };
    return { marks: new Map(), problem: (error as Error).message };
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; partitions?: unknown };
    if (parsed.version !== 0 || typeof parsed.partitions !== 'object' || parsed.partitions === null) return { marks: new Map(), problem: 'unknown layout' };
    const marks = new Map<string, number>();
    for (const [key, value] of Object.entries(parsed.partitions as Record<string, unknown>)) {
      if (Number.isSafeInteger(value) && (value as number) >= 0) marks.set(key, value as number);
    }
    return { marks, problem: null };
  } catch {
    return { marks: new Map(), problem: 'not JSON' };
  }
}

export function writeHighWatermarks(dataDir: string, marks: ReadonlyMap<string, number>): Promise<void> {
  const partitions: Record<string, number> = {};
  for (const [key, value] of [...marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) partitions[key] = value;
  return writeFileAtomically(path.join(dataDir, HW_CHECKPOINT_FILE), JSON.stringify({ version: 0, partitions }), true);
}
