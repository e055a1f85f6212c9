/**
 * Log compaction decisions, pure (Kafka's LogCleaner rules; time comes in as `now`):
 *
 * - Which part of a log may be cleaned: every closed segment before the first one that is the
 *   active segment, reaches the high watermark, or holds a record younger than
 *   min.compaction.lag.ms (Kafka's firstUncleanableOffset; the lag applies per segment, by
 *   its largest timestamp, as in Kafka). The part already cleaned ends at the cleaner's
 *   checkpoint (the first dirty offset); the log is cleaned only when dirty bytes / cleanable
 *   bytes reach min.cleanable.dirty.ratio.
 * - The offset map: the latest offset of every key in the dirty part (Kafka's OffsetMap).
 * - Which records of a batch survive: a record whose key appears later in the map goes; a
 *   keyless record goes (Kafka's cleaner drops them too: nothing could ever replace it, and
 *   a compacted topic refuses them at produce); a tombstone (null value) goes once its
 *   batch's delete horizon has passed.
 *
 * Delete horizon: the modern way (KIP-534, Kafka 3.1+). When a batch holding a surviving
 * tombstone is first cleaned, it is rewritten with attribute bit 6 set and its baseTimestamp
 * set to now + delete.retention.ms (record timestamps stay exact: their deltas are taken from
 * the new base). A later pass drops its tombstones once `now` is past that horizon. Chosen
 * over the legacy rule (the last-modified time of the clean section) because the horizon then
 * lives in the batch itself: it survives restarts, replication and file copies, and needs no
 * file times.
 *
 * Control batches and transactional batches are left exactly as they are, and transactional
 * records do not enter the offset map (an aborted value must never shadow a committed one;
 * Samsa has no transaction coordinator, so such batches are rare and kept whole).
 */

/** A topic's compaction settings (from cleanup.policy=compact topics' configs). */
export interface CompactionSettings {
  deleteRetentionMs: number;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
}

/** Attribute bit 6: baseTimestamp holds the batch's delete horizon (KIP-534). */
export const DELETE_HORIZON_BIT = 0x40;

export interface SegmentSummary {
  baseOffset: number;
  size: number;
  /** Largest record timestamp in the segment, -1 when none. */
  maxTimestamp: number;
}

export interface CleanableRangeInput {
  /** Every segment, oldest first, the active one last. */
  segments: readonly SegmentSummary[];
  /** Where the last pass stopped (the cleaner checkpoint), or the log start when never cleaned. */
  firstDirtyOffset: number;
  /** Nothing at or above it is cleaned (the high watermark: never what may still be truncated away). */
  upTo: number;
  now: number;
  settings: CompactionSettings;
}

export interface CleanableRange {
  /** segments[0, firstDirtyIndex) are clean, [firstDirtyIndex, firstUncleanableIndex) dirty. */
  firstDirtyIndex: number;
  firstUncleanableIndex: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes); 0 when nothing is cleanable. */
  dirtyRatio: number;
  /** Whether this log should be cleaned now (some dirty bytes, and the ratio reached). */
  due: boolean;
}

/** The clean and dirty parts of a log (a segment ends where the next one starts: compaction leaves gaps). */
export function cleanableRange(input: CleanableRangeInput): CleanableRange {
  const { segments, settings, now } = input;
  let firstUncleanableIndex = Math.max(0, segments.length - 1); // never the active segment
  for (let index = 0; index < segments.length - 1; index++) {
    const segment = segments[index]!;
    const end = segments[index + 1]!.baseOffset;
    const tooYoung = settings.minCompactionLagMs > 0 && segment.maxTimestamp > now - settings.minCompactionLagMs;
    if (end > input.upTo || tooYoung) {
      firstUncleanableIndex = index;
      break;
    }
  }
  let firstDirtyIndex = 0;
  while (firstDirtyIndex < firstUncleanableIndex && segments[firstDirtyIndex + 1]!.baseOffset <= input.firstDirtyOffset) firstDirtyIndex++;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (let index = 0; index < firstUncleanableIndex; index++) {
    if (index < firstDirtyIndex) cleanBytes += segments[index]!.size;
    else dirtyBytes += segments[index]!.size;
  }
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  const due = firstDirtyIndex < firstUncleanableIndex && dirtyRatio >= settings.minCleanableDirtyRatio;
  return { firstDirtyIndex, firstUncleanableIndex, cleanBytes, dirtyBytes, dirtyRatio, due };
}

export interface PlanRecord {
  offset: number;
  /** The key as a map key (bytes as latin1: one char per byte), or null for a keyless record. */
  key: string | null;
  /** Null value. */
  tombstone: boolean;
}

export interface PlanBatch {
  baseOffset: number;
  control: boolean;
  transactional: boolean;
  /** The batch's delete horizon (bit 6 set: its baseTimestamp), or null. */
  deleteHorizonMs: number | null;
  records: readonly PlanRecord[];
}

/** The latest offset per key over the dirty part; bounded (the cleaner maps as many whole segments as fit). */
export class OffsetMap {
  private readonly latest = new Map<string, number>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.latest.size;
  }

  /** Whether `keys` more distinct keys may still be added. */
  hasRoomFor(keys: number): boolean {
    return this.latest.size + keys <= this.capacity;
  }

  /** Records of one batch, in offset order: later offsets replace earlier ones. */
  addBatch(batch: PlanBatch): void {
    if (batch.control || batch.transactional) return;
    for (const record of batch.records) if (record.key !== null) this.latest.set(record.key, record.offset);
  }

  /** Takes every entry of `other` (a later segment's map: its offsets are all newer). */
  absorb(other: OffsetMap): void {
    for (const [key, offset] of other.latest) this.latest.set(key, offset);
  }

  get(key: string): number | undefined {
    return this.latest.get(key);
  }
}

export type BatchDecision =
  /** Written back byte for byte. */
  | { action: 'keep'; tombstones: number }
  /** Nothing survives. */
  | { action: 'drop'; superseded: number; tombstonesDropped: number; keyless: number }
  /** Rebuilt with the records at `keep` (indexes into batch.records) and this delete horizon (null: none). */
  | { action: 'rewrite'; keep: number[]; deleteHorizonMs: number | null; superseded: number; tombstonesDropped: number; keyless: number };

export interface RecordRules {
  now: number;
  deleteRetentionMs: number;
}

/** Which records of `batch` survive a pass whose offset map is `latest`. */
export function planBatch(batch: PlanBatch, latest: Pick<OffsetMap, 'get'>, rules: RecordRules): BatchDecision {
  if (batch.control || batch.transactional) return { action: 'keep', tombstones: 0 };
  const keep: number[] = [];
  let superseded = 0;
  let tombstonesDropped = 0;
  let keyless = 0;
  let tombstonesKept = 0;
  const horizonPassed = batch.deleteHorizonMs !== null && rules.now >= batch.deleteHorizonMs;
  batch.records.forEach((record, index) => {
    if (record.key === null) {
      keyless++;
      return;
    }
    const newest = latest.get(record.key);
    if (newest !== undefined && record.offset < newest) {
      superseded++;
      return;
    }
    if (record.tombstone) {
      if (horizonPassed) {
        tombstonesDropped++;
        return;
      }
      tombstonesKept++;
    }
    keep.push(index);
  });
  if (keep.length === 0) return { action: 'drop', superseded, tombstonesDropped, keyless };
  // A surviving tombstone starts its countdown the first time its batch is cleaned.
  const deleteHorizonMs = batch.deleteHorizonMs ?? (tombstonesKept > 0 ? rules.now + rules.deleteRetentionMs : null);
  if (keep.length === batch.records.length && deleteHorizonMs === batch.deleteHorizonMs) return { action: 'keep', tombstones: tombstonesKept };
  return { action: 'rewrite', keep, deleteHorizonMs, superseded, tombstonesDropped, keyless };
}
